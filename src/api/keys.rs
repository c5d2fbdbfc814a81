//! API keys: create, list, inspect, rotate, retire, revoke, edit, and the
//! organisation's audit trail.

// Server functions take one argument per form field.
#![allow(clippy::too_many_arguments)]

use crate::{
    domain::{
        key_format::Environment,
        keys::{Approval, KeyStatus},
        policy::OrgPolicy,
        scopes::Catalog,
    },
    error::AppError,
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A key as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySummary {
    /// Public key id, used in URLs.
    pub key_id: String,
    /// `prt_live_AbCdEfGhIj`: the recognisable start of the key.
    pub display_id: String,
    /// Name.
    pub name: String,
    /// Sandbox or production.
    pub environment: Environment,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
    /// Owner's email.
    pub owner: String,
    /// Service or app.
    pub service: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last verified (`None`: never).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Where it stands now.
    pub status: KeyStatus,
    /// End of the rotation overlap, while rotating.
    pub rotating_until: Option<DateTime<Utc>>,
    /// The owner left the organisation: an admin should give the key a new owner.
    pub owner_left: bool,
}

/// A key's suspension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionView {
    /// Since.
    pub at: DateTime<Utc>,
    /// By whom.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When it lifts by itself (`None`: until someone reinstates it).
    pub until: Option<DateTime<Utc>>,
}

/// An admin's decision on a key that needed approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// Who decided.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Their comment.
    pub comment: String,
}

/// What the person looking at a key may do to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPermissions {
    /// Rotate, retire, revoke, edit (the owner and the organisation's admins).
    pub manage: bool,
    /// Suspend and reinstate (the organisation's admins and platform staff).
    pub suspend: bool,
    /// Approve or reject, and give a new owner (the organisation's admins).
    pub administer: bool,
}

/// A link in a key's rotation chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// Public key id.
    pub key_id: String,
    /// Recognisable start of the key.
    pub display_id: String,
    /// Where it stands.
    pub status: KeyStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Event id (for paging).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (an email, or `system`).
    pub actor: String,
    /// What (`created`, `rotated`, …).
    pub action: String,
    /// The key's public id and display id, if the event is about a key.
    pub key: Option<(String, String)>,
    /// The key's name.
    pub key_name: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Other facts, in words.
    pub details: Option<String>,
    /// From where.
    pub client_addr: Option<String>,
}

/// Everything about one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDetail {
    /// The list fields.
    pub summary: KeySummary,
    /// What it is for.
    pub purpose: String,
    /// Addresses it may be used from (empty: anywhere).
    pub ip_allowlist: Vec<String>,
    /// Who made it.
    pub created_by: String,
    /// Address of the last verification.
    pub last_used_addr: Option<String>,
    /// Verifications in the last 7 days.
    pub requests_7d: i64,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// By whom.
    pub revoked_by: Option<String>,
    /// Why.
    pub revoked_reason: Option<String>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
    /// The rotation chain, oldest first (this key included).
    pub chain: Vec<ChainLink>,
    /// Its audit history, newest first.
    pub audit: Vec<AuditEntry>,
    /// Which of its scopes are high risk.
    pub high_risk_scopes: Vec<String>,
    /// A ready `curl` line against the sample API, the secret as
    /// `$PORTICO_KEY`.
    pub try_it: Option<String>,
    /// The organisation's id.
    pub org_id: i64,
    /// The organisation's name.
    pub org_name: String,
    /// The suspension, while suspended.
    pub suspension: Option<SuspensionView>,
    /// Whether it needed approval, and the state of that.
    pub approval: Approval,
    /// The admin's decision, once made.
    pub approval_decision: Option<ApprovalDecision>,
    /// What the viewer may do.
    pub permissions: KeyPermissions,
    /// When the owner left and the viewer is an admin: the members who
    /// could own the key, `(user id, email)`.
    pub new_owner_choices: Vec<(i64, String)>,
}

/// What the create form needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFormData {
    /// The scope catalog.
    pub catalog: Catalog,
    /// Scopes ticked to begin with (least privilege).
    pub default_scopes: Vec<String>,
    /// One-time token that makes a double submit create one key.
    pub request_token: String,
    /// The product prefix of keys.
    pub prefix: String,
    /// Environments the user may create keys in.
    pub environments: Vec<Environment>,
    /// Requests per minute offered by default.
    pub default_rate_limit: u32,
    /// Lifetimes offered, in days.
    pub lifetime_presets: Vec<i64>,
    /// Whether a production key with a high-risk scope waits for an admin.
    pub approval_applies: bool,
    /// The organisation's policy.
    pub policy: OrgPolicy,
}

