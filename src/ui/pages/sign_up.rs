//! `/signup`, and the sign-up form shared with the invitation page.

use crate::{
    domain::org::MAX_ORG_NAME_CHARS,
    ui::{
        forms::{action_error, field_error, Field, FormMessage, PasswordField, SubmitButton},
        session::use_session,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// Sign up and create an organisation.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let sent = move || use_query_map().with(|q| q.get("sent").is_some());
    view! {
        <Title text="Create an account" />
        <section class="auth-card">
            <Show
                when=sent
                fallback=|| {
                    view! {
                        <h1>"Create your Portico account"</h1>
                        <p class="lede">
                            "You will be the admin of a new organisation. To join an existing one, open the invitation link an admin sent you."
                        </p>
                        <SignUpForm invitation=None />
                        <p class="auth-switch">
                            "Already have an account? " <A href="/signin">"Sign in"</A>
                        </p>
                    }
                }
            >
                <h1>"Check your inbox"</h1>
                <p class="notice notice-ok" role="status" data-testid="sign-up-sent">
                    "We sent a message to the address you gave. Open the link in it to confirm your address; it works for a day."
                </p>
                <p>
                    "You can sign in now with your email and password. Until your address is confirmed you can look around and make sandbox keys; production keys, staff roles and invitations sent to your address wait for the confirmation."
                </p>
                <p class="auth-switch">
                    <A href="/signin">"Sign in"</A>
                </p>
            </Show>
        </section>
    }
}

/// The sign-up fields. With an invitation token the new account joins that
/// organisation; without one it creates an organisation.
#[component]
pub fn SignUpForm(invitation: Option<String>) -> impl IntoView {
    let action = use_session().sign_up;
    let error = action_error(action);
    let joining = invitation.is_some();
    view! {
        <FormMessage error />
        <ActionForm action attr:novalidate=true attr:class="stack">
            {invitation
                .map(|token| view! { <input type="hidden" name="invitation" value=token /> })}
            {move || {
                field_error(error, "invitation")
                    .get()
                    .map(|m| {
                        view! {
                            <p class="form-message field-error" role="alert">
                                {m}
                            </p>
                        }
                    })
            }}
            <Field
                label="Work email"
                name="email"
                kind="email"
                autocomplete="email"
                required=true
                autofocus=true
                error=field_error(error, "email")
            />
            <PasswordField
                label="Password"
                name="password"
                autocomplete="new-password"
                new_password=true
                error=field_error(error, "password")
            />
            {(!joining)
                .then(|| {
                    view! {
                        <Field
                            label="Organisation name"
                            name="org_name"
                            autocomplete="organization"
                            hint="Your company or team. You can invite colleagues next."
                            required=true
                            maxlength=MAX_ORG_NAME_CHARS as u32
                            error=field_error(error, "org_name")
                        />
                    }
                })}
            <SubmitButton
                label=if joining { "Create account and join" } else { "Create account" }
                busy_label="Creating your account…"
                pending=action.pending()
            />
        </ActionForm>
    }
}
