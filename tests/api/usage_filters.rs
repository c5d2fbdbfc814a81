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

on_both_databases! {
    async fn a_shared_key_gets_a_proposed_key_per_client_and_the_form_filled_in_for_each(app) {
        use portico::api::{keys::KeyFormData, review::{FindingKind, Review}};
        let w = world(&app, "shared@usage.example").await;
        let key = w.key(&[]).await;
        let single = w.key(&[]).await;
        let http = reqwest::Client::new();
        let verify = |secret: String, ip: &'static str, path: &'static str| {
            let req = http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
                .json(&json!({"key": secret, "method": "GET", "path": path, "client_ip": ip}));
            async move { req.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        // A reporting job, a dashboard, and a script that is only refused.
        for (ip, path, n) in [
            ("203.0.113.10", "/v1/records/1", 3),
            ("203.0.113.20", "/v1/customers/7", 2),
            ("198.51.100.30", "/v1/customers/export", 2),
        ] {
            for _ in 0..n {
                verify(key.secret.clone(), ip, path).await;
            }
        }
        // A key with one client (on two endpoints) is not shared.
        verify(single.secret.clone(), "203.0.113.10", "/v1/records/1").await;
        verify(single.secret.clone(), "203.0.113.10", "/v1/customers/7").await;
        settle(&app).await;

        let review = || {
            let (client, org_id) = (&w.client, w.org_id.clone());
            async move { client.call::<Review>("key_review", &[("org_id", org_id.as_str())]).await.unwrap() }
        };
        let r = review().await;
        let shared: Vec<_> = r.findings.iter().filter(|f| f.kind == FindingKind::SharedByClients).collect();
        assert_eq!(shared.len(), 1, "only the key with two accepted clients: {:?}", r.findings);
        let f = shared[0];
        assert_eq!(f.key_id, key.key.key_id);
        assert!(f.reason.starts_with("Used from 2 client addresses in the last 30 days"), "{}", f.reason);
        let clients: Vec<(&str, i64, i64, Vec<&str>)> = f.clients.iter()
            .map(|c| (c.client_addr.as_str(), c.accepted, c.refused, c.scopes.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(clients, vec![
            ("203.0.113.10", 3, 0, vec!["records:read"]),
            ("203.0.113.20", 2, 0, vec!["customers:read"]),
            ("198.51.100.30", 0, 2, vec![]),
        ], "busiest first; the refused script gets no key");
        assert_eq!(f.clients[0].create_href(&key.key.key_id), format!("/keys/new?replace={}&client=203.0.113.10", key.key.key_id));

        // The form, filled in for the reporting job.
        let form = |client: &'static str| {
            let args = [("org_id", w.org_id.clone()), ("replace", key.key.key_id.clone()), ("client", client.to_owned())];
            let c = &w.client;
            async move {
                let pairs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.call::<KeyFormData>("key_form", &pairs).await
            }
        };
        let data = form("203.0.113.10").await.unwrap();
        let prefill = data.prefill.expect("filled in");
        assert_eq!(prefill.scopes, vec!["records:read".to_owned()]);
        assert_eq!(prefill.ip_allowlist, "203.0.113.10");
        assert_eq!(prefill.name, "Verified (203.0.113.10)");
        assert!(prefill.purpose.starts_with(&format!("Replaces {} for the client at 203.0.113.10.", key.key.display_id)), "{}", prefill.purpose);
        assert_eq!(prefill.replaces_key_id, key.key.key_id);
        assert_eq!(prefill.environment.as_str(), "sandbox");
        // A blank form has none.
        let blank: KeyFormData = w.client.call("key_form", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert!(blank.prefill.is_none());

        // A client that was only refused, a bad address, someone else's key.
        let err = form("198.51.100.30").await.unwrap_err();
        assert_eq!(err.status, 422, "{err:?}");
        assert!(err.error.message_for("client").unwrap().contains("no accepted requests"), "{err:?}");
        let err = form("203.0.113.999").await.unwrap_err();
        assert!(err.error.message_for("client").unwrap().contains("not a client address"), "{err:?}");
        let stranger = app.sign_up("stranger@shared.example", "Elsewhere").await;
        let theirs = stranger.me().await.unwrap().active_org_id.unwrap().to_string();
        let err = stranger.call::<KeyFormData>("key_form", &[("org_id", theirs.as_str()), ("replace", key.key.key_id.as_str()), ("client", "203.0.113.10")]).await.unwrap_err();
        assert_eq!(err.status, 404, "{err:?}");

        // Created as proposed, the key works for its client only.
        let created = crate::helpers::create_key(&w.client, &w.org_id, &[
            ("name", prefill.name.as_str()), ("purpose", prefill.purpose.as_str()),
            ("scopes", "records:read"), ("ip_allowlist", prefill.ip_allowlist.as_str()),
        ]).await.unwrap();
        assert_eq!(verify(created.secret.clone(), "203.0.113.10", "/v1/records/1").await["code"], "ok");
        assert_eq!(verify(created.secret.clone(), "203.0.113.20", "/v1/records/1").await["code"], "ip_denied");
        assert_eq!(verify(created.secret.clone(), "203.0.113.10", "/v1/customers/7").await["code"], "scope_denied");

        // The IPv4-mapped form of an address is that address.
        let mapped = form("::ffff:203.0.113.10").await.unwrap();
        assert_eq!(mapped.prefill.unwrap().client_addr, "203.0.113.10");

        // Accepted, it stays accepted for the same clients, whichever is
        // busiest; a new client reopens it.
        w.client.call::<()>("accept_finding", &[("key_id", key.key.key_id.as_str()), ("kind", "shared_by_clients"), ("note", "Two replicas of one service")]).await.unwrap();
        for _ in 0..4 {
            verify(key.secret.clone(), "203.0.113.20", "/v1/customers/7").await;
        }
        settle(&app).await;
        let r = review().await;
        let f = r.findings.iter().find(|f| f.kind == FindingKind::SharedByClients).unwrap();
        assert_eq!(f.clients[0].client_addr, "203.0.113.20", "now the busiest");
        assert!(f.accepted.is_some(), "the same clients in another order are the same finding");
        // A client whose requests name no scope is a client all the same:
        // its own key starts from the default scopes.
        let plain = http.post(app.url("/v1/verify")).bearer_auth(&w.gateway)
            .json(&json!({"key": key.secret, "client_ip": "203.0.113.50"}))
            .send().await.unwrap().json::<serde_json::Value>().await.unwrap();
        assert_eq!(plain["code"], "ok");
        settle(&app).await;
        let r = review().await;
        let f = r.findings.iter().find(|f| f.kind == FindingKind::SharedByClients).unwrap();
        assert!(f.accepted.is_none(), "a third client is a new finding");
        assert!(f.reason.starts_with("Used from 3 client addresses"), "{}", f.reason);
        let quiet = f.clients.iter().find(|c| c.client_addr == "203.0.113.50").unwrap();
        assert!(quiet.proposed() && quiet.scopes.is_empty(), "{quiet:?}");
        let prefill = form("203.0.113.50").await.unwrap().prefill.unwrap();
        assert_eq!(prefill.scopes, blank.default_scopes);

        // Narrowed so that the dashboard's scope is gone: the dashboard is
        // no longer offered a key, and its link says why.
        w.client.call::<()>("update_key", &[("key_id", key.key.key_id.as_str()), ("name", "Verified"), ("purpose", "Verification tests"), ("scopes[0]", "records:read")]).await.unwrap();
        let r = review().await;
        let f = r.findings.iter().find(|f| f.kind == FindingKind::SharedByClients).unwrap();
        assert!(f.reason.starts_with("Used from 2 client addresses"), "{}", f.reason);
        let dashboard = f.clients.iter().find(|c| c.client_addr == "203.0.113.20").unwrap();
        assert!(!dashboard.proposed());
        assert_eq!(dashboard.no_longer_held, vec!["customers:read".to_owned()]);
        let err = form("203.0.113.20").await.unwrap_err();
        assert!(err.error.message_for("client").unwrap().contains("no longer holds (customers:read)"), "{err:?}");
    }
}

/// Waits until every usage event taken so far is written (the writer
/// gathers for 50 ms).
async fn settle(app: &crate::helpers::TestApp) {
    for _ in 0..200 {
        let stats = app.state.usage.stats();
        if stats.written + stats.dropped >= stats.accepted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "usage events were not written: {:?}",
        app.state.usage.stats()
    );
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
