//! `/usage`: the organisation's traffic, for its admins.

use crate::{
    api::{
        account::Me,
        usage::{get_org_usage, UsageRange},
    },
    domain::verify::VerifyCode,
    ui::{
        charts::{CountTable, RangeTabs, UsageChart},
        format,
        forms::ErrorPanel,
        keys::EnvBadge,
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The organisation's usage page.
#[component]
pub fn OrgUsagePage() -> impl IntoView {
    signed_in(|me: Me| {
        let query = use_query_map();
        let range = move || UsageRange::parse(query.with(|q| q.get("range")).as_deref());
        let org = me.active_org().cloned();
        let org_id = org.as_ref().map_or(0, |o| o.id);
        let org_name = org.map(|o| o.name).unwrap_or_default();
        let usage = Resource::new(
            move || (org_id, range()),
            |(org, range)| get_org_usage(org, Some(range.as_str().to_owned())),
        );
        view! {
            <Title text="Usage" />
            <div class="page-head">
                <h1>"Usage"</h1>
                <p class="lede">
                    "Every verification of " {org_name} "'s keys, allowed or refused."
                </p>
            </div>
            <Transition fallback=|| {
                view! { <p role="status">"Loading usage…"</p> }
            }>
                {move || Suspend::new(async move {
                    match usage.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(u) => {
                            let keys_in_use = u.per_key.iter().filter(|k| k.requests > 0).count();
                            view! {
                                <RangeTabs current=u.range base="/usage".to_owned() />
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
                                            <span class="stat-value">{keys_in_use}</span>
                                            <span class="stat-label">
                                                {format::noun(
                                                    keys_in_use as i64,
                                                    "key in use",
                                                    "keys in use",
                                                )}
                                            </span>
                                        </div>
                                    </li>
                                </ul>
                                <UsageChart
                                    buckets=u.buckets.clone()
                                    range=u.range
                                    id="org-chart"
                                />
                                <div class="count-grid">
                                    <CountTable
                                        caption="By outcome"
                                        label="Outcome"
                                        rows={u
                                            .by_outcome
                                            .iter()
                                            .map(|c| crate::api::usage::Count {
                                                label: VerifyCode::words_for(&c.label),
                                                requests: c.requests,
                                            })
                                            .collect::<Vec<_>>()}
                                        empty="No requests yet."
                                    />
                                </div>
                                <section aria-labelledby="per-key-heading">
                                    <h2 id="per-key-heading">"Per key"</h2>
                                    {if u.per_key.is_empty() {
                                        view! { <p class="empty">"No keys yet."</p> }.into_any()
                                    } else {
                                        view! {
                                            <table class="table">
                                                <caption class="visually-hidden">
                                                    "Requests per key in the period"
                                                </caption>
                                                <thead>
                                                    <tr>
                                                        <th scope="col">"Key"</th>
                                                        <th scope="col">"Environment"</th>
                                                        <th scope="col">"Requests"</th>
                                                        <th scope="col">"Refused"</th>
                                                        <th scope="col">"Last used"</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {u
                                                        .per_key
                                                        .clone()
                                                        .into_iter()
                                                        .map(|k| {
                                                            view! {
                                                                <tr>
                                                                    <td>
                                                                        <A href=format!(
                                                                            "/keys/{}/usage",
                                                                            k.key_id,
                                                                        )>{k.name.clone()}</A>
                                                                        <div class="mono key-id">{k.display_id.clone()}</div>
                                                                    </td>
                                                                    <td>
                                                                        <EnvBadge environment=k.environment />
                                                                    </td>
                                                                    <td>{k.requests}</td>
                                                                    <td>{k.denied}</td>
                                                                    <td>
                                                                        {k
                                                                            .last_used_at
                                                                            .map(format::date_time)
                                                                            .unwrap_or_else(|| "never".to_owned())}
                                                                    </td>
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
                                <section aria-labelledby="denied-heading">
                                    <h2 id="denied-heading">"Recently refused"</h2>
                                    {if u.recent_denied.is_empty() {
                                        view! {
                                            <p class="empty">"Nothing refused in this period."</p>
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <table class="table">
                                                <caption class="visually-hidden">
                                                    "The most recent refused verifications"
                                                </caption>
                                                <thead>
                                                    <tr>
                                                        <th scope="col">"When"</th>
                                                        <th scope="col">"Key"</th>
                                                        <th scope="col">"Why"</th>
                                                        <th scope="col">"Request"</th>
                                                        <th scope="col">"From"</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {u
                                                        .recent_denied
                                                        .clone()
                                                        .into_iter()
                                                        .map(|d| {
                                                            view! {
                                                                <tr>
                                                                    <td>{format::date_time(d.at)}</td>
                                                                    <td>
                                                                        {d
                                                                            .key
                                                                            .clone()
                                                                            .map(|(id, display)| {
                                                                                view! {
                                                                                    <A href=format!("/keys/{id}")>{d.key_name.clone()}</A>
                                                                                    <div class="mono key-id">{display}</div>
                                                                                }
                                                                            })}
                                                                    </td>
                                                                    <td>
                                                                        {d.outcome.label()} " "
                                                                        <span class="mono hint">{d.outcome.as_str()}</span>
                                                                        <div class="hint">{d.outcome.describe()}</div>
                                                                    </td>
                                                                    <td class="mono">
                                                                        {d
                                                                            .endpoint
                                                                            .clone()
                                                                            .or_else(|| d.scope.clone())
                                                                            .unwrap_or_else(|| "—".to_owned())}
                                                                    </td>
                                                                    <td class="mono">
                                                                        {d.client_addr.clone().unwrap_or_else(|| "—".to_owned())}
                                                                    </td>
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
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
