//! Approval of risky keys. When the organisation's policy asks for it, a
//! developer's production key with a high-risk scope is created `pending`:
//! its secret is shown once as usual, but verification answers
//! `pending_approval` until an admin approves it. A rejected key never works.

use super::{change::KeyChange, display_of, find_row, status_of, summary};
use crate::domain::audit::AuditAction;
use crate::{
    domain::{
        key_format::ApiKey,
        keys::{parse_reason, KeyStatus},
    },
    error::AppError,
    model::approvals::PendingKey,
    server::{
        authz::{authorize_org, key_not_found, Actor, OrgAction},
        db::{api_keys, audit::NewEvent, memberships},
        notify::Notice,
        state::AppState,
    },
};
use std::net::IpAddr;

/// Tells the organisation's admins that a key waits for them (inside the
/// transaction that created it).
pub(crate) async fn request_in(
    tx: &mut KeyChange<'_>,
    org_id: i64,
    key_row_id: i64,
    key: &ApiKey,
    name: &str,
    requester: &Actor,
) -> Result<(), AppError> {
    let shown = key.display_id();
    let notice = Notice {
        kind: "approval_requested",
        org_id,
        key_row_id: Some(key_row_id),
        subject: format!("{} asks you to approve key {shown} ({name})", requester.email),
        body: format!(
            "{} created the production key {shown} ({name}) with high-risk scopes. It will not work until an admin approves it. Review it in the approval queue.",
            requester.email
        ),
        link: "/approvals".to_owned(),
        dedupe_key: None,
    };
    let mut admins = memberships::admin_ids(tx.conn(), org_id).await?;
    admins.retain(|a| *a != requester.user_id);
    tx.notify(&admins, &notice).await
}

/// The organisation's keys waiting for approval, oldest first (admins only).
pub async fn queue(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
) -> Result<Vec<PendingKey>, AppError> {
    authorize_org(actor, org_id, OrgAction::ApproveKeys)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let rows = api_keys::pending_for_org(conn.conn(), org_id).await?;
    rows.iter()
        .filter(|r| status_of(r, now) == KeyStatus::PendingApproval)
        .map(|row| {
            let scopes: Vec<String> = row.scopes.split_whitespace().map(str::to_owned).collect();
            Ok(PendingKey {
                high_risk_scopes: state
                    .catalog
                    .high_risk(&scopes)
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                key: summary(state, row, now)?,
                purpose: row.purpose.clone(),
                requested_by: row.created_by_email.clone(),
                ip_allowlist: row
                    .ip_allowlist
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// Approves or rejects a pending key with a comment; the requester and the
/// other admins are told. A rejection needs a reason; an approval may have
/// an empty comment.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    approve: bool,
    comment: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = find_row(state, key_id).await?;
    if actor.membership(row.org_id).is_none() {
        return Err(key_not_found());
    }
    authorize_org(actor, row.org_id, OrgAction::ApproveKeys)?;
    let now = state.clock.now();
    if status_of(&row, now) != KeyStatus::PendingApproval {
        return Err(AppError::Conflict(
            match row.approval_decided_by_email.as_deref() {
                Some(by) => format!(
                    "{by} already decided on this key. Reload the page to see the queue as it is."
                ),
                None => "This key is not waiting for approval.".to_owned(),
            },
        ));
    }
    let comment = if approve {
        comment.trim().chars().take(500).collect::<String>()
    } else {
        parse_reason(comment, "rejecting this key").map_err(|m| AppError::field("comment", m))?
    };
    let (decision, action) = if approve {
        ("approved", AuditAction::Approved)
    } else {
        ("rejected", AuditAction::Rejected)
    };
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::decide_approval(tx.conn(), row.id, decision, actor.user_id, &comment, now).await?
    {
        return Err(AppError::Conflict(
            "Another admin decided on this key a moment ago. Reload the page.".to_owned(),
        ));
    }
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action,
        reason: (!comment.is_empty()).then_some(comment.as_str()),
        details: None,
        client_addr: Some(addr.to_string()),
        at: now,
    })
    .await?;
    let shown = display_of(state, &row);
    let said = if comment.is_empty() {
        String::new()
    } else {
        format!(" Comment: {comment}")
    };
    let notice = Notice {
        kind: decision,
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("Key {shown} ({}) was {decision}", row.name),
        body: if approve {
            format!(
                "{} approved the key {shown} ({}). It works from now on.{said}",
                actor.email, row.name
            )
        } else {
            format!(
                "{} rejected the key {shown} ({}). It will never work; create another key if you still need one.{said}",
                actor.email, row.name
            )
        },
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    let audience = tx
        .key_audience(row.org_id, row.owner_id, Some(actor.user_id))
        .await?;
    tx.notify(&audience, &notice).await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, decision, "approval decided");
    Ok(())
}

/// The reason a withdrawn request's key is revoked with.
pub const REQUEST_WITHDRAWN: &str = "Approval request withdrawn before a decision";

/// Withdraws a key's approval request (its owner, or an admin): the key is
/// revoked with [`REQUEST_WITHDRAWN`], so it never works, and the approval
/// queue no longer lists it. Any other key is refused with 409.
pub async fn withdraw(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = super::row::load_for(
        state,
        actor,
        key_id,
        crate::server::authz::KeyAction::Manage,
    )
    .await?;
    if status_of(&row, state.clock.now()) != KeyStatus::PendingApproval {
        return Err(AppError::Conflict(
            "Only a key waiting for approval can have its request withdrawn. To stop this key, revoke it.".to_owned(),
        ));
    }
    super::revocation::revoke(state, actor, key_id, REQUEST_WITHDRAWN, addr).await
}
