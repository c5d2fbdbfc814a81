//! `/signin`, and `/signin/code` for the second factor.

use crate::{
    api::{
        account::{sign_in_code_due, SecondFactorChoice, SIGN_IN_AGAIN},
        security_keys::{begin_security_key_sign_in, finish_security_key_sign_in},
    },
    error::AppError,
    ui::{
        forms::{
            action_error, field_error, ErrorPanel, Field, FormMessage, PasswordField, SubmitButton,
        },
        session::use_session,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The sign-in form. `?next=/path` says where to go afterwards.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = use_session().sign_in;
    let error = action_error(action);
    let next = move || use_query_map().with(|q| q.get("next")).unwrap_or_default();
    let after_reset = move || use_query_map().with(|q| q.get("reset").as_deref() == Some("done"));
    let confirmed = move || use_query_map().with(|q| q.get("confirmed").is_some());
    view! {
        <Title text="Sign in" />
        <section class="auth-card">
            <h1>"Sign in to Portico"</h1>
            {move || {
                after_reset()
                    .then(|| {
                        view! {
                            <p class="notice notice-ok" role="status">
                                "Your password was changed and every session of your account was signed out. Sign in with the new password."
                            </p>
                        }
                    })
            }}
            {move || {
                confirmed()
                    .then(|| {
                        view! {
                            <p class="notice notice-ok" role="status">
                                "Your address is confirmed. Sign in to go on."
                            </p>
                        }
                    })
            }}
            <FormMessage error />
            <ActionForm action attr:novalidate=true attr:class="stack">
                <input type="hidden" name="next" value=next />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="username"
                    required=true
                    autofocus=true
                    error=field_error(error, "email")
                />
                <PasswordField
                    label="Password"
                    name="password"
                    autocomplete="current-password"
                    error=field_error(error, "password")
                />
                <SubmitButton label="Sign in" busy_label="Signing in…" pending=action.pending() />
            </ActionForm>
            <p class="auth-switch">
                <A href="/forgot">"Forgot your password?"</A>
            </p>
            <p class="auth-switch">"New to Portico? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}

/// `/signin/code`: the second step of signing in, for accounts with a
/// second factor: a security key, a code from the authenticator app, or a
/// recovery code. `?next=/path` says where to go afterwards.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let action = use_session().sign_in_code;
    let error = action_error(action);
    let next = move || use_query_map().with(|q| q.get("next")).unwrap_or_default();
    let due = Resource::new(|| (), |_| sign_in_code_due());
    view! {
        <Title text="Two-factor authentication" />
        <section class="auth-card">
            <h1>"Two-factor authentication"</h1>
            <Suspense fallback=|| {
                view! {
                    <p class="loading" role="status">
                        "Loading…"
                    </p>
                }
            }>
                {move || Suspend::new(async move {
                    match due.await {
                        Ok(Some(choice)) => {
                            let SecondFactorChoice { totp, security_key } = choice;
                            let lede = match (security_key, totp) {
                                (true, true) => {
                                    "Use your security key, or enter the 6-digit code your authenticator app shows for Portico."
                                }
                                (true, false) => "Touch your security key to finish signing in.",
                                _ => {
                                    "Enter the 6-digit code your authenticator app shows for Portico."
                                }
                            };
                            let (label, hint) = if totp {
                                (
                                    "Code",
                                    "Lost your phone? Enter one of your recovery codes instead (like 4k7qm-x2c9d).",
                                )
                            } else {
                                (
                                    "Recovery code",
                                    "Lost your security key? Enter one of your recovery codes (like 4k7qm-x2c9d).",
                                )
                            };
                            view! {
                                <p class="lede">{lede}</p>
                                {security_key
                                    .then(|| {
                                        view! {
                                            <SecurityKeySignIn next=next() />
                                            <p class="or-divider js-only">
                                                {if totp {
                                                    "or enter a code"
                                                } else {
                                                    "or use a recovery code"
                                                }}
                                            </p>
                                        }
                                    })}
                                <FormMessage error />
                                <ActionForm action attr:novalidate=true attr:class="stack">
                                    <input type="hidden" name="next" value=next />
                                    <Field
                                        label=label
                                        name="code"
                                        autocomplete="one-time-code"
                                        inputmode=if totp { "numeric" } else { "text" }
                                        hint=hint
                                        required=true
                                        autofocus=!security_key
                                        error=field_error(error, "code")
                                    />
                                    <SubmitButton
                                        label="Verify"
                                        busy_label="Checking…"
                                        pending=action.pending()
                                    />
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Ok(None) => {
                            view! {
                                <p class="notice" role="status">
                                    {SIGN_IN_AGAIN}
                                </p>
                                <p>
                                    <A href="/signin">"Sign in"</A>
                                </p>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="auth-switch">
                "No code and no recovery codes? Ask the platform's support team: once they have checked who you are, they can reset your second factor."
            </p>
        </section>
    }
}

/// Signing in with a security key: the browser asks for the key, and the
/// sign-in finishes with its answer (a full page load to `next`, so every
/// part of the page sees the new session).
#[component]
fn SecurityKeySignIn(next: String) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let use_key = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let next = next.clone();
        leptos::task::spawn_local(async move {
            let outcome: Result<(), AppError> = async {
                let options = begin_security_key_sign_in().await?;
                let answer = crate::ui::webauthn::get_credential(options)
                    .await
                    .map_err(AppError::Conflict)?;
                finish_security_key_sign_in(answer, Some(next.clone())).await?;
                let target = crate::domain::next_path::safe_next_path(Some(&next));
                let _ = window().location().set_href(&target);
                Ok(())
            }
            .await;
            if let Err(e) = outcome {
                busy.set(false);
                error.set(e.form_message().or_else(|| e.message_for("credential")));
            }
        });
    };
    view! {
        <div class="stack js-only" data-testid="security-key-sign-in">
            <div class="form-message" role="alert" aria-live="assertive">
                {move || error.get().map(|m| view! { <p>{m}</p> })}
            </div>
            <button
                type="button"
                class="button button-primary"
                disabled=move || busy.get()
                aria-busy=move || busy.get().then_some("true")
                on:click=use_key
                autofocus=true
            >
                {move || {
                    if busy.get() { "Waiting for the key…" } else { "Use your security key" }
                }}
            </button>
        </div>
        <noscript>
            <p class="hint">
                "Signing in with a security key needs JavaScript, which is off in this browser. Use a recovery code or a code from your authenticator app."
            </p>
        </noscript>
    }
}
