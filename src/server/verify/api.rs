//! `POST /v1/verify` for the platform's gateway, and the rest of `/v1`.

use super::{gateway, openapi, verify, VerifyInput};
use crate::{
    domain::{key_format::Environment, verify::VerifyCode},
    server::state::AppState,
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Largest request body `/v1/verify` reads.
pub const MAX_BODY: usize = 16 * 1024;

/// The `/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/verify", post(verify_handler))
        .route("/v1/ping", get(ping))
        .route(
            "/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
}

/// What the gateway sends.
#[derive(Debug, Deserialize)]
struct VerifyRequest {
    key: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    client_ip: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

/// The answer, for `/v1/verify` and for refusals by the tower layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyResponse {
    /// Whether the request may go ahead.
    pub valid: bool,
    /// Why.
    pub code: VerifyCode,
    /// The key's public id (once identified by id and secret).
    pub key_id: Option<String>,
    /// Its organisation.
    pub org_id: Option<i64>,
    /// Its environment.
    pub environment: Option<Environment>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The scope checked.
    pub scope: Option<String>,
    /// With `rate_limited`: seconds to wait.
    pub retry_after: Option<u64>,
}

impl From<&super::Verdict> for VerifyResponse {
    fn from(v: &super::Verdict) -> Self {
        // A key with a wrong secret is not identified: say nothing about it.
        let key = v.key.as_ref().filter(|_| v.code != VerifyCode::Unknown);
        Self {
            valid: v.code.is_valid(),
            code: v.code,
            key_id: key.map(|k| k.key_id.clone()),
            org_id: key.map(|k| k.org_id),
            environment: key.map(|k| k.environment),
            scopes: key.map(|k| k.scopes.clone()).unwrap_or_default(),
            expires_at: key.map(|k| match k.rotating_until {
                Some(until) if until < k.expires_at => until,
                _ => k.expires_at,
            }),
            scope: v.scope.clone(),
            retry_after: v.retry_after_secs,
        }
    }
}

/// An error body: a code for programs and a sentence for people.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `payload_too_large` or `unavailable`.
    pub error: &'static str,
    /// What went wrong.
    pub message: String,
}

/// A JSON error response.
pub fn error(status: StatusCode, error: &'static str, message: impl Into<String>) -> Response {
    let mut res = (
        status,
        Json(ErrorBody {
            error,
            message: message.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"portico\""),
        );
    }
    res
}

async fn ping() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

async fn verify_handler(State(state): State<AppState>, req: Request) -> Response {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match gateway::authenticate(&state, authorization.as_deref()).await {
        Ok(true) => {}
        Ok(false) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Send a live gateway token: Authorization: Bearer gwt_…",
            )
        }
        Err(e) => return unavailable(&e),
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {MAX_BODY} bytes."),
            )
        }
    };
    let request: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("The body must be a JSON object with a \"key\" string: {e}"),
            )
        }
    };
    let client_ip = match request.client_ip.as_deref() {
        None => None,
        Some(text) => match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "client_ip must be an IPv4 or IPv6 address; omit it or send null when the address is unknown.",
                )
            }
        },
    };
    let environment = match request.environment.as_deref() {
        None => None,
        Some(text) => match Environment::parse(text) {
            Ok(env) => Some(env),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "environment must be \"sandbox\" or \"production\".",
                )
            }
        },
    };
    let input = VerifyInput {
        key: request.key,
        scope: request.scope.filter(|s| !s.is_empty()),
        method: request.method.filter(|s| !s.is_empty()),
        path: request.path.filter(|s| !s.is_empty()),
        client_ip,
        environment,
    };
    match verify(&state, &input).await {
        Ok(verdict) => Json(VerifyResponse::from(&verdict)).into_response(),
        Err(e) => unavailable(&e),
    }
}

/// 503 for a database that cannot be reached, with the error's reference.
pub fn unavailable(e: &crate::error::AppError) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("Verification is unavailable for a moment. {e}"),
    )
}
