//! `/v1/forward-auth` spoken to directly, as each gateway speaks it: who may
//! ask, how the original request is named, and the statuses and headers of
//! every answer. The real nginx and Caddy in front of it are in `gateways`.

use crate::helpers::{Backend, TestApp};
use crate::on_both_databases;
use crate::verify::{set_column, world, World};
use chrono::Duration;
use portico::{
    domain::key_format::{ApiKey, Environment, KeyPrefix},
    server::verify::gateway,
};
use reqwest::{header::HeaderMap, RequestBuilder, StatusCode};
use serde_json::Value;

/// A forward-auth request as Caddy and Traefik send it.
fn caddy_style(app: &TestApp, w: &World, method: &str, uri: &str) -> RequestBuilder {
    reqwest::Client::new()
        .get(app.url("/v1/forward-auth"))
        .header("portico-gateway-token", &w.gateway)
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri)
        .header("x-forwarded-for", "127.0.0.1")
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: String,
}

impl Answer {
    fn code(&self) -> &str {
        self.headers
            .get("portico-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Neither the body nor any header repeats `secret`.
    fn never_echoes(&self, secret: &str) {
        assert!(!self.raw.contains(secret), "the body echoes the key");
        for (name, value) in &self.headers {
            assert!(
                !value.to_str().unwrap_or("").contains(secret),
                "{name} echoes the key"
            );
        }
    }
}

async fn send(req: RequestBuilder) -> Answer {
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let raw = res.text().await.unwrap();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

/// Usage events handed to the writer so far (one per decision).
fn events(app: &TestApp) -> u64 {
    app.state.usage.stats().accepted
}

on_both_databases! {
    async fn a_key_that_may_is_let_through_with_its_identity(app) {
        let w = world(&app, "ok@forward.example").await;
        let key = w.key(&[]).await;
        let a = send(caddy_style(&app, &w, "GET", "/v1/records/42?page=2").bearer_auth(&key.secret)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        assert_eq!(a.code(), "ok");
        assert_eq!(a.header("portico-key-id"), Some(key.key.key_id.as_str()));
        assert_eq!(a.header("portico-org-id"), Some(w.org_id.as_str()));
        assert_eq!(a.header("portico-environment"), Some("sandbox"));
        assert_eq!(a.header("portico-scopes"), Some("customers:read records:read"));
        assert_eq!(a.header("cache-control"), Some("no-store"));
        assert_eq!(a.body["scope"], "records:read");
        a.never_echoes(&key.secret);
        // The key header works as well as Authorization.
        let a = send(caddy_style(&app, &w, "GET", "/v1/customers").header("x-api-key", &key.secret)).await;
        assert_eq!((a.status, a.code()), (StatusCode::OK, "ok"));
        // Each decision is a usage event, with the original request.
        assert_eq!(events(&app), 2);
    }

    async fn every_refusal_has_the_status_a_gateway_acts_on(app) {
        let w = world(&app, "refusals@forward.example").await;
        let key = w.key(&[]).await;
        let ask = |secret: Option<&str>, method: &str, uri: &str| {
            let req = caddy_style(&app, &w, method, uri);
            match secret {
                Some(secret) => req.bearer_auth(secret),
                None => req,
            }
        };
        // No key, a malformed one, an unknown one, a wrong secret: 401
        // with the scheme, and nothing about the key.
        let prefix = KeyPrefix::default();
        let stranger = ApiKey::assemble(&prefix, Environment::Sandbox, "ZZZZZZZZZZ", &"a".repeat(22)).unwrap();
        let wrong = ApiKey::assemble(&prefix, Environment::Sandbox, &key.key.key_id, &"a".repeat(22)).unwrap();
        for (secret, code) in [(None, "malformed"), (Some("prt_test_nonsense"), "malformed"), (Some(stranger.expose()), "unknown"), (Some(wrong.expose()), "unknown")] {
            let a = send(ask(secret, "GET", "/v1/records")).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{secret:?}: {}", a.raw);
            assert!(a.header("www-authenticate").unwrap().starts_with("Bearer"), "{secret:?}");
            assert_eq!(a.code(), code, "{secret:?}");
            assert!(a.header("portico-key-id").is_none());
            assert!(a.body["key_id"].is_null());
        }
        // A scope the key does not hold, an endpoint no scope covers: 403.
        for (method, uri) in [("GET", "/v1/customers/export"), ("DELETE", "/v1/records/42"), ("GET", "/v1/customers/%65xport"), ("GET", "/v1/nothing-here")] {
            let a = send(ask(Some(&key.secret), method, uri)).await;
            assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "scope_denied"), "{method} {uri}");
            assert!(a.header("portico-key-id").is_none(), "no identity for the upstream on a refusal");
            a.never_echoes(&key.secret);
        }
        // HEAD needs what GET needs.
        let a = send(ask(Some(&key.secret), "HEAD", "/v1/records")).await;
        assert_eq!(a.status, StatusCode::OK);

        // An identified key that may not: 403 with its code.
        let revoked = w.key(&[]).await;
        w.client.call::<()>("revoke_key", &[("key_id", &revoked.key.key_id), ("reason", "test")]).await.unwrap();
        let suspended = w.key(&[]).await;
        set_column(&app, &suspended.key.key_id, "suspended_at = created_at").await;
        let pending = w.key(&[]).await;
        set_column(&app, &pending.key.key_id, "approval = 'pending'").await;
        let fenced = w.key(&[("ip_allowlist", "203.0.113.0/24")]).await;
        for (secret, code) in [(&revoked.secret, "revoked"), (&suspended.secret, "suspended"), (&pending.secret, "pending_approval"), (&fenced.secret, "ip_denied")] {
            let a = send(ask(Some(secret), "GET", "/v1/records")).await;
            assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, code), "{}", a.raw);
            assert_eq!(a.body["code"], code);
            a.never_echoes(secret);
        }
        // The allowlist is checked against the address the gateway appended.
        let a = send(ask(Some(&fenced.secret), "GET", "/v1/records").header("x-forwarded-for", "198.51.100.1, 203.0.113.7")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        let a = send(ask(Some(&fenced.secret), "GET", "/v1/records").header("x-forwarded-for", "203.0.113.7, 198.51.100.1")).await;
        assert_eq!(a.code(), "ip_denied");
        // The environment the upstream serves.
        let a = send(ask(Some(&key.secret), "GET", "/v1/records").header("portico-upstream-environment", "production")).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "env_mismatch"));
        let a = send(ask(Some(&key.secret), "GET", "/v1/records").header("portico-upstream-environment", "PRODUCTION")).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "env_mismatch"), "any case");
        let a = send(ask(Some(&key.secret), "GET", "/v1/records").header("portico-upstream-environment", "staging")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);

        // Rate limited: 429 with Retry-After in whole seconds.
        let slow = w.key(&[("rate_limit", "2")]).await;
        for _ in 0..2 {
            assert_eq!(send(ask(Some(&slow.secret), "GET", "/v1/records")).await.status, StatusCode::OK);
        }
        let a = send(ask(Some(&slow.secret), "GET", "/v1/records")).await;
        assert_eq!((a.status, a.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
        let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");

        // Expired (last: the clock moves past the session's end too).
        let expiring = w.key(&[("expiry", "7")]).await;
        app.clock.advance(Duration::days(7));
        let a = send(ask(Some(&expiring.secret), "GET", "/v1/records")).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "expired"));
    }

    async fn only_gateways_may_ask_and_a_stranger_checks_no_key(app) {
        let w = world(&app, "gateways@forward.example").await;
        let key = w.key(&[]).await;
        let base = || {
            reqwest::Client::new()
                .get(app.url("/v1/forward-auth"))
                .bearer_auth(&key.secret)
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-uri", "/v1/records")
        };
        let revoked = gateway::create(&app.state, "retired-gateway", None).await.unwrap().token;
        gateway::revoke(&app.state, "retired-gateway").await.unwrap();
        let wrong = format!("{}{}", &w.gateway[..w.gateway.len() - 4], "abcd");
        for (what, req) in [
            ("no token", base()),
            ("a wrong token", base().header("portico-gateway-token", &wrong)),
            ("a revoked token", base().header("portico-gateway-token", &revoked)),
            ("an empty token", base().header("portico-gateway-token", "")),
            ("the token in Authorization", reqwest::Client::new().get(app.url("/v1/forward-auth")).bearer_auth(&w.gateway).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records")),
            ("a key as the token", base().header("portico-gateway-token", &key.secret)),
            ("the right token and a wrong one", base().header("portico-gateway-token", &w.gateway).header("portico-gateway-token", &wrong)),
            ("a token in each place", base().header("portico-gateway-token", &w.gateway).header("proxy-authorization", format!("Bearer {wrong}"))),
        ] {
            let a = send(req).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(a.code(), "gateway_unauthorized", "{what}");
            assert_eq!(a.body["error"], "unauthorized", "{what}");
            a.never_echoes(&key.secret);
        }
        assert_eq!(events(&app), 0, "a refused gateway checks no key");
        // The token also goes in Proxy-Authorization, any case of Bearer.
        let a = send(base().header("proxy-authorization", format!("bearer {}", w.gateway))).await;
        assert_eq!((a.status, a.code()), (StatusCode::OK, "ok"));
        assert_eq!(events(&app), 1);
    }

    async fn the_original_request_is_named_one_way_or_refused(app) {
        let w = world(&app, "conventions@forward.example").await;
        let key = w.key(&[]).await;
        let http = reqwest::Client::new();
        let gw = |req: RequestBuilder| req.header("portico-gateway-token", &w.gateway).bearer_auth(&key.secret);
        // nginx: X-Original-Method and X-Original-URI.
        let a = send(gw(http.get(app.url("/v1/forward-auth"))).header("x-original-method", "GET").header("x-original-uri", "/v1/records/7")).await;
        assert_eq!((a.status, a.body["scope"].as_str()), (StatusCode::OK, Some("records:read")));
        // Envoy: the original method, and the path after /v1/forward-auth.
        let a = send(gw(http.get(app.url("/v1/forward-auth/v1/customers/9?x=1")))).await;
        assert_eq!((a.status, a.body["scope"].as_str()), (StatusCode::OK, Some("customers:read")));
        // A browser's cross-site request, passed on by Envoy with its method
        // and Origin, gets the key's decision, not the portal's CSRF refusal.
        let a = send(gw(http.post(app.url("/v1/forward-auth/v1/records"))).header("origin", "https://app.example.com").header("sec-fetch-site", "cross-site")).await;
        assert_eq!((a.status, a.code(), a.body["scope"].as_str()), (StatusCode::FORBIDDEN, "scope_denied", Some("records:write")));
        // Two keys in one request: refused, not guessed at.
        let a = send(gw(http.get(app.url("/v1/forward-auth/v1/records"))).header("authorization", "Bearer prt_test_other")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        // A raw UTF-8 request target, as nginx passes it on.
        let a = send(gw(http.get(app.url("/v1/forward-auth"))).header("x-original-method", "GET").header("x-original-uri", reqwest::header::HeaderValue::from_bytes("/v1/customers/caf\u{e9}".as_bytes()).unwrap())).await;
        assert_eq!((a.status, a.body["scope"].as_str()), (StatusCode::OK, Some("customers:read")), "{}", a.raw);
        let a = send(gw(http.delete(app.url("/v1/forward-auth/v1/records/9")))).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "scope_denied"));
        let a = send(gw(http.patch(app.url("/v1/forward-auth/v1/customers/export/../9")))).await;
        assert_eq!((a.status, a.body["scope"].as_str()), (StatusCode::FORBIDDEN, Some("customers:write")));

        let before = events(&app);
        // A client's header that names another request than the gateway's.
        let forged = [
            gw(http.get(app.url("/v1/forward-auth"))).header("x-original-method", "GET").header("x-original-uri", "/v1/customers/export").header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records"),
            gw(http.get(app.url("/v1/forward-auth/v1/customers/export"))).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records"),
            gw(http.get(app.url("/v1/forward-auth"))).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records").header("x-forwarded-uri", "/v1/customers/export"),
        ];
        for req in forged {
            let a = send(req).await;
            assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{}", a.raw);
        }
        // Nothing named, half a pair, a path an upstream could read as another.
        for req in [
            gw(http.get(app.url("/v1/forward-auth"))),
            gw(http.get(app.url("/v1/forward-auth"))).header("x-forwarded-uri", "/v1/records"),
            gw(http.get(app.url("/v1/forward-auth"))).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/customers%2Fexport"),
            gw(http.get(app.url("/v1/forward-auth"))).header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records").header("x-forwarded-for", "not-an-address"),
            gw(http.get(app.url("/v1/forward-auth/v1/customers%5Cexport"))),
        ] {
            let a = send(req).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
            assert!(a.body["message"].as_str().unwrap().len() > 20, "{}", a.raw);
            a.never_echoes(&key.secret);
        }
        assert_eq!(events(&app), before, "an undecidable request is not a key check");
    }
}

/// A gateway trusted by its address asks without a token; any other address
/// still needs one.
#[tokio::test]
async fn gateways_may_be_trusted_by_address() {
    for (trusted, expected) in [
        ("127.0.0.1", StatusCode::OK),
        ("192.0.2.0/24", StatusCode::UNAUTHORIZED),
    ] {
        let app = TestApp::spawn_with(Backend::Sqlite, |config| {
            config.gateway_addresses = portico::domain::keys::IpAllowlist::parse(trusted).unwrap();
        })
        .await;
        let w = world(&app, "address@forward.example").await;
        let key = w.key(&[]).await;
        let a = send(
            reqwest::Client::new()
                .get(app.url("/v1/forward-auth"))
                .bearer_auth(&key.secret)
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-uri", "/v1/records")
                // A forwarded address proves nothing about the caller.
                .header("x-forwarded-for", "192.0.2.1"),
        )
        .await;
        assert_eq!(a.status, expected, "trusted {trusted}: {}", a.raw);
    }
}
