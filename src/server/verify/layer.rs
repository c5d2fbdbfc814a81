//! The verification core as a tower layer, for Rust services that mount it
//! in-process instead of calling `/v1/verify`.
//!
//! ```ignore
//! let api = Router::new().route("/v1/records", get(list_records));
//! let app = Router::new().fallback_service(VerifyLayer::new(state.clone()).layer(api));
//! ```
//!
//! The layer reads the key from `Authorization: Bearer …` (or `X-Api-Key`),
//! maps the request's method and canonical path to a scope through the
//! catalog, and either passes the request on with a [`VerifiedKey`] in its
//! extensions and the canonical path in its URI (so the wrapped service
//! routes what was authorised), or answers itself with the same JSON
//! `/v1/verify` returns (400, 401, 403 or 429). Mount it around a whole
//! router (`nest_service`), not with `Router::layer`, so that it also sees
//! requests that no route matches and decides before routing.

use super::{api::VerifyAnswer, verify, VerifyInput};
use crate::{
    domain::{key_format::Environment, request_path::CanonicalRequest},
    server::{
        http::{bearer::bearer_token, client_addr::ClientAddr},
        state::AppState,
    },
};
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use tower::{Layer, Service};

/// The key a request was allowed with, for handlers behind the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedKey {
    /// Public key id.
    pub key_id: String,
    /// The key's organisation (`organisations.id`).
    pub org_id: i64,
    /// The key's environment: sandbox or production.
    pub environment: Environment,
    /// Every scope the key holds (for an access token, those it was granted
    /// that the key still holds), not only the one this request needed.
    pub scopes: Vec<String>,
}

/// Verifies every request before the wrapped service sees it.
#[derive(Clone, Debug)]
pub struct VerifyLayer {
    state: AppState,
    strip_prefix: String,
    environment: Option<Environment>,
}

impl VerifyLayer {
    /// A layer verifying against `state`'s keys and catalog.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            strip_prefix: String::new(),
            environment: None,
        }
    }

    /// Removes `prefix` from paths before matching them to the catalog (for
    /// an API mounted under a prefix, such as `/sample`).
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.strip_prefix = prefix.into();
        self
    }

    /// Accepts only keys of this environment.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`VerifyLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct VerifyService<S> {
    inner: S,
    layer: VerifyLayer,
}

/// The key a request presents: `Authorization: Bearer …` or `X-Api-Key`.
fn presented_key(req: &Request) -> Option<String> {
    let headers = req.headers();
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(|k| k.trim().to_owned())
}

impl<S> Service<Request<Body>> for VerifyService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let full = req.uri().path();
            let (prefix, path) = match full.strip_prefix(layer.strip_prefix.as_str()) {
                Some(rest) => (layer.strip_prefix.as_str(), rest),
                None => ("", full),
            };
            // A path an upstream could read as another endpoint is refused.
            let request = match CanonicalRequest::parse(req.method().as_str(), path) {
                Ok(request) => request,
                Err(refusal) => {
                    return Ok(super::api::error(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        refusal.message(),
                    ))
                }
            };
            // The wrapped service routes the path that was authorised, never
            // another spelling of it.
            if request.path != path {
                let target = match req.uri().query() {
                    Some(query) => format!("{prefix}{}?{query}", request.path),
                    None => format!("{prefix}{}", request.path),
                };
                let mut parts = req.uri().clone().into_parts();
                match target.parse() {
                    Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
                    Err(_) => {
                        return Ok(super::api::error(
                            StatusCode::BAD_REQUEST,
                            "bad_request",
                            "The path cannot be read.",
                        ))
                    }
                }
                if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
            let input = VerifyInput {
                key: presented_key(&req).unwrap_or_default(),
                scope: None,
                request: Some(request),
                client_ip: req
                    .extensions()
                    .get::<ClientAddr>()
                    .map(|ClientAddr(ip)| ip.to_canonical()),
                environment: layer.environment,
                requested_scopes: Vec::new(),
                keys_only: false,
            };
            let verdict = match verify(&layer.state, &input).await {
                Ok(v) => v,
                Err(e) => return Ok(super::api::unavailable(&e)),
            };
            if let (true, Some(key)) = (verdict.code.is_valid(), verdict.key.as_ref()) {
                req.extensions_mut().insert(VerifiedKey {
                    key_id: key.key_id.clone(),
                    org_id: key.org_id,
                    environment: key.environment,
                    scopes: verdict.scopes().to_vec(),
                });
                return inner.call(req).await;
            }
            let status = StatusCode::from_u16(verdict.code.http_status())
                .unwrap_or(StatusCode::UNAUTHORIZED);
            let mut res = VerifyAnswer::from(&verdict).into_response(status);
            if let Some(secs) = verdict.retry_after_secs {
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            if status == StatusCode::UNAUTHORIZED {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"portico\""),
                );
            }
            Ok(res)
        })
    }
}
