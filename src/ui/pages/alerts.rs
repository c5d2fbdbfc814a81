//! `/alerts`: the organisation's anomaly alerts and their thresholds
//! (admins); also the list the key page and the support console show.

use crate::{
    api::{
        account::Me,
        alerts::{get_alert_settings, org_alerts, AlertView, SetAlertSettings, SetAlertState},
    },
    domain::alerts::AlertState,
    ui::{
        format,
        forms::{action_error, field_error, ErrorPanel, Field, FormMessage, SubmitButton},
        pager::pager_of,
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// A list of alerts with acknowledge and resolve buttons.
#[component]
pub fn AlertList(
    alerts: Vec<AlertView>,
    set_state: ServerAction<SetAlertState>,
    /// Show which key each alert is about.
    #[prop(optional)]
    show_key: bool,
    /// Link keys to the staff view.
    #[prop(optional)]
    staff: bool,
) -> impl IntoView {
    if alerts.is_empty() {
        return view! {
            <p class="empty">
                "No alerts. Portico watches every key's traffic and raises one when something looks wrong."
            </p>
        }.into_any();
    }
    view! {
        <ul class="alert-list" data-testid="alerts">
            {alerts
                .into_iter()
                .map(|a| {
                    let live = a.state != AlertState::Resolved;
                    let key_link = if staff {
                        format!("/staff/keys/{}", a.key_id)
                    } else {
                        format!("/keys/{}", a.key_id)
                    };
                    view! {
                        <li class=format!("alert alert-{}", a.state.as_str())>
                            <h3 class="alert-title">
                                {a.kind.label()}
                                {show_key
                                    .then(|| {
                                        view! {
                                            " · "
                                            <A href=key_link.clone()>{a.key_name.clone()}</A>
                                            " "
                                            <span class="mono key-id">{a.key_display_id.clone()}</span>
                                        }
                                    })} " "
                                <span class=format!(
                                    "status status-alert-{}",
                                    a.state.as_str(),
                                )>{a.state.label()}</span>
                            </h3>
                            <p>{a.summary.clone()}</p>
                            <p class="hint">
                                {format!(
                                    "{} event{} · first {} · last {}",
                                    a.count,
                                    if a.count == 1 { "" } else { "s" },
                                    format::date_time(a.first_seen),
                                    format::date_time(a.last_seen),
                                )} {staff.then(|| format!(" · {}", a.org_name))}
                                {a
                                    .state_changed_by
                                    .clone()
                                    .map(|by| {
                                        format!(" · {} by {by}", a.state.label().to_lowercase())
                                    })}
                            </p>
                            {live
                                .then(|| {
                                    view! {
                                        <div class="button-row">
                                            {(a.state == AlertState::Open)
                                                .then(|| {
                                                    view! {
                                                        <ActionForm action=set_state>
                                                            <input type="hidden" name="id" value=a.id.to_string() />
                                                            <input type="hidden" name="state" value="acknowledged" />
                                                            <button type="submit" class="button button-small">
                                                                "Acknowledge"
                                                            </button>
                                                        </ActionForm>
                                                    }
                                                })} <ActionForm action=set_state>
                                                <input type="hidden" name="id" value=a.id.to_string() />
                                                <input type="hidden" name="state" value="resolved" />
                                                <button type="submit" class="button-quiet">
                                                    "Resolve"
                                                </button>
                                            </ActionForm>
                                        </div>
                                    }
                                })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The organisation's alerts page.
#[component]
pub fn AlertsPage() -> impl IntoView {
    signed_in(|me: Me| {
        let org_id = me.active_org().map(|o| o.id).unwrap_or(0);
        let query = use_query_map();
        let all = move || query.with(|q| q.get("all").is_some());
        let set_state = ServerAction::<SetAlertState>::new();
        let save = ServerAction::<SetAlertSettings>::new();
        let number = move |name: &str| query.with(|q| q.get(name)).and_then(|v| v.parse().ok());
        let list = Resource::new(
            move || {
                (
                    org_id,
                    all(),
                    set_state.version().get(),
                    number("after"),
                    number("before"),
                )
            },
            |(org, all, _, after, before)| org_alerts(org, all, after, before),
        );
        // Another page of the same list.
        let page_href = move |cursor: &str, id: i64| {
            format!("/alerts?{cursor}={id}{}", if all() { "&all=1" } else { "" })
        };
        let settings = Resource::new(
            move || (org_id, save.version().get()),
            |(org, _)| get_alert_settings(org),
        );
        let state_error = action_error(set_state);
        let save_error = action_error(save);
        let saved = move || matches!(save.value().get(), Some(Ok(())));
        view! {
            <Title text="Alerts" />
            <div class="page-head">
                <h1>"Alerts"</h1>
                <p class="lede">
                    "Every minute Portico looks at each key's traffic: spikes, new client networks, out-of-scope and out-of-allowlist requests, guessed secrets and use of retired keys. The owner and the admins are told once per alert."
                </p>
                <p>
                    {move || {
                        if all() {
                            view! { <A href="/alerts">"Show live alerts only"</A> }.into_any()
                        } else {
                            view! { <A href="/alerts?all=1">"Include resolved alerts"</A> }
                                .into_any()
                        }
                    }}
                </p>
            </div>
            <FormMessage error=state_error />
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(page) => {
                            let pager = pager_of("alerts", &page, |k, id| page_href(k, *id));
                            view! {
                                <AlertList alerts=page.items set_state show_key=true />
                                {pager}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <section class="panel" aria-labelledby="thresholds-heading">
                <h2 id="thresholds-heading">"Thresholds"</h2>
                <FormMessage error=save_error />
                {move || {
                    saved()
                        .then(|| {
                            view! {
                                <p class="notice notice-ok" role="status">
                                    "Thresholds saved."
                                </p>
                            }
                        })
                }}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match settings.await {
                            Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                            Ok(s) => {
                                view! {
                                    <ActionForm action=save attr:novalidate=true attr:class="stack">
                                        <input
                                            type="hidden"
                                            name="org_id"
                                            value=org_id.to_string()
                                        />
                                        <Field
                                            label="Spike: times the usual volume"
                                            name="spike_factor"
                                            kind="number"
                                            value=s.spike_factor.to_string()
                                            hint="The last 5 minutes against the key's 7-day average for that hour."
                                            error=field_error(save_error, "spike_factor")
                                        />
                                        <Field
                                            label="Spike: at least this many requests in 5 minutes"
                                            name="spike_floor"
                                            kind="number"
                                            value=s.spike_floor.to_string()
                                            hint="So that quiet keys page nobody."
                                            error=field_error(save_error, "spike_floor")
                                        />
                                        <Field
                                            label="Wrong-secret attempts in 10 minutes"
                                            name="wrong_secret_threshold"
                                            kind="number"
                                            value=s.wrong_secret_threshold.to_string()
                                            error=field_error(save_error, "wrong_secret_threshold")
                                        />
                                        <label class="checkbox">
                                            <input
                                                type="checkbox"
                                                name="auto_suspend_on_spike"
                                                value="on"
                                                checked=s.auto_suspend_on_spike
                                            />
                                            " Suspend a key automatically when it spikes"
                                        </label>
                                        <label class="checkbox">
                                            <input
                                                type="checkbox"
                                                name="auto_suspend_on_retired_use"
                                                value="on"
                                                checked=s.auto_suspend_on_retired_use
                                            />
                                            " Suspend a key's successor automatically when its retired predecessor is used"
                                        </label>
                                        <p class="hint">
                                            "Automatic suspensions are reversible: reinstate the key from its page."
                                        </p>
                                        <SubmitButton
                                            label="Save thresholds"
                                            busy_label="Saving…"
                                            pending=save.pending()
                                        />
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Suspense>
            </section>
        }
    })
}
