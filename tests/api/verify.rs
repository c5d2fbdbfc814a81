//! Verification over HTTP: every code, the 400 and 401 paths, usage
//! recording, the tower layer over the sample API, and cross-instance
//! revocation.

use crate::helpers::{TestApp, TestClient};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    api::{
        keys::{CreatedKey, KeyFormData},
        usage::{KeyUsage, OrgUsage},
    },
    domain::key_format::{ApiKey, Environment, KeyPrefix},
    server::{
        db::usage::count_events,
        verify::{api::VerifyResponse, gateway},
    },
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An admin, their organisation, a gateway token and a way to make keys.
pub(crate) struct World {
    pub client: TestClient,
    pub org_id: String,
    pub gateway: String,
}

pub(crate) async fn world(app: &TestApp, email: &str) -> World {
    let client = app.sign_up(email, "Verify Co").await;
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
    /// A sandbox key holding `records:read` and `customers:read`, unless
    /// `extra` says otherwise (`scopes` as a space-separated list).
    pub async fn key(&self, extra: &[(&str, &str)]) -> CreatedKey {
        let form: KeyFormData = self
            .client
            .call("key_form", &[("org_id", &self.org_id)])
            .await
            .unwrap();
        let mut fields: Vec<(String, String)> = vec![
            ("org_id".into(), self.org_id.clone()),
            ("request_token".into(), form.request_token),
            ("name".into(), "Verified".into()),
            ("purpose".into(), "Verification tests".into()),
            ("environment".into(), "sandbox".into()),
        ];
        if !extra.iter().any(|(k, _)| *k == "scopes") {
            fields.push(("scopes[0]".into(), "records:read".into()));
            fields.push(("scopes[1]".into(), "customers:read".into()));
        }
        for (k, v) in extra {
            if *k == "scopes" {
                for (i, s) in v.split_whitespace().enumerate() {
                    fields.push((format!("scopes[{i}]"), s.into()));
                }
            } else {
                fields.retain(|(f, _)| f != k);
                fields.push(((*k).into(), (*v).into()));
            }
        }
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.client.call("create_key", &pairs).await.unwrap()
    }
}

async fn post_verify(app: &TestApp, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let www = res.headers().get("www-authenticate").cloned();
    let value: Value = res.json().await.unwrap_or(Value::Null);
    if status == StatusCode::UNAUTHORIZED {
        assert!(www.is_some(), "401 names the scheme");
    }
    (status, value)
}

async fn verify(app: &TestApp, w: &World, body: Value) -> VerifyResponse {
    let (status, value) = post_verify(app, Some(&w.gateway), &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    serde_json::from_value(value).unwrap()
}

fn code(r: &VerifyResponse) -> &'static str {
    r.code.as_str()
}

