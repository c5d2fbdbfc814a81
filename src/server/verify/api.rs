//! `POST /v1/verify` for the platform's gateway, and the rest of `/v1`.

use super::{gateway, openapi, verify, VerifyInput};
use crate::{
    domain::{
        key_format::Environment, request_path::CanonicalRequest, scopes::check_scope_name,
        verify::VerifyCode,
    },
    server::state::AppState,
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Largest request body `/v1/verify` reads.
pub const MAX_BODY: usize = 16 * 1024;

/// Longest scope name `/v1/verify` accepts.
pub const MAX_SCOPE_BYTES: usize = 100;

/// The `/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/verify", post(verify_handler))
        .route("/v1/ping", get(ping))
        .merge(super::forward_auth::routes())
        .route(
            "/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
}

/// What the gateway sends. Unknown fields are refused, so that a misspelt
/// `scope` is an error rather than a check without a scope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// The answer of `/v1/verify` and of the tower layer's refusals, as clients
/// read it (the server writes the same JSON with [`VerifyAnswer`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyResponse {
    /// Whether the request may go ahead.
    pub valid: bool,
    /// `ok`, or the first check that refused the key (`revoked`, `scope_denied`, …).
    pub code: VerifyCode,
    /// The key's public id (once identified by id and secret).
    pub key_id: Option<String>,
    /// The key's organisation id; `None` unless the key was identified by id and secret.
    pub org_id: Option<i64>,
    /// The key's environment; `None` unless the key was identified.
    pub environment: Option<Environment>,
    /// Every scope the key holds (for an access token: those it was granted
    /// that its key still holds); empty unless the key was identified.
    pub scopes: Vec<String>,
    /// When it expires (for an access token: the token, or its key if
    /// sooner).
    pub expires_at: Option<DateTime<Utc>>,
    /// The scope checked.
    pub scope: Option<String>,
    /// With `rate_limited`: seconds to wait.
    pub retry_after: Option<u64>,
}

/// The JSON of [`VerifyResponse`], written straight from a verdict: no
/// copies of the key's fields, and its expiry already rendered as text.
#[derive(Serialize)]
pub(crate) struct VerifyAnswer<'a> {
    valid: bool,
    code: VerifyCode,
    key_id: Option<&'a str>,
    org_id: Option<i64>,
    environment: Option<Environment>,
    scopes: &'a [String],
    expires_at: Option<&'a str>,
    scope: Option<&'a str>,
    retry_after: Option<u64>,
}

impl<'a> From<&'a super::Verdict> for VerifyAnswer<'a> {
    fn from(v: &'a super::Verdict) -> Self {
        // A key with a wrong secret is not identified: say nothing about it.
        let key = v.key.as_deref().filter(|_| v.code != VerifyCode::Unknown);
        Self {
            valid: v.code.is_valid(),
            code: v.code,
            key_id: key.map(|k| k.key_id.as_str()),
            org_id: key.map(|k| k.org_id),
            environment: key.map(|k| k.environment),
            scopes: if key.is_some() { v.scopes() } else { &[] },
            expires_at: key.map(|k| {
                v.token_expiry_text
                    .as_deref()
                    .unwrap_or(k.answered_expiry_text.as_str())
            }),
            scope: v.scope.as_deref(),
            retry_after: v.retry_after_secs,
        }
    }
}

impl VerifyAnswer<'_> {
    /// The answer as a JSON response with `status`.
    pub(crate) fn into_response(self, status: StatusCode) -> Response {
        // Answers are about 250 bytes: one allocation, no regrowth.
        let mut body = Vec::with_capacity(384);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("The answer could not be written: {e}"),
            ),
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

/// Checks the gateway token a request carries (`Authorization: Bearer
/// gwt_…`); `Err` is the answer to give instead: 401, or 503 when the
/// database cannot be reached.
pub async fn require_gateway(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match gateway::authenticate(state, authorization).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a live gateway token: Authorization: Bearer gwt_…",
        )),
        Err(e) => Err(unavailable(&e)),
    }
}

async fn verify_handler(State(state): State<AppState>, req: Request) -> Response {
    if let Err(refusal) = require_gateway(&state, req.headers()).await {
        return refusal;
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
                format!("The body must be a JSON object with a \"key\" string and, optionally, \"scope\", \"method\" with \"path\", \"client_ip\" and \"environment\": {e}"),
            )
        }
    };
    match checked_input(request) {
        Ok(input) => match verify(&state, &input).await {
            Ok(verdict) => VerifyAnswer::from(&verdict).into_response(StatusCode::OK),
            Err(e) => unavailable(&e),
        },
        Err(message) => error(StatusCode::BAD_REQUEST, "bad_request", message),
    }
}

