//! `/v1/forward-auth`: Portico as the authoriser of a stock gateway.
//!
//! nginx (`auth_request`), Caddy (`forward_auth`), Traefik (`ForwardAuth`)
//! and Envoy (`ext_authz`, HTTP mode) ask an authorisation URL about each
//! request, sending the original request's headers, and let the request
//! through on a 2xx, copying chosen answer headers to the upstream. This
//! endpoint answers them with the verification core of `/v1/verify`:
//!
//! - **The gateway** proves itself with its gateway token, in
//!   `Portico-Gateway-Token: gwt_…` or `Proxy-Authorization: Bearer gwt_…`,
//!   or by connecting from an address in `PORTICO_GATEWAY_ADDRESSES` (the
//!   TCP peer, never a forwarded header). Anything else is a 401 and no key
//!   is checked.
//! - **The key** comes from `Authorization: Bearer …`, else from the
//!   configured key header (`X-API-Key` by default).
//! - **The original request** comes from `X-Forwarded-Method` +
//!   `X-Forwarded-Uri` (Caddy, Traefik), from `X-Original-Method` +
//!   `X-Original-URI` (nginx, set in its configuration), or from this
//!   request's own method and the path after `/v1/forward-auth` (Envoy's
//!   `path_prefix`). A gateway sets its own convention and passes the
//!   client's other headers along, so when several are present they must
//!   agree: a client cannot choose which one is decided on.
//! - **The client address** is the right-most `X-Forwarded-For` entry (the
//!   one the gateway appended), else `X-Real-IP`.
//! - **The environment** the upstream serves, if the gateway's configuration
//!   names it, in `Portico-Upstream-Environment` (`sandbox` or `production`).
//!
//! Answers: 200 with `Portico-Key-Id`, `Portico-Org-Id`,
//! `Portico-Environment` and `Portico-Scopes` (space-separated) for the
//! upstream; 401 with `WWW-Authenticate: Bearer` when no key is identified
//! (missing, malformed, unknown, wrong secret); 403 for an identified key
//! that may not do this (scope, address, environment, revoked, suspended,
//! pending approval, expired); 429 with `Retry-After` (whole seconds); 400
//! for a request that cannot be decided. Every decision carries its code in
//! `Portico-Code` and the JSON of `/v1/verify`, and is a usage event like
//! any other. The key is never echoed.

use super::{
    api::{error, unavailable, VerifyAnswer},
    gateway, verify, Verdict, VerifyInput,
};
use crate::{
    domain::{key_format::Environment, request_path::CanonicalRequest, verify::VerifyCode},
    server::{
        http::{bearer::bearer_token, client_addr::last_forwarded_for},
        state::AppState,
    },
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::Response,
    routing::any,
    Router,
};
use std::net::{IpAddr, SocketAddr};

/// Where gateways send their questions; Envoy appends the original path.
pub const PATH: &str = "/v1/forward-auth";

/// The header a gateway's configuration sets to its gateway token.
pub const GATEWAY_TOKEN: HeaderName = HeaderName::from_static("portico-gateway-token");
/// The header a gateway's configuration may set to the environment its
/// upstream serves: keys of the other environment get `env_mismatch`.
pub const UPSTREAM_ENVIRONMENT: HeaderName =
    HeaderName::from_static("portico-upstream-environment");
/// The decision's code, on every answer (`ok`, `scope_denied`, …).
pub const CODE: HeaderName = HeaderName::from_static("portico-code");
/// For the upstream: the key's public id.
pub const KEY_ID: HeaderName = HeaderName::from_static("portico-key-id");
/// For the upstream: the key's organisation id.
pub const ORG_ID: HeaderName = HeaderName::from_static("portico-org-id");
/// For the upstream: `sandbox` or `production`.
pub const ENVIRONMENT: HeaderName = HeaderName::from_static("portico-environment");
/// For the upstream: every scope the key holds, separated by spaces.
pub const SCOPES: HeaderName = HeaderName::from_static("portico-scopes");

/// The header pairs gateways name the original request with, and the
/// convention each belongs to.
const CONVENTIONS: [(&str, &str, &str); 2] = [
    (
        "x-forwarded-method",
        "x-forwarded-uri",
        "X-Forwarded-Method and X-Forwarded-Uri",
    ),
    (
        "x-original-method",
        "x-original-uri",
        "X-Original-Method and X-Original-URI",
    ),
];

/// The forward-auth routes: any method, with or without a path after them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, any(handler))
        .route(&format!("{PATH}/{{*original}}"), any(handler))
}

