//! Suspending and reinstating keys: reversible stops, by the organisation's
//! admins for their keys and by platform staff for any key. A reason is
//! required both ways; a suspension may end by itself on a chosen date.
//! Both take effect in verification at once, on every instance, through the
//! change seam ([`super::change`]).

use super::{change::KeyChange, display_of, family, find_row, status_of, SYSTEM_ACTOR};
use crate::domain::audit::AuditAction;
use crate::{
    domain::format,
    domain::keys::{parse_reason, parse_suspension_end, KeyStatus},
    error::AppError,
    server::{
        authz::{authorize_suspend, Actor},
        db::{
            api_keys::{self, KeyRow},
            audit::NewEvent,
        },
        notify::Notice,
        state::AppState,
    },
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::net::IpAddr;

async fn load(state: &AppState, actor: &Actor, key_id: &str) -> Result<KeyRow, AppError> {
    let row = find_row(state, key_id).await?;
    authorize_suspend(actor, row.org_id, row.owner_id)?;
    Ok(row)
}

/// Suspends a key until someone reinstates it or until `until` (see
/// [`parse_suspension_end`]).
pub async fn suspend(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    reason: &str,
    until: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load(state, actor, key_id).await?;
    let now = state.clock.now();
    match status_of(&row, now) {
        KeyStatus::Suspended => {
            return Err(AppError::Conflict(format!(
                "This key is already suspended{}. Reinstate it first to change the suspension.",
                row.suspended_by_email
                    .as_ref()
                    .map(|by| format!(" (by {by})"))
                    .unwrap_or_default()
            )))
        }
        KeyStatus::Revoked => {
            return Err(AppError::Conflict(
                "This key is revoked, which is permanent; there is nothing to suspend.".to_owned(),
            ))
        }
        KeyStatus::Expired | KeyStatus::Rejected => {
            return Err(AppError::Conflict(
                "This key no longer works, so there is nothing to suspend.".to_owned(),
            ))
        }
        _ => {}
    }
    let mut errors = Vec::new();
    let reason = parse_reason(reason, "suspending this key")
        .map_err(|m| errors.push(crate::error::FieldError::new("reason", m)))
        .ok();
    let until = parse_suspension_end(until, now)
        .map_err(|m| errors.push(crate::error::FieldError::new("until", m)))
        .ok();
    let (Some(reason), Some(until)) = (reason, until) else {
        return Err(AppError::Invalid(errors));
    };

    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::suspend(tx.conn(), row.id, Some(actor.user_id), &reason, until, now).await? {
        return Err(AppError::Conflict(
            "This key was revoked a moment ago.".to_owned(),
        ));
    }
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: AuditAction::Suspended,
        reason: Some(&reason),
        details: Some(
            json!({"until": until, "by_staff": actor.membership(row.org_id).is_none()}).to_string(),
        ),
        client_addr: Some(addr.to_string()),
        at: now,
    })
    .await?;
    let shown = display_of(state, &row);
    let decider = family::Decider::person(actor, addr);
    let retired = family::retire_predecessors(&mut tx, &row, &shown, &decider, now).await?;
    let lifts = match until {
        Some(t) => format!(
            "It works again from {} unless someone reinstates it sooner.",
            format::date_time(t)
        ),
        None => "It stays suspended until an admin or support reinstates it.".to_owned(),
    };
    let notice = Notice {
        kind: "suspended",
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("Key {shown} ({}) was suspended", row.name),
        body: format!(
            "{} suspended the key {shown} ({}) on {}. Reason: {reason}. Requests with this key are refused while it is suspended. {lifts}{} Suspension is reversible; revocation is not.",
            actor.email,
            row.name,
            format::date_time(now),
            if retired > 0 {
                " The key it replaced, still in its rotation overlap, stopped for good."
            } else {
                ""
            },
        ),
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    let audience = tx
        .key_audience(row.org_id, row.owner_id, Some(actor.user_id))
        .await?;
    tx.notify(&audience, &notice).await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key suspended");
    Ok(())
}

/// Lifts a key's suspension now.
pub async fn reinstate(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    reason: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load(state, actor, key_id).await?;
    let now = state.clock.now();
    let Some(suspended_at) = row
        .standing
        .suspended_at
        .filter(|_| status_of(&row, now) == KeyStatus::Suspended)
    else {
        return Err(AppError::Conflict(
            "This key is not suspended, so there is nothing to reinstate.".to_owned(),
        ));
    };
    let reason =
        parse_reason(reason, "reinstating this key").map_err(|m| AppError::field("reason", m))?;
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::reinstate(tx.conn(), row.id, suspended_at).await? {
        return Err(AppError::Conflict(
            "This key was reinstated a moment ago.".to_owned(),
        ));
    }
    reinstated_in(state, &mut tx, &row, Some(actor), &reason, Some(addr), now).await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key reinstated");
    Ok(())
}

async fn reinstated_in(
    state: &AppState,
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    actor: Option<&Actor>,
    reason: &str,
    addr: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: actor.map(|a| a.user_id),
        actor_email: actor.map_or(SYSTEM_ACTOR, |a| a.email.as_str()),
        action: AuditAction::Reinstated,
        reason: Some(reason),
        details: None,
        client_addr: addr.map(|a| a.to_string()),
        at: now,
    })
    .await?;
    let shown = display_of(state, row);
    let who = actor.map_or("Portico", |a| a.email.as_str());
    let notice = Notice {
        kind: "reinstated",
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("Key {shown} ({}) was reinstated", row.name),
        body: format!(
            "{who} reinstated the key {shown} ({}) on {}. Reason: {reason}. Requests with this key are accepted again.",
            row.name,
            format::date_time(now)
        ),
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    let audience = tx
        .key_audience(row.org_id, row.owner_id, actor.map(|a| a.user_id))
        .await?;
    tx.notify(&audience, &notice).await
}

/// Reinstates every key whose suspension reached its end date, with a
/// `reinstated` event by the system. Verification already accepts such a
/// key from that moment; this records it and tells people. Safe on several
/// instances at once. Returns how many were reinstated.
pub async fn reinstate_due(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let due = {
        let mut conn = state.db.acquire().await?;
        api_keys::due_reinstatements(conn.conn(), now).await?
    };
    let mut done = 0;
    for (id, suspended_at) in due {
        let row = {
            let mut conn = state.db.acquire().await?;
            api_keys::find(conn.conn(), id).await?
        };
        let Some(row) = row else { continue };
        let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
        if !api_keys::reinstate(tx.conn(), id, suspended_at).await? {
            continue;
        }
        let reason = format!(
            "The suspension ended on {}",
            row.standing
                .suspended_until
                .map(format::date_time)
                .unwrap_or_default()
        );
        reinstated_in(state, &mut tx, &row, None, &reason, None, now).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}
