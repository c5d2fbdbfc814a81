//! `/`: where a signed-in person lands.

use crate::{api::account::Me, domain::Role, ui::session::signed_in};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::A;

/// The dashboard of the organisation the user acts in.
#[component]
pub fn DashboardPage() -> impl IntoView {
    signed_in(|me: Me| match me.active_org().cloned() {
        Some(org) => Either::Left(view! {
            <Title text=org.name.clone() />
            <div class="page-head">
                <h1>{org.name.clone()}</h1>
                <p class="lede">"You are " {if org.role == Role::Admin { "an admin" } else { "a developer" }} " in this organisation."</p>
            </div>
            <section class="empty-state" aria-labelledby="no-keys">
                <h2 id="no-keys">"No API keys yet"</h2>
                <p>
                    "API keys let your services call the platform. Each key is scoped to what it needs, "
                    "kept to sandbox or production, and shown to you once."
                </p>
                <h3>"What to do next"</h3>
                <ol class="next-steps">
                    {(org.role == Role::Admin).then(|| view! {
                        <li><A href="/members">"Invite your team"</A>": make an invitation link for each developer who will manage keys."</li>
                    })}
                    <li>"Read which scopes your integration needs, so each key gets only those."</li>
                    <li>"Start with a sandbox key; ask for production once the integration works."</li>
                </ol>
            </section>
            {me.staff.map(|role| view! {
                <p class="note">"You are also platform staff (" {role.label()} ")."</p>
            })}
        }),
        None => Either::Right(view! {
            <Title text="Welcome" />
            <section class="empty-state" aria-labelledby="no-org">
                <h1 id="no-org">"You are not in an organisation yet"</h1>
                {me.staff.map(|role| view! {
                    <p>"You are platform staff (" {role.label()} "). Staff tools arrive with key management."</p>
                })}
                <p>"Keys belong to organisations. Create one for your team, or open the invitation link an admin of an existing organisation sent you."</p>
                <p><A href="/organisations/new" attr:class="button button-primary">"Create an organisation"</A></p>
            </section>
        }),
    })
}
