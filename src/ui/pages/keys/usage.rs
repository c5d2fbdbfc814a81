//! `/keys/:key_id/usage`: one key's traffic.

use crate::{
    api::usage::{get_key_usage, UsageRange},
    domain::verify::VerifyCode,
    ui::{
        charts::{CountTable, RangeTabs, UsageChart},
        format,
        forms::ErrorPanel,
        keys::{EnvBadge, StatusBadge},
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

/// The usage page of one key.
#[component]
pub fn KeyUsagePage() -> impl IntoView {
    signed_in(|_me| {
        let params = use_params_map();
        let query = use_query_map();
        let key_id = move || params.with(|p| p.get("key_id")).unwrap_or_default();
        let range = move || UsageRange::parse(query.with(|q| q.get("range")).as_deref());
        let usage = Resource::new(
            move || (key_id(), range()),
            |(id, range)| get_key_usage(id, Some(range.as_str().to_owned())),
        );
        view! {
            <Transition fallback=|| {
                view! { <p role="status">"Loading usage…"</p> }
            }>
                {move || Suspend::new(async move {
                    match usage.await {
                        Err(err) => {
                            view! {
                                <Title text="Usage" />
                                <ErrorPanel error=err />
                            }
                                .into_any()
                        }
                        Ok(u) => {
                            let k = u.key.clone();
                            let name = k.name.clone();
                            let crumb = k.name.clone();
                            let detail_href = format!("/keys/{}", k.key_id);
                            let described: Vec<crate::api::usage::Count> = u
                                .by_outcome
                                .iter()
                                .map(|c| crate::api::usage::Count {
                                    label: VerifyCode::words_for(&c.label),
                                    requests: c.requests,
                                })
                                .collect();
                            view! {
                                <Title text=format!("Usage of {}", k.name) />
                                <div class="page-head">
                                    <p class="breadcrumb">
                                        <A href="/keys">"API keys"</A>
                                        " › "
                                        <A href=detail_href>{crumb}</A>
                                    </p>
                                    <h1>"Usage of " {name}</h1>
                                    <p class="key-identity">
                                        <span class="mono">{k.display_id.clone()}</span>
                                        <EnvBadge environment=k.environment />
                                        <StatusBadge status=k.status />
                                    </p>
                                </div>
                                <RangeTabs
                                    current=u.range
                                    base=format!("/keys/{}/usage", k.key_id)
                                />
                                <ul class="stat-grid">
                                    <li class="stat">
                                        <div>
                                            <span class="stat-value">{u.total}</span>
                                            <span class="stat-label">
                                                {format::noun(u.total, "request", "requests")}
                                            </span>
                                        </div>
                                    </li>
                                    <li class="stat" class:stat-warn={u.denied > 0}>
                                        <div>
                                            <span class="stat-value">{u.denied}</span>
                                            <span class="stat-label">"refused"</span>
                                        </div>
                                    </li>
                                    <li class="stat">
                                        <div>
                                            <span class="stat-value stat-small">
                                                {k
                                                    .last_used_at
                                                    .map(format::date_time)
                                                    .unwrap_or_else(|| "Never".to_owned())}
                                            </span>
                                            <span class="stat-label">
                                                "last used"
                                                {u.last_used_addr.clone().map(|a| format!(" from {a}"))}
                                            </span>
                                        </div>
                                    </li>
                                </ul>
                                <UsageChart
                                    buckets=u.buckets.clone()
                                    range=u.range
                                    id="key-chart"
                                />
                                <div class="count-grid">
                                    <CountTable
                                        caption="By outcome"
                                        label="Outcome"
                                        rows=described
                                        empty="No requests yet."
                                    />
                                    <CountTable
                                        caption="By scope"
                                        label="Scope"
                                        rows=u.by_scope.clone()
                                        empty="No scope was checked."
                                    />
                                    <CountTable
                                        caption="By endpoint"
                                        label="Endpoint"
                                        rows=u.by_endpoint.clone()
                                        empty="No requests named an endpoint."
                                    />
                                    <CountTable
                                        caption="Top client addresses"
                                        label="Address"
                                        rows=u.top_addresses.clone()
                                        empty="No addresses recorded."
                                    />
                                </div>
                                <p class="hint">
                                    "Endpoints and addresses come from individual requests, kept "
                                    {u.raw_retention_days} " days. Times are UTC."
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
