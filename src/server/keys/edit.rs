//! Editing a key: name, purpose, service, and removing scopes (a key never
//! gains power in place).

use super::row::{display_of, load_for, scopes_of, status_of};
use super::{change::KeyChange, family};
use crate::domain::audit::AuditAction;
use crate::server::{
    authz::{Actor, KeyAction},
    db::{
        api_keys::{self},
        audit::NewEvent,
    },
    state::AppState,
};
use crate::{
    domain::keys::{self as rules},
    error::{AppError, FieldError},
};
use serde_json::json;
use std::net::IpAddr;

/// What the edit form sends.
#[derive(Debug)]
pub struct KeyChanges {
    /// New name.
    pub name: String,
    /// New purpose.
    pub purpose: String,
    /// New service.
    pub service: String,
    /// The scopes to keep.
    pub scopes: Vec<String>,
}

/// Renames a key, changes its purpose or service, or removes scopes. Scopes
/// can only be removed: a key never gains power in place.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    changes: KeyChanges,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    if status_of(&row, now).is_final() {
        return Err(AppError::Conflict(
            "Revoked, rejected and expired keys cannot be changed.".to_owned(),
        ));
    }
    let mut errors = Vec::new();
    let name = rules::parse_name(&changes.name)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let purpose = rules::parse_purpose(&changes.purpose)
        .map_err(|m| errors.push(FieldError::new("purpose", m)))
        .ok();
    let service = rules::parse_service(&changes.service)
        .map_err(|m| errors.push(FieldError::new("service", m)))
        .ok();
    let current = scopes_of(&row);
    let scopes = match state.catalog.parse_selection(&changes.scopes) {
        Ok(new) => {
            let added: Vec<&str> = new
                .iter()
                .filter(|s| !current.contains(s))
                .map(String::as_str)
                .collect();
            if added.is_empty() {
                Some(new)
            } else {
                errors.push(FieldError::new(
                    "scopes",
                    format!(
                        "A key can only lose scopes. To get {}, create a new key with {}.",
                        added.join(", "),
                        if added.len() == 1 { "it" } else { "them" }
                    ),
                ));
                None
            }
        }
        Err(m) => {
            errors.push(FieldError::new("scopes", m));
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (name, purpose, service, scopes) = (
        name.expect("checked"),
        purpose.expect("checked"),
        service.expect("checked"),
        scopes.expect("checked"),
    );
    let removed: Vec<&String> = current.iter().filter(|s| !scopes.contains(s)).collect();

    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    api_keys::update_details(
        tx.conn(),
        row.id,
        &name,
        &purpose,
        &service,
        &scopes.join(" "),
    )
    .await?;
    let event = |action: AuditAction, details: Option<String>| NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action,
        reason: None,
        details,
        client_addr: Some(addr.to_string()),
        at: now,
    };
    if name != row.name {
        tx.audit(event(
            AuditAction::Renamed,
            Some(json!({"from": row.name, "to": name}).to_string()),
        ))
        .await?;
    }
    if !removed.is_empty() {
        tx.audit(event(
            AuditAction::ScopesChanged,
            Some(json!({"removed": removed, "scopes": scopes}).to_string()),
        ))
        .await?;
        let shown = display_of(state, &row);
        let by = family::Decider::person(actor, addr);
        family::narrow_predecessors(&mut tx, &row, &shown, &by, &removed, now).await?;
    }
    if purpose != row.purpose || service != row.service {
        tx.audit(event(
            AuditAction::DetailsChanged,
            Some(json!({"purpose": purpose, "service": service}).to_string()),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a key's monthly request quota, or removes it (`input` empty): the
/// organisation's admins only; audited, and seen by verification on every
/// instance at once (the change seam). Errors: a field error
/// (`monthly_quota`) for a bad number, forbidden for a developer, not found
/// for a key the actor may not see, a conflict for a key that no longer
/// works.
pub async fn set_quota(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    input: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    crate::server::authz::authorize_org(
        actor,
        row.org_id,
        crate::server::authz::OrgAction::SetQuota,
    )?;
    let quota = crate::domain::quota::parse_monthly_quota(input)
        .map_err(|m| AppError::Invalid(vec![FieldError::new("monthly_quota", m)]))?;
    let now = state.clock.now();
    if status_of(&row, now).is_final() {
        return Err(AppError::Conflict(
            "Revoked, rejected and expired keys cannot be changed.".to_owned(),
        ));
    }
    if quota == row.monthly_quota {
        return Ok(());
    }
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    api_keys::set_monthly_quota(tx.conn(), row.id, quota).await?;
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: AuditAction::QuotaChanged,
        reason: None,
        details: Some(json!({"from": row.monthly_quota, "to": quota}).to_string()),
        client_addr: Some(addr.to_string()),
        at: now,
    })
    .await?;
    tx.commit().await?;
    // Count again from the database (keeping this instance's own count):
    // a lower quota holds at once, a higher one lets requests through again.
    state.local_quotas.recount_soon(row.id);
    Ok(())
}
