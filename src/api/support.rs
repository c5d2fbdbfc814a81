//! The support console (platform staff only).

use crate::{
    api::keys::{KeyDetail, KeySummary},
    error::AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A key found by the support console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportHit {
    /// The key (status, owner, last use…).
    pub key: KeySummary,
    /// Its organisation.
    pub org_name: String,
}

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