/// The status a gateway acts on for a decision: 401 when no key was
/// identified, 403 when an identified key may not do this, 429 when it
/// must wait.
pub fn status_of(code: VerifyCode) -> StatusCode {
    match code {
        VerifyCode::Ok => StatusCode::OK,
        VerifyCode::Malformed | VerifyCode::Unknown => StatusCode::UNAUTHORIZED,
        VerifyCode::RateLimited | VerifyCode::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
        VerifyCode::Expired
        | VerifyCode::Revoked
        | VerifyCode::Suspended
        | VerifyCode::PendingApproval
        | VerifyCode::ScopeDenied
        | VerifyCode::IpDenied
        | VerifyCode::EnvMismatch => StatusCode::FORBIDDEN,
    }
}

async fn handler(State(state): State<AppState>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    match gateway_admitted(&state, req.headers(), peer).await {
        Ok(true) => {}
        Ok(false) => {
            let mut res = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "This gateway is not known: its configuration must send its gateway token in Portico-Gateway-Token (or Proxy-Authorization: Bearer gwt_…).",
            );
            res.headers_mut()
                .insert(CODE, HeaderValue::from_static("gateway_unauthorized"));
            return res;
        }
        Err(e) => return unavailable(&e),
    }
    let input = match question(&req, &state.config.forward_auth_key_header) {
        Ok(input) => input,
        Err(message) => {
            let mut res = error(StatusCode::BAD_REQUEST, "bad_request", message);
            res.headers_mut()
                .insert(CODE, HeaderValue::from_static("bad_request"));
            return res;
        }
    };
    match verify(&state, &input).await {
        Ok(verdict) => answer(&verdict),
        Err(e) => unavailable(&e),
    }
}

/// Whether the caller is a gateway: by its address, else by its token.
async fn gateway_admitted(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<bool, crate::error::AppError> {
    let trusted = &state.config.gateway_addresses;
    if !trusted.is_empty() && peer.is_some_and(|ip| trusted.allows(ip)) {
        return Ok(true);
    }
    // One token, in one place: several are a configuration fault, not a
    // choice for Portico to make.
    let (Ok(token), Ok(proxy)) = (
        single(headers, GATEWAY_TOKEN.as_str()),
        single(headers, header::PROXY_AUTHORIZATION.as_str()),
    ) else {
        return Ok(false);
    };
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let token = match (token, proxy.and_then(bearer_token)) {
        (Some(token), None) | (None, Some(token)) => token,
        _ => return Ok(false),
    };
    gateway::admits(state, token).await
}

/// What the gateway asks, or why it cannot be decided.
fn question(req: &Request, key_header: &HeaderName) -> Result<VerifyInput, String> {
    let headers = req.headers();
    let suffix = req
        .uri()
        .path()
        .strip_prefix(PATH)
        .filter(|rest| rest.starts_with('/'));
    let request = original_request(req.method().as_str(), suffix, headers)?;
    let environment = match single(headers, UPSTREAM_ENVIRONMENT.as_str())? {
        None => None,
        Some(text) => Some(
            Environment::parse(&text.trim().to_ascii_lowercase()).map_err(|_| {
                "Portico-Upstream-Environment must be sandbox or production.".to_owned()
            })?,
        ),
    };
    Ok(VerifyInput {
        key: presented_key(headers, key_header)?,
        scope: None,
        request: Some(request),
        client_ip: client_address(headers)?,
        environment,
        requested_scopes: Vec::new(),
        keys_only: false,
    })
}

/// The key: `Authorization: Bearer …`, else the key header; empty when the
/// request carries neither (verification answers `malformed`). Several
/// values of either header are refused: which one the upstream reads is
/// not Portico's to guess.
fn presented_key(headers: &HeaderMap, key_header: &HeaderName) -> Result<String, String> {
    let bearer = single(headers, header::AUTHORIZATION.as_str())?.and_then(bearer_token);
    let key = match bearer {
        Some(key) => Some(key),
        None => single(headers, key_header.as_str())?,
    };
    Ok(key.map(|key| key.trim().to_owned()).unwrap_or_default())
}

/// The one value of header `name`, if present.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("Send one {name} header, not several."));
    }
    // UTF-8 rather than ASCII: nginx passes a raw UTF-8 request target on.
    std::str::from_utf8(value.as_bytes())
        .map(Some)
        .map_err(|_| format!("The {name} header must be UTF-8 text."))
}

