//! `/setup?token=…`: the one-time link that creates the platform owner.

use crate::{
    api::setup::setup_open,
    ui::{
        forms::{
            action_error, field_error, ErrorPanel, Field, FormMessage, PasswordField, SubmitButton,
        },
        session::use_session,
    },
};
use leptos::{either::EitherOf3, prelude::*};
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
            <Suspense fallback=|| {
                view! { <p role="status">"Checking the link…"</p> }
            }>
                {move || Suspend::new(async move {
                    match open.await {
                        Ok(true) => {
                            EitherOf3::A(
                                view! {
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
                                },
                            )
                        }
                        Ok(false) => {
                            EitherOf3::B(
                                view! {
                                    <p class="panel panel-error" role="alert">
                                        {crate::model::account::SETUP_LINK_CLOSED}
                                    </p>
                                },
                            )
                        }
                        Err(err) => EitherOf3::C(view! { <ErrorPanel error=err /> }),
                    }
                })}
            </Suspense>
        </section>
    }
}
