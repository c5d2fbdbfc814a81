//! The support console (platform staff only).

pub use crate::model::support::{LeakOutcome, LeakedKey, SupportHit};
use crate::{api::keys::KeyDetail, error::AppError};
use leptos::prelude::*;

/// Finds keys by key id or its start, organisation, or owner email.
#[server(endpoint = "support_search")]
pub async fn support_search(q: String) -> Result<Vec<SupportHit>, AppError> {
    use crate::server::{context::request_context, support};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            support::search(&ctx.state, &actor, &q).await
        }
        .await,
    )
}

/// Any key, for staff.
#[server(endpoint = "support_key")]
pub async fn support_key(key_id: String) -> Result<KeyDetail, AppError> {
    use crate::server::{context::request_context, support};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            support::key(&ctx.state, &actor, &key_id).await
        }
        .await,
    )
}

/// Reports a key's secret found in public (staff): a live key is suspended
/// at once, with an alert and a notice to its owner and admins.
#[server(endpoint = "report_leak")]
pub async fn report_leak(token: String, found_at: String) -> Result<LeakOutcome, AppError> {
    use crate::server::{context::request_context, leaks};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            leaks::report_by_staff(&ctx.state, &actor, &token, &found_at).await
        }
        .await,
    )
}
