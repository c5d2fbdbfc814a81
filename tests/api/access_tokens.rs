//! Short-lived access tokens: minted at /oauth/token from a key (RFC 6749
//! §4.4), checked offline with the published JWKS by the same crate a
//! service would use, accepted by /v1/verify, introspected (RFC 7662), and
//! refused at once when the parent key is.

use crate::helpers::TestApp;
use crate::on_both_databases;
use crate::verify::{world, World};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Duration;
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use portico::server::oauth::{access_token::AccessTokenClaims, signing_keys};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Asks for a token with HTTP Basic (`client_secret_basic`).
async fn ask_token(
    app: &TestApp,
    key_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{key_id}:{secret}"))),
        )
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::OK {
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    (status, res.json().await.unwrap())
}

async fn grant(app: &TestApp, key_id: &str, secret: &str, scope: Option<&str>) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, body) = ask_token(app, key_id, secret, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The JWKS as a service fetches it.
async fn jwks(app: &TestApp) -> JwkSet {
    let res = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    res.json().await.unwrap()
}

/// Checks a token as a service would: offline, against the JWKS, with the
/// issuer and audience it expects. Expiry is left to the test's clock.
fn check_offline(app: &TestApp, set: &JwkSet, token: &str) -> Result<AccessTokenClaims, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not published")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.set_audience(&[&app.state.config.access_token_audience]);
    validation.set_issuer(&[&app.state.config.public_url]);
    jsonwebtoken::decode::<AccessTokenClaims>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

async fn verify(app: &TestApp, w: &World, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(&w.gateway)
        .json(&json!({"key": token, "method": "GET", "path": path}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, w: &World, token: &str) -> Value {
    let res = reqwest::Client::new()
        .post(app.url("/oauth/introspect"))
        .bearer_auth(&w.gateway)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

on_both_databases! {
    async fn a_token_minted_from_a_key_verifies_offline_and_at_portico(app) {
        let w = world(&app, "tokens@mint.example").await;
        let key = w.key(&[]).await;
        let id = key.key.key_id.as_str();
        let body = grant(&app, id, &key.secret, None).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600, "the default lifetime: {body}");
        assert_eq!(body["scope"], "customers:read records:read");
        let token = body["access_token"].as_str().unwrap();
        assert!(!token.contains(&key.secret));

        // Offline, with the published keys, by the crate a service uses.
        let claims = check_offline(&app, &jwks(&app).await, token).unwrap();
        let now = app.clock.now().timestamp();
        assert_eq!((claims.sub.as_str(), claims.client_id.as_str()), (id, id));
        assert_eq!(claims.iss, app.state.config.public_url);
        assert_eq!(claims.aud, app.state.config.access_token_audience);
        assert_eq!((claims.iat, claims.exp), (now, now + 600));
        assert_eq!(claims.org_id.to_string(), w.org_id);
        assert_eq!(claims.environment.as_str(), "sandbox");
        assert!(claims.jti.len() >= 16);
        // Tampered: the signature no longer holds.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&AccessTokenClaims { scope: "customers:write".into(), ..claims.clone() }).unwrap());
        parts[1] = &forged_claims;
        let forged = parts.join(".");
        assert!(check_offline(&app, &jwks(&app).await, &forged).is_err());
        assert_eq!(verify(&app, &w, &forged, "/v1/records/1").await["code"], "unknown");

        // At Portico: as the key, with its scopes.
        let ok = verify(&app, &w, token, "/v1/records/1").await;
        assert_eq!(ok["code"], "ok", "{ok}");
        assert_eq!(ok["key_id"], id);
        // A client_secret_post request is as good; a second token is another jti.
        let res = reqwest::Client::new().post(app.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", key.secret.as_str()), ("scope", "records:read")])
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let narrow: Value = res.json().await.unwrap();
        assert_eq!(narrow["scope"], "records:read");
        let narrow = narrow["access_token"].as_str().unwrap().to_owned();
        let narrow_claims = check_offline(&app, &jwks(&app).await, &narrow).unwrap();
        assert_ne!(narrow_claims.jti, claims.jti);
        // Narrowed: the key holds customers:read, the token does not.
        let denied = verify(&app, &w, &narrow, "/v1/customers/7").await;
        assert_eq!(denied["code"], "scope_denied", "{denied}");
        let allowed = verify(&app, &w, &narrow, "/v1/records/1").await;
        assert_eq!(allowed["scopes"], json!(["records:read"]));
        // Its expiry is the token's, not the key's.
        let exp: chrono::DateTime<chrono::Utc> = serde_json::from_value(allowed["expires_at"].clone()).unwrap();
        assert_eq!(exp.timestamp(), narrow_claims.exp);
        // Forward-auth names the token's scopes to the upstream, not the key's.
        let forwarded = reqwest::Client::new().get(app.url("/v1/forward-auth"))
            .header("portico-gateway-token", &w.gateway)
            .header("x-forwarded-method", "GET").header("x-forwarded-uri", "/v1/records/1")
            .header("x-forwarded-for", "127.0.0.1")
            .bearer_auth(&narrow).send().await.unwrap();
        assert_eq!(forwarded.status(), StatusCode::OK);
        assert_eq!(forwarded.headers()["portico-scopes"], "records:read");
        // A token is not a client secret: it cannot be traded for a fresh or
        // wider one, whatever client id comes with it.
        for client_id in [id, "anything"] {
            let (s, b) = ask_token(&app, client_id, &narrow, &[("grant_type", "client_credentials")]).await;
            assert_eq!((s, b["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{b}");
        }
        let res = reqwest::Client::new().post(app.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", narrow.as_str())])
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // Through the tower layer over the sample API, as a Bearer token.
        let sample = reqwest::Client::new().get(app.url("/sample/v1/records")).bearer_auth(&narrow).send().await.unwrap();
        assert_eq!(sample.status(), StatusCode::OK);
        let sample = reqwest::Client::new().get(app.url("/sample/v1/customers")).bearer_auth(&narrow).send().await.unwrap();
        assert_eq!(sample.status(), StatusCode::FORBIDDEN);

        // Introspection says the same, for gateways only.
        let seen = introspect(&app, &w, &narrow).await;
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!((seen["scope"].as_str(), seen["sub"].as_str(), seen["token_type"].as_str()), (Some("records:read"), Some(id), Some("Bearer")));
        assert_eq!(introspect(&app, &w, &forged).await, json!({"active": false}));
        assert_eq!(introspect(&app, &w, &key.secret).await, json!({"active": false}));
        let anonymous = reqwest::Client::new().post(app.url("/oauth/introspect")).form(&[("token", narrow.as_str())]).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // Expired with the clock: refused everywhere.
        app.clock.advance(Duration::seconds(600));
        assert_eq!(verify(&app, &w, token, "/v1/records/1").await["code"], "expired");
        assert_eq!(introspect(&app, &w, token).await, json!({"active": false}));

        // The key's page counts the tokens minted, with the policy's lifetime
        // and a ready request.
        let detail: portico::api::keys::KeyDetail = w.client.call("get_key", &[("key_id", id)]).await.unwrap();
        assert_eq!(detail.access_tokens.minted_24h, 2);
        assert_eq!(detail.access_tokens.lifetime_secs, 600);
        assert!(detail.access_tokens.request_line.contains(&format!("-u \"{id}:$PORTICO_KEY\"")), "{}", detail.access_tokens.request_line);
        assert!(detail.access_tokens.request_line.ends_with("/oauth/token"));
    }

    async fn every_refusal_of_verification_is_refused_at_the_token_endpoint(app) {
        let w = world(&app, "tokens@refuse.example").await;
        let key = w.key(&[]).await;
        let id = key.key.key_id.as_str();
        let cc = ("grant_type", "client_credentials");
        let error = |body: &Value| (body["error"].as_str().unwrap_or("").to_owned(), body["portico_code"].as_str().unwrap_or("").to_owned());

        // Bad requests, each with its RFC 6749 §5.2 code.
        let (s, b) = ask_token(&app, id, &key.secret, &[]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_request"), "{b}");
        let (s, b) = ask_token(&app, id, &key.secret, &[("grant_type", "password")]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::BAD_REQUEST, "unsupported_grant_type"));
        let (s, b) = ask_token(&app, id, &key.secret, &[cc, cc]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_request"));
        let (s, b) = ask_token(&app, id, &key.secret, &[cc, ("scope", "Records")]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_scope"));
        let long = format!("{}:read", "a".repeat(8000));
        let (s, b) = ask_token(&app, id, &key.secret, &[cc, ("scope", long.as_str())]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_scope"));
        assert!(b.to_string().len() < 400, "{b}");
        let (s, b) = ask_token(&app, id, &key.secret, &[cc, ("scope", "records:read customers:write")]).await;
        assert_eq!((s, error(&b)), (StatusCode::BAD_REQUEST, ("invalid_scope".into(), "scope_denied".into())), "{b}");
        assert!(b["error_description"].as_str().unwrap().contains("customers:write"));
        let json_body = reqwest::Client::new().post(app.url("/oauth/token")).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap();
        assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
        let both = reqwest::Client::new().post(app.url("/oauth/token"))
            .basic_auth(id, Some(&key.secret))
            .form(&[cc, ("client_secret", key.secret.as_str())]).send().await.unwrap();
        assert_eq!(both.status(), StatusCode::BAD_REQUEST);

        // Client authentication failures: 401 invalid_client, with the Basic challenge.
        let nobody = reqwest::Client::new().post(app.url("/oauth/token")).form(&[cc]).send().await.unwrap();
        assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
        assert!(nobody.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        let mut wrong = key.secret.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'a' { 'b' } else { 'a' });
        let (s, b) = ask_token(&app, id, &wrong, &[cc]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
        assert_eq!(error(&b).0, "invalid_client");
        let other = w.key(&[("name", "Other")]).await;
        let (s, b) = ask_token(&app, &other.key.key_id, &key.secret, &[cc]).await;
        assert_eq!((s, error(&b).0.as_str()), (StatusCode::UNAUTHORIZED, "invalid_client"));
        assert!(!b.to_string().contains(&key.secret), "no secret echoed");

        // Whatever verification refuses, the token endpoint refuses.
        let fenced = w.key(&[("name", "Fenced"), ("ip_allowlist", "203.0.113.0/24")]).await;
        let (s, b) = ask_token(&app, &fenced.key.key_id, &fenced.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::BAD_REQUEST, ("unauthorized_client".into(), "ip_denied".into())), "{b}");
        let slow = w.key(&[("name", "Slow"), ("rate_limit", "2")]).await;
        grant(&app, &slow.key.key_id, &slow.secret, None).await;
        grant(&app, &slow.key.key_id, &slow.secret, None).await;
        let res = reqwest::Client::new().post(app.url("/oauth/token")).basic_auth(&slow.key.key_id, Some(&slow.secret)).form(&[cc]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().contains_key("retry-after"));
        let b: Value = res.json().await.unwrap();
        assert_eq!(error(&b), ("slow_down".into(), "rate_limited".into()));
        let suspended = w.key(&[("name", "Suspended")]).await;
        w.client.call::<()>("suspend_key", &[("key_id", suspended.key.key_id.as_str()), ("reason", "Unusual traffic")]).await.unwrap();
        let (s, b) = ask_token(&app, &suspended.key.key_id, &suspended.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::UNAUTHORIZED, ("invalid_client".into(), "suspended".into())), "{b}");
        let pending = w.key(&[("name", "Pending")]).await;
        crate::verify::set_column(&app, &pending.key.key_id, "approval = 'pending'").await;
        let (s, b) = ask_token(&app, &pending.key.key_id, &pending.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::UNAUTHORIZED, ("invalid_client".into(), "pending_approval".into())), "{b}");
        let metered = w.key(&[("name", "Metered"), ("monthly_quota", "1")]).await;
        grant(&app, &metered.key.key_id, &metered.secret, None).await;
        let (s, b) = ask_token(&app, &metered.key.key_id, &metered.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::TOO_MANY_REQUESTS, ("slow_down".into(), "quota_exceeded".into())), "{b}");
        w.client.call::<()>("revoke_key", &[("key_id", id), ("reason", "replaced")]).await.unwrap();
        let (s, b) = ask_token(&app, id, &key.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::UNAUTHORIZED, ("invalid_client".into(), "revoked".into())), "{b}");
        let (_, b) = ask_token(&app, &other.key.key_id, &other.secret, &[cc]).await;
        assert!(b["access_token"].is_string(), "{b}");
        // Five minutes before the key expires, a token lives five minutes.
        let ends = other.key.expires_at;
        app.clock.advance(ends - app.clock.now() - Duration::minutes(5));
        let (_, b) = ask_token(&app, &other.key.key_id, &other.secret, &[cc]).await;
        assert_eq!(b["expires_in"], 300, "{b}");
        app.clock.advance(Duration::days(400));
        let (s, b) = ask_token(&app, &other.key.key_id, &other.secret, &[cc]).await;
        assert_eq!((s, error(&b)), (StatusCode::UNAUTHORIZED, ("invalid_client".into(), "expired".into())), "{b}");

        // Each refusal is the key's usage, like a verification's.
        app.state.usage.shutdown().await;
        let mut conn = app.state.db.acquire().await.unwrap();
        let refused = portico::server::db::usage::count_events(conn.conn()).await.unwrap();
        assert!(refused >= 8, "{refused}");
    }

    async fn a_revoked_or_suspended_parent_key_stops_its_tokens_at_once(app) {
        let w = world(&app, "tokens@parent.example").await;
        let key = w.key(&[]).await;
        let other = app.second_instance().await;
        let t = grant(&app, &key.key.key_id, &key.secret, None).await["access_token"].as_str().unwrap().to_owned();
        // Minted on one instance, checked on another: the keys are shared.
        assert_eq!(verify(&other, &w, &t, "/v1/records/1").await["code"], "ok");
        w.client.call::<()>("suspend_key", &[("key_id", key.key.key_id.as_str()), ("reason", "Unusual traffic")]).await.unwrap();
        assert_eq!(verify(&app, &w, &t, "/v1/records/1").await["code"], "suspended");
        assert_eq!(introspect(&app, &w, &t).await["active"], false);
        let mut seen = Value::Null;
        for _ in 0..50 {
            seen = verify(&other, &w, &t, "/v1/records/1").await;
            if seen["code"] == "suspended" { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(seen["code"], "suspended", "the other instance learns at once: {seen}");
        w.client.call::<()>("reinstate_key", &[("key_id", key.key.key_id.as_str()), ("reason", "Checked with the team")]).await.unwrap();
        assert_eq!(verify(&app, &w, &t, "/v1/records/1").await["code"], "ok");
        w.client.call::<()>("revoke_key", &[("key_id", key.key.key_id.as_str()), ("reason", "leaked")]).await.unwrap();
        assert_eq!(verify(&app, &w, &t, "/v1/records/1").await["code"], "revoked");
        assert_eq!(introspect(&app, &w, &t).await["active"], false);
    }

    async fn signing_keys_rotate_on_schedule_and_old_tokens_verify_until_they_expire(app) {
        let w = world(&app, "tokens@rotate.example").await;
        let key = w.key(&[]).await;
        let mint = || async { grant(&app, &key.key.key_id, &key.secret, None).await["access_token"].as_str().unwrap().to_owned() };
        let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
        let first = mint().await;
        assert_eq!(jwks(&app).await.keys.len(), 1);

        // A day before the first key's time is up, its successor is published, not yet signing.
        app.clock.advance(signing_keys::ROTATE_EVERY - signing_keys::PUBLISH_AHEAD);
        assert_eq!(kid(&mint().await), kid(&first));
        let set = jwks(&app).await;
        assert_eq!(set.keys.len(), 2, "the next key is published ahead");
        app.clock.advance(signing_keys::PUBLISH_AHEAD - Duration::minutes(5));
        let late = mint().await;
        assert_eq!(kid(&late), kid(&first));
        // Five minutes later the new key signs; tokens of the old one still verify.
        app.clock.advance(Duration::minutes(5));
        let next = mint().await;
        assert_ne!(kid(&next), kid(&first));
        assert!(check_offline(&app, &set, &next).is_ok(), "a cached JWKS already knows the new key");
        assert_eq!(verify(&app, &w, &late, "/v1/records/1").await["code"], "ok");
        // An hour after the switch (the longest a token lives), the old key is gone.
        app.clock.advance(Duration::hours(1));
        let kids: Vec<String> = jwks(&app).await.keys.iter().map(|k| k.common.key_id.clone().unwrap()).collect();
        assert_eq!(kids, vec![kid(&next)]);

        // An emergency rotation: a new key signs at once; with withdrawal,
        // tokens of the others stop verifying.
        let before = mint().await;
        let rotated = signing_keys::rotate(&app.state, false).await.unwrap();
        let after = mint().await;
        assert_eq!(kid(&after), rotated.kid);
        assert_eq!(verify(&app, &w, &before, "/v1/records/1").await["code"], "ok");
        let rotated = signing_keys::rotate(&app.state, true).await.unwrap();
        assert_eq!(rotated.withdrawn, 2);
        assert_eq!(verify(&app, &w, &before, "/v1/records/1").await["code"], "unknown");
        assert_eq!(verify(&app, &w, &after, "/v1/records/1").await["code"], "unknown");
        assert_eq!(jwks(&app).await.keys.len(), 1);
        assert_eq!(kid(&mint().await), rotated.kid);
    }

    async fn the_policy_sets_how_long_tokens_live(app) {
        let w = world(&app, "tokens@policy.example").await;
        let key = w.key(&[]).await;
        let policy = |minutes: &'static str| {
            let org = w.org_id.clone();
            let client = &w.client;
            async move {
                client.call::<()>("set_org_policy", &[("org_id", org.as_str()), ("max_lifetime_days", "365"), ("default_expiry_days", "90"), ("developer_environments[0]", "sandbox"), ("developer_environments[1]", "production"), ("access_token_lifetime_minutes", minutes)]).await
            }
        };
        for bad in ["0", "61", "ten", "1.5"] {
            let err = policy(bad).await.unwrap_err();
            assert!(err.error.message_for("access_token_lifetime_minutes").is_some(), "{bad}: {err:?}");
        }
        policy("2").await.unwrap();
        let body = grant(&app, &key.key.key_id, &key.secret, None).await;
        assert_eq!(body["expires_in"], 120);
        let t = body["access_token"].as_str().unwrap();
        app.clock.advance(Duration::seconds(119));
        assert_eq!(verify(&app, &w, t, "/v1/records/1").await["code"], "ok");
        app.clock.advance(Duration::seconds(1));
        assert_eq!(verify(&app, &w, t, "/v1/records/1").await["code"], "expired");

        // The metadata names the endpoints.
        let meta: Value = reqwest::get(app.url("/.well-known/oauth-authorization-server")).await.unwrap().json().await.unwrap();
        assert_eq!(meta["issuer"], app.state.config.public_url);
        assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", app.state.config.public_url));
        assert_eq!(meta["grant_types_supported"], json!(["client_credentials"]));
        assert!(meta["scopes_supported"].as_array().unwrap().iter().any(|s| s == "records:read"));
    }
}
