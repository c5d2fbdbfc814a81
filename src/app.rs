//! The HTML shell, the root `<App/>` and its routes.

use crate::ui::{
    layout::{ConfirmEmailBanner, Header},
    pages::{
        account::AccountPage,
        alerts::AlertsPage,
        approvals::ApprovalsPage,
        audit::AuditPage,
        dashboard::DashboardPage,
        docs::{gateways::GatewaysDocsPage, DocsPage},
        join::JoinPage,
        keys::{
            detail::{KeyPage, StaffKeyPage},
            new::NewKeyPage,
            usage::KeyUsagePage,
            KeysPage,
        },
        members::MembersPage,
        new_org::NewOrgPage,
        not_found::NotFoundPage,
        notifications::NotificationsPage,
        password_reset::{ForgotPasswordPage, ResetPasswordPage},
        policy::PolicyPage,
        review::ReviewPage,
        setup::SetupPage,
        sign_in::{SignInCodePage, SignInPage},
        sign_up::SignUpPage,
        staff::StaffPage,
        support::SupportPage,
        usage::OrgUsagePage,
        verify_email::VerifyEmailPage,
    },
    session::SessionContext,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app, rendered on the server. It also sets the
/// page's Content-Security-Policy, whose nonce admits the one inline
/// hydration script.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(value) =
            axum::http::HeaderValue::from_str(&crate::server::http::security::page_csp(&nonce))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <DeferredHydration options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Starts the WebAssembly once the page has loaded and the browser is idle,
/// and does not preload it: the server's HTML is a working page (every form
/// posts without JavaScript), so its first paint never waits for, or
/// competes with, the bundle. (Leptos's `HydrationScripts` preloads the
/// bundle at once.)
#[component]
fn DeferredHydration(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (script, wasm) = (
        crate::server::http::bundle::script_href(&options),
        crate::server::http::bundle::wasm_href(&options),
    );
    #[cfg(not(feature = "ssr"))]
    let (script, wasm) = {
        let _ = options;
        (String::new(), String::new())
    };
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let nonce = leptos::nonce::use_nonce();
    view! {
        <script type="module" nonce=nonce>
            {format!(
                "(function (js, wasm) {{\n\
                   const start = () => import(js).then((m) => m.default({{ module_or_path: wasm }}).then(() => m.hydrate()));\n\
                   const idle = () => ('requestIdleCallback' in window ? requestIdleCallback(start, {{ timeout: 2000 }}) : setTimeout(start, 0));\n\
                   if (document.readyState === 'complete') idle(); else addEventListener('load', idle, {{ once: true }});\n\
                 }})({}, {});",
                quote(&script),
                quote(&wasm),
            )}
        </script>
    }
}

/// The application: header, main area and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let session = SessionContext::provide();

    // Mark the document once the WebAssembly has taken over, so styles can
    // hide the no-JavaScript fallbacks (and tests can wait for it).
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });

    view! {
        <Title formatter=|text: String| {
            if text.is_empty() { "Portico".to_owned() } else { format!("{text} · Portico") }
        } />
        <Router>
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <Header session />
            <ConfirmEmailBanner session />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/signin") view=SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/signin/code") view=SignInCodePage ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async />
                    <Route path=path!("/forgot") view=ForgotPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/reset") view=ResetPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                    <Route path=path!("/join") view=JoinPage ssr=SsrMode::Async />
                    <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                    <Route path=path!("/members") view=MembersPage ssr=SsrMode::Async />
                    <Route path=path!("/organisations/new") view=NewOrgPage ssr=SsrMode::Async />
                    <Route path=path!("/keys") view=KeysPage ssr=SsrMode::Async />
                    <Route path=path!("/keys/new") view=NewKeyPage ssr=SsrMode::Async />
                    <Route path=path!("/keys/:key_id") view=KeyPage ssr=SsrMode::Async />
                    <Route path=path!("/keys/:key_id/usage") view=KeyUsagePage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/usage") view=OrgUsagePage ssr=SsrMode::Async />
                    <Route path=path!("/docs") view=DocsPage ssr=SsrMode::Async />
                    <Route path=path!("/docs/gateways") view=GatewaysDocsPage ssr=SsrMode::Async />
                    <Route path=path!("/staff") view=StaffPage ssr=SsrMode::Async />
                    <Route path=path!("/staff/support") view=SupportPage ssr=SsrMode::Async />
                    <Route path=path!("/staff/keys/:key_id") view=StaffKeyPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/policy") view=PolicyPage ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=AlertsPage ssr=SsrMode::Async />
                    <Route path=path!("/review") view=ReviewPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>
                    "Portico · API keys that are easy to issue, hard to misuse and simple to replace."
                </p>
            </footer>
        </Router>
    }
}
