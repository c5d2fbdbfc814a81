//! The approval queue for risky keys.

use crate::error::AppError;
pub use crate::model::approvals::PendingKey;
use leptos::prelude::*;

/// The organisation's keys waiting for approval (admins only).
#[server(endpoint = "approval_queue")]
pub async fn approval_queue(org_id: i64) -> Result<Vec<PendingKey>, AppError> {
    use crate::server::{context::request_context, keys::approvals};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            approvals::queue(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Approves (`decision` = `approve`) or rejects (`reject`) a pending key.
#[server(endpoint = "decide_key")]
pub async fn decide_key(
    key_id: String,
    decision: String,
    #[server(default)] comment: String,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys::approvals};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let approve = match decision.as_str() {
                "approve" => true,
                "reject" => false,
                _ => return Err(AppError::field("decision", "Choose Approve or Reject.")),
            };
            approvals::decide(
                &ctx.state,
                &actor,
                &key_id,
                approve,
                &comment,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Withdraws the approval request of a key waiting for one (its owner, or
/// an admin): the key is revoked and never works.
#[server(endpoint = "withdraw_key_request")]
pub async fn withdraw_key_request(key_id: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, keys::approvals};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            approvals::withdraw(&ctx.state, &actor, &key_id, ctx.client_addr).await
        }
        .await,
    )
}
