//! Rotation: a successor with the same settings (or fewer scopes), the old
//! key working until the overlap ends or it is retired early.

use super::change::KeyChange;
use super::issue::{insert_new_key, KeyTemplate};
use super::read::summary;
use super::row::{load_for, refuse_unless_active, scopes_of, status_of};
use crate::domain::audit::AuditAction;
use crate::server::{
    authz::{Actor, KeyAction},
    db::{
        api_keys::{self, KeyRow},
        audit::NewEvent,
        usage,
    },
    errors::internal,
    state::AppState,
};
use crate::{
    domain::{
        key_format::display_id,
        keys::{parse_optional_reason, Approval, KeyStatus, Overlap},
    },
    error::AppError,
    model::keys::CreatedKey,
    model::review::NarrowPreview,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::net::IpAddr;

/// Replaces a key with a successor that has the same settings; the old key
/// keeps working until the overlap ends, or, with `quiet` minutes, until it
/// has seen no traffic for that long (whichever comes first). Returns the
/// successor's secret, once.
pub async fn rotate(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    form: RotateForm<'_>,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let old = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let overlap = Overlap::parse(form.overlap).map_err(|m| AppError::field("overlap", m))?;
    let quiet = super::quiet::parse_quiet(form.quiet).map_err(|m| AppError::field("quiet", m))?;
    let reason = parse_optional_reason(form.reason).map_err(|m| AppError::field("reason", m))?;
    rotate_row(
        state,
        actor,
        old,
        Rotation {
            overlap,
            quiet,
            narrowed: None,
            reason: reason.as_deref(),
        },
        addr,
    )
    .await
}

/// What the rotate form sends, as typed.
#[derive(Clone, Copy, Debug)]
pub struct RotateForm<'a> {
    /// How long the old key keeps working (`Overlap::parse`).
    pub overlap: &'a str,
    /// Retire early after this many quiet minutes; empty for never.
    pub quiet: &'a str,
    /// Why, optional: kept in the audit trail.
    pub reason: &'a str,
}

/// How a key is rotated.
#[derive(Clone, Debug)]
pub(crate) struct Rotation<'a> {
    /// How long the old key keeps working.
    pub overlap: Overlap,
    /// Quiet minutes after which the old key retires early.
    pub quiet: Option<i32>,
    /// The scopes the successor keeps, when narrowing.
    pub narrowed: Option<Vec<String>>,
    /// Why, if the person said.
    pub reason: Option<&'a str>,
}

/// Rotates a key into one holding only the scopes it used (with an allowed
/// answer) in the last 30 days, the old key working for `overlap`. Returns
/// the new key's secret, once. `expected_keep` is what the person was
/// shown the key would keep: a conflict when that is no longer so, or when
/// narrowing would keep nothing or everything.
pub async fn narrow_to_used(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    overlap: Overlap,
    expected_keep: &[String],
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let old = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    // Only what the review offers: a key with a month of use to go by.
    let days = crate::server::review::UNUSED_DAYS;
    if old.last_used_at.is_none() || now - old.created_at < Duration::days(days) {
        return Err(AppError::Conflict(format!(
            "Narrowing goes by the last {days} days of use, and this key has not had them yet. Edit it to remove scopes you know it does not need."
        )));
    }
    let used = {
        let mut conn = state.db.acquire().await?;
        usage::scopes_used_since(
            conn.conn(),
            old.id,
            now - Duration::days(crate::server::review::UNUSED_DAYS),
        )
        .await?
    };
    let preview = NarrowPreview::split(&scopes_of(&old), &used);
    if preview.keep.is_empty() {
        return Err(AppError::Conflict(
            "This key used none of its scopes in the last 30 days. If nothing needs it, revoke it instead.".to_owned(),
        ));
    }
    if preview.remove.is_empty() {
        return Err(AppError::Conflict(
            "This key used every one of its scopes in the last 30 days; there is nothing to narrow.".to_owned(),
        ));
    }
    // What was shown is what is done: the scopes in use may have changed
    // since the review was read.
    if preview.keep != expected_keep {
        return Err(AppError::Conflict(
            "The scopes this key uses are not the ones the review showed: they changed since. Look at the review again."
                .to_owned(),
        ));
    }
    rotate_row(
        state,
        actor,
        old,
        Rotation {
            overlap,
            quiet: None,
            narrowed: Some(preview.keep),
            reason: None,
        },
        addr,
    )
    .await
}

