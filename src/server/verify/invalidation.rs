//! Telling every instance that a key (or gateway token) changed.
//!
//! The instance that makes a change forgets its cached copy after commit. On
//! Postgres, the change is also announced with `NOTIFY` inside the same
//! transaction (so it is delivered only if the change commits), and every
//! instance listens and forgets its copy within milliseconds. SQLite runs one
//! instance, so the local invalidation is enough there.

use crate::server::{
    db::{Conn, Db, Tx},
    state::AppState,
};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The Postgres channel changes are announced on.
pub const CHANNEL: &str = "portico_changes";

/// What changed.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// The key with this public id.
    Key(&'a str),
    /// The gateway token with this public id.
    Gateway(&'a str),
}

impl Change<'_> {
    fn payload(self) -> String {
        match self {
            Change::Key(id) => format!("key:{id}"),
            Change::Gateway(id) => format!("gateway:{id}"),
        }
    }
}

/// Announces a change to other instances, inside the transaction making it.
pub async fn announce(tx: &mut Tx, change: Change<'_>) -> Result<(), sqlx::Error> {
    if let Conn::Postgres(c) = tx.conn() {
        sqlx::query("select pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(change.payload())
            .execute(c)
            .await?;
    }
    Ok(())
}

fn apply(state: &AppState, payload: &str) {
    match payload.split_once(':') {
        Some(("key", id)) => state.key_cache.invalidate(id),
        Some(("gateway", id)) => state.gateway_cache.invalidate(id),
        _ => tracing::warn!(payload, "unknown change announcement"),
    }
}

/// On Postgres, listens for changes announced by any instance and forgets
/// the cached copies. After a lost connection it forgets everything, since
/// announcements may have been missed.
pub fn spawn_listener(state: &AppState) -> Option<JoinHandle<()>> {
    let Db::Postgres(pool) = &state.db else {
        return None;
    };
    let pool = pool.clone();
    let state = state.clone();
    Some(tokio::spawn(async move {
        loop {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for key changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "cannot listen for key changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Anything announced before this point may have been missed.
            state.key_cache.clear();
            state.gateway_cache.clear();
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => apply(&state, notification.payload()),
                    Ok(None) => {
                        tracing::warn!("lost the key-change listener connection; reconnecting");
                        state.key_cache.clear();
                        state.gateway_cache.clear();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "key-change listener failed; reconnecting");
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }))
}
