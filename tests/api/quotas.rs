//! Monthly request quotas: counted on accepted requests only, refused with
//! `quota_exceeded` until the month ends, changed by admins and seen at
//! once, with notices at 80 % and 100 %.

use crate::on_both_databases;
use crate::verify::world;
use portico::api::{keys::KeyDetail, notifications::NotificationList};
use serde_json::{json, Value};

on_both_databases! {
    async fn a_quota_counts_accepted_requests_and_refuses_past_it(app) {
        let w = world(&app, "quota@usage.example").await;
        let http = reqwest::Client::new();
        let ask = |secret: String, path: &'static str| {
            let req = http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
                .json(&json!({"key": secret, "method": "GET", "path": path}));
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        // A bad quota is a field error.
        let err = crate::helpers::create_key(&w.client, &w.org_id, &[("monthly_quota", "0")]).await.unwrap_err();
        assert!(err.error.message_for("monthly_quota").unwrap().contains("from 1 to"), "{err:?}");
        let key = crate::helpers::create_key(&w.client, &w.org_id, &[("monthly_quota", "5")]).await.unwrap();

        // A refused request does not count.
        assert_eq!(ask(key.secret.clone(), "/v1/customers/7").await["code"], "scope_denied");
        for _ in 0..5 {
            assert_eq!(ask(key.secret.clone(), "/v1/records/1").await["code"], "ok");
        }
        let over = ask(key.secret.clone(), "/v1/records/1").await;
        assert_eq!(over["code"], "quota_exceeded", "{over}");
        let wait = over["retry_after"].as_i64().unwrap();
        assert!(wait > 0 && wait <= 31 * 86_400, "until the month ends: {wait}");

        // The owner (and admins) are told at 80 % and at 100 %, once.
        let mut kinds = Vec::new();
        for _ in 0..100 {
            let list: NotificationList = w.client.call("notifications", &[]).await.unwrap();
            kinds = list.items.iter().filter(|n| n.kind == "quota").map(|n| n.subject.clone()).collect();
            if kinds.len() >= 2 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        kinds.sort();
        assert_eq!(kinds, vec!["Billing sync has used 80 % of its monthly quota".to_owned(), "Billing sync has used its monthly quota".to_owned()]);

        // The key's page shows the month's use once it is written.
        app.state.usage.shutdown().await;
        let detail: KeyDetail = w.client.call("get_key", &[("key_id", key.key.key_id.as_str())]).await.unwrap();
        let quota = detail.quota.unwrap();
        assert_eq!((quota.monthly, quota.used, quota.left(), quota.percent_used()), (5, 5, 0, 100));

        // An admin raises it: two more, at once.
        let err = w.client.call::<()>("set_key_quota", &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "lots")]).await.unwrap_err();
        assert!(err.error.message_for("monthly_quota").is_some(), "{err:?}");
        w.client.call::<()>("set_key_quota", &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "7")]).await.unwrap();
        let codes: Vec<String> = {
            let mut v = Vec::new();
            for _ in 0..3 { v.push(ask(key.secret.clone(), "/v1/records/1").await["code"].as_str().unwrap().to_owned()); }
            v
        };
        assert_eq!(codes, ["ok", "ok", "quota_exceeded"]);
        // Removed: only the rate limit applies.
        w.client.call::<()>("set_key_quota", &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "")]).await.unwrap();
        assert_eq!(ask(key.secret.clone(), "/v1/records/1").await["code"], "ok");
        let detail: KeyDetail = w.client.call("get_key", &[("key_id", key.key.key_id.as_str())]).await.unwrap();
        assert!(detail.quota.is_none());
        let actions: Vec<&str> = detail.audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "quota_changed").count(), 2, "{actions:?}");

        // Someone else's key is not found.
        let stranger = app.sign_up("stranger@quota.example", "Elsewhere").await;
        let err = stranger.call::<()>("set_key_quota", &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "1")]).await.unwrap_err();
        assert_eq!(err.status, 404, "{err:?}");

        // The code is documented.
        let doc: Value = reqwest::get(app.url("/v1/openapi.json")).await.unwrap().json().await.unwrap();
        assert!(doc.to_string().contains("quota_exceeded"));
    }
}

on_both_databases! {
    async fn a_quota_lowered_under_traffic_holds_at_once(app) {
        let w = world(&app, "lowered@usage.example").await;
        let key = crate::helpers::create_key(&w.client, &w.org_id, &[("monthly_quota", "1000")]).await.unwrap();
        let http = reqwest::Client::new();
        let ask = || {
            let req = http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
                .json(&json!({"key": key.secret, "method": "GET", "path": "/v1/records/1"}));
            async move { req.send().await.unwrap().json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned() }
        };
        let first: Vec<String> = futures_util::future::join_all((0..10).map(|_| ask())).await;
        assert!(first.iter().all(|c| c == "ok"), "{first:?}");
        // Lowered to what was just used, before the usage writer has
        // stored those requests: the instance's own count still holds.
        w.client.call::<()>("set_key_quota", &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "10")]).await.unwrap();
        let mut after = Vec::new();
        for _ in 0..5 {
            after.push(ask().await);
        }
        assert!(after.iter().all(|c| c == "quota_exceeded"), "{after:?}");
    }
}

/// A quota lowered through one instance holds on another sharing the
/// database at once (the change is announced like any other key change).
#[tokio::test]
async fn a_quota_change_holds_on_another_instance_at_once() {
    let a = crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let b = a.second_instance().await;
    let w = world(&a, "across@quota.example").await;
    let key = crate::helpers::create_key(&w.client, &w.org_id, &[])
        .await
        .unwrap();
    let ask = |app: &crate::helpers::TestApp| {
        let req = reqwest::Client::new()
            .post(app.url("/v1/verify"))
            .bearer_auth(&w.gateway)
            .json(&json!({"key": key.secret, "method": "GET", "path": "/v1/records/1"}));
        async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // B has the key cached, without a quota.
    assert_eq!(ask(&b).await, "ok");
    assert_eq!(ask(&b).await, "ok");
    w.client
        .call::<()>(
            "set_key_quota",
            &[("key_id", key.key.key_id.as_str()), ("monthly_quota", "1")],
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if ask(&b).await == "quota_exceeded" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "B still lets the key through"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
