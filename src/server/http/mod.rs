//! The HTTP surface: the router and the layers every request passes.

pub mod bearer;
pub mod bundle;
pub mod client_addr;
pub mod compression;
pub mod host;
pub mod render_thread;
pub mod security;
pub mod session_store;

use super::state::AppState;
use crate::app::{shell, App};
use axum::{
    body::Body, extract::State, http::Request, middleware, response::IntoResponse, routing::post,
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use std::time::Duration;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

/// Builds the whole application: pages, server functions, static files and
/// the layers (request id, tracing, security headers, sessions, client address).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let config = state.config.clone();

    let session_name = if config.cookie_secure {
        "__Host-portico_session"
    } else {
        "portico_session"
    };
    let idle = time::Duration::seconds(
        crate::server::auth::session::store_expiry(config.session_idle).as_secs() as i64,
    );
    let sessions = SessionManagerLayer::new(session_store::AppSessionStore::new(&state.db))
        .with_name(session_name)
        .with_secure(config.cookie_secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));

    // The portal: pages and server functions, with sessions.
    let portal = Router::new()
        .route("/api/{*fn_name}", post(server_fn_handler))
        .merge(crate::server::exports::routes())
        .leptos_routes_with_context(&state, routes, leptos_context(state.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .nest_service("/pkg", compression::bundle(&config.site_root))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(leptos_context(state.clone()), shell))
        .layer(sessions)
        .layer(middleware::from_fn(render_thread::on_render_thread))
        .layer(middleware::from_fn(compression::mark))
        .layer(compression::layer());
    // For machines: verification, the sample API and health. No sessions.
    let machines = Router::new()
        .merge(crate::server::verify::api::routes())
        .merge(crate::server::oauth::routes())
        .route(
            "/v1/leaks/github",
            axum::routing::post(crate::server::leaks::github::report),
        )
        .merge(crate::server::sample_api::router(state.clone()))
        .merge(crate::server::ops::routes());

    portal
        .merge(machines)
        .layer(middleware::from_fn_with_state(
            config.trust_forwarded_for,
            client_addr::client_addr,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::server::ops::count_response,
        ))
        .layer(middleware::from_fn_with_state(
            security::SecurityConfig {
                hashed_bundle: state.leptos_options.hash_files,
                ..security::SecurityConfig::from_config(&config)
            },
            security::security,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let request_id = req
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings can carry invitation tokens.
                    // Machine traffic gets debug-level spans: it is the hot path.
                    let path = req.uri().path();
                    if security::is_machine_path(path) {
                        tracing::debug_span!("request", id = %request_id, method = %req.method(), path = %path)
                    } else {
                        tracing::info_span!("request", id = %request_id, method = %req.method(), path = %path)
                    }
                })
                // Access lines at debug (the verification path serves thousands
                // a second); server errors always.
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                        let status = res.status().as_u16();
                        let ms = latency.as_millis() as u64;
                        if status >= 500 {
                            tracing::error!(status, ms, "response");
                        } else {
                            tracing::debug!(status, ms, "response");
                        }
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds::new()))
        .layer(middleware::map_request(drop_unsafe_request_id))
        .with_state(state)
}

/// What every page render and server function finds in its Leptos context:
/// the application state and the request's CSP nonce.
fn leptos_context(state: AppState) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(state.clone());
        security::provide_request_nonce();
    }
}

async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(leptos_context(state), req).await
}

/// Whether a client-supplied `X-Request-Id` may go into logs and back out:
/// 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Drops a client's `X-Request-Id` that is not a short token of safe
/// characters, so that a fresh id is made instead and nothing a client
/// chose (line breaks, escape codes, megabytes) reaches the logs.
async fn drop_unsafe_request_id(mut req: Request<Body>) -> Request<Body> {
    let headers = req.headers_mut();
    let ids: Vec<_> = headers.get_all("x-request-id").iter().collect();
    if ids.len() > 1
        || ids
            .first()
            .is_some_and(|id| !is_safe_request_id(id.as_bytes()))
    {
        headers.remove("x-request-id");
    }
    req
}

/// Request ids: 16 hex characters, a random prefix per process and a
/// counter, so ids are unique without a system call per request.
#[derive(Clone)]
struct RequestIds {
    prefix: String,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: hex::encode(crate::server::secrets::tokens::random_bytes::<3>()),
            counter: Default::default(),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}{:010x}", self.prefix, n & 0xff_ffff_ffff);
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::is_safe_request_id;

    #[test]
    fn only_short_tokens_of_safe_characters_are_kept_as_request_ids() {
        assert!(is_safe_request_id(b"3f2a9c1e-7b4d-4e0a-9c55-0f6b2d1a8e77"));
        assert!(is_safe_request_id(b"edge-eu:1234.5"));
        assert!(!is_safe_request_id(b""));
        assert!(!is_safe_request_id(b"abc\r\nforged: log line"));
        assert!(!is_safe_request_id(b"\x1b[31mred"));
        assert!(!is_safe_request_id(b"a b"));
        assert!(!is_safe_request_id("x".repeat(65).as_bytes()));
    }
}
