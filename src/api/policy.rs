//! The organisation's key policy.

// A server function's arguments are its form's fields.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
pub use crate::model::policy::PolicyView;
use leptos::prelude::*;

/// The organisation's key policy (every member may read it).
#[server(endpoint = "org_policy")]
pub async fn get_org_policy(org_id: i64) -> Result<PolicyView, AppError> {
    use crate::server::{context::request_context, policy};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            policy::get(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Sets the organisation's key policy (admins only).
#[server(endpoint = "set_org_policy")]
pub async fn set_org_policy(
    org_id: i64,
    max_lifetime_days: String,
    default_expiry_days: String,
    #[server(default)] developer_environments: Vec<String>,
    #[server(default)] approval_for_high_risk_production: Option<String>,
    #[server(default)] rotate_high_risk_days: String,
    #[server(default)] rotate_low_risk_days: String,
    #[server(default)] access_token_lifetime_minutes: String,
) -> Result<(), AppError> {
    use crate::server::{
        context::request_context,
        policy::{self, PolicyForm},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            policy::update(
                &ctx.state,
                &actor,
                org_id,
                PolicyForm {
                    max_lifetime_days,
                    default_expiry_days,
                    developer_environments,
                    approval_for_high_risk_production: approval_for_high_risk_production
                        .is_some_and(|v| v == "on" || v == "true"),
                    rotate_high_risk_days,
                    rotate_low_risk_days,
                    access_token_lifetime_minutes,
                },
                ctx.client_addr,
            )
            .await
            .map(|_| ())
        }
        .await,
    )
}

/// Requires (or stops requiring) every member of the organisation to sign
/// in with a second factor (admins only, who must have one themselves).
/// Returns the members who have none yet, by email.
#[server(endpoint = "set_second_factor_requirement")]
pub async fn set_second_factor_requirement(
    org_id: i64,
    required: bool,
) -> Result<Vec<String>, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            second_factor::set_org_requirement(
                &ctx.state,
                &actor,
                org_id,
                required,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}
