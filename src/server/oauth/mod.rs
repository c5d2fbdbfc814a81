//! Short-lived access tokens: an API key traded for a signed JWT through the
//! OAuth 2.0 client credentials grant, checkable by any service without
//! calling Portico.
//!
//! * `POST /oauth/token` ([`token_endpoint`]): the grant (RFC 6749 §4.4);
//! * `GET /.well-known/jwks.json`: the signing keys' public halves
//!   (RFC 7517), see [`signing_keys`];
//! * `GET /.well-known/oauth-authorization-server`: the metadata
//!   (RFC 8414);
//! * `POST /oauth/introspect` ([`introspection`]): RFC 7662, for services
//!   that cannot check tokens themselves.
//!
//! `/v1/verify`, forward-auth and the tower layer accept a token wherever
//! they accept a key (see [`crate::server::verify`]).

pub mod access_token;
pub mod client_auth;
pub mod introspection;
pub mod signing_keys;
pub mod token_endpoint;

use crate::server::state::AppState;
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::json;

/// How long services may cache the JWKS, in seconds. A scheduled key is
/// published a day before it signs, so an hour's cache never misses it; a
/// key made in an emergency is fetched again when its `kid` is new.
pub const JWKS_MAX_AGE_SECS: u32 = 3600;

/// The OAuth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token_endpoint::token))
        .route("/oauth/introspect", post(introspection::introspect))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

async fn jwks(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    let ring = match state.signing_keys.ring_for_signing(&state, now).await {
        Ok(ring) => ring,
        Err(e) => return crate::server::verify::api::unavailable(&e),
    };
    let mut res = Json(ring.jwks(now)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
            .expect("a number is a header value"),
    );
    res
}

/// Authorization server metadata (RFC 8414 §2).
async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = &state.config.public_url;
    let scopes: Vec<&str> = state
        .catalog
        .scopes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "scopes_supported": scopes,
        "service_documentation": format!("{issuer}/docs#access-tokens"),
    }))
    .into_response()
}
