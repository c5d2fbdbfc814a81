//! Pages reached by a single-use link (setup, password reset, email
//! confirmation): the link is checked first, then the page shows its form
//! while the link works, or says why it does not and where to go instead.

use crate::{error::AppError, ui::forms::ErrorPanel};
use leptos::{either::EitherOf3, prelude::*};
use leptos_router::components::A;

/// Shows `children` while `open` says the link works; otherwise `closed`
/// as an alert, and a link `way_on` (`(href, label)`) when given.
#[component]
pub fn LinkGate(
    /// Whether the link still works, from the server.
    open: Resource<Result<bool, AppError>>,
    /// What a used, expired or unknown link says.
    closed: &'static str,
    /// Where a person can go instead, as `(href, label)`.
    #[prop(optional)]
    way_on: Option<(&'static str, &'static str)>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| {
            view! { <p role="status">"Checking the link…"</p> }
        }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match open.await {
                        Ok(true) => EitherOf3::A(children()),
                        Ok(false) => {
                            EitherOf3::B(
                                view! {
                                    <p class="panel panel-error" role="alert">
                                        {closed}
                                    </p>
                                    {way_on
                                        .map(|(href, label)| {
                                            view! {
                                                <p>
                                                    <A href=href>{label}</A>
                                                </p>
                                            }
                                        })}
                                },
                            )
                        }
                        Err(err) => EitherOf3::C(view! { <ErrorPanel error=err /> }),
                    }
                })
            }}
        </Suspense>
    }
}
