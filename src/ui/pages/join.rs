//! `/join?token=…`: where an invitation link leads.

use crate::{
    api::{account::Me, orgs::preview_invitation},
    domain::next_path::encode_component,
    ui::{
        format,
        forms::{action_error, ErrorPanel, FormMessage, SubmitButton},
        pages::sign_up::SignUpForm,
        session::use_session,
    },
};
use leptos::{either::EitherOf4, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// Shows what the invitation offers, and lets a signed-in user accept it or
/// a newcomer sign up through it.
#[component]
pub fn JoinPage() -> impl IntoView {
    let session = use_session();
    let token = move || use_query_map().with(|q| q.get("token")).unwrap_or_default();
    let preview = Resource::new(token, preview_invitation);
    let accept = session.accept_invitation;
    let accept_error = action_error(accept);
    view! {
        <Title text="Join an organisation" />
        <section class="auth-card">
            <Suspense fallback=|| {
                view! { <p role="status">"Checking the invitation…"</p> }
            }>
                {move || Suspend::new(async move {
                    let me: Option<Me> = session.me.await.ok().flatten();
                    match preview.await {
                        Err(err) => {
                            EitherOf4::A(
                                view! {
                                    <h1>"Invitation"</h1>
                                    <ErrorPanel error=err />
                                },
                            )
                        }
                        Ok(invite) if invite.problem.is_some() => {
                            EitherOf4::B(
                                view! {
                                    <h1>"Join " {invite.org_name.clone()}</h1>
                                    <p class="panel panel-error" role="alert">
                                        {invite.problem.clone()}
                                    </p>
                                },
                            )
                        }
                        Ok(invite) => {
                            let heading = view! {
                                <h1>"Join " {invite.org_name.clone()}</h1>
                                <p class="lede">
                                    {invite.invited_by.clone()} " invited you to join as "
                                    <strong>{invite.role.label()}</strong> ". The link works until "
                                    <time datetime=format::iso(
                                        invite.expires_at,
                                    )>{format::date_time(invite.expires_at)}</time> "."
                                </p>
                            };
                            match me {
                                Some(me) => {
                                    EitherOf4::C(
                                        view! {
                                            {heading}
                                            <p>
                                                "You are signed in as " <strong>{me.email}</strong> "."
                                            </p>
                                            <FormMessage error=accept_error />
                                            <ActionForm action=accept attr:class="stack">
                                                <input type="hidden" name="token" value=token />
                                                <SubmitButton
                                                    label="Join organisation"
                                                    busy_label="Joining…"
                                                    pending=accept.pending()
                                                />
                                            </ActionForm>
                                        },
                                    )
                                }
                                None => {
                                    let next = format!("/join?token={}", token());
                                    EitherOf4::D(
                                        view! {
                                            {heading}
                                            <p>
                                                "Already have a Portico account? "
                                                <A href=format!(
                                                    "/signin?next={}",
                                                    encode_component(&next),
                                                )>"Sign in to accept"</A>
                                            </p>
                                            <h2>"Create your account"</h2>
                                            <SignUpForm invitation=Some(token()) />
                                        },
                                    )
                                }
                            }
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