pub(crate) async fn set_column(app: &TestApp, key_id: &str, assignment: &str) {
    let mut conn = app.state.db.acquire().await.unwrap();
    let sql = format!("update api_keys set {assignment} where key_id = $1");
    portico::on_conn!(conn.conn(), |c| sqlx::query(&sql)
        .bind(key_id)
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
    app.state.key_cache.invalidate(key_id);
}

on_both_databases! {
    async fn a_valid_key_is_ok_and_described(app) {
        let w = world(&app, "ok@verify.example").await;
        let key = w.key(&[]).await;
        let r = verify(&app, &w, json!({"key": key.secret, "scope": "records:read"})).await;
        assert!(r.valid);
        assert_eq!(code(&r), "ok");
        assert_eq!(r.key_id.as_deref(), Some(key.key.key_id.as_str()));
        assert_eq!(r.org_id.map(|o| o.to_string()), Some(w.org_id.clone()));
        assert_eq!(r.environment, Some(Environment::Sandbox));
        assert_eq!(r.scopes, vec!["customers:read", "records:read"]);
        assert_eq!(r.expires_at, Some(key.key.expires_at));
        // Without a scope, nothing is checked beyond the key itself.
        assert_eq!(code(&verify(&app, &w, json!({"key": key.secret})).await), "ok");
    }

    async fn method_and_path_are_mapped_to_a_scope(app) {
        let w = world(&app, "map@verify.example").await;
        let key = w.key(&[]).await;
        let r = verify(&app, &w, json!({"key": key.secret, "method": "GET", "path": "/v1/records/42"})).await;
        assert_eq!((code(&r), r.scope.as_deref()), ("ok", Some("records:read")));
        let r = verify(&app, &w, json!({"key": key.secret, "method": "DELETE", "path": "/v1/records/42"})).await;
        assert_eq!((code(&r), r.scope.as_deref()), ("scope_denied", Some("records:delete")));
        assert!(!r.valid);
        let r = verify(&app, &w, json!({"key": key.secret, "method": "GET", "path": "/v1/nowhere"})).await;
        assert_eq!((code(&r), r.scope.as_deref()), ("scope_denied", None));
        let r = verify(&app, &w, json!({"key": key.secret, "scope": "payments:refund"})).await;
        assert_eq!(code(&r), "scope_denied");
    }

    async fn malformed_and_unknown_keys_are_told_apart(app) {
        let w = world(&app, "bad@verify.example").await;
        let key = w.key(&[]).await;
        for garbage in ["", "hello", "prt_test_short", &key.secret[..key.secret.len() - 1], &key.secret.replace("prt_test_", "prt_live_")] {
            let r = verify(&app, &w, json!({"key": garbage})).await;
            assert_eq!(code(&r), "malformed", "{garbage}");
            assert_eq!(r.key_id, None);
        }
        let prefix = KeyPrefix::default();
        let stranger = ApiKey::assemble(&prefix, Environment::Sandbox, "ZZZZZZZZZZ", &"a".repeat(22)).unwrap();
        assert_eq!(code(&verify(&app, &w, json!({"key": stranger.expose()})).await), "unknown");
        // The right key id with the wrong secret: unknown, and nothing about the key leaks.
        let wrong = ApiKey::assemble(&prefix, Environment::Sandbox, &key.key.key_id, &"a".repeat(22)).unwrap();
        let r = verify(&app, &w, json!({"key": wrong.expose(), "scope": "records:read"})).await;
        assert_eq!(code(&r), "unknown");
        assert_eq!((r.key_id, r.org_id, r.scopes.len()), (None, None, 0));
    }

    async fn expired_revoked_suspended_and_pending_keys_are_refused(app) {
        let w = world(&app, "states@verify.example").await;
        let expiring = w.key(&[("expiry", "7")]).await;
        let revoked = w.key(&[]).await;
        let suspended = w.key(&[]).await;
        let pending = w.key(&[]).await;
        w.client.call::<()>("revoke_key", &[("key_id", &revoked.key.key_id), ("reason", "test")]).await.unwrap();
        assert_eq!(code(&verify(&app, &w, json!({"key": revoked.secret})).await), "revoked");

        set_column(&app, &suspended.key.key_id, "suspended_at = created_at").await;
        assert_eq!(code(&verify(&app, &w, json!({"key": suspended.secret})).await), "suspended");
        // A suspension with an end date lifts by itself.
        set_column(&app, &suspended.key.key_id, "suspended_until = created_at").await;
        assert_eq!(code(&verify(&app, &w, json!({"key": suspended.secret})).await), "ok");

        set_column(&app, &pending.key.key_id, "approval = 'pending'").await;
        assert_eq!(code(&verify(&app, &w, json!({"key": pending.secret})).await), "pending_approval");
        set_column(&app, &pending.key.key_id, "approval = 'rejected'").await;
        assert_eq!(code(&verify(&app, &w, json!({"key": pending.secret})).await), "revoked");

        assert_eq!(code(&verify(&app, &w, json!({"key": expiring.secret})).await), "ok");
        app.clock.advance(Duration::days(7));
        let r = verify(&app, &w, json!({"key": expiring.secret})).await;
        assert_eq!(code(&r), "expired");
        assert_eq!(r.key_id.as_deref(), Some(expiring.key.key_id.as_str()));
    }

    async fn rotation_keeps_both_keys_valid_until_the_overlap_ends(app) {
        let w = world(&app, "rotate@verify.example").await;
        let old = w.key(&[]).await;
        assert_eq!(code(&verify(&app, &w, json!({"key": old.secret})).await), "ok");
        let new: CreatedKey = w.client.call("rotate_key", &[("key_id", &old.key.key_id), ("overlap", "1h")]).await.unwrap();
        assert_eq!(code(&verify(&app, &w, json!({"key": old.secret})).await), "ok");
        assert_eq!(code(&verify(&app, &w, json!({"key": new.secret})).await), "ok");
        let r = verify(&app, &w, json!({"key": old.secret})).await;
        assert_eq!(r.expires_at, Some(app.clock.now() + Duration::hours(1)), "the old key's end is the overlap's end");
        app.clock.advance(Duration::hours(1));
        assert_eq!(code(&verify(&app, &w, json!({"key": old.secret})).await), "expired");
        assert_eq!(code(&verify(&app, &w, json!({"key": new.secret})).await), "ok");
    }

    async fn allowlists_environments_and_rate_limits_are_enforced(app) {
        let w = world(&app, "limits@verify.example").await;
        let fenced = w.key(&[("ip_allowlist", "203.0.113.0/24")]).await;
        assert_eq!(code(&verify(&app, &w, json!({"key": fenced.secret, "client_ip": "203.0.113.9"})).await), "ok");
        assert_eq!(code(&verify(&app, &w, json!({"key": fenced.secret, "client_ip": "198.51.100.1"})).await), "ip_denied");
        assert_eq!(code(&verify(&app, &w, json!({"key": fenced.secret})).await), "ip_denied", "no address, no proof");

        let sandbox = w.key(&[]).await;
        assert_eq!(code(&verify(&app, &w, json!({"key": sandbox.secret, "environment": "production"})).await), "env_mismatch");
        assert_eq!(code(&verify(&app, &w, json!({"key": sandbox.secret, "environment": "sandbox"})).await), "ok");

        let slow = w.key(&[("rate_limit", "2")]).await;
        assert_eq!(code(&verify(&app, &w, json!({"key": slow.secret})).await), "ok");
        assert_eq!(code(&verify(&app, &w, json!({"key": slow.secret})).await), "ok");
        let r = verify(&app, &w, json!({"key": slow.secret})).await;
        assert_eq!(code(&r), "rate_limited");
        assert!(r.retry_after.unwrap() >= 1);
        // Other keys have their own allowance.
        assert_eq!(code(&verify(&app, &w, json!({"key": sandbox.secret})).await), "ok");
    }

    async fn bad_requests_get_400_and_bad_gateway_tokens_401(app) {
        let w = world(&app, "http@verify.example").await;
        for body in ["", "{", "[]", "{}", r#"{"key": 42}"#, r#"{"key": "x", "client_ip": "not-an-ip"}"#, r#"{"key": "x", "client_ip": ""}"#, r#"{"key": "x", "environment": "staging"}"#] {
            let (status, value) = post_verify(&app, Some(&w.gateway), body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {value}");
            assert_eq!(value["error"], "bad_request");
            assert!(value["message"].as_str().unwrap().len() > 10);
        }
        let huge = json!({"key": "x".repeat(20_000)}).to_string();
        let (status, value) = post_verify(&app, Some(&w.gateway), &huge).await;
        assert_eq!((status, value["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

        let body = json!({"key": "x"}).to_string();
        for token in [None, Some("nonsense"), Some("gwt_AAAAAAAAAAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")] {
            let (status, value) = post_verify(&app, token, &body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(value["error"], "unauthorized");
        }
        // A key is not a gateway token.
        let key = w.key(&[]).await;
        assert_eq!(post_verify(&app, Some(&key.secret), &body).await.0, StatusCode::UNAUTHORIZED);
        // A revoked gateway token stops working at once.
        gateway::revoke(&app.state, "gw-http").await.unwrap();
        assert_eq!(post_verify(&app, Some(&w.gateway), &body).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn every_verification_is_recorded_and_flushed_at_shutdown(app) {
        let w = world(&app, "usage@verify.example").await;
        let key = w.key(&[]).await;
        let wrong = ApiKey::assemble(&KeyPrefix::default(), Environment::Sandbox, &key.key.key_id, &"a".repeat(22)).unwrap();
        for i in 0..40 {
            let body = match i % 4 {
                0 => json!({"key": key.secret, "method": "GET", "path": format!("/v1/records/{i}"), "client_ip": "203.0.113.5"}),
                1 => json!({"key": key.secret, "method": "DELETE", "path": "/v1/records/1", "client_ip": "203.0.113.6"}),
                2 => json!({"key": "garbage"}),
                _ => json!({"key": wrong.expose(), "client_ip": "198.51.100.66"}),
            };
            verify(&app, &w, body).await;
        }
        app.state.usage.shutdown().await;
        let stats = app.state.usage.stats();
        assert_eq!((stats.written, stats.dropped), (40, 0));
        let mut conn = app.state.db.acquire().await.unwrap();
        assert_eq!(count_events(conn.conn()).await.unwrap(), 40);

        // The key's page counts what it did; the wrong-secret tries name its
        // public id, which anyone can copy, so they are not its traffic (only
        // the wrong-secret alert's signal).
        let usage: KeyUsage = w.client.call("key_usage", &[("key_id", &key.key.key_id), ("range", "24h")]).await.unwrap();
        assert_eq!(usage.total, 20);
        assert_eq!(usage.denied, 10);
        let outcome = |label: &str| usage.by_outcome.iter().find(|c| c.label == label).map(|c| c.requests);
        assert_eq!((outcome("ok"), outcome("scope_denied"), outcome("unknown")), (Some(10), Some(10), None));
        let endpoint = |label: &str| usage.by_endpoint.iter().find(|c| c.label == label).map(|c| c.requests);
        assert_eq!(endpoint("GET /v1/records/{id}"), Some(10));
        assert_eq!(endpoint("DELETE /v1/records/{id}"), Some(10));
        assert_eq!(usage.top_addresses[0].requests, 10);
        assert_eq!(usage.buckets.iter().map(|b| b.ok + b.denied).sum::<i64>(), 20);
        assert_eq!(usage.buckets.last().unwrap().ok, 10);
        // Last use is the last accepted verification, not a refusal.
        assert_eq!(usage.last_used_addr.as_deref(), Some("203.0.113.5"));
        assert!(usage.key.last_used_at.is_some());

        let org: OrgUsage = w.client.call("org_usage", &[("org_id", &w.org_id), ("range", "7d")]).await.unwrap();
        assert_eq!((org.total, org.denied), (20, 10));
        assert_eq!(org.per_key[0].requests, 20);
        assert_eq!(org.recent_denied.len(), 10);
        assert!(org.recent_denied.iter().all(|d| d.outcome.as_str() != "ok"));
    }

    async fn the_sample_api_is_guarded_by_the_layer(app) {
        let w = world(&app, "sample@verify.example").await;
        let key = w.key(&[("scopes", "records:read records:write")]).await;
        let http = reqwest::Client::new();
        let res = http.get(app.url("/sample/v1/records")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 3);
        let res = http.post(app.url("/sample/v1/records")).header("x-api-key", &key.secret).json(&json!({"title": "New"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = http.delete(app.url("/sample/v1/records/rec_1")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body: VerifyResponse = res.json().await.unwrap();
        assert_eq!((code(&body), body.scope.as_deref()), ("scope_denied", Some("records:delete")));
        let res = http.get(app.url("/sample/v1/records")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        w.client.call::<()>("revoke_key", &[("key_id", &key.key.key_id), ("reason", "done")]).await.unwrap();
        let res = http.get(app.url("/sample/v1/records")).bearer_auth(&key.secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: VerifyResponse = res.json().await.unwrap();
        assert_eq!(code(&body), "revoked");
    }

    async fn developers_see_their_keys_usage_but_not_the_organisations(app) {
        let w = world(&app, "devuse@verify.example").await;
        let key = w.key(&[]).await;
        let invite: portico::api::orgs::NewInvitation =
            w.client.call("create_invitation", &[("org_id", &w.org_id), ("role", "developer")]).await.unwrap();
        let dev = app.client();
        app.sign_up_with(&dev, &[("email", "dev@verify.example"), ("password", crate::helpers::GOOD_PASSWORD), ("invitation", invite.link.rsplit_once("token=").unwrap().1)])
            .await
            .unwrap();
        let err = dev.call::<OrgUsage>("org_usage", &[("org_id", &w.org_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        let err = dev.call::<KeyUsage>("key_usage", &[("key_id", &key.key.key_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND, "the admin's key is not the developer's");
    }

    async fn the_api_describes_itself(app) {
        let res = reqwest::get(app.url("/v1/openapi.json")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"]["/v1/verify"]["post"].is_object());
        let ping: Value = reqwest::get(app.url("/v1/ping")).await.unwrap().json().await.unwrap();
        assert_eq!(ping["ok"], true);
    }
}

/// Two instances on one Postgres database: a key revoked through one is
/// refused by the other within a second.
#[tokio::test]
async fn a_revocation_reaches_another_instance_within_a_second() {
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let b = a.second_instance().await;
    let w = world(&a, "cross@verify.example").await;
    let key = w.key(&[]).await;
    // B has the key cached as valid.
    assert_eq!(
        code(&verify(&b, &w, json!({"key": key.secret})).await),
        "ok"
    );
    assert_eq!(
        code(&verify(&b, &w, json!({"key": key.secret})).await),
        "ok"
    );

    let started = std::time::Instant::now();
    w.client
        .call::<()>(
            "revoke_key",
            &[("key_id", &key.key.key_id), ("reason", "cross-instance")],
        )
        .await
        .unwrap();
    loop {
        let r = verify(&b, &w, json!({"key": key.secret})).await;
        if code(&r) == "revoked" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "B still accepted the key after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
}

/// Under overload the buffer drops events rather than blocking, and counts them.
#[tokio::test(flavor = "current_thread")]
async fn a_full_usage_buffer_drops_and_counts_instead_of_blocking() {
    use portico::{
        domain::verify::VerifyCode,
        server::usage::{UsageEvent, UsagePipeline},
    };
    let (url, _cleanup) = crate::helpers::fresh_database(crate::helpers::Backend::Sqlite).await;
    let db = portico::server::db::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let pipeline = UsagePipeline::start(db.clone(), 1);
    let event = UsageEvent {
        at: chrono::Utc::now(),
        key_row_id: None,
        org_id: None,
        presented_key_id: None,
        scope: None,
        method: None,
        path: None,
        outcome: VerifyCode::Malformed,
        client_addr: None,
        latency_us: 1,
    };
    // The writer cannot run until this task yields: the buffer of one fills.
    for _ in 0..10 {
        pipeline.record(event.clone());
    }
    let stats = pipeline.stats();
    assert_eq!((stats.accepted, stats.dropped, stats.queued), (1, 9, 1));
    pipeline.shutdown().await;
    assert_eq!(pipeline.stats().written, 1);
    let mut conn = db.acquire().await.unwrap();
    assert_eq!(count_events(conn.conn()).await.unwrap(), 1);
}
