//! `/`: where a signed-in person lands.

use crate::{
    api::{
        account::{Me, OrgSummary},
        keys::{key_overview, KeyCounts},
    },
    domain::Role,
    ui::{format, forms::ErrorPanel, pages::keys::NoKeysYet, session::signed_in},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::A;

/// The dashboard of the organisation the user acts in.
#[component]
pub fn DashboardPage() -> impl IntoView {
    signed_in(|me: Me| match me.active_org().cloned() {
        Some(org) => Either::Left(view! {
            <Title text=org.name.clone() />
            <div class="page-head page-head-actions">
                <div>
                    <h1>{org.name.clone()}</h1>
                    <p class="lede">
                        "You are "
                        {if org.role == Role::Admin { "an admin" } else { "a developer" }}
                        " in this organisation."
                    </p>
                </div>
                <A href="/keys/new" attr:class="button button-primary">
                    "Create key"
                </A>
            </div>
            <Overview org=org.clone() />
            {me
                .staff
                .map(|role| {
                    view! {
                        <p class="note">"You are also platform staff (" {role.label()} ")."</p>
                    }
                })}
        }),
        None => Either::Right(view! {
            <Title text="Welcome" />
            <section class="empty-state" aria-labelledby="no-org">
                <h1 id="no-org">"You are not in an organisation yet"</h1>
                {me
                    .staff
                    .map(|role| view! { <p>"You are platform staff (" {role.label()} ")."</p> })}
                <p>
                    "Keys belong to organisations. Create one for your team, or open the invitation link an admin of an existing organisation sent you."
                </p>
                <p>
                    <A href="/organisations/new" attr:class="button button-primary">
                        "Create an organisation"
                    </A>
                </p>
            </section>
        }),
    })
}

#[component]
fn Overview(org: OrgSummary) -> impl IntoView {
    let org_id = org.id;
    let is_admin = org.role == Role::Admin;
    let keys = Resource::new(move || org_id, key_overview);
    view! {
        <Suspense fallback=|| {
            view! { <p role="status">"Loading your keys…"</p> }
        }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                    Ok(counts) if counts.total == 0 => {
                        view! {
                            <NoKeysYet />
                            {is_admin
                                .then(|| {
                                    view! {
                                        <p class="note">
                                            <A href="/members">"Invite your team"</A>
                                            ": each developer can then create and manage their own keys."
                                        </p>
                                    }
                                })}
                        }
                            .into_any()
                    }
                    Ok(counts) => view! { <KeyStanding counts is_admin /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn KeyStanding(counts: KeyCounts, is_admin: bool) -> impl IntoView {
    let KeyCounts {
        sandbox,
        production,
        rotating,
        expiring_soon: expiring,
        never_used,
        ..
    } = counts;
    let scope = if is_admin {
        "in the organisation"
    } else {
        "of yours"
    };
    view! {
        <section aria-labelledby="overview-heading">
            <h2 id="overview-heading">"Keys " {scope}</h2>
            <ul class="stat-grid">
                <li class="stat">
                    <A href="/keys?env=sandbox&status=active">
                        <span class="stat-value">{sandbox}</span>
                        <span class="stat-label">
                            {format::noun(
                                sandbox as i64,
                                "working sandbox key",
                                "working sandbox keys",
                            )}
                        </span>
                    </A>
                </li>
                <li class="stat stat-live">
                    <A href="/keys?env=production&status=active">
                        <span class="stat-value">{production}</span>
                        <span class="stat-label">
                            {format::noun(
                                production as i64,
                                "working production key",
                                "working production keys",
                            )}
                        </span>
                    </A>
                </li>
                <li class="stat">
                    <A href="/keys?status=rotating">
                        <span class="stat-value">{rotating}</span>
                        <span class="stat-label">"being rotated"</span>
                    </A>
                </li>
                <li class="stat" class:stat-warn={expiring > 0}>
                    <A href="/keys?sort=expiry">
                        <span class="stat-value">{expiring}</span>
                        <span class="stat-label">"expiring within 14 days"</span>
                    </A>
                </li>
                <li class="stat">
                    <A href="/keys?sort=last_used">
                        <span class="stat-value">{never_used}</span>
                        <span class="stat-label">"never used"</span>
                    </A>
                </li>
            </ul>
            <p>
                <A href="/keys">"See all keys"</A>
            </p>
        </section>
    }
}
