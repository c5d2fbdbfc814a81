//! The key hygiene review.

use crate::error::AppError;
pub use crate::model::review::{Finding, FindingKind, Review};
use leptos::prelude::*;

/// The organisation's hygiene review (admins).
#[server(endpoint = "key_review")]
pub async fn key_review(org_id: i64) -> Result<Review, AppError> {
    use crate::server::{context::request_context, review};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            review::for_org(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Rotates a key into one with only the scopes it used in the last 30 days
/// (24-hour overlap); returns the new key's secret, once.
#[server(endpoint = "narrow_key")]
pub async fn narrow_key(key_id: String) -> Result<crate::api::keys::CreatedKey, AppError> {
    use crate::server::{context::request_context, keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post()?;
            let actor = ctx.actor().await?;
            keys::narrow_to_used(&ctx.state, &actor, &key_id, ctx.client_addr).await
        }
        .await,
    )
}
