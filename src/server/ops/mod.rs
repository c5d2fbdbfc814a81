//! The operator's endpoints: health, readiness and metrics, on the
//! machines' router (no sessions, any host), and the count of every HTTP
//! response.

pub mod health;
pub mod metrics;

use crate::server::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

/// `/healthz`, `/readyz` and `/metrics`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(scrape))
}

/// `GET /metrics`: the Prometheus text exposition, for a scraper presenting
/// `Authorization: Bearer <PORTICO_METRICS_TOKEN>`. Without that setting
/// the endpoint does not exist (404); a missing or wrong token gets 401.
async fn scrape(State(state): State<AppState>, req: Request) -> Response {
    let Some(token) = state.config.metrics_token.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Read as every bearer token is (RFC 6750 §2.1: any case of "Bearer").
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::server::http::bearer::bearer_token)
        .unwrap_or("");
    if !token.matches(given) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "Send the metrics token: Authorization: Bearer <PORTICO_METRICS_TOKEN>",
        )
            .into_response();
    }
    let limits = state.global_limiter.as_ref().map(|l| l.health());
    let text = state.metrics.render(&state.usage.stats(), limits.as_ref());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Counts each response by route group and status (see
/// [`metrics::route_of`]).
pub async fn count_response(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = metrics::route_of(req.uri().path());
    let response = next.run(req).await;
    state.metrics.http_response(route, response.status());
    response
}
