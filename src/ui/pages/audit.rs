//! `/audit`: the organisation's audit trail, for its admins.

use crate::{
    api::{account::Me, keys::org_audit},
    ui::{audit::AuditTable, forms::ErrorPanel, session::signed_in},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// Every lifecycle event of the organisation's keys, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    signed_in(|me: Me| {
        let query = use_query_map();
        let before = move || {
            query
                .with(|q| q.get("before"))
                .and_then(|b| b.parse::<i64>().ok())
        };
        let org = me.active_org().cloned();
        let org_id = org.as_ref().map(|o| o.id).unwrap_or(0);
        let page = Resource::new(
            move || (org_id, before()),
            |(org, before)| org_audit(org, before),
        );
        let org_name = org.map(|o| o.name).unwrap_or_default();
        view! {
            <Title text="Audit trail" />
            <div class="page-head">
                <h1>"Audit trail"</h1>
                <p class="lede">
                    "Every key event in " {org_name}
                    ": who did what, when, from where and why. Entries cannot be changed or deleted."
                </p>
                <p class="hint">
                    "Export the whole trail: "
                    <a
                        href=format!("/exports/audit.csv?org_id={org_id}")
                        rel="external"
                        download=""
                        data-testid="export-audit-csv"
                    >
                        "CSV"
                    </a> " · "
                    <a
                        href=format!("/exports/audit.json?org_id={org_id}")
                        rel="external"
                        download=""
                    >
                        "JSON"
                    </a>
                </p>
            </div>
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(page) if page.entries.is_empty() => {
                            view! {
                                <section class="empty-state">
                                    <h2>"Nothing recorded yet"</h2>
                                    <p>
                                        "Events appear here as keys are created, rotated and revoked."
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(page) => {
                            view! {
                                <AuditTable
                                    entries=page.entries
                                    caption="Key events, newest first"
                                    with_key=true
                                />
                                {page
                                    .next_before
                                    .map(|b| {
                                        view! {
                                            <p class="pager">
                                                <A href=format!("/audit?before={b}")>"Older events"</A>
                                            </p>
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
