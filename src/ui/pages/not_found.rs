//! The page for addresses that lead nowhere.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// 404: says so, with the HTTP status to match.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="empty-state">
            <h1>"Page not found"</h1>
            <p>
                "There is nothing at this address. It may have moved, or the link may be mistyped."
            </p>
            <p>
                <A href="/">"Go to your dashboard"</A>
            </p>
        </section>
    }
}
