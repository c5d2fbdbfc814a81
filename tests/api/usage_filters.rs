//! A key's usage page narrowed to one client address or one endpoint ("who
//! calls what"), and its recent requests.

use crate::on_both_databases;
use crate::verify::world;
use portico::{api::usage::KeyUsage, domain::verify::VerifyCode};
use serde_json::json;

on_both_databases! {
    async fn usage_is_narrowed_by_client_and_endpoint(app) {
        let w = world(&app, "filters@usage.example").await;
        let key = w.key(&[]).await;
        let other = w.key(&[]).await;
        let http = reqwest::Client::new();
        // Three clients: a reporting job reading records, a dashboard
        // reading customers, and a script trying to export.
        let calls = [
            ("203.0.113.10", "GET", "/v1/records/1", 5),
            ("203.0.113.10", "GET", "/v1/records", 1),
            ("203.0.113.20", "GET", "/v1/customers/7", 3),
            ("::ffff:198.51.100.30", "GET", "/v1/customers/export", 2),
        ];
        for (ip, method, path, n) in calls {
            for _ in 0..n {
                let res = http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
                    .json(&json!({"key": key.secret, "method": method, "path": path, "client_ip": ip}))
                    .send().await.unwrap();
                assert!(res.status().is_success());
            }
        }
        // Another key's traffic from the same address is not this key's.
        http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
            .json(&json!({"key": other.secret, "method": "GET", "path": "/v1/records/1", "client_ip": "203.0.113.10"}))
            .send().await.unwrap();
        app.state.usage.shutdown().await;

        let usage = |addr: Option<&str>, endpoint: Option<&str>| {
            let mut args = vec![("key_id", key.key.key_id.clone()), ("range", "24h".to_owned())];
            if let Some(a) = addr { args.push(("addr", a.to_owned())); }
            if let Some(e) = endpoint { args.push(("endpoint", e.to_owned())); }
            let client = &w.client;
            async move {
                let pairs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client.call::<KeyUsage>("key_usage", &pairs).await
            }
        };
        let count = |rows: &[portico::api::usage::Count], label: &str| rows.iter().find(|c| c.label == label).map(|c| c.requests);

        // Unfiltered: everything, with the chart, and the recent requests.
        let all = usage(None, None).await.unwrap();
        assert_eq!((all.total, all.denied), (11, 2));
        assert!(all.filter.is_empty());
        assert_eq!(all.buckets.iter().map(|b| b.ok + b.denied).sum::<i64>(), 11);
        assert_eq!(all.recent.len(), 11);
        assert_eq!(all.recent[0].client_addr.as_deref(), Some("198.51.100.30"), "newest first, canonical address");
        assert_eq!(all.recent[0].outcome, VerifyCode::ScopeDenied);
        assert_eq!(all.recent[0].endpoint.as_deref(), Some("GET /v1/customers/export"));

        // One client: what it calls.
        let reporting = usage(Some("203.0.113.10"), None).await.unwrap();
        assert_eq!((reporting.total, reporting.denied), (6, 0));
        assert_eq!(reporting.filter.client_addr.as_deref(), Some("203.0.113.10"));
        assert!(reporting.buckets.is_empty(), "no chart for a filtered page");
        assert_eq!(count(&reporting.by_endpoint, "GET /v1/records/{id}"), Some(5));
        assert_eq!(count(&reporting.by_endpoint, "GET /v1/records"), Some(1));
        assert_eq!(reporting.by_endpoint.len(), 2);
        assert_eq!(count(&reporting.by_scope, "records:read"), Some(6));
        assert_eq!(reporting.top_addresses.len(), 1);
        assert_eq!(reporting.recent.len(), 6);
        assert!(reporting.recent.iter().all(|r| r.client_addr.as_deref() == Some("203.0.113.10")));

        // One endpoint: who calls it. The mapped form of an address is its IPv4 form.
        let export = usage(None, Some("GET /v1/customers/export")).await.unwrap();
        assert_eq!((export.total, export.denied), (2, 2));
        assert_eq!(count(&export.top_addresses, "198.51.100.30"), Some(2));
        assert_eq!(count(&export.by_outcome, "scope_denied"), Some(2));
        let mapped = usage(Some("::ffff:198.51.100.30"), None).await.unwrap();
        assert_eq!(mapped.filter.client_addr.as_deref(), Some("198.51.100.30"));
        assert_eq!(mapped.total, 2);

        // Both: nothing matches a client that never called that endpoint.
        let none = usage(Some("203.0.113.20"), Some("GET /v1/records/{id}")).await.unwrap();
        assert_eq!((none.total, none.recent.len(), none.by_endpoint.len()), (0, 0, 0));

        // A malformed address is a field error; blank filters mean none.
        let err = usage(Some("203.0.113.999"), None).await.unwrap_err();
        assert_eq!(err.status, 422, "{err:?}");
        assert!(err.error.message_for("addr").unwrap().contains("not an IP address"), "{err:?}");
        let err = usage(None, Some(&"x".repeat(3000))).await.unwrap_err();
        assert!(err.error.message_for("endpoint").is_some(), "{err:?}");
        let blank = usage(Some(" "), Some("")).await.unwrap();
        assert!(blank.filter.is_empty());
        assert_eq!(blank.total, 11);

        // Someone else's key stays not found, filtered or not.
        let stranger = app.sign_up("stranger@usage.example", "Elsewhere").await;
        let err = stranger.call::<KeyUsage>("key_usage", &[("key_id", &key.key.key_id), ("addr", "203.0.113.10")]).await.unwrap_err();
        assert_eq!(err.status, 404, "{err:?}");
    }
}

