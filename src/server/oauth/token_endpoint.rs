//! `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4). A
//! service authenticates with its API key as the client secret and its key
//! id as the client id, and gets a short-lived access token (RFC 9068).
//!
//! The key is checked by the verification core, so everything verification
//! refuses is refused here, recorded as a usage event and counted by the
//! alerts the same way; the answer uses the error codes of RFC 6749 §5.2,
//! with verification's own code beside them as `portico_code`.

use super::{access_token, client_auth::ClientCredentials};
use crate::{
    domain::{scopes::check_scope_name, verify::VerifyCode},
    server::verify::api::MAX_SCOPE_BYTES,
    server::{
        http::client_addr::ClientAddr,
        policy,
        state::AppState,
        verify::{verify, VerifyInput},
    },
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// Largest token request body read, in bytes.
pub const MAX_BODY: usize = 8 * 1024;

/// The most scopes one token request may name.
pub const MAX_SCOPES: usize = 64;

/// A successful answer (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

/// An error answer (RFC 6749 §5.2), with verification's code for programs
/// that want the exact reason.
#[derive(Debug, Serialize)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_scope`,
    /// `unauthorized_client`, `unsupported_grant_type`, `slow_down` or
    /// `temporarily_unavailable`.
    pub error: &'static str,
    /// What went wrong, for people (printable ASCII, RFC 6749 §5.2).
    pub error_description: String,
    /// Verification's code (`revoked`, `ip_denied`, …) when the key was
    /// checked and refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portico_code: Option<VerifyCode>,
}

/// An RFC 6749 §5.2 error response. 401s name the Basic scheme
/// (RFC 6749 §5.2: a client that tried to authenticate is told how).
pub fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: &str,
    portico_code: Option<VerifyCode>,
) -> Response {
    let mut res = (
        status,
        Json(OAuthError {
            error,
            error_description: printable(description),
            portico_code,
        }),
    )
        .into_response();
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portico\""),
        );
    }
    res
}

/// `error_description` may hold only printable ASCII without `"` and `\`
/// (RFC 6749 §5.2).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            '—' | '–' => '-',
            '…' => '.',
            ' '..='~' => c,
            // Shown, not hidden: a tab or a NUL in a scope is the mistake.
            _ => '?',
        })
        .collect()
}

/// The RFC 6749 error for a refusal from verification: the key could not
/// authenticate the client (`invalid_client`), may not be used from here
/// (`unauthorized_client`), lacks a scope asked for (`invalid_scope`), or
/// is over its limits (`slow_down`, 429).
fn refusal(code: VerifyCode) -> (StatusCode, &'static str) {
    match code {
        VerifyCode::Ok => (StatusCode::OK, ""),
        VerifyCode::Malformed
        | VerifyCode::Unknown
        | VerifyCode::Expired
        | VerifyCode::Revoked
        | VerifyCode::Suspended
        | VerifyCode::PendingApproval => (StatusCode::UNAUTHORIZED, "invalid_client"),
        VerifyCode::IpDenied | VerifyCode::EnvMismatch => {
            (StatusCode::BAD_REQUEST, "unauthorized_client")
        }
        VerifyCode::ScopeDenied => (StatusCode::BAD_REQUEST, "invalid_scope"),
        VerifyCode::RateLimited | VerifyCode::QuotaExceeded => {
            (StatusCode::TOO_MANY_REQUESTS, "slow_down")
        }
    }
}

/// A token request's form parameters (RFC 6749 §4.4.2), each at most once.
#[derive(Debug, Default)]
struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn parse_form(body: &[u8]) -> Result<TokenForm, String> {
    let mut form = TokenForm::default();
    for (name, value) in url::form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut form.grant_type,
            "scope" => &mut form.scope,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            // Unknown parameters are ignored (RFC 6749 §3.2).
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!(
                "{name} is given more than once (RFC 6749 section 3.2)."
            ));
        }
        *slot = Some(value.into_owned());
    }
    Ok(form)
}

/// The scopes asked for: distinct scope names, in the order given.
fn requested_scopes(scope: Option<&str>) -> Result<Vec<String>, String> {
    let Some(scope) = scope else {
        return Ok(Vec::new());
    };
    if scope.trim().is_empty() {
        return Err("scope is empty: omit it to get every scope of the key, or name the scopes the token needs, separated by spaces.".to_owned());
    }
    let mut scopes: Vec<String> = Vec::new();
    for name in scope.split(' ').filter(|s| !s.is_empty()) {
        // The name is never quoted back: a secret pasted into the wrong
        // field must not come back in the answer.
        if check_scope_name(name).is_err() {
            return Err("scope must be scope names such as records:read (resource:action, lower-case letters, digits and _), separated by single spaces.".to_owned());
        }
        if name.len() > MAX_SCOPE_BYTES {
            return Err(format!(
                "A scope name has at most {MAX_SCOPE_BYTES} characters, such as records:read."
            ));
        }
        if !scopes.iter().any(|s| s == name) {
            scopes.push(name.to_owned());
        }
    }
    if scopes.len() > MAX_SCOPES {
        return Err(format!(
            "At most {MAX_SCOPES} scopes may be asked for at once."
        ));
    }
    Ok(scopes)
}

