//! Usage dashboards: one key's traffic, and an organisation's.

use crate::error::AppError;
pub use crate::model::usage::{
    Count, DeniedRequest, KeyUsage, OrgKeyUsage, OrgUsage, RecentRequest, UsageBucket, UsageFilter,
    UsageRange,
};
use leptos::prelude::*;

/// One key's usage over a period (`24h`, `7d`, `30d`), optionally narrowed
/// to one client address (`addr`) and one endpoint (`endpoint`, as the
/// page's endpoint table labels it).
#[server(endpoint = "key_usage")]
pub async fn get_key_usage(
    key_id: String,
    range: Option<String>,
    addr: Option<String>,
    endpoint: Option<String>,
) -> Result<KeyUsage, AppError> {
    use crate::server::{context::request_context, usage::dashboard};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            dashboard::key_usage(
                &ctx.state,
                &actor,
                &key_id,
                UsageRange::parse(range.as_deref()),
                UsageFilter {
                    client_addr: addr,
                    endpoint,
                },
            )
            .await
        }
        .await,
    )
}

/// An organisation's usage over a period (admins only).
#[server(endpoint = "org_usage")]
pub async fn get_org_usage(org_id: i64, range: Option<String>) -> Result<OrgUsage, AppError> {
    use crate::server::{context::request_context, usage::dashboard};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            dashboard::org_usage(
                &ctx.state,
                &actor,
                org_id,
                UsageRange::parse(range.as_deref()),
            )
            .await
        }
        .await,
    )
}
