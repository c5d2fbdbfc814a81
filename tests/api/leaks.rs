//! Leaked keys reported by GitHub's secret scanning: reports signed in the
//! test with a P-256 key pair it generates (good, bad and missing
//! signatures), the live key suspended at once with an alert, a notice and
//! an audit entry, everything else answered `false_positive`.

use crate::helpers::{create_key, TestApp, TestClient};
use crate::on_both_databases;
use base64::{engine::general_purpose::STANDARD, Engine};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    pkcs8::{EncodePublicKey, LineEnding},
};
use portico::{
    api::support::LeakOutcome,
    api::{
        alerts::AlertPage,
        keys::{AuditPage, KeyDetail},
        notifications::NotificationList,
    },
    domain::{alerts::AlertKind, keys::KeyStatus, org::StaffRole},
    server::verify::gateway,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A signing key made here, standing in for GitHub's.
fn signing_key() -> SigningKey {
    loop {
        let bytes: [u8; 32] = rand_bytes();
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return key;
        }
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    b
}

/// Writes the key file GitHub publishes, naming `keys` by their ids.
fn key_file(keys: &[(&str, &SigningKey)]) -> std::path::PathBuf {
    let entries: Vec<Value> = keys
        .iter()
        .map(|(id, k)| {
            json!({
                "key_identifier": id,
                "key": k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
                "is_current": true,
            })
        })
        .collect();
    let path = std::env::temp_dir().join(format!(
        "portico-scanning-keys-{}-{}.json",
        std::process::id(),
        hex::encode(&rand_bytes()[..6])
    ));
    std::fs::write(&path, json!({ "public_keys": entries }).to_string()).unwrap();
    path
}

/// Posts `body` with the given signature headers.
async fn post(
    app: &TestApp,
    body: &str,
    id: Option<&str>,
    signature: Option<String>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url("/v1/leaks/github"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(id) = id {
        req = req.header("Github-Public-Key-Identifier", id);
    }
    if let Some(sig) = signature {
        req = req.header("Github-Public-Key-Signature", sig);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn sign(key: &SigningKey, body: &str) -> String {
    let sig: Signature = key.sign(body.as_bytes());
    STANDARD.encode(sig.to_der().as_bytes())
}

async fn status_of(client: &TestClient, key_id: &str) -> KeyDetail {
    client.call("get_key", &[("key_id", key_id)]).await.unwrap()
}

async fn verify_code(app: &TestApp, gateway: &str, secret: &str) -> String {
    let res: Value = reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(gateway)
        .json(&json!({ "key": secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["code"].as_str().unwrap().to_owned()
}

on_both_databases! {
    async fn a_leaked_live_key_is_suspended_within_the_report(app) {
        let github = signing_key();
        let stranger = signing_key();
        let file = key_file(&[("github-current", &github), ("github-old", &signing_key())]);
        let app = app.instance_with(|c| c.secret_scanning_keys = Some(file.clone())).await;
        let admin = app.sign_up("sec@example.com", "Leaky Co").await;
        let org = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let leaked = create_key(&admin, &org, &[("name", "Pushed by mistake")]).await.unwrap();
        let safe = create_key(&admin, &org, &[("name", "Kept safe")]).await.unwrap();
        let gw = gateway::create(&app.state, "gw-leaks", None).await.unwrap().token;
        assert_eq!(verify_code(&app, &gw, &leaked.secret).await, "ok");

        // Refused, changing nothing: no signature, an unknown key, a
        // signature by another key, a body changed after signing.
        let body = json!([{
            "token": leaked.secret, "type": "portico_api_key",
            "url": "https://github.com/someone/app/blob/main/.env", "source": "content",
        }])
        .to_string();
        for (id, sig, error) in [
            (None, None, "missing_signature"),
            (Some("github-current"), None, "missing_signature"),
            (Some("nobody"), Some(sign(&github, &body)), "unknown_key_identifier"),
            (Some("github-current"), Some(sign(&stranger, &body)), "bad_signature"),
            (Some("github-old"), Some(sign(&github, &body)), "bad_signature"),
            (Some("github-current"), Some("not base64 !".to_owned()), "bad_signature"),
        ] {
            let (status, answer) = post(&app, &body, id, sig).await;
            assert_eq!((status, answer["error"].as_str()), (StatusCode::UNAUTHORIZED, Some(error)));
        }
        let tampered = body.replace("content", "commit");
        let (status, _) = post(&app, &tampered, Some("github-current"), Some(sign(&github, &body))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Signed but not a list of matches.
        for bad in ["{\"token\": 1}", "not json", "[{\"type\": \"x\"}]"] {
            let (status, answer) = post(&app, bad, Some("github-current"), Some(sign(&github, bad))).await;
            assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed")), "{bad}");
        }
        assert_eq!(verify_code(&app, &gw, &leaked.secret).await, "ok", "nothing changed");
        let alerts: AlertPage = admin.call("org_alerts", &[("org_id", org.as_str())]).await.unwrap();
        assert!(alerts.items.iter().all(|a| a.kind != AlertKind::Leaked));

        // A signed report: the live key, a made-up one, a real key id with a
        // wrong secret.
        let mut wrong_secret = leaked.secret.clone();
        wrong_secret.pop();
        wrong_secret.push(if leaked.secret.ends_with('A') { 'B' } else { 'A' });
        let body = json!([
            {"token": leaked.secret, "type": "portico_api_key",
             "url": "https://github.com/someone/app/blob/main/.env", "source": "content"},
            {"token": "prt_live_notakeyatall", "type": "portico_api_key", "url": "https://github.com/x", "source": "commit"},
            {"token": wrong_secret, "type": "portico_api_key"},
        ])
        .to_string();
        // GitHub may deliver it more than once at the same time.
        let signature = sign(&github, &body);
        let answers = futures_util::future::join_all(
            (0..4).map(|_| post(&app, &body, Some("github-current"), Some(signature.clone()))),
        )
        .await;
        let (status, answer) = answers[0].clone();
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answers.iter().all(|(s, a)| *s == StatusCode::OK && a[0]["label"] == "true_positive"));
        let labels: Vec<&str> = answer.as_array().unwrap().iter().map(|v| v["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["true_positive", "false_positive", "false_positive"]);
        assert_eq!(answer[0]["token_hash"], hex::encode(Sha256::digest(leaked.secret.as_bytes())));
        assert_eq!(answer[0]["token_type"], "portico_api_key");
        assert!(!answer.to_string().contains(&leaked.secret), "the secret is never echoed");

        // The key stops at once; the other key works.
        assert_eq!(verify_code(&app, &gw, &leaked.secret).await, "suspended");
        assert_eq!(verify_code(&app, &gw, &safe.secret).await, "ok");
        let detail = status_of(&admin, &leaked.key.key_id).await;
        assert_eq!(detail.summary.status, KeyStatus::Suspended);
        let alerts: AlertPage = admin.call("org_alerts", &[("org_id", org.as_str())]).await.unwrap();
        let leak: Vec<_> = alerts.items.iter().filter(|a| a.kind == AlertKind::Leaked).collect();
        assert_eq!(leak.len(), 1);
        assert_eq!(leak[0].key_id, leaked.key.key_id);
        assert!(leak[0].summary.contains("https://github.com/someone/app/blob/main/.env"), "{}", leak[0].summary);
        let trail: AuditPage = admin.call("org_audit", &[("org_id", org.as_str())]).await.unwrap();
        let entry = trail.entries.iter().find(|e| e.action.to_lowercase().contains("suspend")).expect("the suspension is audited");
        assert!(entry.reason.as_deref().unwrap_or("").contains("GitHub secret scanning"), "{:?}", entry.reason);
        let notes: NotificationList = admin.call("notifications", &[]).await.unwrap();
        assert!(notes.items.iter().any(|n| n.subject.contains("suspended automatically")), "{:?}", notes.items);
        assert!(notes.items.iter().any(|n| n.subject.contains("Secret found in public")), "{:?}", notes.items);

        // Reported again: still a real key, one alert, one suspension.
        let (status, answer) = post(&app, &body, Some("github-current"), Some(sign(&github, &body))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer[0]["label"], "true_positive");
        let alerts: AlertPage = admin.call("org_alerts", &[("org_id", org.as_str())]).await.unwrap();
        assert_eq!(alerts.items.iter().filter(|a| a.kind == AlertKind::Leaked).count(), 1);
        let trail: AuditPage = admin.call("org_audit", &[("org_id", org.as_str())]).await.unwrap();
        assert_eq!(trail.entries.iter().filter(|e| e.action.to_lowercase().contains("suspend")).count(), 1);

        // A revoked key is no longer live: nothing to do.
        admin
            .call::<()>("revoke_key", &[("key_id", safe.key.key_id.as_str()), ("reason", "Replaced by a new integration")])
            .await
            .unwrap();
        let body = json!([{ "token": safe.secret, "type": "portico_api_key" }]).to_string();
        let (_, answer) = post(&app, &body, Some("github-current"), Some(sign(&github, &body))).await;
        assert_eq!(answer[0]["label"], "false_positive");
        let _ = std::fs::remove_file(&file);
    }

    async fn staff_report_a_leak_found_elsewhere(app) {
        let admin = app.sign_up("owner@example.com", "Pasted Co").await;
        let org = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let leaked = create_key(&admin, &org, &[("name", "In a forum post")]).await.unwrap();
        async fn report(client: &TestClient, token: String, found_at: &str) -> Result<LeakOutcome, crate::helpers::CallError> {
            client
                .call::<LeakOutcome>("report_leak", &[("token", token.as_str()), ("found_at", found_at)])
                .await
        }
        // Not staff: refused, nothing changes.
        let err = report(&admin, leaked.secret.clone(), "https://forum.example/t/42").await.unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert_eq!(status_of(&admin, &leaked.key.key_id).await.summary.status, KeyStatus::Active);

        let support = app.sign_up("help@platform.example", "Platform").await;
        portico::server::staff::grant(&app.state.db, &app.state.clock, "help@platform.example", StaffRole::Support)
            .await
            .unwrap();
        support.enrol_totp(&app).await;
        let err = report(&support, leaked.secret.clone(), "  ").await.unwrap_err();
        assert!(err.error.message_for("found_at").is_some(), "{:?}", err.error);
        let err = report(&support, String::new(), "https://forum.example/t/42").await.unwrap_err();
        assert!(err.error.message_for("token").is_some(), "{:?}", err.error);
        let outcome = report(&support, "prt_live_nothing".to_owned(), "https://forum.example/t/42").await.unwrap();
        assert_eq!(outcome.key, None);
        assert_eq!(status_of(&admin, &leaked.key.key_id).await.summary.status, KeyStatus::Active);

        let outcome = report(&support, format!("  {}  ", leaked.secret), "https://forum.example/t/42").await.unwrap();
        let key = outcome.key.expect("a live key");
        assert_eq!((key.key_id.as_str(), key.name.as_str()), (leaked.key.key_id.as_str(), "In a forum post"));
        let detail = status_of(&admin, &leaked.key.key_id).await;
        assert_eq!(detail.summary.status, KeyStatus::Suspended);
        let alerts: AlertPage = admin.call("org_alerts", &[("org_id", org.as_str())]).await.unwrap();
        let leak = alerts.items.iter().find(|a| a.kind == AlertKind::Leaked).expect("an alert");
        assert!(leak.summary.contains("https://forum.example/t/42") && leak.summary.contains("help@platform.example (platform staff)"), "{}", leak.summary);
    }

    async fn without_scanning_keys_the_endpoint_is_not_there(app) {
        let (status, answer) = post(&app, "[]", Some("github-current"), Some("MEUCIQ==".to_owned())).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_configured")));
    }
}
