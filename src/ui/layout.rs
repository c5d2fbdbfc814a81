//! The frame around every page: the header with the organisation switcher,
//! the navigation and the account menu.

use crate::{api::account::Me, ui::session::SessionContext};
use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

/// The site header.
#[component]
pub fn Header(session: SessionContext) -> impl IntoView {
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">
                    "◆"
                </span>
                "Portico"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.me.await {
                        Ok(Some(me)) => Either::Left(view! { <SignedInHeader me session /> }),
                        _ => {
                            Either::Right(
                                view! {
                                    <nav class="header-nav" aria-label="Account">
                                        <A href="/signin">"Sign in"</A>
                                        <A href="/signup" attr:class="button button-small">
                                            "Create account"
                                        </A>
                                    </nav>
                                },
                            )
                        }
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn SignedInHeader(me: Me, session: SessionContext) -> impl IntoView {
    let unread = me.unread_notifications;
    let active = me.active_org().cloned();
    let is_admin = me.is_admin();
    view! {
        <OrgSwitcher me=me.clone() session />
        <nav class="header-nav main-nav" aria-label="Main">
            <A href="/" exact=true>
                "Dashboard"
            </A>
            {active
                .is_some()
                .then(|| {
                    view! {
                        <A href="/keys">"Keys"</A>
                        <A href="/members">{if is_admin { "Members" } else { "Team" }}</A>
                    }
                })}
            {is_admin
                .then(|| {
                    view! {
                        <A href="/usage">"Usage"</A>
                        <A href="/approvals">"Approvals"</A>
                        <A href="/alerts">"Alerts"</A>
                        <A href="/review">"Review"</A>
                        <A href="/audit">"Audit trail"</A>
                    }
                })}
            {active.is_some().then(|| view! { <A href="/policy">"Policy"</A> })}
            <A href="/docs">"Docs"</A>
            {me
                .staff
                .is_some()
                .then(|| {
                    view! {
                        <A href="/staff/support">"Support"</A>
                        <A href="/staff">"Platform"</A>
                    }
                })}
        </nav>
        <NotificationsLink unread />
        <details class="account-menu">
            <summary>
                <span class="visually-hidden">"Account menu for "</span>
                {me.email.clone()}
            </summary>
            <div class="menu" role="group" aria-label="Account">
                <p class="menu-note">"Signed in as " <strong>{me.email.clone()}</strong></p>
                {me
                    .staff
                    .map(|role| {
                        view! {
                            <p class="menu-note">
                                <span class="badge badge-staff">"Platform " {role.label()}</span>
                            </p>
                        }
                    })}
                <A href="/account">"Account and sessions"</A>
                <A href="/organisations/new">"New organisation"</A>
                <ActionForm action=session.sign_out>
                    <button type="submit" class="button-quiet">
                        "Sign out"
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}

/// The bell: a link to the notifications with the unread count.
#[component]
fn NotificationsLink(unread: i64) -> impl IntoView {
    view! {
        <A href="/notifications" attr:class="notifications-link">
            // Drawn, not an emoji: it looks the same on every system,
            // including those without an emoji font.
            <svg
                class="icon"
                viewBox="0 0 24 24"
                width="20"
                height="20"
                aria-hidden="true"
                focusable="false"
            >
                <path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4z" />
                <path d="M10 20a2 2 0 0 0 4 0" />
            </svg>
            <span class="visually-hidden">"Notifications"</span>
            {(unread > 0)
                .then(|| {
                    view! {
                        <span class="badge badge-count" data-testid="unread-count">
                            {unread}
                            <span class="visually-hidden">" unread"</span>
                        </span>
                    }
                })}
        </A>
    }
}

/// Shows the organisation the user acts in, and lets members of several
/// switch. Without JavaScript the select has a submit button beside it.
#[component]
fn OrgSwitcher(me: Me, session: SessionContext) -> impl IntoView {
    let active_id = me.active_org_id;
    match me.orgs.len() {
        0 => Either::Left(view! {
            <p class="org-current">
                <span class="org-label">"No organisation"</span>
            </p>
        }.into_any()),
        1 => {
            let org = me.orgs[0].clone();
            Either::Left(view! {
                <p class="org-current">
                    <span class="org-label">"Organisation"</span>
                    <span class="org-name">{org.name}</span>
                    <span class="badge">{org.role.label()}</span>
                </p>
            }.into_any())
        }
        _ => Either::Right(view! {
            <ActionForm action=session.switch_org attr:class="org-switcher">
                <label for="org-switcher" class="org-label">
                    "Organisation"
                </label>
                <select
                    id="org-switcher"
                    name="org_id"
                    on:change=move |ev| {
                        use leptos::wasm_bindgen::JsCast;
                        if let Some(form) = ev
                            .target()
                            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlSelectElement>().ok())
                            .and_then(|select| select.form())
                        {
                            let _ = form.request_submit();
                        }
                    }
                >
                    {me
                        .orgs
                        .iter()
                        .map(|org| {
                            view! {
                                <option value=org.id.to_string() selected=Some(org.id) == active_id>
                                    {format!("{} ({})", org.name, org.role.label())}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <button type="submit" class="button-quiet nojs-only">
                    "Switch"
                </button>
            </ActionForm>
        }.into_any()),
    }
}

/// Under the header while the signed-in person's address is unconfirmed:
/// what waits for it, and a button to send the link again.
#[component]
pub fn ConfirmEmailBanner(session: SessionContext) -> impl IntoView {
    let resend = ServerAction::<crate::api::account::ResendConfirmation>::new();
    let outcome = move || match resend.value().get() {
        Some(Ok(())) => Some("Sent. The new link works for a day.".to_owned()),
        Some(Err(e)) => Some(e.to_string()),
        None => None,
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(Some(me)) if !me.email_verified => {
                        Some(
                            view! {
                                <div class="confirm-banner" data-testid="confirm-banner">
                                    <p>
                                        "Confirm your address: open the link we sent to "
                                        <strong>{me.email.clone()}</strong>
                                        ". Until then, production keys, staff roles and invitations sent to your address wait."
                                    </p>
                                    <ActionForm action=resend>
                                        <button type="submit" class="button button-small">
                                            "Send the link again"
                                        </button>
                                    </ActionForm>
                                    <p role="status" aria-live="polite">
                                        {outcome}
                                    </p>
                                </div>
                            },
                        )
                    }
                    _ => None,
                }
            })}
        </Transition>
    }
}
