//! The Account page's two-factor panel: an authenticator app, security
//! keys (in `security_keys`), the recovery codes (shown once), and turning
//! it all off.

use super::security_keys::SecurityKeys;
use crate::ui::shown_once::{CopyButton, StoredThenDone};
use crate::{
    api::{
        account::{
            get_second_factor_status, BeginTotp, ConfirmTotp, RecoveryCodes, ReplaceRecoveryCodes,
            SecondFactorStatus, TotpEnrolment, TurnOffSecondFactor,
        },
        security_keys::RemoveSecurityKey,
    },
    domain::format::join_names,
    ui::{
        format,
        forms::{
            action_error, field_error, success_of, ErrorPanel, Field, FormMessage, PasswordField,
            SubmitButton,
        },
        session::use_session,
    },
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The two-factor panel (`#two-factor`).
#[component]
pub fn TwoFactorPanel() -> impl IntoView {
    let begin = ServerAction::<BeginTotp>::new();
    let confirm = ServerAction::<ConfirmTotp>::new();
    let turn_off = ServerAction::<TurnOffSecondFactor>::new();
    let replace = ServerAction::<ReplaceRecoveryCodes>::new();
    let remove_key = ServerAction::<RemoveSecurityKey>::new();
    // Bumped when a security key is added (outside any action).
    let keys_added = RwSignal::new(0u32);
    let session = use_session();
    let status = Resource::new(
        move || {
            (
                confirm.version().get(),
                turn_off.version().get(),
                replace.version().get(),
                remove_key.version().get(),
                keys_added.get(),
            )
        },
        |_| get_second_factor_status(),
    );
    expect_context::<super::AccountChanged>().after_each(move || {
        (
            confirm.version().get(),
            turn_off.version().get(),
            replace.version().get(),
            remove_key.version().get(),
            keys_added.get(),
        )
    });
    // The codes, shown once: after the app is set up, or new ones made.
    let shown = RwSignal::new(None::<RecoveryCodes>);
    let confirmed = success_of(confirm);
    let replaced = success_of(replace);
    Effect::new(move |_| {
        if let Some(codes) = confirmed.get() {
            if !codes.codes.is_empty() {
                shown.set(Some(codes));
            }
            begin.clear();
        }
    });
    // Who is signed in is fetched again once the codes are saved (as after
    // setting up an app): fetching it now would redraw the page under them.
    let key_added = Callback::new(move |codes: RecoveryCodes| {
        if !codes.codes.is_empty() {
            shown.set(Some(codes));
        }
        keys_added.update(|n| *n += 1);
    });
    Effect::new(move |_| {
        if matches!(remove_key.value().get(), Some(Ok(()))) {
            session.me.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(codes) = replaced.get() {
            shown.set(Some(codes));
        }
    });
    Effect::new(move |_| {
        if matches!(turn_off.value().get(), Some(Ok(()))) {
            session.me.refetch();
        }
    });
    let sent_here =
        move || use_query_map().with(|q| q.get("two_factor").as_deref() == Some("required"));
    // Sent here to set it up: bring the panel into view (the page opens at
    // the top after a client-side redirect).
    Effect::new(move |_| {
        if sent_here() {
            request_animation_frame(|| {
                if let Some(panel) = document().get_element_by_id("two-factor") {
                    panel.scroll_into_view();
                }
            });
        }
    });
    view! {
        <section class="panel" id="two-factor" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-factor authentication"</h2>
            // Outside the status below, which reloads when the codes are
            // made: the panel (and its "I have saved these" check) stays put.
            {move || match shown.get() {
                Some(codes) => {
                    view! {
                        <RecoveryCodesShown
                            codes
                            on_done=Callback::new(move |_| {
                                shown.set(None);
                                session.me.refetch();
                            })
                        />
                    }
                        .into_any()
                }
                None => ().into_any(),
            }}
            <Transition fallback=|| {
                view! {
                    <p class="loading" role="status">
                        "Loading…"
                    </p>
                }
            }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(st) => {
                            view! {
                                {(sent_here() && !st.on())
                                    .then(|| {
                                        view! {
                                            <p class="notice notice-warn" role="alert">
                                                {format!(
                                                    "{} requires two-factor authentication. Set up an authenticator app or add a security key below to go on.",
                                                    join_names(&st.required_by),
                                                )}
                                            </p>
                                        }
                                    })}
                                <TwoFactorSummary st=st.clone() />
                                <section class="second-factor" aria-labelledby="totp-heading">
                                    <h3 id="totp-heading">"Authenticator app"</h3>
                                    {match st.totp_since {
                                        Some(since) => {
                                            view! {
                                                <p data-testid="totp-on">
                                                    {format!(
                                                        "Set up on {}: signing in can use the 6-digit code it shows.",
                                                        format::date(since),
                                                    )}
                                                </p>
                                            }
                                                .into_any()
                                        }
                                        None => view! { <TotpOff begin confirm /> }.into_any(),
                                    }}
                                </section>
                                <SecurityKeys st=st.clone() on_added=key_added remove=remove_key />
                                {st
                                    .on()
                                    .then(|| {
                                        view! {
                                            <RecoveryAndTurnOff st=st.clone() turn_off replace />
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// Whether two-factor authentication is on, since when, and what it is.
#[component]
fn TwoFactorSummary(st: SecondFactorStatus) -> impl IntoView {
    view! {
        {match st.on_since() {
            Some(since) => {
                view! {
                    <p data-testid="two-factor-on">
                        <span class="badge badge-ok">"On"</span>
                        {format!(
                            " since {}. After your password, signing in asks for a code from your authenticator app or your security key.",
                            format::date(since),
                        )}
                    </p>
                }
                    .into_any()
            }
            None => {
                view! {
                    <p>
                        "After your password, Portico will ask for a second factor (a code from an authenticator app on your phone, or a security key), so a stolen password alone cannot open your account."
                    </p>
                }
                    .into_any()
            }
        }}
        {(st.staff && !st.on())
            .then(|| {
                view! {
                    <p class="note">"As platform staff, you need it to use the staff pages."</p>
                }
            })}
    }
}

/// No authenticator app yet: setting one up.
#[component]
fn TotpOff(begin: ServerAction<BeginTotp>, confirm: ServerAction<ConfirmTotp>) -> impl IntoView {
    let begin_error = action_error(begin);
    let enrolment = success_of(begin);
    view! {
        <p>
            "Such as 1Password, Google Authenticator, Authy or Microsoft Authenticator: it shows a 6-digit code for Portico that changes every 30 seconds."
        </p>
        <FormMessage error=begin_error />
        {move || match enrolment.get() {
            Some(enrolment) => view! { <TotpSetup enrolment confirm /> }.into_any(),
            None => {
                view! {
                    <ActionForm action=begin attr:class="stack">
                        <SubmitButton
                            label="Set up an authenticator app"
                            busy_label="Preparing…"
                            pending=begin.pending()
                        />
                    </ActionForm>
                }
                    .into_any()
            }
        }}
    }
}

/// The QR code, the secret for typing, and the first code.
#[component]
fn TotpSetup(enrolment: TotpEnrolment, confirm: ServerAction<ConfirmTotp>) -> impl IntoView {
    let error = action_error(confirm);
    view! {
        <div class="totp-setup" data-testid="totp-setup">
            <div
                class="totp-qr"
                role="img"
                aria-label="QR code to scan with your authenticator app"
                inner_html=enrolment.qr_svg.clone()
            ></div>
            <div class="stack">
                <ol class="steps">
                    <li>"Open your authenticator app and add an account."</li>
                    <li>"Scan the QR code, or type in this key:"</li>
                </ol>
                <p class="totp-secret" data-testid="totp-secret">
                    {enrolment.secret.clone()}
                </p>
                <p class="hint">
                    "Choose a time-based code. The app then shows a 6-digit code for Portico that changes every 30 seconds."
                </p>
                <FormMessage error />
                <ActionForm action=confirm attr:novalidate=true attr:class="stack">
                    <Field
                        label="Code from the app"
                        name="code"
                        autocomplete="one-time-code"
                        inputmode="numeric"
                        required=true
                        autofocus=true
                        error=field_error(error, "code")
                    />
                    <PasswordField
                        label="Current password"
                        name="password"
                        autocomplete="current-password"
                        form="totp"
                        error=field_error(error, "password")
                    />
                    <SubmitButton
                        label="Turn on the authenticator app"
                        busy_label="Checking…"
                        pending=confirm.pending()
                    />
                </ActionForm>
            </div>
        </div>
    }
}

/// Two-factor authentication is on: the recovery codes left, new codes,
/// and turning it all off.
#[component]
fn RecoveryAndTurnOff(
    st: SecondFactorStatus,
    turn_off: ServerAction<TurnOffSecondFactor>,
    replace: ServerAction<ReplaceRecoveryCodes>,
) -> impl IntoView {
    let replace_error = action_error(replace);
    let off_error = action_error(turn_off);
    let left = st.recovery_codes_left;
    let kept_on = if !st.required_by.is_empty() {
        Some(format!(
            "{} requires two-factor authentication, so it stays on while you are a member.",
            join_names(&st.required_by)
        ))
    } else if st.staff {
        Some(
            "Platform staff need two-factor authentication, so it stays on while you are staff."
                .to_owned(),
        )
    } else {
        None
    };
    view! {
        <h3 class="second-factor">"Recovery codes"</h3>
        <p class:notice-warn=left
            <= 3>
            {format!(
                "{}. Each works once, if you lose your phone or security key.",
                format::count(left as usize, "recovery code left", "recovery codes left"),
            )}
        </p>
        <details class="action">
            <summary>"Make new recovery codes"</summary>
            <p>"Your current recovery codes stop working, and ten new ones are shown once."</p>
            <FormMessage error=replace_error />
            <ActionForm action=replace attr:novalidate=true attr:class="stack">
                <PasswordField
                    label="Current password"
                    name="password"
                    autocomplete="current-password"
                    form="replace-codes"
                    error=field_error(replace_error, "password")
                />
                <SubmitButton
                    label="Make new recovery codes"
                    busy_label="Making…"
                    pending=replace.pending()
                />
            </ActionForm>
        </details>
        {match kept_on {
            Some(reason) => view! { <p class="hint">{reason}</p> }.into_any(),
            None => {
                view! {
                    <details class="action action-danger">
                        <summary>"Turn off two-factor authentication"</summary>
                        <p>
                            "Your authenticator app and security keys are forgotten, signing in will need only your password, and your recovery codes stop working."
                        </p>
                        <FormMessage error=off_error />
                        <ActionForm action=turn_off attr:novalidate=true attr:class="stack">
                            <PasswordField
                                label="Current password"
                                name="password"
                                autocomplete="current-password"
                                form="turn-off"
                                error=field_error(off_error, "password")
                            />
                            <button type="submit" class="button button-danger">
                                "Turn off two-factor authentication"
                            </button>
                        </ActionForm>
                    </details>
                }
                    .into_any()
            }
        }}
    }
}

/// Recovery codes, shown once; closes when the person says they saved them.
#[component]
fn RecoveryCodesShown(codes: RecoveryCodes, on_done: Callback<()>) -> impl IntoView {
    let text = codes.codes.join("\n");
    let panel_ref = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(panel) = panel_ref.get() {
            let _ = panel.focus();
        }
    });
    view! {
        <section
            class="secret-panel"
            role="region"
            aria-labelledby="recovery-heading"
            tabindex="-1"
            node_ref=panel_ref
            data-testid="recovery-codes"
        >
            <h3 id="recovery-heading">"Save your recovery codes"</h3>
            {(codes.sessions_ended > 0)
                .then(|| {
                    view! {
                        <p class="notice notice-ok" role="status">
                            {format!(
                                "Two-factor authentication is on, and {} signed out.",
                                format::count(
                                    codes.sessions_ended as usize,
                                    "other session was",
                                    "other sessions were",
                                ),
                            )}
                        </p>
                    }
                })}
            <p class="secret-warning">
                "If you lose your phone or security key, each of these codes signs you in once instead. This is the only time Portico shows them: keep them in your password manager."
            </p>
            <ul class="recovery-codes">
                {codes.codes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
            </ul>
            <CopyButton
                text=text
                label="Copy codes"
                announced="Recovery codes copied to the clipboard."
            />
            <StoredThenDone confirm="I have saved these codes somewhere safe" on_done />
        </section>
    }
}
