//! Keys that stopped working by time, recorded in the audit trail.

use super::row::SYSTEM_ACTOR;
use crate::domain::audit::AuditAction;
use crate::error::AppError;
use crate::server::audit::record;
use crate::server::{
    db::{
        api_keys::{self},
        audit::NewEvent,
    },
    state::AppState,
};
use serde_json::json;

/// Writes an `expired` event for every key that has stopped working by time
/// since the last call. Safe to run on several instances at once: each
/// expiry is recorded once. Returns how many were recorded.
pub async fn record_expiries(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let due = {
        let mut conn = state.db.acquire().await?;
        api_keys::newly_expired(conn.conn(), now).await?
    };
    let mut recorded = 0;
    for (id, org_id, by_rotation) in due {
        let mut tx = state.db.begin().await?;
        if !api_keys::mark_expiry_recorded(tx.conn(), id, now).await? {
            continue;
        }
        record(
            &mut tx,
            NewEvent {
                org_id,
                key_id: Some(id),
                actor_id: None,
                actor_email: SYSTEM_ACTOR,
                action: AuditAction::Expired,
                reason: None,
                details: Some(
                    json!({"cause": if by_rotation { "rotation" } else { "expiry" }}).to_string(),
                ),
                client_addr: None,
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        recorded += 1;
    }
    Ok(recorded)
}
