//! `/forgot` asks for a reset link by email; `/reset?token=…` sets a new
//! password with it.

use crate::{
    api::account::{password_reset_open, RequestPasswordReset},
    model::account::RESET_LINK_CLOSED,
    ui::{
        forms::{action_error, field_error, Field, FormMessage, PasswordField, SubmitButton},
        link_gate::LinkGate,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// Asks for a reset link. Says the same whether or not the address has an
/// account.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Title text="Reset your password" />
        <section class="auth-card">
            <h1>"Reset your password"</h1>
            <Show
                when=sent
                fallback=move || {
                    view! {
                        <p class="lede">
                            "Enter the email you sign in with. If it has an account, we email it a link to choose a new password."
                        </p>
                        <FormMessage error />
                        <ActionForm action attr:novalidate=true attr:class="stack">
                            <Field
                                label="Email"
                                name="email"
                                kind="email"
                                autocomplete="username"
                                required=true
                                autofocus=true
                                error=field_error(error, "email")
                            />
                            <SubmitButton
                                label="Email me a link"
                                busy_label="Sending…"
                                pending=action.pending()
                            />
                        </ActionForm>
                    }
                }
            >
                <p class="notice notice-ok" role="status">
                    "If that address has a Portico account, a link to choose a new password is on its way. It works once, for 30 minutes. Check your spam folder if it does not arrive in a few minutes."
                </p>
            </Show>
            <p class="auth-switch">
                <A href="/signin">"Back to sign in"</A>
            </p>
        </section>
    }
}

/// Sets a new password through an emailed link.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = move || use_query_map().with(|q| q.get("token")).unwrap_or_default();
    let open = Resource::new(token, password_reset_open);
    let action = crate::ui::session::use_session().reset_password;
    let error = action_error(action);
    view! {
        <Title text="Choose a new password" />
        <section class="auth-card">
            <h1>"Choose a new password"</h1>
            <LinkGate open closed=RESET_LINK_CLOSED way_on=("/forgot", "Ask for a new link")>
                <p class="lede">
                    "Setting it signs out every session of your account; then you sign in with the new password."
                </p>
                <FormMessage error />
                <ActionForm action attr:novalidate=true attr:class="stack">
                    <input type="hidden" name="token" value=token />
                    <PasswordField
                        label="New password"
                        name="password"
                        autocomplete="new-password"
                        new_password=true
                        error=field_error(error, "password")
                    />
                    <SubmitButton
                        label="Set new password"
                        busy_label="Saving…"
                        pending=action.pending()
                    />
                </ActionForm>
            </LinkGate>
        </section>
    }
}
