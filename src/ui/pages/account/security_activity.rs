//! The Account page's security activity: what the account was told about
//! changes to its security, newest first (also emailed when the portal
//! sends email).

use crate::{
    api::account::security_activity,
    ui::{format, forms::ErrorPanel},
};
use leptos::prelude::*;

/// The security activity panel (`#security-activity`).
#[component]
pub fn SecurityActivityPanel() -> impl IntoView {
    let changed = expect_context::<super::AccountChanged>();
    let notices = Resource::new(move || changed.0.get(), |_| security_activity());
    view! {
        <section class="panel" id="security-activity" aria-labelledby="security-activity-heading">
            <h2 id="security-activity-heading">"Security activity"</h2>
            <p class="hint">
                "Changes to your password, address and second factors, and sign-ins that gave the right password but a wrong code. Each is also emailed to you when this portal sends email."
            </p>
            <Transition fallback=|| {
                view! {
                    <p class="loading" role="status">
                        "Loading…"
                    </p>
                }
            }>
                {move || Suspend::new(async move {
                    match notices.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! {
                                <p class="empty" data-testid="security-activity">
                                    "Nothing yet. When your password, address or second factors change, it is listed here."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <ul class="security-notices" data-testid="security-activity">
                                    {list
                                        .into_iter()
                                        .map(|n| {
                                            view! {
                                                <li>
                                                    <details>
                                                        <summary>
                                                            <span>{n.subject}</span>
                                                            <span class="muted">
                                                                {format!(" — {}", format::date_time(n.at))}
                                                            </span>
                                                        </summary>
                                                        <p class="pre-line">{n.body}</p>
                                                    </details>
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
        </section>
    }
}