pub(crate) async fn rotate_row(
    state: &AppState,
    actor: &Actor,
    old: KeyRow,
    rotation: Rotation<'_>,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let Rotation {
        overlap,
        quiet,
        narrowed,
        reason,
    } = rotation;
    let now = state.clock.now();
    refuse_unless_active(&old, now, "Rotate")?;
    let environment = old.environment;
    crate::server::authz::authorize_environment(actor, environment)?;
    let policy = {
        let mut conn = state.db.acquire().await?;
        crate::server::policy::load(conn.conn(), old.org_id).await?
    };
    let lifetime = (old.standing.expires_at - old.created_at)
        .clamp(Duration::days(1), Duration::days(policy.max_lifetime_days));
    let overlap_until = now + overlap.duration();
    let old_display = display_id(state.config.key_prefix.as_str(), environment, &old.key_id);

    let scopes_text = narrowed
        .as_ref()
        .map_or(old.scopes.clone(), |s| s.join(" "));
    let template = KeyTemplate {
        org_id: old.org_id,
        owner_id: old.owner_id,
        created_by: actor.user_id,
        name: &old.name,
        purpose: &old.purpose,
        service: &old.service,
        environment,
        scopes: &scopes_text,
        ip_allowlist: &old.ip_allowlist,
        created_at: now,
        expires_at: now + lifetime,
        predecessor_id: Some(old.id),
        create_token: None,
        rate_limit_per_minute: old.rate_limit_per_minute,
        monthly_quota: old.monthly_quota,
        // An approved key's successor has the same powers: the decision holds.
        approval: match old.standing.approval {
            Approval::Approved => Approval::Approved,
            _ => Approval::NotRequired,
        },
    };
    let mut tx = KeyChange::begin(state, [&old.key_id]).await?;
    let (new_id, key) = insert_new_key(state, &mut tx, environment, &template).await?;
    tx.touch(key.key_id());
    if !api_keys::start_rotation(tx.conn(), old.id, new_id, overlap_until).await? {
        return Err(AppError::Conflict(
            "This key was rotated or revoked a moment ago. Reload the page to see its state."
                .to_owned(),
        ));
    }
    let client_addr = Some(addr.to_string());
    tx.audit(NewEvent {
            org_id: old.org_id,
            key_id: Some(old.id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::Rotated,
            reason,
            details: Some(json!({"successor": key.display_id(), "overlap": overlap.as_str(), "overlap_until": overlap_until, "quiet_minutes": quiet, "narrowed_to": narrowed}).to_string()),
            client_addr: client_addr.clone(),
            at: now,
        })
    .await?;
    tx.audit(NewEvent {
            org_id: old.org_id,
            key_id: Some(new_id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::Created,
            reason: None,
            details: Some(
                json!({"environment": environment.as_str(), "scopes": scopes_text.split_whitespace().collect::<Vec<_>>(), "expires_at": now + lifetime,
                       "ip_allowlist": old.ip_allowlist.split_whitespace().collect::<Vec<_>>(), "rotated_from": old_display})
                .to_string(),
            ),
            client_addr: client_addr.clone(),
            at: now,
        })
    .await?;
    if quiet.is_some() && overlap != Overlap::Immediate {
        api_keys::set_quiet_minutes(tx.conn(), old.id, quiet).await?;
    }
    if overlap == Overlap::Immediate {
        retire_in(
            &mut tx,
            &old,
            actor,
            now,
            client_addr,
            Some("Rotated with no overlap"),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, old = %old_display, new = key.display_id(), overlap = overlap.as_str(), "key rotated");

    let mut conn = state.db.acquire().await?;
    let row = api_keys::find(conn.conn(), new_id)
        .await?
        .ok_or_else(|| internal("new key vanished"))?;
    Ok(CreatedKey {
        approvers: Vec::new(),
        replaces: Some((old_display, overlap_until)),
        key: summary(state, &row, now)?,
        secret: key.expose().to_owned(),
    })
}

/// Records that a rotating key stopped working now, and that its expiry is
/// accounted for.
pub(crate) async fn retire_in(
    tx: &mut KeyChange<'_>,
    key: &KeyRow,
    actor: &Actor,
    now: DateTime<Utc>,
    client_addr: Option<String>,
    reason: Option<&str>,
) -> Result<(), AppError> {
    api_keys::mark_expiry_recorded(tx.conn(), key.id, now).await?;
    tx.audit(NewEvent {
        org_id: key.org_id,
        key_id: Some(key.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: AuditAction::Retired,
        reason,
        details: None,
        client_addr,
        at: now,
    })
    .await
}

/// Ends a rotation overlap now: the old key stops working at once.
pub async fn retire(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    reason: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let reason = parse_optional_reason(reason).map_err(|m| AppError::field("reason", m))?;
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    if status_of(&row, now) != KeyStatus::Rotating {
        return Err(AppError::Conflict(
            "Only a key in its rotation overlap can be retired early. To stop any other key, revoke it.".to_owned(),
        ));
    }
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::end_overlap(tx.conn(), row.id, now).await? {
        return Err(AppError::Conflict(
            "This key stopped working a moment ago.".to_owned(),
        ));
    }
    retire_in(
        &mut tx,
        &row,
        actor,
        now,
        Some(addr.to_string()),
        reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key retired");
    Ok(())
}
