//! The web security baseline: answer only the portal's own hosts, refuse
//! cross-site requests that change state or read an organisation's data,
//! and send the security headers on every response.
//!
//! Every request gets a fresh nonce. HTML responses get a policy that admits
//! only this site's files and the inline scripts carrying that nonce (Leptos
//! is handed the same nonce, see [`provide_request_nonce`]); every other
//! response gets a policy that allows nothing.

use super::host::AllowedHosts;
use crate::server::config::Config;
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// What the security middleware needs from the configuration.
#[derive(Clone, Debug)]
pub struct SecurityConfig {
    /// The public origin, `scheme://host[:port]`.
    pub public_origin: String,
    /// Whether to send HSTS (only behind HTTPS).
    pub hsts: bool,
    /// The hosts pages and server functions answer.
    pub hosts: AllowedHosts,
    /// Whether the bundle's file names carry content hashes, so that a
    /// name always means the same bytes and may be cached for a year.
    pub hashed_bundle: bool,
}

impl SecurityConfig {
    /// Derives the middleware's settings.
    pub fn from_config(config: &Config) -> Self {
        Self {
            public_origin: config.public_url.trim_end_matches('/').to_owned(),
            hsts: config.cookie_secure,
            hosts: AllowedHosts::from_public_url(&config.public_url),
            hashed_bundle: false,
        }
    }
}

/// The policy for responses that are not HTML pages.
pub const LOCKED_DOWN_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy for HTML pages, allowing only this site and the one inline
/// hydration script that carries `nonce`.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from another site. Browsers send
/// `Sec-Fetch-Site`; older ones send only `Origin`. Requests with neither
/// (curl, the platform's gateway) are not from a browser and pass.
pub fn is_cross_site(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return true;
        };
        if origin == public_origin {
            return false;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        return !host.is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
    }
    false
}

/// Whether a request must come from this site when it comes from a browser:
/// every state change, and every read of an organisation's data that is not
/// a person following a link. Exports and server functions are refused
/// cross-site whatever the method (an export writes an audit row); pages
/// accept cross-site navigations, so that links in emails open, but not
/// cross-site scripts, images or fetches (`Sec-Fetch-Mode` other than
/// `navigate`). Machine paths never are: they take no session cookie, so
/// a browser cannot lend them its authority, and a gateway asking
/// `/v1/forward-auth` passes on the client's own `Origin` with the original
/// method.
pub fn must_be_same_site(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    if is_machine_path(path) {
        return false;
    }
    if !is_safe(method) || path.starts_with("/exports/") || path.starts_with("/api/") {
        return true;
    }
    headers
        .get("sec-fetch-mode")
        .is_some_and(|mode| mode.as_bytes() != b"navigate")
}

/// Whether a path serves machines (verification, access tokens and their
/// keys, the sample API, health) rather than people: no sessions, no pages, quiet logs.
pub fn is_machine_path(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/oauth/")
        || path.starts_with("/.well-known/")
        || path.starts_with("/sample/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The nonce of the current request's Content-Security-Policy.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Hands the request's CSP nonce to Leptos, so the hydration scripts it
/// renders carry the nonce the policy names. Call it in the Leptos context
/// of a request that passed through [`security`].
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// Middleware: refuses cross-site state changes with 403 and adds the
/// security headers.
pub async fn security(
    State(config): State<SecurityConfig>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !is_machine_path(path) && !config.hosts.allows(req.uri(), req.headers()) {
        tracing::warn!(path = %path, "request for another host refused");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name.",
        )
            .into_response();
    }
    if must_be_same_site(req.method(), path, req.headers())
        && is_cross_site(req.headers(), &config.public_origin)
    {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response();
    }
    let path = req.uri().path();
    let is_bundle = path.starts_with("/pkg/");
    // The bundle, and the files of `public/` (served from the site root).
    let is_static = is_bundle || path == "/favicon.svg";
    // Only pages need a nonce; machine traffic and files never render HTML.
    let nonce = (!is_machine_path(path) && !is_static && !path.starts_with("/api/"))
        .then(|| hex::encode(crate::server::secrets::tokens::random_bytes::<16>()));
    if let Some(nonce) = &nonce {
        req.extensions_mut().insert(CspNonce(nonce.clone()));
    }
    let mut res = next.run(req).await;
    let found = res.status().is_success();
    let headers = res.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if let (true, Some(nonce)) = (is_html, &nonce) {
        if let Ok(value) = HeaderValue::from_str(&page_csp(nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, LOCKED_DOWN_CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    // A hashed bundle file never changes under its name: a year, and no
    // revalidation. Anything else is checked each time (files) or never
    // stored (pages and answers, which may carry personal data).
    set(
        header::CACHE_CONTROL,
        match (is_bundle && config.hashed_bundle && found, is_static) {
            (true, _) => "public, max-age=31536000, immutable",
            (false, true) => "no-cache",
            (false, false) => "no-store",
        },
    );
    if config.hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    // A file may go out as a stored compressed copy: caches must keep one
    // per Accept-Encoding.
    let varies = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    });
    if is_static && !varies {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    const ORIGIN: &str = "http://127.0.0.1:3000";

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            ORIGIN
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "none")]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            ORIGIN
        ));
        // A matching Origin does not rescue a cross-site fetch.
        assert!(is_cross_site(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            ORIGIN
        ));
    }

    #[test]
    fn origin_decides_without_fetch_metadata() {
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            ORIGIN
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            ORIGIN
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            ORIGIN
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), ORIGIN));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(!is_cross_site(&HeaderMap::new(), ORIGIN));
    }

    #[test]
    fn the_page_policy_carries_the_nonce_and_forbids_framing() {
        let csp = page_csp("abc123");
        assert!(csp.contains("'nonce-abc123'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn reads_of_organisation_data_must_be_same_site_but_navigations_need_not() {
        let navigate = headers(&[("sec-fetch-mode", "navigate")]);
        let script = headers(&[("sec-fetch-mode", "no-cors")]);
        assert!(must_be_same_site(
            &Method::GET,
            "/exports/keys.json",
            &navigate
        ));
        assert!(must_be_same_site(
            &Method::HEAD,
            "/exports/audit.csv",
            &HeaderMap::new()
        ));
        assert!(must_be_same_site(
            &Method::GET,
            "/api/list_keys",
            &HeaderMap::new()
        ));
        assert!(must_be_same_site(&Method::POST, "/keys", &navigate));
        assert!(must_be_same_site(&Method::GET, "/keys", &script));
        assert!(!must_be_same_site(&Method::GET, "/keys", &navigate));
        assert!(!must_be_same_site(
            &Method::GET,
            "/v1/openapi.json",
            &script
        ));
        // No cookie authority on machine paths, whatever the method.
        for path in [
            "/v1/forward-auth/v1/records",
            "/v1/verify",
            "/sample/v1/records",
        ] {
            assert!(!must_be_same_site(&Method::POST, path, &script), "{path}");
        }
    }
}
