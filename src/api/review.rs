//! The key hygiene review.

use crate::error::AppError;
pub use crate::model::review::{
    Acceptance, ClientProposal, Finding, FindingKind, NarrowPreview, Review,
};
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

/// Rotates a key into one with only the scopes it used in the last 30 days;
/// returns the new key's secret, once. `keep` is what the review showed the
/// key would keep (a conflict if that changed); `overlap` how long the old
/// key keeps working (`immediate`, `1h`, `24h` (the default) or `7d`).
#[server(endpoint = "narrow_key")]
pub async fn narrow_key(
    key_id: String,
    #[server(default)] keep: Vec<String>,
    #[server(default)] overlap: String,
) -> Result<crate::api::keys::CreatedKey, AppError> {
    use crate::{
        domain::keys::Overlap,
        server::{context::request_context, keys},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Replacing the key with a narrower one")?;
            let actor = ctx.actor().await?;
            if keep.is_empty() {
                return Err(AppError::field(
                    "keep",
                    "Say which scopes the narrowed key keeps, as the review shows them.",
                ));
            }
            let overlap = Overlap::parse(&overlap).map_err(|m| AppError::field("overlap", m))?;
            keys::narrow_to_used(&ctx.state, &actor, &key_id, overlap, &keep, ctx.client_addr).await
        }
        .await,
    )
}

/// Accepts a finding of the review about a key, with a note saying why
/// (admins); the review lists it apart until it is reopened.
#[server(endpoint = "accept_finding")]
pub async fn accept_finding(
    key_id: String,
    kind: String,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, review};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            review::accept(&ctx.state, &actor, &key_id, &kind, &note, ctx.client_addr).await
        }
        .await,
    )
}

/// Reopens an accepted finding (admins).
#[server(endpoint = "reopen_finding")]
pub async fn reopen_finding(key_id: String, kind: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, review};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            review::reopen(&ctx.state, &actor, &key_id, &kind, ctx.client_addr).await
        }
        .await,
    )
}
