//! API keys: create, list, inspect, rotate, retire, revoke, edit, and the
//! organisation's audit trail.

// Server functions take one argument per form field.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
pub use crate::model::keys::{
    AccessTokensView, ApprovalDecision, AuditEntry, AuditPage, ChainLink, CreatedKey, KeyCounts,
    KeyDetail, KeyFormData, KeyPage, KeyPermissions, KeyPrefill, KeySummary, QuotaView,
    SuspensionView,
};
use leptos::prelude::*;

/// What the create form needs: the catalog, the defaults and a token; with
/// `replace` (a shared key's id) and `client` (one of its client addresses),
/// filled in with a key for that client alone.
#[server(endpoint = "key_form")]
pub async fn key_form(
    org_id: i64,
    replace: Option<String>,
    client: Option<String>,
) -> Result<KeyFormData, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let replace = replace.as_deref().zip(client.as_deref());
            keys::form_data(&ctx.state, &actor, org_id, replace).await
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
    #[server(default)] monthly_quota: Option<String>,
) -> Result<CreatedKey, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Creating a key")?;
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
                monthly_quota: monthly_quota.unwrap_or_default(),
            };
            keys::create(&ctx.state, &actor, org_id, form, ctx.client_addr).await
        }
        .await,
    )
}

/// A page of the keys the user may see in an organisation (their own, or
/// all for admins), filtered and ordered, after or before a key of another
/// page (its public id).
#[server(endpoint = "list_keys")]
pub async fn list_keys(
    org_id: i64,
    environment: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    #[server(default)] after: Option<String>,
    #[server(default)] before: Option<String>,
) -> Result<KeyPage, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let filter =
                keys::KeyFilter::parse(environment.as_deref(), status.as_deref(), sort.as_deref());
            let cursor = keys::KeyCursor::parse(after.as_deref(), before.as_deref());
            keys::list(&ctx.state, &actor, org_id, &filter, &cursor).await
        }
        .await,
    )
}

/// How the keys the user may see in an organisation stand, counted over
/// all of them (the dashboard).
#[server(endpoint = "key_overview")]
pub async fn key_overview(org_id: i64) -> Result<KeyCounts, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::counts(&ctx.state, &actor, org_id).await
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
    #[server(default)] reason: String,
) -> Result<CreatedKey, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Rotating a key")?;
            let actor = ctx.actor().await?;
            keys::rotate(
                &ctx.state,
                &actor,
                &key_id,
                keys::RotateForm {
                    overlap: overlap.as_deref().unwrap_or(""),
                    quiet: &quiet,
                    reason: &reason,
                },
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Ends a rotation overlap now: the old key stops working. The reason is
/// optional.
#[server(endpoint = "retire_key")]
pub async fn retire_key(key_id: String, #[server(default)] reason: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::retire(&ctx.state, &actor, &key_id, &reason, ctx.client_addr).await
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
/// Sets a key's monthly request quota (`monthly_quota` empty: none); the
/// organisation's admins only.
#[server(endpoint = "set_key_quota")]
pub async fn set_key_quota(
    key_id: String,
    #[server(default)] monthly_quota: String,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            keys::set_quota(&ctx.state, &actor, &key_id, &monthly_quota, ctx.client_addr).await
        }
        .await,
    )
}

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

/// A page of the organisation's audit trail (admins only), filtered by
/// days (`YYYY-MM-DD`, UTC, both inclusive), who, key and event; each
/// filter optional.
#[server(endpoint = "org_audit")]
pub async fn org_audit(
    org_id: i64,
    #[server(default)] before: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] actor: Option<String>,
    #[server(default)] key: Option<String>,
    #[server(default)] action: Option<String>,
) -> Result<AuditPage, AppError> {
    use crate::server::{
        audit::{self, FilterForm},
        context::request_context,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
                        let actor_ = ctx.actor().await?;
            let before = match before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
                None => None,
                Some(b) => Some(b.parse::<i64>().map_err(|_| {
                    AppError::field(
                        "before",
                        "That page of the trail does not exist: go back to the newest events and page from there.",
                    )
                })?),
            };
            let filter = FilterForm {
                from,
                to,
                actor,
                key,
                action,
            };
            audit::org_audit(&ctx.state, &actor_, org_id, &filter, before).await
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
