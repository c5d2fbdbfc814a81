//! `/notifications`: what happened to the signed-in person's keys.

use crate::{
    api::{
        account::Me,
        notifications::{get_notifications, MarkNotificationsRead},
    },
    ui::{format, forms::ErrorPanel, session::signed_in},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The notifications page.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    signed_in(|_me: Me| {
        let mark = ServerAction::<MarkNotificationsRead>::new();
        // Refresh the header's unread count after marking.
        if let Some(session) = use_context::<crate::ui::session::SessionContext>() {
            Effect::new(move |_| {
                if mark.version().get() > 0 {
                    session.me.refetch();
                }
            });
        }
        let list = Resource::new(move || mark.version().get(), |_| get_notifications());
        view! {
            <Title text="Notifications" />
            <div class="page-head">
                <h1>"Notifications"</h1>
                <p class="lede">
                    "Suspensions, reinstatements, revocations by others, approval decisions and coming expiries of your keys (and, for admins, your organisation's)."
                </p>
            </div>
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(list) if list.items.is_empty() => {
                            view! {
                                <section class="empty-state">
                                    <h2>"Nothing yet"</h2>
                                    <p>
                                        "When something happens to your keys that you did not do yourself, it shows here."
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <p role="status">{format!("{} unread", list.unread)}</p>
                                {(list.unread > 0)
                                    .then(|| {
                                        view! {
                                            <ActionForm action=mark>
                                                <button type="submit" class="button button-small">
                                                    "Mark all as read"
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                                <ul class="notifications" data-testid="notifications">
                                    {list
                                        .items
                                        .into_iter()
                                        .map(|n| {
                                            view! {
                                                <li class="notification" class:unread=!n.read>
                                                    <h2 class="notification-subject">
                                                        {(!n.read)
                                                            .then(|| {
                                                                view! { <span class="visually-hidden">"Unread: "</span> }
                                                            })} <A href=n.link.clone()>{n.subject.clone()}</A>
                                                    </h2>
                                                    <p>{n.body.clone()}</p>
                                                    <p class="hint">
                                                        <time datetime=format::iso(
                                                            n.created_at,
                                                        )>{format::date_time(n.created_at)}</time>
                                                        " · "
                                                        {n.org_name.clone()}
                                                        {n.emailed.then_some(" · also sent by email")}
                                                    </p>
                                                    {(!n.read)
                                                        .then(|| {
                                                            view! {
                                                                <ActionForm action=mark>
                                                                    <input type="hidden" name="id" value=n.id.to_string() />
                                                                    <button type="submit" class="button-quiet">
                                                                        "Mark as read"
                                                                    </button>
                                                                </ActionForm>
                                                            }
                                                        })}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
