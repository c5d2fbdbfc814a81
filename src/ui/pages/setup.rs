//! `/setup?token=…`: the one-time link that creates the platform owner.

use crate::{
    api::setup::setup_open,
    ui::{
        forms::{action_error, field_error, Field, FormMessage, PasswordField, SubmitButton},
        link_gate::LinkGate,
        session::use_session,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Creates the first owner account, if the link is still unused.
#[component]
pub fn SetupPage() -> impl IntoView {
    let token = move || use_query_map().with(|q| q.get("token")).unwrap_or_default();
    let open = Resource::new(token, setup_open);
    let action = use_session().complete_setup;
    let error = action_error(action);
    view! {
        <Title text="Set up Portico" />
        <section class="auth-card">
            <h1>"Set up Portico"</h1>
            <LinkGate open closed=crate::model::account::SETUP_LINK_CLOSED>
                <p class="lede">
                    "Create the platform owner's account. Owners manage staff and can see every organisation's keys. This link works once, within an hour of being printed."
                </p>
                <FormMessage error />
                <ActionForm action attr:novalidate=true attr:class="stack">
                    <input type="hidden" name="token" value=token />
                    <Field
                        label="Email"
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
                    <SubmitButton
                        label="Create owner account"
                        busy_label="Creating…"
                        pending=action.pending()
                    />
                </ActionForm>
            </LinkGate>
        </section>
    }
}