/// Whether the body is form-encoded (RFC 6749 §4.4.2).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Handles `POST /oauth/token`.
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let client_ip = req
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| ip.to_canonical());
    let headers = req.headers().clone();
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Send the parameters form-encoded: Content-Type: application/x-www-form-urlencoded.",
            None,
        );
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY).await else {
        return oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            &format!("The request body is larger than {MAX_BODY} bytes."),
            None,
        );
    };
    let form = match parse_form(&body) {
        Ok(form) => form,
        Err(m) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &m, None),
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing: send grant_type=client_credentials.",
                None,
            )
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only grant_type=client_credentials is supported: exchange an API key for an access token.",
                None,
            )
        }
    }
    let scopes = match requested_scopes(form.scope.as_deref()) {
        Ok(scopes) => scopes,
        Err(m) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &m, None),
    };
    let credentials = match ClientCredentials::from_request(
        headers.get(header::AUTHORIZATION),
        form.client_id,
        form.client_secret,
    ) {
        Ok(c) => c,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = credentials.check_client_id(&state.config.key_prefix) {
        return refusal.into_response();
    }
    let input = VerifyInput {
        key: credentials.secret,
        client_ip,
        requested_scopes: scopes.clone(),
        // A token is not a client secret: it cannot buy a fresh token.
        keys_only: true,
        ..Default::default()
    };
    let verdict = match verify(&state, &input).await {
        Ok(v) => v,
        Err(e) => return unavailable(&e),
    };
    let key = match (verdict.code, verdict.key.as_ref()) {
        (VerifyCode::Ok, Some(key)) => key.clone(),
        (code, _) => {
            let (status, error) = refusal(code);
            let description = match (code, verdict.scope.as_deref()) {
                (VerifyCode::ScopeDenied, Some(missing)) => {
                    format!("The key does not hold {missing}: ask only for scopes the key holds.")
                }
                (VerifyCode::Malformed | VerifyCode::Unknown, _) => {
                    "The client could not be authenticated: check the key id and the key."
                        .to_owned()
                }
                _ => code.describe().to_owned(),
            };
            let mut res = oauth_error(status, error, &description, Some(code));
            if let Some(secs) = verdict.retry_after_secs {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return res;
        }
    };
    let now = state.clock.now();
    let lifetime = {
        let mut conn = match state.db.acquire().await {
            Ok(c) => c,
            Err(e) => return unavailable(&e.into()),
        };
        match policy::load(conn.conn(), key.org_id).await {
            Ok(p) => chrono::Duration::seconds(p.access_token_lifetime_secs),
            Err(e) => return unavailable(&e),
        }
    };
    let granted = if scopes.is_empty() {
        key.scopes.clone()
    } else {
        scopes
    };
    match access_token::mint(&state, &key, &granted, lifetime, now).await {
        Ok(minted) => {
            let mut res = Json(TokenResponse {
                access_token: minted.access_token,
                token_type: "Bearer",
                expires_in: minted.expires_in,
                scope: minted.scope,
            })
            .into_response();
            // RFC 6749 §5.1: the answer carries a credential.
            let headers = res.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => unavailable(&e),
    }
}

/// 503 when the database cannot be reached.
pub fn unavailable(e: &crate::error::AppError) -> Response {
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        &format!("Tokens cannot be issued for a moment. {e}"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stay_within_the_characters_rfc_6749_allows() {
        let text = printable("The key \"x\" isn’t — valid\\ …\n");
        assert!(text
            .chars()
            .all(|c| c == ' ' || c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c)));
        assert_eq!(text, "The key 'x' isn?t - valid/ .?");
    }

    #[test]
    fn scopes_are_distinct_well_formed_names() {
        assert_eq!(requested_scopes(None), Ok(vec![]));
        assert_eq!(
            requested_scopes(Some("records:read records:read customers:read")),
            Ok(vec!["records:read".to_owned(), "customers:read".to_owned()])
        );
        assert!(requested_scopes(Some("  ")).is_err());
        assert!(requested_scopes(Some("records:read RECORDS")).is_err());
        // A secret pasted as a scope is not repeated.
        let pasted = "prt_test_2hjoOt42zuD031Y4W6Qzy9CDv5ezFraB2n3Gpn";
        assert!(!requested_scopes(Some(pasted)).unwrap_err().contains(pasted));
        assert!(!requested_scopes(Some(&format!("records:read {pasted}")))
            .unwrap_err()
            .contains("prt_"));
        let long = format!("{}:read", "a".repeat(200));
        assert!(requested_scopes(Some(&long)).unwrap_err().len() < 200);
    }

    #[test]
    fn each_parameter_is_given_once() {
        assert!(parse_form(b"grant_type=client_credentials&grant_type=x").is_err());
        let form = parse_form(b"grant_type=client_credentials&scope=a%3Ab&extra=1").unwrap();
        assert_eq!(form.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(form.scope.as_deref(), Some("a:b"));
    }

    #[test]
    fn every_refusal_has_an_oauth_error() {
        for code in VerifyCode::ALL.into_iter().filter(|c| !c.is_valid()) {
            let (status, error) = refusal(code);
            assert!(status.is_client_error(), "{code:?}");
            assert!(!error.is_empty(), "{code:?}");
        }
    }
}
