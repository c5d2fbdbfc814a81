//! `POST /oauth/introspect`: token introspection (RFC 7662) for services
//! that cannot check access tokens offline. The caller authenticates with a
//! gateway token (`Authorization: Bearer gwt_…`), as for `/v1/verify`.
//!
//! A token is active when its signature, issuer, audience and expiry check
//! out and its parent key works now: revoking or suspending the key makes
//! every token minted from it inactive at once. Introspection is not a use
//! of the key: nothing is recorded and no limit is taken from.

use super::{access_token, token_endpoint::MAX_BODY};
use crate::{
    domain::{key_format::Environment, keys::KeyStatus, verify::VerifyCode},
    server::{
        state::AppState,
        verify::{api, cache::VerifyKey},
    },
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// The introspection answer (RFC 7662 §2.2); only `active` when inactive.
#[derive(Debug, Serialize, Default)]
pub struct Introspection {
    /// Whether the token may be used now.
    pub active: bool,
    /// The scopes it may use (granted and still held by its key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The parent key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The parent key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The parent key's organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<i64>,
    /// The parent key's environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

/// Whether a token (already checked offline) may be used now, given its
/// parent key as verification reads it.
pub fn parent_allows(key: &VerifyKey, now: chrono::DateTime<chrono::Utc>) -> bool {
    VerifyCode::for_status(KeyStatus::of(&key.standing, now)).is_none()
}

/// Handles `POST /oauth/introspect`.
pub async fn introspect(State(state): State<AppState>, req: Request) -> Response {
    if let Err(refusal) = api::require_gateway(&state, req.headers()).await {
        return refusal;
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY).await else {
        return api::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {MAX_BODY} bytes."),
        );
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return api::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is missing: send token=… form-encoded (RFC 7662 section 2.1).",
        );
    };
    let answer = match inspect(&state, token.trim()).await {
        Ok(answer) => answer,
        Err(e) => return api::unavailable(&e),
    };
    let mut res = Json(answer).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// What introspection says of `token` now.
pub async fn inspect(
    state: &AppState,
    token: &str,
) -> Result<Introspection, crate::error::AppError> {
    if !access_token::looks_like_jwt(token) {
        return Ok(Introspection::default());
    }
    let now = state.clock.now();
    let Ok(claims) = access_token::check(state, token, now).await? else {
        return Ok(Introspection::default());
    };
    let key = match super::super::verify::load(state, &claims.sub).await? {
        Some(key) if key.org_id == claims.org_id && parent_allows(&key, now) => key,
        _ => return Ok(Introspection::default()),
    };
    let scope = claims.usable(&key.scopes).join(" ");
    Ok(Introspection {
        active: true,
        scope: Some(scope),
        client_id: Some(claims.client_id),
        token_type: Some("Bearer"),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        org_id: Some(claims.org_id),
        environment: Some(claims.environment),
    })
}