/// The original request's method and canonical path, from whichever
/// conventions are present; several must agree.
fn original_request(
    own_method: &str,
    suffix: Option<&str>,
    headers: &HeaderMap,
) -> Result<CanonicalRequest, String> {
    let mut found: Vec<(&str, CanonicalRequest)> = Vec::new();
    for (method_header, uri_header, convention) in CONVENTIONS {
        match (
            single(headers, method_header)?,
            single(headers, uri_header)?,
        ) {
            (None, None) => {}
            (Some(method), Some(uri)) => {
                let request = CanonicalRequest::parse(method.trim(), uri.trim())
                    .map_err(|refusal| format!("{convention}: {}", refusal.message()))?;
                found.push((convention, request));
            }
            _ => return Err(format!("Send {convention} together.")),
        }
    }
    if let Some(path) = suffix {
        let request = CanonicalRequest::parse(own_method, path)
            .map_err(|refusal| format!("The path after {PATH}: {}", refusal.message()))?;
        found.push(("the method and the path after /v1/forward-auth", request));
    }
    let mut found = found.into_iter();
    let Some((first_convention, first)) = found.next() else {
        return Err(format!(
            "Name the original request: X-Forwarded-Method and X-Forwarded-Uri (Caddy, Traefik), X-Original-Method and X-Original-URI (nginx), or its path after {PATH} (Envoy)."
        ));
    };
    if let Some((other, _)) = found.find(|(_, request)| *request != first) {
        return Err(format!(
            "{first_convention} and {other} name different requests; the gateway's configuration must set one and drop the other."
        ));
    }
    Ok(first)
}

/// The client's address as the gateway saw it.
fn client_address(headers: &HeaderMap) -> Result<Option<IpAddr>, String> {
    if headers.contains_key("x-forwarded-for") {
        return match last_forwarded_for(headers).and_then(|s| s.parse::<IpAddr>().ok()) {
            Some(ip) => Ok(Some(ip.to_canonical())),
            None => Err(
                "The last X-Forwarded-For entry must be the client's IP address, as the gateway appends it."
                    .to_owned(),
            ),
        };
    }
    match single(headers, "x-real-ip")? {
        None => Ok(None),
        Some(text) => match text.trim().parse::<IpAddr>() {
            Ok(ip) => Ok(Some(ip.to_canonical())),
            Err(_) => Err("X-Real-IP must be the client's IP address.".to_owned()),
        },
    }
}

