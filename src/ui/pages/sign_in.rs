//! `/signin`, and `/signin/code` for the second factor.

use crate::{
    api::account::{sign_in_code_due, SIGN_IN_AGAIN},
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

/// `/signin/code`: the second step of signing in, for accounts with an
/// authenticator app. `?next=/path` says where to go afterwards.
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
                        Ok(true) => {
                            view! {
                                <p class="lede">
                                    "Enter the 6-digit code your authenticator app shows for Portico."
                                </p>
                                <FormMessage error />
                                <ActionForm action attr:novalidate=true attr:class="stack">
                                    <input type="hidden" name="next" value=next />
                                    <Field
                                        label="Code"
                                        name="code"
                                        autocomplete="one-time-code"
                                        inputmode="numeric"
                                        hint="Lost your phone? Enter one of your recovery codes instead (like 4k7qm-x2c9d)."
                                        required=true
                                        autofocus=true
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
                        Ok(false) => {
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
