//! Verification at its edges: scopes decided on the canonical path, partial
//! requests refused, every key change seen at once (on another instance,
//! after a lost listener, from another process), forged keys kept out of a
//! key's traffic, the bearer scheme and mapped addresses read as the RFCs
//! say, waits rounded up, one rule for a key's standing, a per-organisation
//! sample API with caps, and alert sentences without placeholders.

use crate::helpers::{create_key, Backend, TestApp, TestClient};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    api::{alerts::AlertView, keys::CreatedKey, keys::KeyDetail, usage::KeyUsage},
    domain::key_format::{ApiKey, Environment, KeyPrefix},
    server::verify::{api::VerifyResponse, gateway},
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration as StdDuration, Instant};

struct World {
    client: TestClient,
    org_id: String,
    gateway: String,
}

/// Waits (up to ten seconds) until the usage writer has stored `n` events.
async fn written(app: &TestApp, n: u64) {
    for _ in 0..100 {
        if app.state.usage.stats().written >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "only {} usage events written",
        app.state.usage.stats().written
    );
}

async fn world(app: &TestApp, email: &str, org: &str) -> World {
    let client = app.sign_up(email, org).await;
    let org_id = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();
    let name = format!("gw-{}", email.split('@').next().unwrap());
    let gateway = gateway::create(&app.state, &name, None)
        .await
        .unwrap()
        .token;
    World {
        client,
        org_id,
        gateway,
    }
}

impl World {
    async fn key(&self, extra: &[(&str, &str)]) -> CreatedKey {
        create_key(&self.client, &self.org_id, extra).await.unwrap()
    }
}