/// The answer a gateway acts on.
fn answer(verdict: &Verdict) -> Response {
    let status = status_of(verdict.code);
    let mut res = VerifyAnswer::from(verdict).into_response(status);
    let headers = res.headers_mut();
    headers.insert(CODE, HeaderValue::from_static(verdict.code.as_str()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match status {
        StatusCode::OK => {
            if let Some(key) = verdict.key.as_deref() {
                let identity = [
                    (KEY_ID, HeaderValue::from_str(&key.key_id)),
                    (ORG_ID, HeaderValue::from_str(&key.org_id.to_string())),
                    (
                        ENVIRONMENT,
                        Ok(HeaderValue::from_static(key.environment.as_str())),
                    ),
                    (SCOPES, HeaderValue::from_str(&verdict.scopes().join(" "))),
                ];
                for (name, value) in identity {
                    if let Ok(value) = value {
                        headers.insert(name, value);
                    }
                }
            }
        }
        StatusCode::UNAUTHORIZED => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portico\""),
            );
        }
        StatusCode::TOO_MANY_REQUESTS => {
            if let Some(secs) = verdict.retry_after_secs {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
        }
        _ => {}
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_unidentified_keys_are_401_and_every_refusal_is_4xx() {
        for code in VerifyCode::ALL {
            let status = status_of(code);
            match code {
                VerifyCode::Ok => assert_eq!(status, StatusCode::OK),
                VerifyCode::Malformed | VerifyCode::Unknown => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED)
                }
                VerifyCode::RateLimited | VerifyCode::QuotaExceeded => {
                    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS)
                }
                _ => assert_eq!(status, StatusCode::FORBIDDEN, "{code:?}"),
            }
        }
    }

    #[test]
    fn each_convention_names_the_original_request() {
        let caddy = headers(&[
            ("x-forwarded-method", "post"),
            ("x-forwarded-uri", "/v1/records/%34%32?x=1"),
        ]);
        let nginx = headers(&[
            ("x-original-method", "POST"),
            ("x-original-uri", "/v1//records/./42"),
        ]);
        for h in [&caddy, &nginx] {
            let request = original_request("GET", None, h).unwrap();
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/v1/records/42");
        }
        let envoy = original_request("DELETE", Some("/v1/records/42"), &HeaderMap::new()).unwrap();
        assert_eq!(
            (envoy.method.as_str(), envoy.path.as_str()),
            ("DELETE", "/v1/records/42")
        );
    }

    #[test]
    fn conventions_that_disagree_are_refused_and_agreeing_ones_pass() {
        // nginx sets X-Original-*; a client sends X-Forwarded-* through it.
        let forged = headers(&[
            ("x-original-method", "GET"),
            ("x-original-uri", "/v1/customers/export"),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/v1/records/1"),
        ]);
        let err = original_request("GET", None, &forged).unwrap_err();
        assert!(err.contains("name different requests"), "{err}");
        // A client header against Envoy's path.
        let forged = headers(&[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/v1/records/1"),
        ]);
        assert!(original_request("GET", Some("/v1/customers/export"), &forged).is_err());
        // The same request spelt two ways is one request.
        let same = headers(&[
            ("x-original-method", "get"),
            ("x-original-uri", "/v1/records/%31"),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/v1/records/1?page=2"),
        ]);
        assert_eq!(
            original_request("GET", None, &same).unwrap().path,
            "/v1/records/1"
        );
    }

    #[test]
    fn partial_repeated_missing_or_unsafe_originals_are_refused() {
        let cases: [(&[(&'static str, &'static str)], &str); 6] = [
            (&[], "Name the original request"),
            (&[("x-forwarded-uri", "/v1/records")], "together"),
            (&[("x-original-method", "GET")], "together"),
            (
                &[
                    ("x-forwarded-method", "GET"),
                    ("x-forwarded-uri", "/v1/records"),
                    ("x-forwarded-uri", "/v1/customers/export"),
                ],
                "one x-forwarded-uri",
            ),
            (
                &[
                    ("x-forwarded-method", "GET"),
                    ("x-forwarded-uri", "/v1/customers%2Fexport"),
                ],
                "X-Forwarded-Method and X-Forwarded-Uri:",
            ),
            (
                &[
                    ("x-original-method", "G ET"),
                    ("x-original-uri", "/v1/records"),
                ],
                "X-Original-Method and X-Original-URI:",
            ),
        ];
        for (pairs, expected) in cases {
            let err = original_request("GET", None, &headers(pairs)).unwrap_err();
            assert!(err.contains(expected), "{pairs:?}: {err}");
        }
        let err = original_request(
            "GET",
            Some("/v1/records/..%2F..%2Fadmin"),
            &HeaderMap::new(),
        )
        .unwrap_err();
        assert!(err.starts_with("The path after /v1/forward-auth"), "{err}");
    }

    #[test]
    fn the_client_is_the_entry_the_gateway_appended() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4, 203.0.113.7"),
            ("x-real-ip", "10.0.0.1"),
        ]);
        assert_eq!(client_address(&h).unwrap(), ip("203.0.113.7"));
        let h = headers(&[("x-real-ip", "::ffff:198.51.100.2")]);
        assert_eq!(client_address(&h).unwrap(), ip("198.51.100.2"));
        assert_eq!(client_address(&HeaderMap::new()).unwrap(), None);
        assert!(client_address(&headers(&[("x-forwarded-for", "203.0.113.7, unknown")])).is_err());
        assert!(client_address(&headers(&[("x-real-ip", "somewhere")])).is_err());
    }

    #[test]
    fn the_key_comes_from_bearer_then_the_key_header() {
        let key_header = HeaderName::from_static("x-api-key");
        let h = headers(&[("authorization", "bearer prt_a"), ("x-api-key", "prt_b")]);
        assert_eq!(presented_key(&h, &key_header).unwrap(), "prt_a");
        let h = headers(&[
            ("authorization", "Basic Zm9vOmJhcg=="),
            ("x-api-key", " prt_b "),
        ]);
        assert_eq!(presented_key(&h, &key_header).unwrap(), "prt_b");
        assert_eq!(presented_key(&HeaderMap::new(), &key_header).unwrap(), "");
        // Two keys: which one the upstream reads is not Portico's to guess.
        let two = headers(&[
            ("authorization", "Bearer prt_a"),
            ("authorization", "Bearer prt_b"),
        ]);
        assert!(presented_key(&two, &key_header).is_err());
        let two = headers(&[("x-api-key", "prt_a"), ("x-api-key", "prt_b")]);
        assert!(presented_key(&two, &key_header).is_err());
    }
}
