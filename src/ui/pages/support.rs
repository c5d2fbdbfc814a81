//! `/staff/support`: the support console. Staff find a key by its id (or
//! its start), its organisation or its owner, and open it.

use crate::{
    api::{
        account::Me,
        alerts::{staff_alerts, SetAlertState},
        support::{support_search, ReportLeak},
    },
    ui::{
        format,
        forms::{action_error, field_error, ErrorPanel, Field, FormMessage, SubmitButton},
        keys::{EnvBadge, StatusBadge},
        pager::pager_of,
        pages::alerts::AlertList,
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// Every organisation's live alerts, newest activity first.
#[component]
fn StaffAlerts(
    list: Resource<Result<crate::api::alerts::AlertPage, crate::error::AppError>>,
    set_state: ServerAction<SetAlertState>,
) -> impl IntoView {
    view! {
        <section aria-labelledby="staff-alerts-heading">
            <h2 id="staff-alerts-heading">"Live alerts"</h2>
            <Suspense fallback=|| {
                view! { <p role="status">"Loading alerts…"</p> }
            }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(page) => {
                            let pager = pager_of(
                                "alerts",
                                &page,
                                |cursor, id| format!("/staff/support?{cursor}={id}"),
                            );
                            view! {
                                <AlertList alerts=page.items set_state show_key=true staff=true />
                                {pager}
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Reporting a secret found in public: a live key is suspended at once.
#[component]
fn ReportLeakForm() -> impl IntoView {
    let report = ServerAction::<ReportLeak>::new();
    let error = action_error(report);
    view! {
        <details class="action action-danger" data-testid="report-leak">
            <summary>"Report a leaked key"</summary>
            <p>
                "A key's secret found in public (a repository, a forum, a paste): if it is a live key of this portal, it is suspended at once, an alert opens on it, and its owner and admins are told where it was found. Anything else changes nothing. The secret is not stored or logged."
            </p>
            <FormMessage error />
            <ActionForm action=report attr:novalidate=true attr:class="stack">
                <Field
                    label="The secret found"
                    name="token"
                    kind="password"
                    autocomplete="off"
                    required=true
                    form="leak"
                    error=field_error(error, "token")
                />
                <Field
                    label="Where it was found"
                    name="found_at"
                    hint="A URL, or a few words. The key's owner is told."
                    maxlength=500
                    required=true
                    form="leak"
                    error=field_error(error, "found_at")
                />
                <SubmitButton
                    label="Report and suspend"
                    busy_label="Checking…"
                    pending=report.pending()
                    class="button-danger"
                />
            </ActionForm>
            <div role="status" aria-live="polite">
                {move || match report.value().get() {
                    Some(Ok(outcome)) => {
                        Some(
                            match outcome.key {
                                Some(key) => {
                                    view! {
                                        <p class="notice notice-ok">
                                            "The key "
                                            <A href=format!(
                                                "/staff/keys/{}",
                                                key.key_id,
                                            )>{format!("{} ({})", key.display_id, key.name)}</A>
                                            " was suspended, and its owner and admins told."
                                        </p>
                                    }
                                        .into_any()
                                }
                                None => {
                                    view! {
                                        <p class="notice">
                                            "That secret is not a live key of this portal (unknown, revoked or expired): nothing was changed."
                                        </p>
                                    }
                                        .into_any()
                                }
                            },
                        )
                    }
                    _ => None,
                }}
            </div>
        </details>
    }
}

/// The support console's search page. The search is a plain GET form, so
/// it works without JavaScript and the results can be linked.
#[component]
pub fn SupportPage() -> impl IntoView {
    signed_in(|me: Me| {
        if me.staff.is_none() {
            return view! {
                <Title text="Support console" />
                <ErrorPanel error=crate::error::AppError::Forbidden(
                    "The support console is for the platform's staff only.".to_owned(),
                ) />
            }
            .into_any();
        }
        let query = use_query_map();
        let q = move || query.with(|q| q.get("q")).unwrap_or_default();
        let set_alert = ServerAction::<SetAlertState>::new();
        let number = move |name: &str| query.with(|q| q.get(name)).and_then(|v| v.parse().ok());
        let live_alerts = Resource::new(
            move || (set_alert.version().get(), number("after"), number("before")),
            |(_, after, before)| staff_alerts(after, before),
        );
        let results = Resource::new(q, |q| async move {
            if q.trim().is_empty() {
                Ok(None)
            } else {
                support_search(q).await.map(Some)
            }
        });
        view! {
            <Title text="Support console" />
            <div class="page-head">
                <p class="breadcrumb">
                    <A href="/staff">"Platform"</A>
                </p>
                <h1>"Support console"</h1>
                <p class="lede">
                    "Find any key by its id or the start of it ("
                    <span class="mono">"prt_live_AbCd…"</span>
                    "), its organisation, or its owner's email. Secrets are never stored, so they are never shown."
                </p>
            </div>
            <form method="get" action="/staff/support" class="search-form" role="search">
                <label for="support-q">"Key id, organisation or owner email"</label>
                <div class="inline-form">
                    <input
                        id="support-q"
                        type="search"
                        name="q"
                        value=q
                        autofocus=true
                        maxlength=200
                    />
                    <button type="submit" class="button">
                        "Search"
                    </button>
                </div>
            </form>
            <ReportLeakForm />
            <Transition fallback=|| {
                view! { <p role="status">"Searching…"</p> }
            }>
                {move || Suspend::new(async move {
                    match results.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(None) => {
                            view! { <StaffAlerts list=live_alerts set_state=set_alert /> }
                                .into_any()
                        }
                        Ok(Some(hits)) if hits.is_empty() => {
                            view! {
                                <section class="empty-state" role="status">
                                    <h2>"No keys found"</h2>
                                    <p>"Check the id, or search by organisation or owner email."</p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(Some(hits)) => {
                            view! {
                                <p role="status">
                                    {format!("{} found", format::count(hits.len(), "key", "keys"))}
                                    {(hits.len() >= 50)
                                        .then_some(" (the first 50: narrow the search)")}
                                </p>
                                <table class="table" data-testid="support-results">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Key"</th>
                                            <th scope="col">"Organisation"</th>
                                            <th scope="col">"Owner"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Last used"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {hits
                                            .into_iter()
                                            .map(|h| {
                                                view! {
                                                    <tr>
                                                        <td>
                                                            <A href=format!(
                                                                "/staff/keys/{}",
                                                                h.key.key_id,
                                                            )>{h.key.name.clone()}</A>
                                                            <div class="mono key-id">
                                                                {h.key.display_id.clone()}" "
                                                                <EnvBadge environment=h.key.environment />
                                                            </div>
                                                        </td>
                                                        <td>{h.org_name.clone()}</td>
                                                        <td>
                                                            {h.key.owner.clone()}{h.key.owner_left.then_some(" (left)")}
                                                        </td>
                                                        <td>
                                                            <StatusBadge status=h.key.status />
                                                        </td>
                                                        <td>
                                                            {h
                                                                .key
                                                                .last_used_at
                                                                .map(format::date_time)
                                                                .unwrap_or_else(|| "Never".to_owned())}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
        .into_any()
    })
}
