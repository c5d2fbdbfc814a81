//! `/keys/new`: create a key from the least-privilege default.

use crate::{
    api::{
        account::{Me, OrgSummary},
        keys::{key_form, CreateKey, KeyFormData, KeyPrefill},
    },
    domain::{
        format,
        key_format::Environment,
        keys::{MAX_NAME_CHARS, MAX_PURPOSE_CHARS, MAX_SERVICE_CHARS},
    },
    ui::{
        forms::{
            action_error, field_error, success_of, ErrorPanel, Field, FormMessage, SubmitButton,
            TextArea,
        },
        keys::{ScopePicker, SecretPanel},
        session::signed_in,
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use std::collections::BTreeSet;

/// The create-key page.
#[component]
pub fn NewKeyPage() -> impl IntoView {
    signed_in(|me: Me| match me.active_org().cloned() {
        None => Either::Left(view! {
            <Title text="Create a key" />
            <section class="empty-state">
                <h1>"Create a key"</h1>
                <p>"Keys belong to organisations, and you are not in one yet."</p>
                <p>
                    <A href="/organisations/new">"Create an organisation"</A>
                </p>
            </section>
        }),
        Some(org) => Either::Right(view! { <NewKey org /> }),
    })
}

#[component]
fn NewKey(org: OrgSummary) -> impl IntoView {
    let org_id = org.id;
    let query = use_query_map();
    let form = Resource::new(
        move || {
            query.with(|q| {
                (
                    org_id,
                    q.get("replace").filter(|v| !v.is_empty()),
                    q.get("client").filter(|v| !v.is_empty()),
                )
            })
        },
        |(org_id, replace, client)| key_form(org_id, replace, client),
    );
    let create = ServerAction::<CreateKey>::new();
    let created = success_of(create);
    let navigate = use_navigate();
    view! {
        <Title text="Create a key" />
        <div class="page-head">
            <h1>"Create an API key"</h1>
            <p class="lede">"For " {org.name.clone()} ". The key will belong to you."</p>
        </div>
        <noscript>
            <p class="panel panel-error">
                "Creating a key needs JavaScript: its secret is shown once, in your browser only. Turn JavaScript on to continue."
            </p>
        </noscript>
        {move || match created.get() {
            Some(new_key) => {
                let navigate = navigate.clone();
                let key_id = new_key.key.key_id.clone();
                let on_done = Callback::new(move |_| {
                    created.set(None);
                    create.value().set(None);
                    navigate(&format!("/keys/{key_id}"), NavigateOptions::default());
                });
                Either::Left(view! { <SecretPanel created=new_key on_done /> })
            }
            None => {
                Either::Right(
                    view! {
                        <Suspense fallback=|| {
                            view! { <p role="status">"Loading the form…"</p> }
                        }>
                            {move || Suspend::new(async move {
                                match form.await {
                                    Err(err) => {
                                        Either::Left(
                                            view! {
                                                <ErrorPanel error=err />
                                                <p>
                                                    <A href="/keys/new">"Create a key from a blank form"</A>
                                                    " or go "
                                                    <A href="/review">"back to the key review"</A>
                                                    "."
                                                </p>
                                            },
                                        )
                                    }
                                    Ok(data) => {
                                        Either::Right(view! { <KeyForm org_id data create /> })
                                    }
                                }
                            })}
                        </Suspense>
                    },
                )
            }
        }}
    }
}

#[component]
fn KeyForm(org_id: i64, data: KeyFormData, create: ServerAction<CreateKey>) -> impl IntoView {
    let error = action_error(create);
    let prefill = data.prefill.clone();
    let selected = RwSignal::new(
        prefill
            .as_ref()
            .map_or(&data.default_scopes, |p| &p.scopes)
            .iter()
            .cloned()
            .collect::<BTreeSet<String>>(),
    );
    let initial_environment = prefill
        .as_ref()
        .map_or(Environment::Sandbox, |p| p.environment);
    let environment = RwSignal::new(initial_environment);
    let text = |f: fn(&KeyPrefill) -> String| prefill.as_ref().map(f).unwrap_or_default();
    let name_value = text(|p| p.name.clone());
    let purpose_value = text(|p| p.purpose.clone());
    let service_value = text(|p| p.service.clone().unwrap_or_default());
    let allowlist_value = text(|p| p.ip_allowlist.clone());
    let quota_value = text(|p| p.monthly_quota.map(|n| n.to_string()).unwrap_or_default());
    let rate_limit_value = prefill
        .as_ref()
        .map_or(data.default_rate_limit, |p| p.rate_limit)
        .to_string();
    let note = prefill.map(|prefill| view! { <ReplacementNote prefill /> });
    let default_days = data.policy.default_expiry_days;
    let expiry = RwSignal::new(default_days.to_string());
    view! {
        {note}
        <FormMessage error />
        <ActionForm action=create attr:novalidate=true attr:class="stack key-form">
            <input type="hidden" name="org_id" value=org_id.to_string() />
            <input type="hidden" name="request_token" value=data.request_token.clone() />
            <Field
                label="Name"
                name="name"
                hint="How people will recognise the key, e.g. “Billing sync”."
                required=true
                autofocus=true
                value=name_value
                maxlength=MAX_NAME_CHARS as u32
                error=field_error(error, "name")
            />
            <TextArea
                label="Purpose"
                name="purpose"
                hint="What will use this key, and why. Whoever reviews it later will thank you."
                required=true
                rows=2
                value=purpose_value
                maxlength=MAX_PURPOSE_CHARS as u32
                error=field_error(error, "purpose")
            />
            <Field
                label="Service or app (optional)"
                name="service"
                hint="The system that will hold the key, e.g. “invoice-worker”."
                value=service_value
                maxlength=MAX_SERVICE_CHARS as u32
                error=field_error(error, "service")
            />
            <fieldset class="radio-group">
                <legend>"Environment"</legend>
                {data
                    .environments
                    .iter()
                    .map(|&env| {
                        let (hint, class) = match env {
                            Environment::Sandbox => {
                                ("Test data only. Safe to experiment with.", "env-option")
                            }
                            Environment::Production => {
                                (
                                    "Real data and real money. Keys start with _live_ and are marked everywhere.",
                                    "env-option env-option-live",
                                )
                            }
                        };
                        view! {
                            <label class=class>
                                <input
                                    type="radio"
                                    name="environment"
                                    value=env.as_str()
                                    checked=env == initial_environment
                                    on:change=move |_| environment.set(env)
                                />
                                <span class="option-title">{env.label()}</span>
                                <span class="hint">{hint}</span>
                            </label>
                        }
                    })
                    .collect_view()}
                {move || {
                    field_error(error, "environment")
                        .get()
                        .map(|m| view! { <p class="field-error">{m}</p> })
                }}
                {(data.environments.len() < Environment::ALL.len())
                    .then(|| {
                        view! {
                            <p class="hint">
                                "Your organisation's policy lets developers create sandbox keys only. An admin can create production keys."
                            </p>
                        }
                    })}
            </fieldset>
            <ScopePicker
                catalog=data.catalog.clone()
                selected
                error=field_error(error, "scopes")
                confirm_error=field_error(error, "confirm_high_risk")
                ask_confirmation=true
            />
            <div class="field">
                <label for="field-expiry">"Expires"</label>
                <p class="hint" id="field-expiry-hint">
                    {format!(
                        "Your organisation's policy lets keys live at most {}. Shorter is safer; rotating is easy.",
                        format::count(data.policy.max_lifetime_days as usize, "day", "days"),
                    )}
                </p>
                <select
                    id="field-expiry"
                    name="expiry"
                    aria-describedby="field-expiry-hint"
                    aria-invalid=move || {
                        field_error(error, "expiry").with(Option::is_some).then_some("true")
                    }
                    on:change=move |ev| expiry.set(event_target_value(&ev))
                >
                    {data
                        .lifetime_presets
                        .iter()
                        .map(|days| {
                            let label = if *days == default_days {
                                format!("In {days} days (default)")
                            } else {
                                format!("In {days} days")
                            };
                            view! {
                                <option value=days.to_string() selected=*days == default_days>
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                    <option value="date">"On a date…"</option>
                </select>
                <div class="date-choice" class:js-hidden=move || expiry.get() != "date">
                    <label for="field-expiry_date">"Last day the key works (UTC)"</label>
                    <input id="field-expiry_date" type="date" name="expiry_date" />
                </div>
                {move || {
                    field_error(error, "expiry")
                        .get()
                        .map(|m| {
                            view! {
                                <p class="field-error" id="field-expiry-error">
                                    {m}
                                </p>
                            }
                        })
                }}
            </div>
            <TextArea
                label="IP allowlist (optional)"
                name="ip_allowlist"
                hint="Addresses or CIDR blocks the key may be used from, separated by commas or new lines. Empty: anywhere."
                rows=2
                value=allowlist_value
                error=field_error(error, "ip_allowlist")
            />
            <Field
                label="Monthly quota (optional)"
                name="monthly_quota"
                inputmode="numeric"
                value=quota_value
                hint="Accepted requests a calendar month (UTC). At the quota, verification answers quota_exceeded until the month ends. Empty: no quota. Only an admin can change it later."
                error=field_error(error, "monthly_quota")
            />
            <Field
                label="Rate limit (requests per minute)"
                name="rate_limit"
                kind="number"
                value=rate_limit_value
                hint="Requests beyond this are refused with rate_limited."
                error=field_error(error, "rate_limit")
            />
            {data
                .approval_applies
                .then(|| {
                    view! {
                        <p class="notice" data-testid="approval-note">
                            "Production keys with high-risk scopes wait for an admin's approval: you see the secret once, now, "
                            "and the key works once an admin approves it. You will be notified of the decision."
                        </p>
                    }
                })}
            <SubmitButton label="Create key" busy_label="Creating…" pending=create.pending() />
        </ActionForm>
    }
}

/// What a filled-in form is for: a key of its own for one client of a
/// shared key, and what to do once the client uses it.
#[component]
fn ReplacementNote(prefill: KeyPrefill) -> impl IntoView {
    view! {
        <section
            class="panel notice"
            aria-labelledby="replacement-heading"
            data-testid="replacement"
        >
            <h2 id="replacement-heading">
                "A key of its own for " <span class="mono">{prefill.client_addr.clone()}</span>
            </h2>
            <p>
                "Filled in to replace the shared key "
                <A href=format!("/keys/{}", prefill.replaces_key_id)>
                    <span class="mono">{prefill.replaces_display_id.clone()}</span>
                </A> " for this client alone: only "
                {match prefill.scopes.len() {
                    1 => "the one scope".to_owned(),
                    n => format!("the {n} scopes"),
                }} " its accepted requests used in the last 30 days ("
                <span class="mono">{prefill.scopes.join(", ")}</span>
                "), allowed from its address only. Change anything before you create it."
            </p>
            <p class="hint">
                "Once every client uses a key of its own, revoke the shared key from its page."
            </p>
        </section>
    }
}