/// Turns a request into what verification decides on, or says what is wrong
/// with it. A request that names part of what it wants (a method without a
/// path, an empty scope) is refused rather than checked without a scope.
fn checked_input(request: VerifyRequest) -> Result<VerifyInput, String> {
    let client_ip = match request.client_ip.as_deref() {
        None => None,
        Some(text) => match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip.to_canonical()),
            Err(_) => {
                return Err("client_ip must be an IPv4 or IPv6 address; omit it or send null when the address is unknown.".to_owned())
            }
        },
    };
    let environment = match request.environment.as_deref() {
        None => None,
        Some(text) => match Environment::parse(text) {
            Ok(env) => Some(env),
            Err(_) => return Err("environment must be \"sandbox\" or \"production\".".to_owned()),
        },
    };
    let scope = match request.scope {
        Some(scope) if scope.trim().is_empty() => {
            return Err("scope is empty: name the scope the request needs, or omit it and send method and path.".to_owned())
        }
        Some(scope) => {
            let scope = scope.trim();
            if scope.len() > MAX_SCOPE_BYTES || check_scope_name(scope).is_err() {
                return Err(format!(
                    "scope must be a scope name such as records:read (resource:action, lower-case letters, digits and _, at most {MAX_SCOPE_BYTES} characters)."
                ));
            }
            Some(scope.to_owned())
        }
        None => None,
    };
    let request_line = match (request.method, request.path) {
        (None, None) => None,
        (Some(_), None) => {
            return Err("path is missing: send the request's method and path together, e.g. \"method\": \"GET\", \"path\": \"/v1/records/42\".".to_owned())
        }
        (None, Some(_)) => {
            return Err("method is missing: send the request's method and path together, e.g. \"method\": \"GET\", \"path\": \"/v1/records/42\".".to_owned())
        }
        (Some(method), Some(path)) => Some(
            CanonicalRequest::parse_owned(method, path)
                .map_err(|refusal| refusal.message().to_owned())?,
        ),
    };
    Ok(VerifyInput {
        key: request.key,
        scope,
        request: request_line,
        client_ip,
        environment,
        requested_scopes: Vec::new(),
        keys_only: false,
    })
}

/// 503 for a database that cannot be reached, with the error's reference.
pub fn unavailable(e: &crate::error::AppError) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("Verification is unavailable for a moment. {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::keys::IpAllowlist,
        server::verify::{
            cache::{answer_time, standing, VerifyKey},
            Verdict,
        },
    };
    use std::sync::Arc;

    fn verdict(code: VerifyCode, rotating: bool) -> Verdict {
        let expires_at: DateTime<Utc> = "2027-02-26T09:22:00.25Z".parse().unwrap();
        let rotating_until = rotating.then(|| expires_at - chrono::Duration::days(3));
        let key = VerifyKey {
            id: 7,
            key_id: "AbCdEfGhIj".into(),
            org_id: 3,
            environment: Environment::Production,
            scopes: vec!["records:read".into(), "records:write".into()],
            allowlist: IpAllowlist::default(),
            secret_hash: vec![],
            standing: standing(expires_at, rotating_until),
            rate_limit_per_minute: 60,
            monthly_quota: None,
            answered_expiry_text: answer_time(rotating_until.unwrap_or(expires_at)),
        };
        Verdict {
            code,
            key: Some(Arc::new(key)),
            scope: Some("records:read".into()),
            retry_after_secs: (code == VerifyCode::RateLimited).then_some(12),
            granted: None,
            token_expiry_text: None,
        }
    }

    #[test]
    fn the_written_answer_reads_back_as_the_response() {
        for code in VerifyCode::ALL {
            for rotating in [false, true] {
                let v = verdict(code, rotating);
                let key = v.key.as_deref().unwrap();
                let written = serde_json::to_value(VerifyAnswer::from(&v)).unwrap();
                let read: VerifyResponse = serde_json::from_value(written).unwrap();
                // A wrong secret names no key.
                let named = code != VerifyCode::Unknown;
                let case = format!("{code:?}, rotating: {rotating}");
                assert_eq!(read.valid, code.is_valid(), "{case}");
                assert_eq!(read.code, code, "{case}");
                assert_eq!(
                    read.key_id.as_deref(),
                    named.then_some("AbCdEfGhIj"),
                    "{case}"
                );
                assert_eq!(read.org_id, named.then_some(3), "{case}");
                assert_eq!(
                    read.environment,
                    named.then_some(Environment::Production),
                    "{case}"
                );
                let scopes = if named { key.scopes.clone() } else { vec![] };
                assert_eq!(read.scopes, scopes, "{case}");
                assert_eq!(
                    read.expires_at,
                    named.then(|| key.answered_expiry()),
                    "{case}"
                );
                assert_eq!(read.scope.as_deref(), Some("records:read"), "{case}");
                let retry = (code == VerifyCode::RateLimited).then_some(12);
                assert_eq!(read.retry_after, retry, "{case}");
            }
        }
    }
}
