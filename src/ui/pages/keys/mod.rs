//! `/keys`: the inventory, and the pages of single keys.

pub mod detail;
pub mod new;
pub mod usage;

use crate::{
    api::{
        account::{Me, OrgSummary},
        keys::{list_keys, KeyPage, KeySummary},
    },
    domain::{key_format::Environment, keys::KeyStatus, Role},
    ui::{
        format,
        forms::ErrorPanel,
        keys::{EnvBadge, StatusBadge},
        pager::pager_of,
        session::signed_in,
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

/// The inventory of keys the user may see.
#[component]
pub fn KeysPage() -> impl IntoView {
    signed_in(|me: Me| match me.active_org().cloned() {
        None => Either::Left(view! {
            <Title text="API keys" />
            <section class="empty-state">
                <h1>"API keys"</h1>
                <p>"Keys belong to organisations, and you are not in one yet."</p>
                <p>
                    <A href="/organisations/new">"Create an organisation"</A>
                </p>
            </section>
        }),
        Some(org) => Either::Right(view! { <KeyInventory org /> }),
    })
}

#[component]
fn KeyInventory(org: OrgSummary) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.is_empty());
    let org_id = org.id;
    let keys = Resource::new(
        move || {
            (
                org_id,
                param("env"),
                param("status"),
                param("sort"),
                param("after"),
                param("before"),
            )
        },
        |(org_id, env, status, sort, after, before)| {
            list_keys(org_id, env, status, sort, after, before)
        },
    );
    // The address of another page: the filters and sort in force, and the cursor.
    let page_href = move |cursor: &str, key_id: String| {
        let mut href = format!("/keys?{cursor}={key_id}");
        for name in ["env", "status", "sort"] {
            if let Some(value) = param(name) {
                href.push_str(&format!(
                    "&{name}={}",
                    crate::domain::next_path::encode_component(&value)
                ));
            }
        }
        href
    };
    let filtered = move || param("env").is_some() || param("status").is_some();
    // The inventory export, with the filters in force on this list.
    let export_link = move |format: &str| {
        let mut link = format!("/exports/keys.{format}?org_id={org_id}");
        for name in ["env", "status"] {
            if let Some(value) = param(name) {
                link.push_str(&format!(
                    "&{name}={}",
                    crate::domain::next_path::encode_component(&value)
                ));
            }
        }
        link
    };
    let whose = if org.role == Role::Admin {
        "every key of "
    } else {
        "your keys in "
    };
    view! {
        <Title text="API keys" />
        <div class="page-head page-head-actions">
            <div>
                <h1>"API keys"</h1>
                <p class="lede">"Showing " {whose} {org.name.clone()} "."</p>
            </div>
            <div class="head-actions">
                <A href="/keys/new" attr:class="button button-primary">
                    "Create key"
                </A>
                <p class="hint">
                    "Export " {move || if filtered() { "these keys" } else { "the inventory" }} ": "
                    <a
                        href=move || export_link("csv")
                        rel="external"
                        download=""
                        data-testid="export-keys-csv"
                    >
                        "CSV"
                    </a> " · " <a href=move || export_link("json") rel="external" download="">
                        "JSON"
                    </a>
                </p>
            </div>
        </div>
        <Form method="GET" action="/keys" attr:class="filters" attr:aria-label="Filter keys">
            <div class="field">
                <label for="filter-env">"Environment"</label>
                <select id="filter-env" name="env">
                    <option value="" selected=move || param("env").is_none()>
                        "All"
                    </option>
                    {Environment::ALL
                        .into_iter()
                        .map(|e| {
                            view! {
                                <option
                                    value=e.as_str()
                                    selected=move || param("env").as_deref() == Some(e.as_str())
                                >
                                    {e.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=move || param("status").is_none()>
                        "All"
                    </option>
                    {KeyStatus::ALL
                        .into_iter()
                        .map(|s| {
                            view! {
                                <option
                                    value=s.as_str()
                                    selected=move || param("status").as_deref() == Some(s.as_str())
                                >
                                    {s.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-sort">"Sort by"</label>
                <select id="filter-sort" name="sort">
                    <option value="" selected=move || param("sort").is_none()>
                        "Newest"
                    </option>
                    <option
                        value="last_used"
                        selected=move || param("sort").as_deref() == Some("last_used")
                    >
                        "Last used"
                    </option>
                    <option
                        value="expiry"
                        selected=move || param("sort").as_deref() == Some("expiry")
                    >
                        "Expiry"
                    </option>
                </select>
            </div>
            <button type="submit" class="button">
                "Apply"
            </button>
        </Form>
        <Transition fallback=|| {
            view! { <p role="status">"Loading keys…"</p> }
        }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                    Ok(page) if page.items.is_empty() && page.total > 0 => {
                        view! {
                            <section class="empty-state">
                                <h2>"No keys on this page"</h2>
                                <p>
                                    "The list ends before it. "
                                    <A href="/keys">"Back to the first page"</A>
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                    Ok(page) if page.items.is_empty() && filtered() => {
                        view! {
                            <section class="empty-state">
                                <h2>"No keys match these filters"</h2>
                                <p>
                                    <A href="/keys">"Show all keys"</A>
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                    Ok(page) if page.items.is_empty() => view! { <NoKeysYet /> }.into_any(),
                    Ok(page) => view! { <KeyPageView page page_href /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One page of the inventory, with the links to the pages around it.
#[component]
fn KeyPageView(page: KeyPage, page_href: impl Fn(&str, String) -> String) -> impl IntoView {
    let pager = pager_of("keys", &page, |k, key_id| page_href(k, key_id.clone()));
    view! {
        <KeyTable keys=page.items />
        {pager}
    }
}

/// The empty inventory: what keys are, and the way to the first one.
#[component]
pub fn NoKeysYet() -> impl IntoView {
    view! {
        <section class="empty-state" aria-labelledby="no-keys">
            <h2 id="no-keys">"No API keys yet"</h2>
            <p>
                "API keys let your services call the platform. Each key holds only the scopes it needs, "
                "works in sandbox or in production, and its secret is shown to you once."
            </p>
            <p>
                <A href="/keys/new" attr:class="button button-primary">
                    "Create your first key"
                </A>
            </p>
            <p class="hint">"Start with a sandbox key: it works on test data only."</p>
        </section>
    }
}

fn last_used(t: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    match t {
        Some(t) => {
            Either::Left(view! { <time datetime=format::iso(t)>{format::date_time(t)}</time> })
        }
        None => Either::Right(view! { <span class="muted">"never"</span> }),
    }
}

#[component]
fn KeyTable(keys: Vec<KeySummary>) -> impl IntoView {
    view! {
        <table class="table key-table">
            <caption class="visually-hidden">"API keys"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Environment"</th>
                    <th scope="col">"Scopes"</th>
                    <th scope="col">"Owner"</th>
                    <th scope="col">"Service"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {keys
                    .into_iter()
                    .map(|k| {
                        let live = k.environment == Environment::Production;
                        view! {
                            <tr class:key-live=live data-key-id=k.key_id.clone()>
                                <td>
                                    <A href=format!("/keys/{}", k.key_id)>{k.name.clone()}</A>
                                    <div class="mono key-id">{k.display_id.clone()}</div>
                                </td>
                                <td>
                                    <EnvBadge environment=k.environment />
                                </td>
                                <td class="scopes-cell">{k.scopes.join(", ")}</td>
                                <td>{k.owner.clone()}</td>
                                <td>
                                    {if k.service.is_empty() {
                                        "—".to_owned()
                                    } else {
                                        k.service.clone()
                                    }}
                                </td>
                                <td>
                                    <time datetime=format::iso(
                                        k.created_at,
                                    )>{format::date(k.created_at)}</time>
                                </td>
                                <td>{last_used(k.last_used_at)}</td>
                                <td>
                                    <time datetime=format::iso(
                                        k.expires_at,
                                    )>{format::date(k.expires_at)}</time>
                                </td>
                                <td>
                                    <StatusBadge status=k.status />
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
