//! Telling every instance that a key (or gateway token, or signing key)
//! changed.
//!
//! The database announces every change to what verification reads of a key
//! or gateway token, from triggers, in the transaction that makes it (see the
//! `verification_edges` migrations), so no code path and no process, the
//! CLI included, can forget to:
//!
//! * on Postgres with `NOTIFY` on [`CHANNEL`], delivered on commit; every
//!   instance listens and forgets its copy within milliseconds. After a lost
//!   listener connection an instance forgets everything, once it listens
//!   again, since announcements may have been missed meanwhile;
//! * on SQLite into `change_log`, which every running server reads every
//!   [`POLL`] and trims.
//!
//! The instance making a change also forgets its own copy at once, after the
//! commit (`keys::change::KeyChange::commit`).

use crate::server::{
    db::{change_log, Db},
    state::AppState,
};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The Postgres channel changes are announced on.
pub const CHANNEL: &str = "portico_changes";

/// How often a server on SQLite reads the change log.
pub const POLL: Duration = Duration::from_millis(200);

/// Changes kept in the SQLite log behind the newest one read, for other
/// servers on the same file that read a little later.
const KEEP: i64 = 10_000;

/// Forgets the cached state of the key with public id `key_id` (known or
/// unknown).
pub fn forget_key(state: &AppState, key_id: &str) {
    state.key_cache.invalidate(key_id);
    state.unknown_keys.invalidate(key_id);
}

/// Forgets every cached key and gateway token (after missed announcements).
pub fn forget_everything(state: &AppState) {
    state.key_cache.clear();
    state.unknown_keys.clear();
    state.gateway_cache.clear();
    state.unknown_gateway_tokens.clear();
    state.signing_keys.invalidate();
}

/// Forgets the cached state of the gateway token with public id `id`
/// (known or unknown).
pub fn forget_gateway_token(state: &AppState, id: &str) {
    state.gateway_cache.invalidate(id);
    state.unknown_gateway_tokens.invalidate(id);
}

/// Applies one announcement, `key:ID`, `gateway:ID` or `signing:KID`.
fn apply(state: &AppState, kind: &str, id: &str) {
    match kind {
        "key" => forget_key(state, id),
        "gateway" => forget_gateway_token(state, id),
        "signing" => state.signing_keys.invalidate(),
        _ => tracing::warn!(kind, "unknown change announcement"),
    }
}

/// Starts following announced changes: `LISTEN` on Postgres, the change log
/// on SQLite.
pub fn spawn_listener(state: &AppState) -> JoinHandle<()> {
    let state = state.clone();
    match state.db.clone() {
        Db::Postgres(pool) => tokio::spawn(listen(state, pool)),
        Db::Sqlite(_) => tokio::spawn(poll(state)),
    }
}

async fn listen(state: AppState, pool: sqlx::PgPool) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                state.metrics.listener(false);
                tracing::warn!(error = %e, "cannot listen for key changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            state.metrics.listener(false);
            tracing::warn!(error = %e, "cannot listen for key changes; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Listening again: anything announced before may have been missed.
        // (A lost connection breaks out below and is rebuilt here, rather
        // than by the listener itself, so that this happens after the new
        // LISTEN, never before it.)
        forget_everything(&state);
        state.metrics.listener(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match notification.payload().split_once(':') {
                    Some((kind, id)) => apply(&state, kind, id),
                    None => tracing::warn!("malformed change announcement"),
                },
                Ok(None) => {
                    tracing::warn!("lost the key-change listener connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "key-change listener failed; reconnecting");
                    break;
                }
            }
        }
        state.metrics.listener(false);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn poll(state: AppState) {
    let mut seen: Option<i64> = None;
    let mut trimmed = 0;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match read_changes(&state, seen).await {
            Ok(next) => {
                seen = Some(next);
                if next - trimmed >= 1000 {
                    trimmed = next;
                    if let Err(e) = trim(&state, next - KEEP).await {
                        tracing::warn!(error = %e, "cannot trim the change log");
                    }
                }
            }
            Err(e) => {
                // Changes may be missed until the log can be read again.
                tracing::warn!(error = %e, "cannot read the change log; retrying");
                if seen.take().is_some() {
                    forget_everything(&state);
                }
            }
        }
    }
}

/// Applies the changes logged after `seen` (none on the first call, which
/// only finds the newest) and returns the newest sequence number read.
async fn read_changes(state: &AppState, seen: Option<i64>) -> Result<i64, sqlx::Error> {
    const PAGE: i64 = 500;
    let mut conn = state.db.acquire().await?;
    let Some(mut seen) = seen else {
        let latest = change_log::latest(conn.conn()).await?;
        // Whatever was cached before this point may be stale.
        forget_everything(state);
        return Ok(latest);
    };
    loop {
        let changes = change_log::since(conn.conn(), seen, PAGE).await?;
        let n = changes.len();
        for (seq, kind, id) in changes {
            apply(state, &kind, &id);
            seen = seq;
        }
        if (n as i64) < PAGE {
            break;
        }
    }
    Ok(seen)
}

async fn trim(state: &AppState, upto: i64) -> Result<(), sqlx::Error> {
    let mut conn = state.db.acquire().await?;
    change_log::trim(conn.conn(), upto).await.map(|_| ())
}
