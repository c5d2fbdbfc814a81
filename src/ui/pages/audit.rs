//! `/audit`: the organisation's audit trail, for its admins, filtered by
//! who, key, event and days (the filters live in the URL, so a filtered
//! view can be shared and the export takes the same filters).

use crate::{
    api::{account::Me, keys::org_audit},
    domain::{audit::AuditAction, next_path::encode_component},
    ui::{
        audit::AuditTable,
        forms::{field_error, ErrorPanel, FormMessage},
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

/// The filters the page and its links carry.
const FILTERS: [&str; 5] = ["actor", "key", "action", "from", "to"];

/// Every event of the organisation, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    signed_in(|me: Me| {
        let query = use_query_map();
        let param = move |name: &str| {
            query
                .with(|q| q.get(name))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let before = move || param("before").and_then(|b| b.parse::<i64>().ok());
        let filters = move || FILTERS.map(param);
        let filtered = move || filters().iter().any(Option::is_some);
        // The filters as a query string: `&actor=…&key=…`.
        let filter_query = move || {
            FILTERS
                .iter()
                .zip(filters())
                .filter_map(|(name, value)| {
                    value.map(|v| format!("&{name}={}", encode_component(&v)))
                })
                .collect::<String>()
        };
        let org = me.active_org().cloned();
        let org_id = org.as_ref().map(|o| o.id).unwrap_or(0);
        let page = Resource::new(
            move || (org_id, before(), filters()),
            |(org, before, [actor, key, action, from, to])| {
                org_audit(
                    org,
                    before.map(|b| b.to_string()),
                    from,
                    to,
                    actor,
                    key,
                    action,
                )
            },
        );
        let error = Signal::derive(move || page.get().and_then(Result::err));
        let org_name = org.map(|o| o.name).unwrap_or_default();
        view! {
            <Title text="Audit trail" />
            <div class="page-head">
                <h1>"Audit trail"</h1>
                <p class="lede">
                    "Every event in " {org_name}
                    ": who did what, when, from where and why. Entries cannot be changed or deleted."
                </p>
                <p class="hint">
                    {move || {
                        if filtered() {
                            "Export these events: "
                        } else {
                            "Export the whole trail: "
                        }
                    }}
                    <a
                        href=move || format!("/exports/audit.csv?org_id={org_id}{}", filter_query())
                        rel="external"
                        download=""
                        data-testid="export-audit-csv"
                    >
                        "CSV"
                    </a> " · "
                    <a
                        href=move || {
                            format!("/exports/audit.json?org_id={org_id}{}", filter_query())
                        }
                        rel="external"
                        download=""
                    >
                        "JSON"
                    </a>
                </p>
            </div>
            <Form
                method="GET"
                action="/audit"
                attr:class="filters"
                attr:aria-label="Filter the audit trail"
            >
                <div class="field">
                    <label for="filter-actor">"Who"</label>
                    <input
                        id="filter-actor"
                        name="actor"
                        type="email"
                        placeholder="name@example.com"
                        value=move || param("actor").unwrap_or_default()
                        prop:value=move || param("actor").unwrap_or_default()
                    />
                </div>
                <div class="field">
                    <label for="filter-key">"Key id"</label>
                    <input
                        id="filter-key"
                        name="key"
                        class="mono"
                        placeholder="From the key's page"
                        value=move || param("key").unwrap_or_default()
                        prop:value=move || param("key").unwrap_or_default()
                    />
                </div>
                <div class="field">
                    <label for="filter-action">"What"</label>
                    <select
                        id="filter-action"
                        name="action"
                        aria-invalid=move || field_error(error, "action").get().map(|_| "true")
                    >
                        <option value="" selected=move || param("action").is_none()>
                            "Any event"
                        </option>
                        {AuditAction::ALL
                            .into_iter()
                            .map(|a| {
                                view! {
                                    <option
                                        value=a.as_str()
                                        selected=move || {
                                            param("action").as_deref() == Some(a.as_str())
                                        }
                                    >
                                        {a.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="filter-from">"From"</label>
                    <input
                        id="filter-from"
                        name="from"
                        type="date"
                        value=move || param("from").unwrap_or_default()
                        prop:value=move || param("from").unwrap_or_default()
                        aria-invalid=move || field_error(error, "from").get().map(|_| "true")
                    />
                </div>
                <div class="field">
                    <label for="filter-to">"To"</label>
                    <input
                        id="filter-to"
                        name="to"
                        type="date"
                        value=move || param("to").unwrap_or_default()
                        prop:value=move || param("to").unwrap_or_default()
                        aria-invalid=move || field_error(error, "to").get().map(|_| "true")
                    />
                </div>
                <button type="submit" class="button">
                    "Filter"
                </button>
                {move || filtered().then(|| view! { <A href="/audit">"Clear filters"</A> })}
            </Form>
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(err @ crate::error::AppError::Invalid(_)) => {
                            let error = Signal::stored(Some(err));
                            view! {
                                <FormMessage error />
                                <ul class="field-errors" role="alert">
                                    {["from", "to", "action", "before"]
                                        .into_iter()
                                        .filter_map(|f| field_error(error, f).get())
                                        .map(|m| view! { <li>{m}</li> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(page) if page.entries.is_empty() && filtered() => {
                            view! {
                                <section class="empty-state">
                                    <h2>"No events match these filters"</h2>
                                    <p>
                                        "Try fewer filters or a wider range of days. "
                                        <A href="/audit">"Show every event"</A>
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(page) if page.entries.is_empty() => {
                            view! {
                                <section class="empty-state">
                                    <h2>"Nothing recorded yet"</h2>
                                    <p>
                                        "Events appear here as keys are created, rotated and revoked, and as members join and leave."
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(page) => {
                            let filter_query = filter_query();
                            view! {
                                <AuditTable
                                    entries=page.entries
                                    caption="Events, newest first"
                                    with_key=true
                                />
                                <nav class="pager" aria-label="Pages of events">
                                    <p class="pager-links">
                                        {before()
                                            .map(|_| {
                                                let query = filter_query.trim_start_matches('&');
                                                view! {
                                                    <A
                                                        href=format!("/audit?{query}")
                                                        attr:rel="first"
                                                        attr:class="button"
                                                    >
                                                        "← Newest events"
                                                    </A>
                                                }
                                            })}
                                        {page
                                            .next_before
                                            .map(|b| {
                                                view! {
                                                    <A
                                                        href=format!("/audit?before={b}{filter_query}")
                                                        attr:rel="next"
                                                        attr:class="button"
                                                    >
                                                        "Older events →"
                                                    </A>
                                                }
                                            })}
                                    </p>
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