on_both_databases! {
    async fn a_request_that_needs_two_scopes_counts_for_both_and_narrowing_keeps_them(app) {
        let w = world(&app, "two@usage.example").await;
        let key = w.key(&[]).await;
        // A fresh key has no month of use to narrow by.
        let err = w.client.call::<portico::api::keys::CreatedKey>("narrow_key", &[("key_id", key.key.key_id.as_str()), ("keep[0]", "records:read")]).await.unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        assert!(format!("{:?}", err.error).contains("has not had them yet"), "{err:?}");

        app.clock.advance(chrono::Duration::days(31));
        w.client.sign_in("two@usage.example").await;
        // The caller names customers:read beside an endpoint that needs records:read.
        let res = reqwest::Client::new().post(app.url("/v1/verify")).bearer_auth(&w.gateway)
            .json(&json!({"key": key.secret, "scope": "customers:read", "method": "GET", "path": "/v1/records/1"}))
            .send().await.unwrap();
        let answer: serde_json::Value = res.json().await.unwrap();
        assert_eq!((answer["code"].as_str(), answer["scope"].as_str()), (Some("ok"), Some("records:read")), "the answer names the endpoint's scope as before");
        app.state.usage.shutdown().await;

        let usage: KeyUsage = w.client.call("key_usage", &[("key_id", &key.key.key_id)]).await.unwrap();
        let count = |label: &str| usage.by_scope.iter().find(|c| c.label == label).map(|c| c.requests);
        assert_eq!((usage.total, count("records:read"), count("customers:read")), (1, Some(1), Some(1)));
        // Both scopes were used: nothing to narrow, and the review agrees.
        let review: portico::api::review::Review = w.client.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert!(review.findings.iter().all(|f| f.kind != portico::api::review::FindingKind::UnusedScopes), "{:?}", review.findings);
        let err = w.client.call::<portico::api::keys::CreatedKey>("narrow_key", &[("key_id", key.key.key_id.as_str()), ("keep[0]", "records:read")]).await.unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
    }
}

/// The recent requests of a rare endpoint are found behind thousands of
/// others (the list pages back through the events).
#[tokio::test]
async fn recent_requests_of_a_rare_endpoint_are_found_behind_busy_ones() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let w = world(&app, "rare@usage.example").await;
    let key = w.key(&[]).await;
    let http = reqwest::Client::new();
    let ask = |path: &'static str| {
        http.post(app.url("/v1/verify"))
            .bearer_auth(&w.gateway)
            .json(&json!({"key": key.secret, "method": "GET", "path": path, "client_ip": "203.0.113.9"}))
            .send()
    };
    ask("/v1/customers/9").await.unwrap();
    for _ in 0..2_100 {
        ask("/v1/records/1").await.unwrap();
    }
    app.state.usage.shutdown().await;
    let usage: KeyUsage = w
        .client
        .call(
            "key_usage",
            &[
                ("key_id", &key.key.key_id),
                ("endpoint", "GET /v1/customers/{id}"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(usage.total, 1);
    assert_eq!(
        usage.recent.len(),
        1,
        "the one request is listed, not just counted"
    );
}
