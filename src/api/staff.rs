//! For the platform's staff: the status of the platform and the gateway
//! tokens that may call `/v1/verify`.

use crate::error::AppError;
pub use crate::model::staff::{
    GatewayTokenView, NewGatewayToken, PlatformStatus, SharedLimitHealth, UsageStats,
};
use leptos::prelude::*;

/// The status of this instance (staff only).
#[server(endpoint = "platform_status")]
pub async fn get_platform_status() -> Result<PlatformStatus, AppError> {
    use crate::server::{
        authz::{authorize_staff, StaffAction},
        context::request_context,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            authorize_staff(&actor, StaffAction::ViewStatus)?;
            let config = &ctx.state.config;
            if let Some(limiter) = &ctx.state.global_limiter {
                // Seen now, not only at the next verification.
                let _ = limiter.refresh().await;
            }
            Ok(PlatformStatus {
                usage: ctx.state.usage.stats(),
                database: format!("{:?}", config.database_url.kind),
                usage_retention_days: config.usage_retention_days,
                rollup_retention_days: config.rollup_retention_days,
                shared_limits: ctx.state.global_limiter.as_ref().map(|l| l.health()),
            })
        }
        .await,
    )
}

/// Every gateway token (staff only).
#[server(endpoint = "gateway_tokens")]
pub async fn gateway_tokens() -> Result<Vec<GatewayTokenView>, AppError> {
    use crate::server::{
        authz::{authorize_staff, StaffAction},
        context::request_context,
        verify::gateway,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            authorize_staff(&actor, StaffAction::ManageGateways)?;
            gateway::list(&ctx.state.db).await
        }
        .await,
    )
}

/// Makes a gateway token and returns it, once (staff only).
#[server(endpoint = "create_gateway_token")]
pub async fn create_gateway_token(name: String) -> Result<NewGatewayToken, AppError> {
    use crate::server::{
        authz::{authorize_staff, StaffAction},
        context::request_context,
        verify::gateway,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Making a gateway token")?;
            let actor = ctx.actor().await?;
            authorize_staff(&actor, StaffAction::ManageGateways)?;
            gateway::create(&ctx.state, &name, Some(actor.user_id)).await
        }
        .await,
    )
}

/// Revokes a gateway token (staff only).
#[server(endpoint = "revoke_gateway_token")]
pub async fn revoke_gateway_token(name: String) -> Result<(), AppError> {
    use crate::server::{
        authz::{authorize_staff, StaffAction},
        context::request_context,
        verify::gateway,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            authorize_staff(&actor, StaffAction::ManageGateways)?;
            gateway::revoke(&ctx.state, &name).await
        }
        .await,
    )
}