/// A key just made: its secret, shown once and never again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The key.
    pub key: KeySummary,
    /// The whole secret.
    pub secret: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"(redacted)")
            .finish()
    }
}

/// A page of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page, if there is one.
    pub next_before: Option<i64>,
}

/// What the create form needs: the catalog, the defaults and a token.
#[server(endpoint = "key_form")]
pub async fn key_form(org_id: i64) -> Result<KeyFormData, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::form_data(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Creates a key and returns it with its secret, once.
#[server(endpoint = "create_key")]
pub async fn create_key(
    org_id: i64,
    request_token: String,
    name: String,
    purpose: String,
    service: Option<String>,
    environment: String,
    #[server(default)] scopes: Vec<String>,
    expiry: Option<String>,
    expiry_date: Option<String>,
    ip_allowlist: Option<String>,
    confirm_high_risk: Option<String>,
    rate_limit: Option<String>,
) -> Result<CreatedKey, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post()?;
            let actor = ctx.actor().await?;
            let form = keys::NewKeyForm {
                request_token,
                name,
                purpose,
                service: service.unwrap_or_default(),
                environment,
                scopes,
                expiry: expiry.unwrap_or_default(),
                expiry_date,
                ip_allowlist: ip_allowlist.unwrap_or_default(),
                confirm_high_risk: confirm_high_risk.is_some_and(|v| v == "true" || v == "on"),
                rate_limit: rate_limit.unwrap_or_default(),
            };
            keys::create(&ctx.state, &actor, org_id, form, ctx.client_addr).await
        }
        .await,
    )
}

/// The keys the user may see in an organisation: their own, or all for admins.
#[server(endpoint = "list_keys")]
pub async fn list_keys(
    org_id: i64,
    environment: Option<String>,
    status: Option<String>,
    sort: Option<String>,
) -> Result<Vec<KeySummary>, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let filter =
                keys::KeyFilter::parse(environment.as_deref(), status.as_deref(), sort.as_deref());
            keys::list(&ctx.state, &actor, org_id, &filter).await
        }
        .await,
    )
}

/// Everything about one key.
#[server(endpoint = "get_key")]
pub async fn get_key(key_id: String) -> Result<KeyDetail, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::detail(&ctx.state, &actor, &key_id).await
        }
        .await,
    )
}

/// Replaces a key with a successor (secret shown once); the old key keeps
/// working for the overlap.
#[server(endpoint = "rotate_key")]
pub async fn rotate_key(
    key_id: String,
    overlap: Option<String>,
    #[server(default)] quiet: String,
) -> Result<CreatedKey, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post()?;
            let actor = ctx.actor().await?;
            keys::rotate(
                &ctx.state,
                &actor,
                &key_id,
                overlap.as_deref().unwrap_or(""),
                &quiet,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Ends a rotation overlap now: the old key stops working.
#[server(endpoint = "retire_key")]
pub async fn retire_key(key_id: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::retire(&ctx.state, &actor, &key_id, ctx.client_addr).await
        }
        .await,
    )
}

/// Revokes a key, at once and for good, with a reason.
#[server(endpoint = "revoke_key")]
pub async fn revoke_key(key_id: String, reason: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::revoke(&ctx.state, &actor, &key_id, &reason, ctx.client_addr).await
        }
        .await,
    )
}

/// Renames a key, changes its purpose or service, or removes scopes.
#[server(endpoint = "update_key")]
pub async fn update_key(
    key_id: String,
    name: String,
    purpose: String,
    service: Option<String>,
    #[server(default)] scopes: Vec<String>,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let changes = keys::KeyChanges {
                name,
                purpose,
                service: service.unwrap_or_default(),
                scopes,
            };
            keys::update(&ctx.state, &actor, &key_id, changes, ctx.client_addr).await
        }
        .await,
    )
}

/// A page of the organisation's audit trail (admins only).
#[server(endpoint = "org_audit")]
pub async fn org_audit(org_id: i64, before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::org_audit(&ctx.state, &actor, org_id, before).await
        }
        .await,
    )
}

/// Suspends a key (the organisation's admins, or platform staff): refused
/// by verification until reinstated or until `until` (empty: indefinitely).
#[server(endpoint = "suspend_key")]
pub async fn suspend_key(
    key_id: String,
    reason: String,
    #[server(default)] until: String,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys::suspension};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            suspension::suspend(
                &ctx.state,
                &actor,
                &key_id,
                &reason,
                &until,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Lifts a key's suspension (the organisation's admins, or platform staff).
#[server(endpoint = "reinstate_key")]
pub async fn reinstate_key(key_id: String, reason: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys::suspension};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            suspension::reinstate(&ctx.state, &actor, &key_id, &reason, ctx.client_addr).await
        }
        .await,
    )
}
