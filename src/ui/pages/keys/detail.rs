//! `/keys/:key_id`: one key, its rotation chain and history, and what can be
//! done to it.

use crate::{
    api::{
        alerts::{key_alerts, AlertView, SetAlertState},
        approvals::WithdrawKeyRequest,
        keys::{
            get_key, AccessTokensView, AuditEntry, KeyDetail, QuotaView, ReinstateKey, RetireKey,
            RevokeKey, RotateKey, SetKeyQuota, SuspendKey, UpdateKey,
        },
        orgs::GiveKey,
        support::support_key,
    },
    domain::{
        key_format::Environment,
        keys::{KeyStatus, MAX_NAME_CHARS, MAX_PURPOSE_CHARS, MAX_SERVICE_CHARS},
    },
    ui::{
        audit::AuditTable,
        format,
        forms::{
            action_error, field_error, success_of, ErrorPanel, Field, FormMessage, SubmitButton,
            TextArea,
        },
        keys::{EnvBadge, HighRiskBadge, OverlapChoice, ScopePicker, SecretPanel, StatusBadge},
        pages::alerts::AlertList,
        session::signed_in,
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use std::collections::BTreeSet;

/// The actions of the key page; the key is fetched again after each.
#[derive(Clone, Copy)]
struct KeyActions {
    rotate: ServerAction<RotateKey>,
    retire: ServerAction<RetireKey>,
    revoke: ServerAction<RevokeKey>,
    update: ServerAction<UpdateKey>,
    suspend: ServerAction<SuspendKey>,
    reinstate: ServerAction<ReinstateKey>,
    give: ServerAction<GiveKey>,
    set_alert: ServerAction<SetAlertState>,
    withdraw: ServerAction<WithdrawKeyRequest>,
    set_quota: ServerAction<SetKeyQuota>,
}

/// The page of one key, for its owner and the organisation's admins.
#[component]
pub fn KeyPage() -> impl IntoView {
    view! { <KeyPageFor staff=false /> }
}

/// The page of any key, for platform staff (the support console).
#[component]
pub fn StaffKeyPage() -> impl IntoView {
    view! { <KeyPageFor staff=true /> }
}

#[component]
fn KeyPageFor(staff: bool) -> impl IntoView {
    signed_in(move |_me| {
        let params = use_params_map();
        let key_id = move || params.with(|p| p.get("key_id")).unwrap_or_default();
        let actions = KeyActions {
            rotate: ServerAction::new(),
            retire: ServerAction::new(),
            revoke: ServerAction::new(),
            update: ServerAction::new(),
            suspend: ServerAction::new(),
            reinstate: ServerAction::new(),
            give: ServerAction::new(),
            set_alert: ServerAction::new(),
            withdraw: ServerAction::new(),
            set_quota: ServerAction::new(),
        };
        // Created here, before any suspense, so that the server and the
        // browser create the page's resources in the same order.
        let alerts = Resource::new(
            move || (key_id(), actions.set_alert.version().get()),
            |(id, _)| key_alerts(id),
        );
        let key = Resource::new(
            move || {
                (
                    key_id(),
                    actions.rotate.version().get(),
                    actions.retire.version().get(),
                    actions.revoke.version().get(),
                    actions.update.version().get(),
                    actions.suspend.version().get(),
                    actions.reinstate.version().get(),
                    actions.give.version().get(),
                    actions.withdraw.version().get(),
                    actions.set_quota.version().get(),
                )
            },
            move |(id, ..)| async move {
                if staff {
                    support_key(id).await
                } else {
                    get_key(id).await
                }
            },
        );
        let navigate = use_navigate();
        let rotated = success_of(actions.rotate);
        view! {
            {move || match rotated.get() {
                Some(created) => {
                    let navigate = navigate.clone();
                    let next = created.key.key_id.clone();
                    let on_done = Callback::new(move |_| {
                        rotated.set(None);
                        actions.rotate.value().set(None);
                        navigate(&format!("/keys/{next}"), NavigateOptions::default());
                    });
                    Either::Left(
                        view! {
                            <Title text="Key rotated" />
                            <SecretPanel created on_done heading="Copy the new key now" />
                        },
                    )
                }
                None => {
                    Either::Right(
                        view! {
                            <Transition fallback=|| {
                                view! { <p role="status">"Loading the key…"</p> }
                            }>
                                {move || Suspend::new(async move {
                                    match key.await {
                                        Err(err) => {
                                            #[cfg(feature = "ssr")]
                                            if let (
                                                crate::error::AppError::NotFound(_),
                                                Some(response),
                                            ) = (&err, use_context::<leptos_axum::ResponseOptions>()) {
                                                response.set_status(axum::http::StatusCode::NOT_FOUND);
                                            }
                                            Either::Left(
                                                view! {
                                                    <Title text="Key not found" />
                                                    <ErrorPanel error=err />
                                                },
                                            )
                                        }
                                        Ok(detail) => {
                                            Either::Right(
                                                view! { <KeyView detail actions staff alerts /> },
                                            )
                                        }
                                    }
                                })}
                            </Transition>
                        },
                    )
                }
            }}
        }
    })
}

#[component]
fn KeyView(
    detail: KeyDetail,
    actions: KeyActions,
    staff: bool,
    alerts: Resource<Result<Vec<AlertView>, crate::error::AppError>>,
) -> impl IntoView {
    let s = detail.summary.clone();
    let live = s.environment == Environment::Production;
    let open = matches!(s.status, KeyStatus::Active | KeyStatus::Rotating);
    let permissions = detail.permissions;
    let suspendable = permissions.suspend
        && matches!(
            s.status,
            KeyStatus::Active | KeyStatus::Rotating | KeyStatus::PendingApproval
        );
    view! {
        <Title text=s.name.clone() />
        <div class="page-head key-head" class:key-head-live=live>
            <p class="breadcrumb">
                {if staff {
                    Either::Left(
                        view! {
                            <A href="/staff/support">"Support console"</A>
                            " · "
                            {detail.org_name.clone()}
                        },
                    )
                } else {
                    Either::Right(view! { <A href="/keys">"API keys"</A> })
                }}
            </p>
            <h1>{s.name.clone()}</h1>
            <p class="key-identity">
                <span class="mono">{s.display_id.clone()}</span>
                <EnvBadge environment=s.environment />
                <StatusBadge status=s.status />
                {(!staff)
                    .then(|| {
                        view! {
                            <A
                                href=format!("/keys/{}/usage", s.key_id)
                                attr:class="button button-small"
                            >
                                "Usage"
                            </A>
                        }
                    })}
            </p>
        </div>
        {s
            .owner_left
            .then(|| {
                view! {
                    <div class="notice notice-warn" data-testid="owner-left" id="owner">
                        <p>
                            <strong>"Owner left: "</strong>
                            {s.owner.clone()}
                            " is no longer a member of "
                            {detail.org_name.clone()}
                            ". "
                            "The key keeps working; an admin should give it a new owner."
                        </p>
                        {(permissions.administer && !staff)
                            .then(|| {
                                view! {
                                    <GiveKey
                                        key_id=s.key_id.clone()
                                        choices=detail.new_owner_choices.clone()
                                        give=actions.give
                                    />
                                }
                            })}
                    </div>
                }
            })}
        <StatusNotice detail=detail.clone() actions />
        <section aria-labelledby="details-heading" class="panel">
            <h2 id="details-heading">"Details"</h2>
            <dl class="details">
                <dt>"Key id"</dt>
                <dd class="mono">{s.display_id.clone()}"…"</dd>
                <dt>"Environment"</dt>
                <dd>
                    <EnvBadge environment=s.environment />
                </dd>
                <dt>"Purpose"</dt>
                <dd class="pre-line">{detail.purpose.clone()}</dd>
                <dt>"Service"</dt>
                <dd>{if s.service.is_empty() { "—".to_owned() } else { s.service.clone() }}</dd>
                <dt>"Organisation"</dt>
                <dd>{detail.org_name.clone()}</dd>
                <dt>"Owner"</dt>
                <dd>{s.owner.clone()}{s.owner_left.then_some(" (left the organisation)")}</dd>
                <dt>"Created"</dt>
                <dd>
                    <time datetime=format::iso(
                        s.created_at,
                    )>{format::date_time(s.created_at)}</time>
                    " by "
                    {detail.created_by.clone()}
                </dd>
                <dt>"Expires"</dt>
                <dd>
                    <time datetime=format::iso(
                        s.expires_at,
                    )>{format::date_time(s.expires_at)}</time>
                </dd>
                <dt>"Scopes"</dt>
                <dd>
                    <ul class="scope-list">
                        {s
                            .scopes
                            .iter()
                            .map(|scope| {
                                let high = detail.high_risk_scopes.contains(scope);
                                view! {
                                    <li>
                                        <span class="mono">{scope.clone()}</span>
                                        {high
                                            .then(|| {
                                                view! {
                                                    " "
                                                    <HighRiskBadge />
                                                }
                                            })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </dd>
                <dt>"IP allowlist"</dt>
                <dd>
                    {if detail.ip_allowlist.is_empty() {
                        "Anywhere".to_owned()
                    } else {
                        detail.ip_allowlist.join(", ")
                    }}
                </dd>
                <dt>"Last used"</dt>
                <dd data-testid="last-used">{last_use(&detail)}</dd>
                <dt>"Last refused"</dt>
                <dd data-testid="last-refused">{last_refusal(&detail)}</dd>
                <dt>"Requests, last 7 days"</dt>
                <dd>{requests_lately(&detail)}</dd>
                <dt>"Rate limit"</dt>
                <dd>
                    {format::count(
                        detail.rate_limit_per_minute as usize,
                        "request per minute",
                        "requests per minute",
                    )}
                </dd>
                <dt>"Monthly quota"</dt>
                <dd data-testid="quota">
                    <QuotaLine quota=detail.quota.clone() />
                    {(detail.permissions.administer && !s.status.is_final())
                        .then(|| {
                            view! {
                                <QuotaForm
                                    key_id=s.key_id.clone()
                                    current=detail.quota.as_ref().map(|q| q.monthly)
                                    action=actions.set_quota
                                />
                            }
                        })}
                </dd>
            </dl>
        </section>
        {(open && detail.try_it.is_some())
            .then(|| {
                view! {
                    <TryIt
                        line=detail.try_it.clone().unwrap_or_default()
                        display_id=s.display_id.clone()
                    />
                }
            })}
        {open.then(|| view! { <AccessTokens view=detail.access_tokens.clone() /> })}
        {(detail.chain.len() > 1).then(|| view! { <Chain detail=detail.clone() /> })}
        <KeyAlerts alerts set_state=actions.set_alert staff />
        {suspendable.then(|| view! { <SuspendPanel detail=detail.clone() actions /> })}
        {(open && permissions.manage)
            .then(|| view! { <KeyActionsPanel detail=detail.clone() actions /> })}
        <History entries=detail.audit.clone() />
        <RevealAskedControl />
    }
}

/// Brings the control the address asks for (`?do=rotate#rotate`, from the
/// review's fix links) into view and puts the keyboard on it, also after a
/// navigation within the app, which does not scroll to the fragment. Its
/// `<details>` is already open (see [`asked_for`]).
#[component]
fn RevealAskedControl() -> impl IntoView {
    let asked = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("do"));
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(id) = asked.clone() {
            request_animation_frame(move || {
                use leptos::wasm_bindgen::JsCast;
                let Some(control) = document().get_element_by_id(&id) else {
                    return;
                };
                control.scroll_into_view();
                if let Some(summary) = control
                    .query_selector("summary")
                    .ok()
                    .flatten()
                    .and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = summary.focus();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &asked;
    });
}

/// Verifications in the last 7 days, with the refused ones named: "12 (3
/// refused)".
fn requests_lately(detail: &KeyDetail) -> String {
    match detail.refused_7d {
        0 => detail.requests_7d.to_string(),
        n => format!("{} ({n} refused)", detail.requests_7d),
    }
}

/// The last accepted verification: refused ones never count as use.
fn last_use(detail: &KeyDetail) -> String {
    match (detail.summary.last_used_at, &detail.last_used_addr) {
        (None, _) => "Never".to_owned(),
        (Some(t), Some(addr)) => format!("{} from {addr}", format::date_time(t)),
        (Some(t), None) => format::date_time(t),
    }
}

/// The last refused verification and how many were refused lately, e.g.
/// "30 Nov 2026, 09:23 UTC from 198.51.100.20: Revoked. 12 refused in the
/// last 7 days."
fn last_refusal(detail: &KeyDetail) -> String {
    let lately = match detail.refused_7d {
        0 => "None refused in the last 7 days.".to_owned(),
        n => format!(
            "{} in the last 7 days.",
            format::count(n as usize, "refused", "refused")
        ),
    };
    match &detail.last_refused {
        None => "Never".to_owned(),
        Some(r) => {
            let from = r
                .client_addr
                .as_deref()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default();
            format!(
                "{}{from}: {}. {lately}",
                format::date_time(r.at),
                r.code.label()
            )
        }
    }
}

/// A ready command to call the sample API with the key.
#[component]
fn TryIt(line: String, display_id: String) -> impl IntoView {
    view! {
        <section aria-labelledby="try-heading" class="panel">
            <h2 id="try-heading">"Try it"</h2>
            <p>
                "Call Portico's sample API with this key. Put the whole key (it starts with "
                <span class="mono">{display_id}</span>
                ") in an environment variable first, then run:"
            </p>
            <pre class="code">
                <code data-testid="try-it">
                    {format!(
                        "export PORTICO_KEY='…'   # the whole key, shown once when it was made\n{line}",
                    )}
                </code>
            </pre>
            <p class="hint">
                "Requests appear on the key's usage page. See the "
                <A href="/docs">"verification guide"</A> " for the gateway API."
            </p>
        </section>
    }
}

/// Exchanging the key for short-lived access tokens (OAuth 2.0 client
/// credentials), with a ready request and how many were minted.
#[component]
fn AccessTokens(view: AccessTokensView) -> impl IntoView {
    view! {
        <section aria-labelledby="tokens-heading" class="panel">
            <h2 id="tokens-heading">"Exchange for short-lived tokens"</h2>
            <p>
                "A service can trade this key for an access token that lives "
                {format::count((view.lifetime_secs / 60) as usize, "minute", "minutes")}
                " (the organisation's policy) and that any service checks without calling Portico. A leaked token is worth minutes, not months. Add "
                <span class="mono">"-d scope=…"</span> " to ask for fewer scopes."
            </p>
            <pre class="code">
                <code data-testid="token-request">{view.request_line}</code>
            </pre>
            <p data-testid="tokens-minted">
                {match view.minted_24h {
                    0 => "No tokens minted in the last 24 hours.".to_owned(),
                    n => {
                        format!(
                            "{} in the last 24 hours.",
                            format::count(n as usize, "token minted", "tokens minted"),
                        )
                    }
                }}
            </p>
            <p class="hint">
                "When to use tokens instead of keys, and how to check one offline: "
                <A href="/docs#access-tokens">"access tokens in the guide"</A> "."
            </p>
        </section>
    }
}

/// What the status means now, with the action it calls for.
#[component]
fn StatusNotice(detail: KeyDetail, actions: KeyActions) -> impl IntoView {
    let s = detail.summary.clone();
    let retire_error = action_error(actions.retire);
    let withdraw_error = action_error(actions.withdraw);
    match s.status {
        KeyStatus::Rotating => {
            let successor = detail.chain.iter().skip_while(|l| l.key_id != s.key_id).nth(1).cloned();
            Either::Left(view! {
                <section class="notice notice-warn" aria-labelledby="rotating-heading">
                    <h2 id="rotating-heading">"Being replaced"</h2>
                    <p>
                        "This key keeps working until " {s.rotating_until.map(format::date_time)}
                        {successor
                            .map(|n| {
                                view! {
                                    ", beside its successor "
                                    <A href=format!("/keys/{}", n.key_id)>{n.display_id}</A>
                                }
                            })} ". Last used: " <strong>{last_use(&detail)}</strong>
                        ". Once traffic has moved to the new key, retire this one."
                    </p>
                    <FormMessage error=retire_error />
                    <ActionForm action=actions.retire attr:class="stack">
                        <input type="hidden" name="key_id" value=s.key_id.clone() />
                        <TextArea
                            label="Reason for retiring early (optional)"
                            name="reason"
                            form="retire"
                            rows=2
                            maxlength=500
                            error=field_error(retire_error, "reason")
                        />
                        <SubmitButton
                            label="Retire now"
                            busy_label="Retiring…"
                            pending=actions.retire.pending()
                            class="button-danger"
                        />
                    </ActionForm>
                </section>
            }.into_any())
        }
        KeyStatus::Revoked => Either::Left(view! {
            <section class="notice notice-danger">
                <h2>"Revoked"</h2>
                <p>
                    "Revoked on " {detail.revoked_at.map(format::date_time)} " by "
                    {detail.revoked_by.clone()} ". " "Reason: "
                    <q class="revoke-reason">{detail.revoked_reason.clone()}</q>
                </p>
                <p class="hint">
                    "Revocation is permanent: the key is refused and cannot be restored."
                </p>
            </section>
        }.into_any()),
        KeyStatus::Expired => Either::Left(view! {
            <section class="notice">
                <h2>"Expired"</h2>
                <p>"This key no longer works. Create a new key if you still need one."</p>
            </section>
        }.into_any()),
        KeyStatus::Suspended => {
            let suspension = detail.suspension.clone();
            let reinstate_error = action_error(actions.reinstate);
            let can = detail.permissions.suspend;
            Either::Left(view! {
                <section
                    class="notice notice-warn"
                    aria-labelledby="suspended-heading"
                    data-testid="suspension"
                >
                    <h2 id="suspended-heading">"Suspended"</h2>
                    {suspension
                        .map(|su| {
                            view! {
                                <p>
                                    "Suspended on " {format::date_time(su.at)} " by " {su.by}
                                    ". Reason: " <q>{su.reason}</q> ". "
                                    {match su.until {
                                        Some(t) => {
                                            format!(
                                                "It works again from {} unless reinstated sooner.",
                                                format::date_time(t),
                                            )
                                        }
                                        None => {
                                            "It stays suspended until an admin or support reinstates it."
                                                .to_owned()
                                        }
                                    }}
                                </p>
                            }
                        })}
                    <p class="hint">
                        "Every request with this key is refused while it is suspended. Suspension is reversible; revocation is not."
                    </p>
                    {can
                        .then(|| {
                            view! {
                                <FormMessage error=reinstate_error />
                                <ActionForm
                                    action=actions.reinstate
                                    attr:novalidate=true
                                    attr:class="stack"
                                >
                                    <input type="hidden" name="key_id" value=s.key_id.clone() />
                                    <Field
                                        label="Reason for reinstating"
                                        name="reason"
                                        required=true
                                        maxlength=500
                                        error=field_error(reinstate_error, "reason")
                                    />
                                    <SubmitButton
                                        label="Reinstate"
                                        busy_label="Reinstating…"
                                        pending=actions.reinstate.pending()
                                    />
                                </ActionForm>
                            }
                        })}
                </section>
            }.into_any())
        }
        KeyStatus::PendingApproval => Either::Left(view! {
            <section class="notice notice-warn" data-testid="pending-approval">
                <h2>"Waiting for approval"</h2>
                <p>
                    "This production key has high-risk scopes, so your organisation's policy asks an admin to approve it. "
                    "Until then, requests with it are refused with " <code>"pending_approval"</code>
                    ". Its owner is notified of the decision."
                </p>
                {detail
                    .permissions
                    .administer
                    .then(|| {
                        view! {
                            <p>
                                <A href="/approvals" attr:class="button button-small">
                                    "Open the approval queue"
                                </A>
                            </p>
                        }
                    })}
                {detail
                    .permissions
                    .manage
                    .then(|| {
                        view! {
                            <details
                                class="action action-danger"
                                open=withdraw_error.with_untracked(Option::is_some)
                            >
                                <summary>"Withdraw this request"</summary>
                                <p>
                                    "The key will never work, and the approval queue no longer lists it. Make a new key if you need one later."
                                </p>
                                <FormMessage error=withdraw_error />
                                <ActionForm action=actions.withdraw>
                                    <input type="hidden" name="key_id" value=s.key_id.clone() />
                                    <SubmitButton
                                        label="Withdraw request"
                                        busy_label="Withdrawing…"
                                        pending=actions.withdraw.pending()
                                        class="button-danger"
                                    />
                                </ActionForm>
                            </details>
                        }
                    })}
            </section>
        }.into_any()),
        KeyStatus::Rejected => Either::Left(view! {
            <section class="notice notice-danger">
                <h2>"Rejected"</h2>
                {detail
                    .approval_decision
                    .clone()
                    .map(|d| {
                        view! {
                            <p>
                                "Rejected on " {format::date_time(d.at)} " by " {d.by} ". Comment: "
                                <q>{d.comment}</q>
                            </p>
                        }
                    })}
                <p class="hint">
                    "A rejected key never works. Create another key if you still need one."
                </p>
            </section>
        }.into_any()),
        KeyStatus::Active => Either::Right(()),
    }
}

/// Gives a key whose owner left to a current member (admins).
#[component]
fn GiveKey(
    key_id: String,
    choices: Vec<(i64, String)>,
    give: ServerAction<GiveKey>,
) -> impl IntoView {
    let error = action_error(give);
    view! {
        <FormMessage error />
        <ActionForm action=give attr:class="inline-form">
            <input type="hidden" name="key_id" value=key_id />
            <label for="give-owner">"New owner"</label>
            <select id="give-owner" name="owner_id">
                {choices
                    .into_iter()
                    .map(|(id, email)| view! { <option value=id.to_string()>{email}</option> })
                    .collect_view()}
            </select>
            <SubmitButton label="Give the key" busy_label="Saving…" pending=give.pending() />
        </ActionForm>
    }
}

/// The key's alerts, with acknowledge and resolve.
#[component]
fn KeyAlerts(
    alerts: Resource<Result<Vec<AlertView>, crate::error::AppError>>,
    set_state: ServerAction<SetAlertState>,
    staff: bool,
) -> impl IntoView {
    let error = action_error(set_state);
    view! {
        <section aria-labelledby="alerts-heading" class="panel">
            <h2 id="alerts-heading">"Alerts"</h2>
            <FormMessage error />
            <Suspense fallback=|| {
                view! { <p role="status">"Loading alerts…"</p> }
            }>
                {move || Suspend::new(async move {
                    match alerts.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(alerts) => view! { <AlertList alerts set_state staff /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Names the keys this one replaced that still work in their rotation
/// overlap, which a decision about this key reaches too; nothing when none.
#[component]
fn PredecessorsNote(detail: KeyDetail, doing: &'static str) -> impl IntoView {
    let own = detail
        .chain
        .iter()
        .position(|l| l.key_id == detail.summary.key_id);
    let working: Vec<String> = detail.chain[..own.unwrap_or(0)]
        .iter()
        .filter(|l| l.status == KeyStatus::Rotating)
        .map(|l| l.display_id.clone())
        .collect();
    (!working.is_empty()).then(|| {
        let (them, still) = if working.len() == 1 {
            ("the key it replaced", "still works in its rotation overlap")
        } else {
            (
                "the keys it replaced",
                "still work in their rotation overlaps",
            )
        };
        view! {
            <p class="notice notice-warn" data-testid="predecessors-note">
                {format!("{doing} {them} too ({}), which {still}.", working.join(", "))}
            </p>
        }
    })
}

/// Suspend: a reversible stop, for the organisation's admins and support.
#[component]
fn SuspendPanel(detail: KeyDetail, actions: KeyActions) -> impl IntoView {
    let error = action_error(actions.suspend);
    view! {
        <section aria-labelledby="suspend-heading" class="panel">
            <h2 id="suspend-heading">"Suspend"</h2>
            <details class="action" open=error.with_untracked(Option::is_some)>
                <summary>"Suspend this key"</summary>
                <p>
                    "Suspending stops every request with this key at once, and can be undone: reinstate it later, or set an end and it reinstates itself. "
                    "Its owner and the organisation's admins are told, with your reason. To stop a key for good, revoke it instead."
                </p>
                <PredecessorsNote
                    detail=detail.clone()
                    doing="Suspending this key stops for good"
                />
                <FormMessage error />
                <ActionForm action=actions.suspend attr:novalidate=true attr:class="stack">
                    <input type="hidden" name="key_id" value=detail.summary.key_id.clone() />
                    <TextArea
                        label="Reason for suspending"
                        name="reason"
                        form="suspend"
                        hint="Sent to the owner and kept in the audit trail, e.g. “Traffic from an unknown network”."
                        required=true
                        rows=2
                        maxlength=500
                        error=field_error(error, "reason")
                    />
                    <Field
                        label="Reinstate automatically on (optional)"
                        name="until"
                        kind="datetime-local"
                        hint="In UTC. Leave empty to suspend until someone reinstates the key."
                        error=field_error(error, "until")
                    />
                    <SubmitButton
                        label="Suspend key"
                        busy_label="Suspending…"
                        pending=actions.suspend.pending()
                        class="button-danger"
                    />
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn Chain(detail: KeyDetail) -> impl IntoView {
    let current = detail.summary.key_id.clone();
    view! {
        <section aria-labelledby="chain-heading" class="panel">
            <h2 id="chain-heading">"Rotation chain"</h2>
            <ol class="chain">
                {detail
                    .chain
                    .into_iter()
                    .map(|link| {
                        let here = link.key_id == current;
                        view! {
                            <li aria-current=here
                                .then_some(
                                    "true",
                                )>
                                {if here {
                                    Either::Left(
                                        view! {
                                            <span class="mono">{link.display_id.clone()}</span>
                                            " (this key)"
                                        },
                                    )
                                } else {
                                    Either::Right(
                                        view! {
                                            <A href=format!("/keys/{}", link.key_id)>
                                                <span class="mono">{link.display_id.clone()}</span>
                                            </A>
                                        },
                                    )
                                }} " " <StatusBadge status=link.status /> " created "
                                {format::date(link.created_at)}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn KeyActionsPanel(detail: KeyDetail, actions: KeyActions) -> impl IntoView {
    let s = detail.summary.clone();
    let key_id = s.key_id.clone();
    let active = s.status == KeyStatus::Active;
    let rotate_error = action_error(actions.rotate);
    let revoke_error = action_error(actions.revoke);
    view! {
        <section aria-labelledby="actions-heading" class="panel">
            <h2 id="actions-heading">"Manage"</h2>
            {active
                .then(|| {
                    view! {
                        <details
                            class="action"
                            id="rotate"
                            open=rotate_error.with_untracked(Option::is_some) || asked_for("rotate")
                        >
                            <summary>"Rotate"</summary>
                            <p>
                                "Makes a new key with the same settings and shows its secret once. The old key keeps working for the overlap you choose, so you can deploy the new one first."
                            </p>
                            <FormMessage error=rotate_error />
                            <ActionForm action=actions.rotate attr:class="stack">
                                <input type="hidden" name="key_id" value=key_id.clone() />
                                <OverlapChoice legend="Keep the old key working for".to_owned() />
                                <div class="field">
                                    <label for="field-quiet">
                                        "Retire the old key earlier once it has had no traffic for"
                                    </label>
                                    <select id="field-quiet" name="quiet">
                                        <option value="" selected=true>
                                            "Never: keep the whole overlap"
                                        </option>
                                        <option value="15">"15 minutes"</option>
                                        <option value="60">"1 hour"</option>
                                        <option value="240">"4 hours"</option>
                                    </select>
                                    <p class="hint">
                                        "Traffic-aware rotation: the old key stops as soon as your services have moved to the new one, and never later than the overlap. You are told when it happens."
                                    </p>
                                </div>
                                <TextArea
                                    label="Reason (optional)"
                                    name="reason"
                                    form="rotate"
                                    hint="Kept in the audit trail, e.g. “Yearly rotation” or “Moved to the new vault”."
                                    rows=2
                                    maxlength=500
                                    error=field_error(rotate_error, "reason")
                                />
                                <SubmitButton
                                    label="Rotate key"
                                    busy_label="Rotating…"
                                    pending=actions.rotate.pending()
                                />
                            </ActionForm>
                        </details>
                        <EditKey detail=detail.clone() update=actions.update />
                    }
                })}
            <details
                class="action action-danger"
                id="revoke"
                open=revoke_error.with_untracked(Option::is_some) || asked_for("revoke")
            >
                <summary>"Revoke"</summary>
                <p class="notice notice-danger">
                    "Revoking is immediate and permanent: every request with this key fails from now on, and it cannot be undone. "
                    "To pause a key instead, suspend it (admins and support): suspension is reversible, revocation is not."
                </p>
                <PredecessorsNote detail=detail.clone() doing="Revoking this key revokes" />
                <dl class="details">
                    <dt>"Last used"</dt>
                    <dd>{last_use(&detail)}</dd>
                    <dt>"Last refused"</dt>
                    <dd>{last_refusal(&detail)}</dd>
                    <dt>"Requests, last 7 days"</dt>
                    <dd data-testid="revoke-requests-7d">{requests_lately(&detail)}</dd>
                </dl>
                <FormMessage error=revoke_error />
                <ActionForm action=actions.revoke attr:novalidate=true attr:class="stack">
                    <input type="hidden" name="key_id" value=s.key_id.clone() />
                    <TextArea
                        label="Reason"
                        name="reason"
                        hint="Kept in the audit trail, e.g. “Leaked in a public repository”."
                        required=true
                        rows=2
                        maxlength=500
                        error=field_error(revoke_error, "reason")
                    />
                    <SubmitButton
                        label="Revoke permanently"
                        busy_label="Revoking…"
                        pending=actions.revoke.pending()
                        class="button-danger"
                    />
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn EditKey(detail: KeyDetail, update: ServerAction<UpdateKey>) -> impl IntoView {
    let s = detail.summary.clone();
    let error = action_error(update);
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let selected = RwSignal::new(s.scopes.iter().cloned().collect::<BTreeSet<_>>());
    let catalog = crate::domain::scopes::Catalog::new(
        s.scopes
            .iter()
            .map(|n| n.split(':').next().unwrap_or(n).to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|r| crate::domain::scopes::Resource {
                title: r.clone(),
                name: r,
                description: String::new(),
            })
            .collect(),
        s.scopes
            .iter()
            .map(|n| crate::domain::scopes::Scope {
                name: n.clone(),
                description: String::new(),
                risk: if detail.high_risk_scopes.contains(n) {
                    crate::domain::scopes::Risk::High
                } else {
                    crate::domain::scopes::Risk::Low
                },
                endpoints: vec![],
            })
            .collect(),
    );
    view! {
        <details
            class="action"
            id="edit"
            open=error.with_untracked(Option::is_some) || asked_for("edit")
        >
            <summary>"Edit"</summary>
            <p>
                "Rename the key, change its purpose or service, or remove scopes it does not need. Scopes can only be removed: to add one, create a new key."
            </p>
            <FormMessage error />
            {move || {
                saved()
                    .then(|| {
                        view! {
                            <p class="notice notice-ok" role="status">
                                "Changes saved."
                            </p>
                        }
                    })
            }}
            <ActionForm action=update attr:novalidate=true attr:class="stack">
                <input type="hidden" name="key_id" value=s.key_id.clone() />
                <Field
                    label="Name"
                    name="name"
                    value=s.name.clone()
                    required=true
                    maxlength=MAX_NAME_CHARS as u32
                    error=field_error(error, "name")
                />
                <TextArea
                    label="Purpose"
                    name="purpose"
                    value=detail.purpose.clone()
                    required=true
                    rows=2
                    maxlength=MAX_PURPOSE_CHARS as u32
                    error=field_error(error, "purpose")
                />
                <Field
                    label="Service or app (optional)"
                    name="service"
                    value=s.service.clone()
                    maxlength=MAX_SERVICE_CHARS as u32
                    error=field_error(error, "service")
                />
                <ScopePicker
                    catalog
                    selected
                    error=field_error(error, "scopes")
                    confirm_error=Signal::derive(|| None::<String>)
                />
                <SubmitButton
                    label="Save changes"
                    busy_label="Saving…"
                    pending=update.pending()
                />
            </ActionForm>
        </details>
    }
}

/// A key's audit history.
#[component]
pub fn History(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <section aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            {if entries.is_empty() {
                Either::Left(view! { <p class="empty">"Nothing recorded yet."</p> })
            } else {
                Either::Right(
                    view! {
                        <AuditTable
                            entries
                            caption="Everything that happened to this key, newest first"
                        />
                    },
                )
            }}
        </section>
    }
}

/// Whether the address asks for the control `name` to be open
/// (`?do=rotate`), as the review's fix links do.
fn asked_for(name: &str) -> bool {
    leptos_router::hooks::use_query_map().with_untracked(|q| q.get("do").as_deref() == Some(name))
}

/// This month's use of the quota, in words and as a meter.
#[component]
fn QuotaLine(quota: Option<QuotaView>) -> impl IntoView {
    match quota {
        None => Either::Left(view! { <span>"None: only the rate limit applies"</span> }),
        Some(q) => {
            let words = if q.used >= q.monthly {
                format!(
                    "{} of {} used this month: used up, so verification refuses the key until {}",
                    format::number(q.used),
                    format::count(q.monthly as usize, "request", "requests"),
                    format::date(q.resets_at),
                )
            } else {
                format!(
                    "{} of {} used this month ({}\u{a0}%), {} left; starts again {}",
                    format::number(q.used),
                    format::count(q.monthly as usize, "request", "requests"),
                    q.percent_used(),
                    format::number(q.left()),
                    format::date(q.resets_at),
                )
            };
            Either::Right(view! {
                <span>{words}</span>
                <meter
                    class="quota-meter"
                    min="0"
                    max=q.monthly.to_string()
                    low=(q.monthly * 8 / 10).to_string()
                    high=(q.monthly * 8 / 10).to_string()
                    optimum="0"
                    value=q.used.min(q.monthly).to_string()
                    aria-label="Share of the monthly quota used"
                ></meter>
            })
        }
    }
}

/// The admins' control for a key's quota: set, change or remove it.
#[component]
fn QuotaForm(
    key_id: String,
    current: Option<i64>,
    action: ServerAction<SetKeyQuota>,
) -> impl IntoView {
    let error = action_error(action);
    view! {
        <details class="action quota">
            <summary>{if current.is_some() { "Change the quota" } else { "Set a quota" }}</summary>
            <ActionForm action attr:class="stack">
                <input type="hidden" name="key_id" value=key_id />
                <Field
                    label="Requests a month"
                    name="monthly_quota"
                    kind="text"
                    inputmode="numeric"
                    value=current.map(|n| n.to_string()).unwrap_or_default()
                    hint="Accepted requests a calendar month (UTC). Empty: no quota. At the quota, verification answers quota_exceeded until the month ends; the owner and admins are told at 80 % and 100 %."
                    error=field_error(error, "monthly_quota")
                />
                <FormMessage error />
                <button type="submit" class="button button-small">
                    "Save the quota"
                </button>
            </ActionForm>
        </details>
    }
}
