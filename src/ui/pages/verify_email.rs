//! `/verify-email?token=…`: confirms an address with its emailed link. The
//! link opens a page with a button, so that mail scanners that follow links
//! do not use it up.

use crate::{
    api::account::email_confirmation_open,
    ui::{
        forms::{action_error, FormMessage, SubmitButton},
        link_gate::LinkGate,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The confirmation page.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = move || use_query_map().with(|q| q.get("token")).unwrap_or_default();
    let open = Resource::new(token, email_confirmation_open);
    let action = crate::ui::session::use_session().confirm_email;
    let error = action_error(action);
    view! {
        <Title text="Confirm your email address" />
        <section class="auth-card">
            <h1>"Confirm your email address"</h1>
            <LinkGate
                open
                closed=crate::model::account::CONFIRMATION_LINK_CLOSED
                way_on=("/signin", "Sign in")
            >
                <p class="lede">"This confirms that the address this link was sent to is yours."</p>
                <FormMessage error />
                <ActionForm action attr:class="stack">
                    <input type="hidden" name="token" value=token />
                    <SubmitButton
                        label="Confirm my address"
                        busy_label="Confirming…"
                        pending=action.pending()
                    />
                </ActionForm>
            </LinkGate>
        </section>
    }
}
