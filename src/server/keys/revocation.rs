//! Revocation: immediate and permanent, with a reason.

use super::row::{display_of, load_for};
use super::{change::KeyChange, family};
use crate::domain::audit::AuditAction;
use crate::server::{
    authz::{Actor, KeyAction},
    db::{
        api_keys::{self, KeyRow},
        audit::NewEvent,
    },
    notify::Notice,
    state::AppState,
};
use crate::{domain::format, error::AppError};
use std::net::IpAddr;

/// Revokes a key at once and for good.
pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    reason: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let reason = reason.trim();
    let already = |row: &KeyRow| {
        AppError::Conflict(format!(
            "This key was already revoked{}{}. Revocation is permanent; nothing more to do.",
            row.standing
                .revoked_at
                .map(|t| format!(" on {}", format::date_time(t)))
                .unwrap_or_default(),
            row.revoked_by_email
                .as_ref()
                .map(|w| format!(" by {w}"))
                .unwrap_or_default(),
        ))
    };
    if row.standing.revoked_at.is_some() {
        return Err(already(&row));
    }
    let n = reason.chars().count();
    if !(3..=500).contains(&n) {
        return Err(AppError::field(
            "reason",
            "Say why you are revoking this key, in 3 to 500 characters. It is kept in the audit trail.",
        ));
    }
    let now = state.clock.now();
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::revoke(tx.conn(), row.id, actor.user_id, reason, now).await? {
        let mut conn = state.db.acquire().await?;
        let fresh = api_keys::find(conn.conn(), row.id).await?.unwrap_or(row);
        return Err(already(&fresh));
    }
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: AuditAction::Revoked,
        reason: Some(reason),
        details: None,
        client_addr: Some(addr.to_string()),
        at: now,
    })
    .await?;
    let shown = display_of(state, &row);
    let olds = family::revoke_predecessors(&mut tx, &row, &shown, actor, addr, reason, now).await?;
    if actor.user_id != row.owner_id {
        let notice = Notice {
            kind: "revoked",
            org_id: row.org_id,
            key_row_id: Some(row.id),
            subject: format!("Key {shown} ({}) was revoked", row.name),
            body: format!(
                "{} revoked the key {shown} ({}) on {}. Reason: {reason}. Revocation is permanent: requests with this key{} are refused from now on. Create a new key if it is still needed.",
                actor.email,
                row.name,
                format::date_time(now),
                if olds > 0 { " and with the keys it replaced" } else { "" },
            ),
            link: format!("/keys/{}", row.key_id),
            dedupe_key: None,
        };
        let audience = tx
            .key_audience(row.org_id, row.owner_id, Some(actor.user_id))
            .await?;
        tx.notify(&audience, &notice).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key revoked");
    Ok(())
}
