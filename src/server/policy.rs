//! Organisation key policies: read when keys are created or rotated, set by
//! the organisation's admins, every change in the audit trail.

use super::{
    audit::record_event,
    authz::{authorize_org, Actor, OrgAction},
    db::{
        audit::NewEvent,
        org_policies::{self, NewPolicy},
        organisations, Conn,
    },
    state::AppState,
};
use crate::domain::audit::AuditAction;
use crate::{
    domain::{
        key_format::Environment,
        policy::{parse_rotation_days, parse_token_lifetime_minutes, OrgPolicy},
    },
    error::{AppError, FieldError},
    model::policy::PolicyView,
};
use serde_json::json;
use std::net::IpAddr;

/// The policy of `org_id`: the stored one, or the defaults.
pub async fn load(conn: Conn<'_>, org_id: i64) -> Result<OrgPolicy, AppError> {
    Ok(match org_policies::find(conn, org_id).await? {
        Some(row) => OrgPolicy {
            max_lifetime_days: i64::from(row.max_lifetime_days),
            default_expiry_days: i64::from(row.default_expiry_days),
            developer_environments: row
                .developer_environments
                .split_whitespace()
                .filter_map(|e| Environment::parse(e).ok())
                .collect(),
            approval_for_high_risk_production: row.approval_for_high_risk_production,
            rotate_high_risk_days: i64::from(row.rotate_high_risk_days),
            rotate_low_risk_days: i64::from(row.rotate_low_risk_days),
            access_token_lifetime_secs: row.access_token_lifetime_secs,
        },
        None => OrgPolicy::default(),
    })
}

/// The policy as its page shows it (every member may read it: it governs
/// what they may create).
pub async fn get(state: &AppState, actor: &Actor, org_id: i64) -> Result<PolicyView, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::View)?;
    let mut conn = state.db.acquire().await?;
    let row = org_policies::find(conn.conn(), org_id).await?;
    let can_edit = membership.role == crate::domain::Role::Admin;
    let members_without_second_factor = if can_edit {
        organisations::members_without_second_factor(conn.conn(), org_id).await?
    } else {
        Vec::new()
    };
    Ok(PolicyView {
        policy: load(conn.conn(), org_id).await?,
        updated: row.map(|r| (r.updated_at, r.updated_by_email.unwrap_or_default())),
        can_edit,
        requires_second_factor: membership.requires_second_factor,
        members_without_second_factor,
    })
}

/// What the policy form sends.
#[derive(Debug)]
pub struct PolicyForm {
    /// Longest lifetime of a key in days, as typed: a whole number from 1 to 365.
    pub max_lifetime_days: String,
    /// Lifetime a new key gets unless another is chosen, in days, as typed: from 1
    /// to the maximum.
    pub default_expiry_days: String,
    /// `sandbox`, `production`.
    pub developer_environments: Vec<String>,
    /// On or off.
    pub approval_for_high_risk_production: bool,
    /// Days; empty for 90.
    pub rotate_high_risk_days: String,
    /// Days; empty for 365.
    pub rotate_low_risk_days: String,
    /// Minutes, 1 to 60; empty for 10.
    pub access_token_lifetime_minutes: String,
}

/// Sets the organisation's policy (admins only). Existing keys keep their
/// expiry; the policy applies to keys created or rotated from now on.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    form: PolicyForm,
    addr: IpAddr,
) -> Result<OrgPolicy, AppError> {
    authorize_org(actor, org_id, OrgAction::SetPolicy)?;
    let defaults = OrgPolicy::default();
    let high = parse_rotation_days(&form.rotate_high_risk_days, defaults.rotate_high_risk_days);
    let low = parse_rotation_days(&form.rotate_low_risk_days, defaults.rotate_low_risk_days);
    let token_lifetime = parse_token_lifetime_minutes(
        &form.access_token_lifetime_minutes,
        defaults.access_token_lifetime_secs,
    );
    let mut errors: Vec<FieldError> = match OrgPolicy::validate(
        &form.max_lifetime_days,
        &form.default_expiry_days,
        &form.developer_environments,
        form.approval_for_high_risk_production,
    ) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|(f, m)| FieldError::new(f, m))
            .collect(),
    };
    if let Err(m) = &high {
        errors.push(FieldError::new("rotate_high_risk_days", m.clone()));
    }
    if let Err(m) = &low {
        errors.push(FieldError::new("rotate_low_risk_days", m.clone()));
    }
    if let Err(m) = &token_lifetime {
        errors.push(FieldError::new("access_token_lifetime_minutes", m.clone()));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let policy = OrgPolicy {
        rotate_high_risk_days: high.expect("checked"),
        rotate_low_risk_days: low.expect("checked"),
        access_token_lifetime_secs: token_lifetime.expect("checked"),
        ..OrgPolicy::validate(
            &form.max_lifetime_days,
            &form.default_expiry_days,
            &form.developer_environments,
            form.approval_for_high_risk_production,
        )
        .expect("checked")
    };
    let environments: Vec<&str> = policy
        .developer_environments
        .iter()
        .map(|e| e.as_str())
        .collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    org_policies::upsert(
        tx.conn(),
        org_id,
        &NewPolicy {
            max_lifetime_days: policy.max_lifetime_days as i32,
            default_expiry_days: policy.default_expiry_days as i32,
            developer_environments: &environments.join(" "),
            approval_for_high_risk_production: policy.approval_for_high_risk_production,
            rotate_high_risk_days: policy.rotate_high_risk_days as i32,
            rotate_low_risk_days: policy.rotate_low_risk_days as i32,
            access_token_lifetime_secs: policy.access_token_lifetime_secs,
        },
        actor.user_id,
        now,
    )
    .await?;
    record_event(
        &mut tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::PolicyChanged,
            reason: None,
            details: Some(
                json!({
                    "max_lifetime_days": policy.max_lifetime_days,
                    "default_expiry_days": policy.default_expiry_days,
                    "developer_environments": environments,
                    "approval_for_high_risk_production": policy.approval_for_high_risk_production,
                    "rotate_high_risk_days": policy.rotate_high_risk_days,
                    "rotate_low_risk_days": policy.rotate_low_risk_days,
                    "access_token_lifetime_secs": policy.access_token_lifetime_secs,
                })
                .to_string(),
            ),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, org_id, "key policy changed");
    Ok(policy)
}