async fn raw_verify(
    app: &TestApp,
    gateway: &str,
    auth_scheme: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .header("authorization", format!("{auth_scheme} {gateway}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn verify(app: &TestApp, w: &World, body: Value) -> VerifyResponse {
    let (status, value) = raw_verify(app, &w.gateway, "Bearer", &body).await;
    assert_eq!(status, StatusCode::OK, "{body}: {value}");
    serde_json::from_value(value).unwrap()
}

async fn code_of(app: &TestApp, w: &World, body: Value) -> String {
    verify(app, w, body).await.code.as_str().to_owned()
}

/// Polls `app` until the key answers `want`, for at most `within`.
async fn answers_within(
    app: &TestApp,
    w: &World,
    body: Value,
    want: &str,
    within: StdDuration,
) -> StdDuration {
    let started = Instant::now();
    loop {
        let got = code_of(app, w, body.clone()).await;
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still {got} after {:?}, want {want}",
            started.elapsed()
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

on_both_databases! {
    async fn scopes_are_decided_on_the_canonical_path(app) {
        let w = world(&app, "canon@edges.example", "Canon Co").await;
        let key = w.key(&[("scopes", "customers:read")]).await;
        let ask = |method: &str, path: &str| json!({"key": key.secret, "method": method, "path": path});
        // The plain paths, as before.
        let r = verify(&app, &w, ask("GET", "/v1/customers/42")).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("ok", Some("customers:read")));
        assert_eq!(code_of(&app, &w, ask("GET", "/v1/customers/export")).await, "scope_denied");
        // Every other spelling of the export needs the export's scope.
        for path in [
            "/v1/customers/%65xport",
            "/v1/customers/%65%78%70%6F%72%74",
            "/v1/customers/EXPORT",
            "/v1/customers/Export",
            "/v1/records/../customers/export",
            "/v1/./customers/export",
            "/v1//customers///export/",
            "/v1/customers/export?as=customer",
            "/v1/customers/export.",
            "/v1/customers/export..",
            "/v1/customers/export%2e",
            "/v1/customers/export.json",
            "/v1/customers/%EF%BD%85xport",
            "/v1/customers/\u{ff45}xport",
            "/v1/customers/export%E2%80%8B",
            "/v1/customers/export\u{200b}",
            // Suffix matching and Windows streams.
            "/v1/customers/export..json",
            "/v1/customers/export.json.xml",
            "/v1/customers/export.tar.gz",
            "/v1/customers/export%2E%2Ejson",
            "/v1/customers/export::$DATA",
            // Combining marks and letters that fold to ASCII.
            "/v1/customers/export%CC%81",
            "/v1/customers/ex%CC%B8port",
            "/v1/customers/expor%C5%A3",
        ] {
            let r = verify(&app, &w, ask("GET", path)).await;
            assert_eq!((r.code.as_str(), r.scope.as_deref()), ("scope_denied", Some("customers:export")), "{path}");
        }
        // What an upstream could read in two ways is refused outright.
        for path in [
            "/v1/records/..%2Fcustomers%2Fexport",
            "/v1/records/%2e%2e/customers/export",
            "/v1/records/.%2E/customers/export",
            "/v1/customers/%2565xport",
            "/v1/customers%5Cexport",
            "/v1/customers\\export",
            "/v1/customers/export;jsessionid=1",
            "/v1/customers/%6",
            "/v1/customers/%zz",
            "/v1/customers/%00",
            "/v1/customers/a b",
            "v1/customers/42",
            "/v1/customers/export%3bjsessionid=x",
            "/v1/customers/export%3B",
            "/v1/customers/export%3F",
            "/v1/customers/export%23frag",
            "/v1/customers/1#/../export",
            "/v1/customers/export#x",
            // Unicode whitespace and controls, encoded or raw.
            "/v1/customers/export%C2%A0",
            "/v1/customers/export%E3%80%80",
            "/v1/customers/export%E2%80%83",
            "/v1/customers/export%E1%9A%80",
            "/v1/customers/export%C2%85",
            "/v1/customers/export%E2%80%A8",
            "/v1/customers/export\u{3000}",
            // Escapes that are not UTF-8 (an overlong '.').
            "/v1/customers/export%C0%AE",
            "/v1/customers/%FFexport",
        ] {
            let (status, value) = raw_verify(&app, &w.gateway, "Bearer", &ask("GET", path)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {value}");
            assert_eq!(value["error"], "bad_request", "{path}");
            assert!(value["message"].as_str().unwrap().starts_with("path "), "{path}: {value}");
        }
        // A long query is not a long path.
        let long_query = format!("/v1/customers?filter={}", "a".repeat(2100));
        let r = verify(&app, &w, ask("GET", &long_query)).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("ok", Some("customers:read")));
        // HEAD is the GET of the same path.
        let r = verify(&app, &w, ask("HEAD", "/v1/customers/42")).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("ok", Some("customers:read")));
        let r = verify(&app, &w, ask("head", "/v1/customers/%65xport")).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("scope_denied", Some("customers:export")));

        // The tower layer decides on the same canonical form.
        let http = reqwest::Client::new();
        for path in ["/sample/v1/customers/%65xport", "/sample/v1/customers/EXPORT", "/sample/v1/customers/export"] {
            let res = http.get(app.url(path)).bearer_auth(&key.secret).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
            let body: VerifyResponse = res.json().await.unwrap();
            assert_eq!(body.scope.as_deref(), Some("customers:export"), "{path}");
        }
        let res = http.get(app.url("/sample/v1/records/..%2Fcustomers%2Fexport")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let res = http.head(app.url("/sample/v1/customers/cus_1")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = http.head(app.url("/sample/v1/customers/export")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        // The service behind the layer routes the path that was authorised.
        for path in ["/sample/v1/./customers", "/sample/v1//customers", "/sample//v1/customers/"] {
            let res = http.get(app.url(path)).bearer_auth(&key.secret).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["data"].as_array().map(Vec::len), Some(3), "{path}: the customers");
        }
        for path in ["/sample/v1/customers/x/../export", "/sample/v1/customers/export.json"] {
            let res = http.get(app.url(path)).bearer_auth(&key.secret).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        }
        // Paths no endpoint serves get JSON, not the portal's page.
        let res = http.get(app.url("/sample/v1/a/b/c/d")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "scope_denied");
    }

    async fn partial_requests_are_refused_not_checked_without_a_scope(app) {
        let w = world(&app, "partial@edges.example", "Partial Co").await;
        let key = w.key(&[]).await;
        for (body, says) in [
            (json!({"key": key.secret, "method": "DELETE"}), "path is missing"),
            (json!({"key": key.secret, "path": "/v1/records/1"}), "method is missing"),
            (json!({"key": key.secret, "method": null, "path": "/v1/records/1"}), "method is missing"),
            (json!({"key": key.secret, "scope": ""}), "scope is empty"),
            (json!({"key": key.secret, "scope": "  "}), "scope is empty"),
            (json!({"key": key.secret, "method": "GET", "path": ""}), "path must be"),
            (json!({"key": key.secret, "method": "", "path": "/v1/records/1"}), "method must be"),
            (json!({"key": key.secret, "method": "G T", "path": "/v1/records/1"}), "method must be"),
            (json!({"key": key.secret, "scop": "payments:refund"}), "unknown field `scop`"),
            (json!({"key": key.secret, "Scope": "payments:refund"}), "unknown field `Scope`"),
            (json!({"key": key.secret, "scope": "null"}), "scope must be a scope name"),
            (json!({"key": key.secret, "scope": "?"}), "scope must be a scope name"),
            (json!({"key": key.secret, "scope": "records:read\u{0}"}), "scope must be a scope name"),
            (json!({"key": key.secret, "scope": format!("records:{}", "r".repeat(3000))}), "scope must be a scope name"),
        ] {
            let (status, value) = raw_verify(&app, &w.gateway, "Bearer", &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {value}");
            assert_eq!(value["error"], "bad_request");
            assert!(value["message"].as_str().unwrap().contains(says), "{body}: {value}");
        }
        // Nothing named: the key alone is checked.
        assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "ok");
        // Both named: the key must hold both.
        let both = |scope: &str, method: &str| json!({"key": key.secret, "scope": scope, "method": method, "path": "/v1/records/1"});
        assert_eq!(code_of(&app, &w, both("records:read", "GET")).await, "ok");
        let r = verify(&app, &w, both("records:read", "DELETE")).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("scope_denied", Some("records:delete")));
        let r = verify(&app, &w, both("payments:refund", "GET")).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("scope_denied", Some("payments:refund")));
        // An endpoint the catalog does not list names no scope, even with one given.
        let r = verify(&app, &w, json!({"key": key.secret, "scope": "records:read", "method": "GET", "path": "/v1/unknown"})).await;
        assert_eq!((r.code.as_str(), r.scope.as_deref()), ("scope_denied", None));
    }

    async fn the_bearer_scheme_is_read_without_case(app) {
        let w = world(&app, "bearer@edges.example", "Bearer Co").await;
        let key = w.key(&[]).await;
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let (status, value) = raw_verify(&app, &w.gateway, scheme, &json!({"key": key.secret})).await;
            assert_eq!((status, value["code"].as_str()), (StatusCode::OK, Some("ok")), "{scheme}");
            let res = reqwest::Client::new()
                .get(app.url("/sample/v1/records"))
                .header("authorization", format!("{scheme} {}", key.secret))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{scheme}");
        }
        let (status, _) = raw_verify(&app, &w.gateway, "Basic", &json!({"key": key.secret})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn ipv4_mapped_addresses_are_their_ipv4_address(app) {
        let w = world(&app, "mapped@edges.example", "Mapped Co").await;
        let fenced = w.key(&[("ip_allowlist", "203.0.113.0/24")]).await;
        let ask = |ip: &str| json!({"key": fenced.secret, "client_ip": ip});
        assert_eq!(code_of(&app, &w, ask("::ffff:203.0.113.7")).await, "ok");
        assert_eq!(code_of(&app, &w, ask("::FFFF:cb00:7107")).await, "ok");
        assert_eq!(code_of(&app, &w, ask("::ffff:198.51.100.1")).await, "ip_denied");
        // An allowlist written with mapped addresses holds the IPv4 ones.
        let mapped = w.key(&[("ip_allowlist", "::ffff:198.51.100.0/120")]).await;
        assert_eq!(code_of(&app, &w, json!({"key": mapped.secret, "client_ip": "198.51.100.9"})).await, "ok");
        // Usage groups one address under one form.
        app.state.usage.shutdown().await;
        let usage: KeyUsage = w.client.call("key_usage", &[("key_id", &fenced.key.key_id), ("range", "24h")]).await.unwrap();
        assert_eq!(usage.top_addresses[0].label, "203.0.113.7");
        assert_eq!(usage.top_addresses[0].requests, 2);
        assert_eq!(usage.last_used_addr.as_deref(), Some("203.0.113.7"));
    }

    async fn waits_are_rounded_up_so_waiting_them_out_works(app) {
        let w = world(&app, "wait@edges.example", "Wait Co").await;
        // 7 a minute: one request every 8.57 s.
        let key = w.key(&[("rate_limit", "7"), ("scopes", "records:read")]).await;
        for _ in 0..7 {
            assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "ok");
        }
        let r = verify(&app, &w, json!({"key": key.secret})).await;
        assert_eq!((r.code.as_str(), r.retry_after), ("rate_limited", Some(9)));
        let res = reqwest::Client::new().get(app.url("/sample/v1/records")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()["retry-after"], "9");
    }

    async fn last_use_is_the_last_accepted_verification_and_refusals_show_beside_it(app) {
        let w = world(&app, "lastuse@edges.example", "Last Use Co").await;
        let key = w.key(&[]).await;
        let detail = || async {
            w.client
                .call::<KeyDetail>("get_key", &[("key_id", &key.key.key_id)])
                .await
                .unwrap()
        };
        // Only refused traffic: the key was never used.
        let wrong_env = json!({"key": key.secret, "environment": "production", "client_ip": "198.51.100.20"});
        assert_eq!(code_of(&app, &w, wrong_env.clone()).await, "env_mismatch");
        written(&app, 1).await;
        let d = detail().await;
        assert_eq!(d.summary.last_used_at, None);
        assert_eq!((d.requests_7d, d.refused_7d), (1, 1));
        let refusal = d.last_refused.expect("the refusal is shown");
        assert_eq!(refusal.code.as_str(), "env_mismatch");
        assert_eq!(refusal.client_addr.as_deref(), Some("198.51.100.20"));

        // An accepted call is the last use; a later refusal does not move it.
        app.clock.advance(Duration::minutes(1));
        assert_eq!(code_of(&app, &w, json!({"key": key.secret, "client_ip": "203.0.113.1"})).await, "ok");
        let used_at = app.clock.now();
        app.clock.advance(Duration::minutes(1));
        w.client.call::<()>("revoke_key", &[("key_id", &key.key.key_id), ("reason", "replaced by a scoped key")]).await.unwrap();
        assert_eq!(code_of(&app, &w, json!({"key": key.secret, "client_ip": "198.51.100.21"})).await, "revoked");
        written(&app, 3).await;
        let d = detail().await;
        assert_eq!(d.summary.last_used_at.map(|t| t.timestamp()), Some(used_at.timestamp()));
        assert_eq!(d.last_used_addr.as_deref(), Some("203.0.113.1"));
        assert_eq!((d.requests_7d, d.refused_7d), (3, 2));
        let refusal = d.last_refused.unwrap();
        assert_eq!(refusal.code.as_str(), "revoked");
        assert_eq!(refusal.client_addr.as_deref(), Some("198.51.100.21"));
    }

    async fn a_keys_standing_has_one_rule(app) {
        let w = world(&app, "standing@edges.example", "Standing Co").await;
        let key = w.key(&[("expiry", "7")]).await;
        w.client.call::<()>("suspend_key", &[("key_id", &key.key.key_id), ("reason", "looking into it")]).await.unwrap();
        app.clock.advance(Duration::days(8));
        w.client.sign_in("standing@edges.example").await;
        // Expired and suspended: the page and verification say the same.
        let detail: KeyDetail = w.client.call("get_key", &[("key_id", &key.key.key_id)]).await.unwrap();
        assert_eq!(detail.summary.status.as_str(), "expired");
        assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "expired");
    }

    async fn a_decision_about_the_new_key_reaches_the_old_one_in_its_overlap(app) {
        let w = world(&app, "family@edges.example", "Family Co").await;
        let rotate = |key: CreatedKey| {
            let client = &w.client;
            async move {
                client
                    .call::<CreatedKey>("rotate_key", &[("key_id", key.key.key_id.as_str()), ("overlap", "7d")])
                    .await
                    .unwrap()
            }
        };
        let status = |key_id: String| {
            let client = &w.client;
            async move {
                client.call::<KeyDetail>("get_key", &[("key_id", &key_id)]).await.unwrap()
            }
        };
        // Revoking the new key revokes the old one (and the one before it),
        // with the same reason; an unrelated key is untouched.
        let first = w.key(&[]).await;
        let second = rotate(first.clone()).await;
        let third = rotate(second.clone()).await;
        let other = w.key(&[("name", "Other")]).await;
        assert_eq!(code_of(&app, &w, json!({"key": first.secret})).await, "ok");
        w.client.call::<()>("revoke_key", &[("key_id", &third.key.key_id), ("reason", "leaked with the old ones")]).await.unwrap();
        for old in [&first, &second, &third] {
            assert_eq!(code_of(&app, &w, json!({"key": old.secret})).await, "revoked");
            let page = status(old.key.key_id.clone()).await;
            assert_eq!(page.revoked_reason.as_deref(), Some("leaked with the old ones"));
            assert_eq!(page.audit[0].action, "revoked");
        }
        assert_eq!(code_of(&app, &w, json!({"key": other.secret})).await, "ok");

        // Suspending the new key retires the old one for good: reinstating
        // brings back only the new key.
        let old = w.key(&[("name", "Suspended family")]).await;
        let new = rotate(old.clone()).await;
        w.client.call::<()>("suspend_key", &[("key_id", &new.key.key_id), ("reason", "looking into it")]).await.unwrap();
        assert_eq!(code_of(&app, &w, json!({"key": old.secret})).await, "expired");
        let page = status(old.key.key_id.clone()).await;
        assert_eq!(page.summary.status.as_str(), "expired");
        assert_eq!(page.audit[0].action, "retired");
        w.client.call::<()>("reinstate_key", &[("key_id", &new.key.key_id), ("reason", "all clear")]).await.unwrap();
        assert_eq!(code_of(&app, &w, json!({"key": new.secret})).await, "ok");
        assert_eq!(code_of(&app, &w, json!({"key": old.secret})).await, "expired");

        // Removing a scope from the new key removes it from the old one too;
        // the old key's other scopes stay for its overlap.
        let old = w.key(&[("name", "Narrowed family"), ("scopes", "records:read records:write")]).await;
        let new = rotate(old.clone()).await;
        let write = json!({"key": old.secret, "scope": "records:write"});
        assert_eq!(code_of(&app, &w, write.clone()).await, "ok");
        w.client
            .call::<()>("update_key", &[("key_id", new.key.key_id.as_str()), ("name", "Narrowed family"), ("purpose", "p"), ("scopes[0]", "records:read")])
            .await
            .unwrap();
        assert_eq!(code_of(&app, &w, write).await, "scope_denied");
        assert_eq!(code_of(&app, &w, json!({"key": old.secret, "scope": "records:read"})).await, "ok");
        let page = status(old.key.key_id.clone()).await;
        assert_eq!(page.summary.scopes, vec!["records:read"]);
        assert_eq!(page.summary.status.as_str(), "rotating");
        assert_eq!(page.audit[0].action, "scopes_changed");
    }

    async fn wrong_secrets_are_not_the_keys_traffic(app) {
        let w = world(&app, "forged@edges.example", "Forged Co").await;
        let key = w.key(&[]).await;
        let prefix = KeyPrefix::default();
        let forged = ApiKey::assemble(&prefix, Environment::Sandbox, &key.key.key_id, &"f".repeat(22)).unwrap();
        for i in 0..5 {
            let r = verify(&app, &w, json!({"key": forged.expose(), "method": "GET", "path": format!("/v1/records/attacker-{i}"), "client_ip": "198.51.100.66"})).await;
            assert_eq!(r.code.as_str(), "unknown");
        }
        // An unknown key id is remembered, so a flood of them costs no lookups.
        let stranger = ApiKey::assemble(&prefix, Environment::Sandbox, "ZZZZZZZZZZ", &"a".repeat(22)).unwrap();
        // (A change announced while the lookup runs, such as the key just
        // made, rightly keeps that lookup's answer out: ask again then.)
        let mut remembered = false;
        for _ in 0..20 {
            assert_eq!(code_of(&app, &w, json!({"key": stranger.expose()})).await, "unknown");
            if app.state.unknown_keys.read("ZZZZZZZZZZ", |()| ()).is_some() {
                remembered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(remembered, "an unknown key id is remembered");
        assert!(app.state.unknown_keys.read(&key.key.key_id, |()| ()).is_none());
        app.state.usage.shutdown().await;

        let usage: KeyUsage = w.client.call("key_usage", &[("key_id", &key.key.key_id), ("range", "24h")]).await.unwrap();
        assert_eq!((usage.total, usage.denied), (0, 0), "no traffic of the key's own");
        assert!(usage.by_endpoint.is_empty() && usage.top_addresses.is_empty());
        assert!(usage.key.last_used_at.is_none());
        // … but the wrong-secret signal stands.
        portico::server::alerts::detect::run(&app.state).await.unwrap();
        let alerts: Vec<AlertView> = w.client.call("key_alerts", &[("key_id", &key.key.key_id)]).await.unwrap();
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, vec!["wrong_secret"], "{alerts:?}");
        assert!(alerts[0].summary.contains("5 attempts"), "{}", alerts[0].summary);
        assert!(alerts[0].summary.contains("198.51.100.66"), "{}", alerts[0].summary);
    }

    async fn names_that_look_empty_are_refused(app) {
        let w = world(&app, "invisible@edges.example", "Invisible Co").await;
        let err = create_key(&w.client, &w.org_id, &[("name", "\u{200b}")]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{err:?}");
        let created = w.key(&[("name", "\u{feff}Billing\u{200b}")]).await;
        assert_eq!(created.key.name, "Billing");
    }

    async fn alert_sentences_say_what_is_missing_in_words(app) {
        let w = world(&app, "words@edges.example", "Words Co").await;
        let key = w.key(&[]).await;
        // An endpoint the catalog does not list, with no client address.
        assert_eq!(code_of(&app, &w, json!({"key": key.secret, "method": "GET", "path": "/v1/nowhere"})).await, "scope_denied");
        app.state.usage.shutdown().await;
        portico::server::alerts::detect::run(&app.state).await.unwrap();
        let alerts: Vec<AlertView> = w.client.call("key_alerts", &[("key_id", &key.key.key_id)]).await.unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let text = &alerts[0].summary;
        assert!(!text.contains("null") && !text.contains("for ,"), "{text}");
        assert!(text.contains("an endpoint not in the catalog"), "{text}");
        assert!(text.contains("unknown address"), "{text}");
    }

    async fn the_sample_api_keeps_each_organisation_apart_and_capped(app) {
        let a = world(&app, "a@sample.example", "Sample A").await;
        let b = world(&app, "b@sample.example", "Sample B").await;
        let key_a = a.key(&[("scopes", "records:read records:write"), ("rate_limit", "2000")]).await;
        let key_b = b.key(&[("scopes", "records:read records:write")]).await;
        let http = reqwest::Client::new();
        let created: Value = http.post(app.url("/sample/v1/records")).bearer_auth(&key_a.secret)
            .json(&json!({"title": "A's secret plan"})).send().await.unwrap().json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        // B neither sees nor changes A's records.
        let res = http.get(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_b.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = http.patch(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_b.secret).json(&json!({"title": "B was here"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let list: Value = http.get(app.url("/sample/v1/records")).bearer_auth(&key_b.secret).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["data"].as_array().unwrap().len(), 3, "B sees only its own examples");
        let mine: Value = http.get(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_a.secret).send().await.unwrap().json().await.unwrap();
        assert_eq!(mine["title"], "A's secret plan");

        // Caps: a 2 MB patch, an item grown by patches, too many fields.
        let huge = json!({"blob": "x".repeat(2 * 1024 * 1024)});
        let res = http.patch(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_a.secret).json(&huge).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "payload_too_large");
        for i in 0..3 {
            let res = http.patch(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_a.secret)
                .json(&json!({format!("part{i}"): "y".repeat(1500)})).send().await.unwrap();
            let expected = if i < 2 { StatusCode::OK } else { StatusCode::PAYLOAD_TOO_LARGE };
            assert_eq!(res.status(), expected, "patch {i}");
        }
        let wide: serde_json::Map<String, Value> = (0..40).map(|i| (format!("f{i}"), json!(i))).collect();
        let res = http.post(app.url("/sample/v1/records")).bearer_auth(&key_a.secret).json(&wide).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "too_many_fields");
        let res = http.post(app.url("/sample/v1/records")).bearer_auth(&key_a.secret).header("content-type", "application/json").body("[1, 2]").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // An organisation's items are capped; deleting makes room again.
        let mut status = StatusCode::CREATED;
        let mut made = 0;
        while status == StatusCode::CREATED && made < 600 {
            status = http.post(app.url("/sample/v1/records")).bearer_auth(&key_a.secret).json(&json!({"n": made})).send().await.unwrap().status();
            made += 1;
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "after {made}");
        assert_eq!(made, 500 - 16 + 1, "15 examples and one record before, then the cap");
        let res = http.post(app.url("/sample/v1/customers")).bearer_auth(&key_b.secret).json(&json!({"name": "B"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "B's key holds no customers scope");
        let res = http.post(app.url("/sample/v1/records")).bearer_auth(&key_b.secret).json(&json!({"title": "B has room"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "the cap is per organisation");
        // The item kept its last good state.
        let mine: Value = http.get(app.url(&format!("/sample/v1/records/{id}"))).bearer_auth(&key_a.secret).send().await.unwrap().json().await.unwrap();
        assert_eq!(mine["part1"].as_str().map(str::len), Some(1500));
        assert!(mine.get("part2").is_none() && mine.get("blob").is_none());
    }

    async fn a_change_on_this_instance_holds_at_once(app) {
        let w = world(&app, "local@edges.example", "Local Co").await;
        let key = w.key(&[("scopes", "records:read records:write")]).await;
        let write = json!({"key": key.secret, "method": "POST", "path": "/v1/records"});
        assert_eq!(code_of(&app, &w, write.clone()).await, "ok");
        // Narrowing in the portal: the removed scope is refused on the next request.
        w.client.call::<()>("update_key", &[("key_id", &key.key.key_id), ("name", "Verified"), ("purpose", "Edges"), ("scopes[0]", "records:read")]).await.unwrap();
        assert_eq!(code_of(&app, &w, write).await, "scope_denied");
        // An immediate rotation: the old key stops on the next request.
        assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "ok");
        let new: CreatedKey = w.client.call("rotate_key", &[("key_id", &key.key.key_id), ("overlap", "immediate")]).await.unwrap();
        assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "expired");
        assert_eq!(code_of(&app, &w, json!({"key": new.secret})).await, "ok");
    }
}

/// On SQLite a change made by another process (the CLI, an operator's SQL)
/// reaches a running server within a second, through the change log.
#[tokio::test]
async fn on_sqlite_a_change_from_another_process_arrives_within_a_second() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app, "cli@edges.example", "Cli Co").await;
    let key = w.key(&[]).await;
    assert_eq!(code_of(&app, &w, json!({"key": key.secret})).await, "ok");
    // Another connection, as another process would have.
    let mut other = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("update api_keys set revoked_at = created_at where key_id = $1")
        .bind(&key.key.key_id)
        .execute(&mut other)
        .await
        .unwrap();
    let took = answers_within(
        &app,
        &w,
        json!({"key": key.secret}),
        "revoked",
        StdDuration::from_secs(1),
    )
    .await;
    eprintln!("a revocation by another process arrived after {took:?}");

    // The CLI revokes a gateway token: the running server refuses it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["gateway-token", "revoke", "gw-cli"])
        .env("DATABASE_URL", &app.database_url)
        .env("PORTICO_SECRET", "ab".repeat(32))
        .env("PORTICO_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    loop {
        let (status, _) = raw_verify(&app, &w.gateway, "Bearer", &json!({"key": key.secret})).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(1),
            "the revoked gateway token still works"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// A stored word that names no value (SQLite has no check constraint on
/// `approval`) is never guessed at: verification answers `unavailable`, not
/// some status, and the key's page fails instead of showing one.
#[tokio::test]
async fn a_damaged_standing_is_refused_not_guessed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app, "damaged@edges.example", "Damaged Co").await;
    let key = w.key(&[]).await;
    let mut other = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("update api_keys set approval = 'Approved' where key_id = $1")
        .bind(&key.key.key_id)
        .execute(&mut other)
        .await
        .unwrap();
    let (status, body) = raw_verify(&app, &w.gateway, "Bearer", &json!({"key": key.secret})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(!body.to_string().contains(&key.secret));
    let page = w
        .client
        .call::<KeyDetail>("get_key", &[("key_id", &key.key.key_id)])
        .await
        .unwrap_err();
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// Every kind of change made through A is seen by B, which had the key
/// cached, within a second.
async fn every_key_change_reaches(a: &TestApp, b: &TestApp, gateway_name: &str, w: &World) {
    let within = StdDuration::from_secs(1);
    let call = |name: &'static str, args: Vec<(&'static str, String)>| {
        let client = &w.client;
        async move {
            let pairs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            client.call::<()>(name, &pairs).await.unwrap();
        }
    };

    // Edit (narrowing).
    let key = w.key(&[("scopes", "records:read records:write")]).await;
    let id = key.key.key_id.clone();
    let write = json!({"key": key.secret, "method": "POST", "path": "/v1/records"});
    assert_eq!(code_of(b, w, write.clone()).await, "ok");
    call(
        "update_key",
        vec![
            ("key_id", id.clone()),
            ("name", "Billing sync".into()),
            ("purpose", "Edges".into()),
            ("scopes[0]", "records:read".into()),
        ],
    )
    .await;
    answers_within(b, w, write, "scope_denied", within).await;

    // Suspend, then reinstate.
    let plain = json!({"key": key.secret});
    call(
        "suspend_key",
        vec![("key_id", id.clone()), ("reason", "checking".into())],
    )
    .await;
    answers_within(b, w, plain.clone(), "suspended", within).await;
    call(
        "reinstate_key",
        vec![("key_id", id.clone()), ("reason", "all clear".into())],
    )
    .await;
    answers_within(b, w, plain.clone(), "ok", within).await;

    // Rotation with an overlap, then retire now; and an immediate rotation.
    let new: CreatedKey = w
        .client
        .call("rotate_key", &[("key_id", &id), ("overlap", "1h")])
        .await
        .unwrap();
    assert_eq!(code_of(b, w, plain.clone()).await, "ok");
    call("retire_key", vec![("key_id", id.clone())]).await;
    answers_within(b, w, plain.clone(), "expired", within).await;
    let newer_plain = json!({"key": new.secret});
    assert_eq!(code_of(b, w, newer_plain.clone()).await, "ok");
    let _: CreatedKey = w
        .client
        .call(
            "rotate_key",
            &[("key_id", &new.key.key_id), ("overlap", "immediate")],
        )
        .await
        .unwrap();
    answers_within(b, w, newer_plain, "expired", within).await;

    // Revoke.
    let other = w.key(&[]).await;
    let other_plain = json!({"key": other.secret});
    assert_eq!(code_of(b, w, other_plain.clone()).await, "ok");
    call(
        "revoke_key",
        vec![
            ("key_id", other.key.key_id.clone()),
            ("reason", "done with it".into()),
        ],
    )
    .await;
    answers_within(b, w, other_plain, "revoked", within).await;

    // Approve and reject (keys made pending in the database, as a
    // developer's high-risk production key would be).
    for (decision, then) in [("approve", "ok"), ("reject", "revoked")] {
        let k = w.key(&[]).await;
        let mut conn = a.state.db.acquire().await.unwrap();
        portico::on_conn!(conn.conn(), |c| sqlx::query(
            "update api_keys set approval = 'pending' where key_id = $1"
        )
        .bind(&k.key.key_id)
        .execute(c)
        .await
        .map(|_| ()))
        .unwrap();
        drop(conn);
        let asked = json!({"key": k.secret});
        answers_within(b, w, asked.clone(), "pending_approval", within).await;
        call(
            "decide_key",
            vec![
                ("key_id", k.key.key_id.clone()),
                ("decision", decision.into()),
                ("comment", "reviewed the request".into()),
            ],
        )
        .await;
        answers_within(b, w, asked, then, within).await;
    }

    // Gateway tokens too: revoked on A (as the CLI would), refused by B.
    assert_eq!(
        raw_verify(b, &w.gateway, "Bearer", &json!({"key": "x"}))
            .await
            .0,
        StatusCode::OK
    );
    gateway::revoke(&a.state, gateway_name).await.unwrap();
    let started = Instant::now();
    while raw_verify(b, &w.gateway, "Bearer", &json!({"key": "x"}))
        .await
        .0
        != StatusCode::UNAUTHORIZED
    {
        assert!(
            started.elapsed() < within,
            "the revoked gateway token still works"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_key_change_reaches_another_instance_within_a_second() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.second_instance().await;
    let w = world(&a, "every@edges.example", "Every Co").await;
    every_key_change_reaches(&a, &b, "gw-every", &w).await;
}

#[tokio::test]
async fn every_key_change_holds_at_once_on_one_sqlite_instance() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app, "every@edges.example", "Every Co").await;
    every_key_change_reaches(&app, &app, "gw-every", &w).await;
}

/// The listener's connection is cut mid-test: a revocation made while it is
/// down is refused by that instance within a second of it listening again.
#[tokio::test]
async fn a_lost_listener_forgets_the_cache_when_it_reconnects() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.second_instance().await;
    let w = world(&a, "outage@edges.example", "Outage Co").await;
    let key = w.key(&[]).await;
    let plain = json!({"key": key.secret});
    assert_eq!(code_of(&b, &w, plain.clone()).await, "ok");

    // Cut every listener on this database, then revoke before they are back.
    let mut admin = sqlx::PgConnection::connect(&a.database_url).await.unwrap();
    let cut: Vec<(bool,)> = sqlx::query_as(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(cut.len() >= 2, "both instances were listening: {cut:?}");
    sqlx::query("update api_keys set revoked_at = created_at where key_id = $1")
        .bind(&key.key.key_id)
        .execute(&mut admin)
        .await
        .unwrap();
    // The NOTIFY went out while B was not listening; B must still learn.
    let took = answers_within(&b, &w, plain, "revoked", StdDuration::from_secs(2)).await;
    eprintln!("refused {took:?} after the outage began");
}

/// A flood of unidentified keys holds at most its share of the usage
/// buffer: identified usage still finds room, and the drops are counted.
#[tokio::test(flavor = "current_thread")]
async fn forged_keys_have_their_own_share_of_the_usage_buffer() {
    use portico::{
        domain::verify::VerifyCode,
        server::usage::{UsageEvent, UsagePipeline},
    };
    let (url, _cleanup) = crate::helpers::fresh_database(Backend::Sqlite).await;
    let db = portico::server::db::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let pipeline = UsagePipeline::start(db.clone(), 100);
    let forged = UsageEvent {
        at: chrono::Utc::now(),
        key_row_id: None,
        org_id: None,
        presented_key_id: Some("ZZZZZZZZZZ".into()),
        scope: None,
        method: None,
        path: None,
        outcome: VerifyCode::Unknown,
        client_addr: None,
        latency_us: 1,
    };
    // The writer cannot run until this task yields.
    for _ in 0..500 {
        pipeline.record(forged.clone());
    }
    let stats = pipeline.stats();
    assert_eq!((stats.accepted, stats.queued), (10, 10));
    assert_eq!(
        (
            stats.dropped,
            stats.unidentified_dropped,
            stats.unidentified_budget
        ),
        (490, 490, 10)
    );
    // Real usage still has the rest of the buffer. (These name no real key
    // row, so they are not written; the buffer only counts them.)
    let real = UsageEvent {
        key_row_id: Some(1),
        org_id: Some(1),
        outcome: VerifyCode::Ok,
        ..forged.clone()
    };
    for _ in 0..90 {
        pipeline.record(real.clone());
    }
    let stats = pipeline.stats();
    assert_eq!(
        (stats.accepted, stats.queued, stats.dropped),
        (100, 100, 490)
    );
}

use sqlx::Connection;
