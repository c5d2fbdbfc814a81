//! What a decision about a key does to the keys it replaced that still work.
//!
//! During a rotation overlap the old key keeps working so that its clients
//! can move to the new one. The overlap is a convenience for the holder,
//! never a way around a decision about the key:
//!
//! * revoking a key revokes every key it replaced that is still in its
//!   overlap, with the same reason;
//! * suspending a key (by a person or automatically) ends those overlaps at
//!   once: the old keys are retired, and reinstating the new key does not
//!   bring them back;
//! * removing scopes from a key removes the same scopes from them.
//!
//! Each old key gets its own audit event naming the key the decision was
//! about, and is announced through the same change as that key.

use super::{change::KeyChange, SYSTEM_ACTOR};
use crate::domain::{audit::AuditAction, keys::KeyStatus};
use crate::error::AppError;
use crate::server::{
    authz::Actor,
    db::{
        api_keys::{self, KeyRow},
        audit::NewEvent,
    },
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::net::IpAddr;

/// Who decided, as the old keys' audit events record it.
pub(crate) struct Decider<'a> {
    user_id: Option<i64>,
    email: &'a str,
    client_addr: Option<String>,
}

impl<'a> Decider<'a> {
    /// A person, acting from `addr`.
    pub fn person(actor: &'a Actor, addr: IpAddr) -> Self {
        Decider {
            user_id: Some(actor.user_id),
            email: &actor.email,
            client_addr: Some(addr.to_string()),
        }
    }

    /// Portico itself (an automatic suspension).
    pub fn system() -> Self {
        Decider {
            user_id: None,
            email: SYSTEM_ACTOR,
            client_addr: None,
        }
    }
}

/// The keys `row` replaced, directly or through earlier rotations, that
/// still work in their rotation overlap at `now`, newest first.
async fn working_predecessors(
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    now: DateTime<Utc>,
) -> Result<Vec<KeyRow>, AppError> {
    let mut found = Vec::new();
    let mut next = row.predecessor_id;
    // A chain is short; the bound only guards against a damaged loop.
    for _ in 0..64 {
        let Some(id) = next else { break };
        let Some(old) = api_keys::find(tx.conn(), id).await? else {
            break;
        };
        next = old.predecessor_id;
        if KeyStatus::of(&old.standing, now) == KeyStatus::Rotating {
            found.push(old);
        }
    }
    Ok(found)
}

/// Revokes the keys `row` replaced that still work, for `reason`, after
/// `row` itself was revoked in the same change. Returns how many.
pub(crate) async fn revoke_predecessors(
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    shown: &str,
    actor: &Actor,
    addr: IpAddr,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let by = &Decider::person(actor, addr);
    let olds = working_predecessors(tx, row, now).await?;
    let mut done = 0;
    for old in &olds {
        if !api_keys::revoke(tx.conn(), old.id, actor.user_id, reason, now).await? {
            continue;
        }
        record(
            tx,
            old,
            by,
            AuditAction::Revoked,
            Some(reason),
            json!({"with_successor": shown}),
            now,
        )
        .await?;
        done += 1;
    }
    Ok(done)
}

/// Ends the overlap of the keys `row` replaced, after `row` was suspended in
/// the same change: they stop at once and stay stopped. Returns how many.
pub(crate) async fn retire_predecessors(
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    shown: &str,
    by: &Decider<'_>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let olds = working_predecessors(tx, row, now).await?;
    let mut done = 0;
    for old in &olds {
        if !api_keys::end_overlap(tx.conn(), old.id, now).await? {
            continue;
        }
        api_keys::mark_expiry_recorded(tx.conn(), old.id, now).await?;
        let reason = format!("Its successor {shown} was suspended");
        record(
            tx,
            old,
            by,
            AuditAction::Retired,
            Some(&reason),
            json!({"successor_suspended": shown}),
            now,
        )
        .await?;
        done += 1;
    }
    Ok(done)
}

/// Removes `removed` from the scopes of the keys `row` replaced that still
/// work, after they were removed from `row` in the same change.
pub(crate) async fn narrow_predecessors(
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    shown: &str,
    by: &Decider<'_>,
    removed: &[&String],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for old in working_predecessors(tx, row, now).await? {
        let held: Vec<&str> = old.scopes.split_whitespace().collect();
        let kept: Vec<&str> = held
            .iter()
            .copied()
            .filter(|s| !removed.iter().any(|r| r.as_str() == *s))
            .collect();
        if kept.len() == held.len() {
            continue;
        }
        let dropped: Vec<&str> = held.iter().copied().filter(|s| !kept.contains(s)).collect();
        api_keys::update_details(
            tx.conn(),
            old.id,
            &old.name,
            &old.purpose,
            &old.service,
            &kept.join(" "),
        )
        .await?;
        record(
            tx,
            &old,
            by,
            AuditAction::ScopesChanged,
            None,
            json!({"removed": dropped, "scopes": kept, "with_successor": shown}),
            now,
        )
        .await?;
    }
    Ok(())
}

async fn record(
    tx: &mut KeyChange<'_>,
    old: &KeyRow,
    by: &Decider<'_>,
    action: AuditAction,
    reason: Option<&str>,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    tx.audit(NewEvent {
        org_id: old.org_id,
        key_id: Some(old.id),
        actor_id: by.user_id,
        actor_email: by.email,
        action,
        reason,
        details: Some(details.to_string()),
        client_addr: by.client_addr.clone(),
        at: now,
    })
    .await?;
    tx.touch(old.key_id.clone());
    Ok(())
}
