//! `/keys/:key_id/usage`: one key's traffic.

use crate::{
    api::usage::{get_key_usage, KeyUsage, UsageFilter, UsageRange},
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
        let filter = move || {
            query.with(|q| UsageFilter {
                client_addr: q.get("addr"),
                endpoint: q.get("endpoint"),
            })
        };
        let usage = Resource::new(
            move || (key_id(), range(), filter()),
            |(id, range, filter)| {
                get_key_usage(
                    id,
                    Some(range.as_str().to_owned()),
                    filter.client_addr,
                    filter.endpoint,
                )
            },
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
                                    query=u
                                        .filter
                                        .href(&k.key_id, u.range)
                                        .split_once('&')
                                        .map(|(_, rest)| format!("&{rest}"))
                                        .unwrap_or_default()
                                />
                                <FilterNotice usage=u.clone() />
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
                                    // The key's last use is not a fact about the filter.
                                    {u
                                        .filter
                                        .is_empty()
                                        .then(|| {
                                            view! {
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
                                            }
                                        })}
                                </ul>
                                {u
                                    .filter
                                    .is_empty()
                                    .then(|| {
                                        view! {
                                            <UsageChart
                                                buckets=u.buckets.clone()
                                                range=u.range
                                                id="key-chart"
                                            />
                                        }
                                    })}
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
                                        link={
                                            let (filter, key_id, range) = (
                                                u.filter.clone(),
                                                k.key_id.clone(),
                                                u.range,
                                            );
                                            Callback::new(move |label: String| {
                                                (!label.starts_with('('))
                                                    .then(|| filter.with_endpoint(&label).href(&key_id, range))
                                            })
                                        }
                                    />
                                    <CountTable
                                        caption="Top client addresses"
                                        label="Address"
                                        rows=u.top_addresses.clone()
                                        empty="No addresses recorded."
                                        link={
                                            let (filter, key_id, range) = (
                                                u.filter.clone(),
                                                k.key_id.clone(),
                                                u.range,
                                            );
                                            Callback::new(move |label: String| {
                                                (!label.starts_with('('))
                                                    .then(|| filter.with_addr(&label).href(&key_id, range))
                                            })
                                        }
                                    />
                                </div>
                                <RecentRequests usage=u.clone() />
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

/// What the page is narrowed to, and the way back to all requests.
#[component]
fn FilterNotice(usage: KeyUsage) -> impl IntoView {
    let filter = usage.filter.clone();
    if filter.is_empty() {
        return ().into_any();
    }
    let key_id = usage.key.key_id.clone();
    let all = UsageFilter::default().href(&key_id, usage.range);
    let without_addr = UsageFilter {
        client_addr: None,
        ..filter.clone()
    };
    let without_endpoint = UsageFilter {
        endpoint: None,
        ..filter.clone()
    };
    let part = |what: &'static str, value: Option<String>, rest: &UsageFilter| {
        value.map(|value| {
            let href = if rest.is_empty() {
                all.clone()
            } else {
                rest.href(&key_id, usage.range)
            };
            view! {
                <li>
                    {what} " " <strong class="mono">{value.clone()}</strong> " "
                    <a href=href aria-label=format!("Stop filtering by {value}")>
                        "remove"
                    </a>
                </li>
            }
        })
    };
    view! {
        <section class="notice filter-notice" aria-labelledby="filter-heading">
            <h2 id="filter-heading" class="visually-hidden">
                "Filter"
            </h2>
            <p>
                "Only requests that match, from the requests kept " {usage.raw_retention_days}
                " days:"
            </p>
            <ul>
                {part("from", filter.client_addr.clone(), &without_addr)}
                {part("to", filter.endpoint.clone(), &without_endpoint)}
            </ul>
            <p>
                <a href=all.clone()>"Show all requests"</a>
                " (and the chart)."
            </p>
        </section>
    }
    .into_any()
}

/// The most recent requests that match the filter, each address and
/// endpoint a link that narrows the page to it.
#[component]
fn RecentRequests(usage: KeyUsage) -> impl IntoView {
    let key_id = usage.key.key_id.clone();
    let range = usage.range;
    let filter = usage.filter.clone();
    view! {
        <section class="recent-requests" aria-labelledby="recent-heading">
            <h2 id="recent-heading">"Recent requests"</h2>
            {if usage.recent.is_empty() {
                view! {
                    <p class="empty">
                        {if filter.is_empty() {
                            "No requests in this period. Requests checked with this key appear here within a second."
                        } else {
                            "No requests in this period match the filter."
                        }}
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <table class="table">
                        <caption class="visually-hidden">
                            "The most recent requests, newest first"
                        </caption>
                        <thead>
                            <tr>
                                <th scope="col">"Time"</th>
                                <th scope="col">"Client address"</th>
                                <th scope="col">"Endpoint"</th>
                                <th scope="col">"Outcome"</th>
                                <th scope="col">"Scope"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {usage
                                .recent
                                .iter()
                                .map(|r| {
                                    let addr = match &r.client_addr {
                                        Some(a) => {
                                            let href = filter.with_addr(a).href(&key_id, range);
                                            view! { <a href=href>{a.clone()}</a> }.into_any()
                                        }
                                        None => "(not given)".into_any(),
                                    };
                                    let endpoint = match &r.endpoint {
                                        Some(e) => {
                                            let href = filter.with_endpoint(e).href(&key_id, range);
                                            view! { <a href=href>{e.clone()}</a> }.into_any()
                                        }
                                        None => "(scope checked directly)".into_any(),
                                    };
                                    view! {
                                        <tr class:refused=!r.outcome.is_valid()>
                                            <td>
                                                <time
                                                    datetime=r.at.to_rfc3339()
                                                    title=format::exact_time(r.at)
                                                >
                                                    {format::date_time(r.at)}
                                                </time>
                                            </td>
                                            <td class="mono">{addr}</td>
                                            <td class="mono">{endpoint}</td>
                                            <td>{r.outcome.label()}</td>
                                            <td class="mono">{r.scope.clone()}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}
