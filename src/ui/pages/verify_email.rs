//! `/verify-email?token=…`: confirms an address with its emailed link. The
//! link opens a page with a button, so that mail scanners that follow links
//! do not use it up.

use crate::{
    api::account::email_confirmation_open,
    ui::forms::{action_error, ErrorPanel, FormMessage, SubmitButton},
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

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
            <Suspense fallback=|| {
                view! { <p role="status">"Checking the link…"</p> }
            }>
                {move || Suspend::new(async move {
                    match open.await {
                        Ok(true) => {
                            EitherOf3::A(
                                view! {
                                    <p class="lede">
                                        "This confirms that the address this link was sent to is yours."
                                    </p>
                                    <FormMessage error />
                                    <ActionForm action attr:class="stack">
                                        <input type="hidden" name="token" value=token />
                                        <SubmitButton
                                            label="Confirm my address"
                                            busy_label="Confirming…"
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
                                        {crate::model::account::CONFIRMATION_LINK_CLOSED}
                                    </p>
                                    <p>
                                        <A href="/signin">"Sign in"</A>
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
