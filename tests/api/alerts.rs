//! Anomaly alerts, the hygiene review and traffic-aware rotation, fed with
//! real verifications through `/v1/verify`.

use crate::helpers::{TestApp, TestClient, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    api::{
        alerts::{AlertPage, AlertView},
        keys::CreatedKey,
        notifications::NotificationList,
        orgs::{MemberView, NewInvitation},
        review::{FindingKind, Review},
    },
    domain::{
        alerts::{AlertKind, AlertState},
        key_format::{ApiKey, Environment, KeyPrefix},
    },
    server::{alerts::detect, keys::quiet::retire_quiet, verify::gateway},
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

struct World {
    admin: TestClient,
    org_id: String,
    gateway: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.sign_up("admin@watch.example", "Watch Co").await;
    let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
    let gateway = gateway::create(&app.state, "gw-alerts", None)
        .await
        .unwrap()
        .token;
    World {
        admin,
        org_id,
        gateway,
    }
}

async fn create(client: &TestClient, org_id: &str, extra: &[(&str, &str)]) -> CreatedKey {
    let mut fields = vec![("name", "Watched"), ("purpose", "Alert tests")];
    fields.extend_from_slice(extra);
    crate::helpers::create_key(client, org_id, &fields)
        .await
        .unwrap()
}

/// Sends `n` verifications and waits until the usage pipeline wrote them.
async fn send(app: &TestApp, w: &World, n: usize, body: Value) -> String {
    let http = reqwest::Client::new();
    let mut code = String::new();
    for _ in 0..n {
        let res: Value = http
            .post(app.url("/v1/verify"))
            .bearer_auth(&w.gateway)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        code = res["code"].as_str().unwrap().to_owned();
    }
    for _ in 0..100 {
        let s = app.state.usage.stats();
        if s.queued == 0 && s.written == s.accepted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    code
}

async fn alerts(w: &World) -> Vec<AlertView> {
    let page: AlertPage = w
        .admin
        .call("org_alerts", &[("org_id", w.org_id.as_str())])
        .await
        .unwrap();
    page.items
}

fn kinds(list: &[AlertView]) -> Vec<(AlertKind, String)> {
    let mut k: Vec<(AlertKind, String)> =
        list.iter().map(|a| (a.kind, a.key_name.clone())).collect();
    k.sort_by_key(|(kind, name)| (kind.as_str(), name.clone()));
    k
}

on_both_databases! {
    async fn each_kind_fires_once_with_evidence_and_steady_traffic_raises_none(app) {
        let w = world(&app).await;
        let steady = create(&w.admin, &w.org_id, &[("name", "Steady")]).await;
        let fenced = create(&w.admin, &w.org_id, &[("name", "Fenced"), ("ip_allowlist", "203.0.113.0/24")]).await;
        let retired = create(&w.admin, &w.org_id, &[("name", "Retired")]).await;
        let guessed = create(&w.admin, &w.org_id, &[("name", "Guessed")]).await;

        // Steady normal traffic from the usual network: nothing.
        for addr in ["203.0.113.5", "203.0.113.9"] {
            send(&app, &w, 20, json!({"key": steady.secret, "scope": "records:read", "client_ip": addr})).await;
            send(&app, &w, 5, json!({"key": fenced.secret, "scope": "records:read", "client_ip": addr})).await;
            send(&app, &w, 5, json!({"key": retired.secret, "client_ip": addr})).await;
            detect::run(&app.state).await.unwrap();
            app.clock.advance(Duration::minutes(1));
        }
        assert!(alerts(&w).await.is_empty(), "{:?}", alerts(&w).await);

        // Each problem once.
        send(&app, &w, 2, json!({"key": steady.secret, "scope": "records:read", "client_ip": "198.51.100.7"})).await;
        send(&app, &w, 3, json!({"key": steady.secret, "scope": "payments:refund", "client_ip": "203.0.113.5"})).await;
        assert_eq!(send(&app, &w, 2, json!({"key": fenced.secret, "scope": "records:read", "client_ip": "192.0.2.44"})).await, "ip_denied");
        w.admin.call::<()>("revoke_key", &[("key_id", retired.key.key_id.as_str()), ("reason", "replaced")]).await.unwrap();
        assert_eq!(send(&app, &w, 1, json!({"key": retired.secret, "client_ip": "203.0.113.5"})).await, "revoked");
        let wrong = ApiKey::assemble(&KeyPrefix::default(), Environment::Sandbox, &guessed.key.key_id, &"a".repeat(22)).unwrap();
        send(&app, &w, 2, json!({"key": wrong.expose(), "client_ip": "192.0.2.99"})).await;
        let report = detect::run(&app.state).await.unwrap();
        assert_eq!(report.opened, 4, "two wrong secrets are below the threshold of 3");
        send(&app, &w, 1, json!({"key": wrong.expose(), "client_ip": "192.0.2.99"})).await;
        assert_eq!(detect::run(&app.state).await.unwrap().opened, 1);

        let list = alerts(&w).await;
        assert_eq!(kinds(&list), vec![
            (AlertKind::IpDenied, "Fenced".to_owned()),
            (AlertKind::NewNetwork, "Steady".to_owned()),
            (AlertKind::RetiredKeyUse, "Retired".to_owned()),
            (AlertKind::ScopeDenied, "Steady".to_owned()),
            (AlertKind::WrongSecret, "Guessed".to_owned()),
        ]);
        let get = |k: AlertKind| list.iter().find(|a| a.kind == k).unwrap();
        let evidence = |k: AlertKind| serde_json::from_str::<Value>(&get(k).evidence).unwrap();
        assert_eq!(evidence(AlertKind::NewNetwork)["network"], "198.51.100.0/24");
        assert_eq!(evidence(AlertKind::ScopeDenied)["scope"], "payments:refund");
        assert_eq!(get(AlertKind::ScopeDenied).count, 3);
        assert_eq!(evidence(AlertKind::IpDenied)["network"], "192.0.2.0/24");
        assert_eq!(evidence(AlertKind::RetiredKeyUse)["answered"], "revoked");
        assert_eq!(evidence(AlertKind::WrongSecret)["attempts_last_10_minutes"], 3);
        assert!(get(AlertKind::WrongSecret).summary.contains("wrong secret"));

        // More of the same adds to the alert; nobody is told twice.
        send(&app, &w, 4, json!({"key": steady.secret, "scope": "payments:refund", "client_ip": "203.0.113.5"})).await;
        send(&app, &w, 1, json!({"key": steady.secret, "scope": "records:read", "client_ip": "198.51.100.8"})).await;
        assert_eq!(detect::run(&app.state).await.unwrap().opened, 0);
        let list = alerts(&w).await;
        assert_eq!(list.len(), 5);
        assert_eq!(list.iter().find(|a| a.kind == AlertKind::ScopeDenied).unwrap().count, 7);
        let notes: NotificationList = w.admin.call("notifications", &[]).await.unwrap();
        assert_eq!(notes.items.iter().filter(|n| n.kind == "alert").count(), 5, "one notification per alert");

        // Acknowledge, resolve; a resolved alert reopens as a new one.
        let id = list.iter().find(|a| a.kind == AlertKind::ScopeDenied).unwrap().id.to_string();
        w.admin.call::<()>("set_alert_state", &[("id", &id), ("state", "acknowledged")]).await.unwrap();
        w.admin.call::<()>("set_alert_state", &[("id", &id), ("state", "resolved")]).await.unwrap();
        assert!(w.admin.call::<()>("set_alert_state", &[("id", &id), ("state", "resolved")]).await.is_err());
        assert_eq!(alerts(&w).await.len(), 4);
        send(&app, &w, 1, json!({"key": steady.secret, "scope": "payments:refund", "client_ip": "203.0.113.5"})).await;
        assert_eq!(detect::run(&app.state).await.unwrap().opened, 1);
        let on_key: Vec<AlertView> = w.admin.call("key_alerts", &[("key_id", steady.key.key_id.as_str())]).await.unwrap();
        let scope_alerts: Vec<AlertState> = on_key.iter().filter(|a| a.kind == AlertKind::ScopeDenied).map(|a| a.state).collect();
        assert_eq!(scope_alerts.len(), 2);
        assert!(scope_alerts.contains(&AlertState::Resolved) && scope_alerts.contains(&AlertState::Open));

        // A network unseen for 30 days is forgotten, and is news again.
        let pruned = {
            let mut conn = app.state.db.acquire().await.unwrap();
            portico::server::db::alerts::prune_networks(conn.conn(), app.clock.now() + Duration::days(31)).await.unwrap()
        };
        assert!(pruned >= 2, "{pruned}");

        // Another organisation sees none of it.
        let other = app.sign_up("boss@other.example", "Other").await;
        assert!(other.call::<Vec<AlertView>>("key_alerts", &[("key_id", steady.key.key_id.as_str())]).await.is_err());
        assert!(other.call::<()>("set_alert_state", &[("id", &id), ("state", "acknowledged")]).await.is_err());
    }

    async fn a_spike_fires_and_can_suspend_the_key(app) {
        let w = world(&app).await;
        w.admin.call::<()>("set_alert_settings", &[("org_id", w.org_id.as_str()), ("spike_factor", "5"), ("spike_floor", "30"), ("wrong_secret_threshold", "3"), ("auto_suspend_on_spike", "on")]).await.unwrap();
        let key = create(&w.admin, &w.org_id, &[]).await;
        send(&app, &w, 20, json!({"key": key.secret, "client_ip": "203.0.113.5"})).await;
        assert_eq!(detect::run(&app.state).await.unwrap().opened, 0, "below the floor");
        app.clock.advance(Duration::minutes(6));
        send(&app, &w, 40, json!({"key": key.secret, "client_ip": "203.0.113.5"})).await;
        let report = detect::run(&app.state).await.unwrap();
        assert_eq!((report.opened, report.suspended), (1, 1));
        let list = alerts(&w).await;
        assert_eq!(list[0].kind, AlertKind::Spike);
        assert_eq!(serde_json::from_str::<Value>(&list[0].evidence).unwrap()["last_5_minutes"], 40);
        assert_eq!(send(&app, &w, 1, json!({"key": key.secret, "client_ip": "203.0.113.5"})).await, "suspended");
    }

    async fn a_rotation_can_end_when_the_old_key_goes_quiet(app) {
        let w = world(&app).await;
        let old = create(&w.admin, &w.org_id, &[]).await;
        assert!(w.admin.call::<CreatedKey>("rotate_key", &[("key_id", old.key.key_id.as_str()), ("overlap", "24h"), ("quiet", "7")]).await.is_err());
        let new: CreatedKey = w.admin.call("rotate_key", &[("key_id", old.key.key_id.as_str()), ("overlap", "24h"), ("quiet", "15")]).await.unwrap();
        app.clock.advance(Duration::minutes(10));
        assert_eq!(send(&app, &w, 1, json!({"key": old.secret})).await, "ok");
        app.clock.advance(Duration::minutes(10));
        assert_eq!(retire_quiet(&app.state).await.unwrap(), 0, "used 10 minutes ago");
        app.clock.advance(Duration::minutes(6));
        assert_eq!(retire_quiet(&app.state).await.unwrap(), 1);
        assert_eq!(retire_quiet(&app.state).await.unwrap(), 0);
        assert_eq!(send(&app, &w, 1, json!({"key": old.secret})).await, "expired");
        assert_eq!(send(&app, &w, 1, json!({"key": new.secret})).await, "ok");
        w.admin.sign_in("admin@watch.example").await;
        let notes: NotificationList = w.admin.call("notifications", &[]).await.unwrap();
        assert!(notes.items.iter().any(|n| n.subject.contains("retired itself")));
    }

    async fn the_review_lists_every_seeded_problem_and_no_healthy_key(app) {
        let w = world(&app).await;
        let invite: NewInvitation = w.admin.call("create_invitation", &[("org_id", w.org_id.as_str()), ("role", "developer")]).await.unwrap();
        let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
        let dev = app.client();
        app.sign_up_with(&dev, &[("email", "leaver@watch.example"), ("password", GOOD_PASSWORD), ("invitation", &token)]).await.unwrap();

        let risky = create(&w.admin, &w.org_id, &[("name", "Risky"), ("environment", "production"), ("scopes", "records:read payments:refund"), ("confirm_high_risk", "on"), ("expiry", "365")]).await;
        let idle = create(&w.admin, &w.org_id, &[("name", "Idle"), ("expiry", "365")]).await;
        let broad = create(&w.admin, &w.org_id, &[("name", "Broad"), ("scopes", "records:read customers:read"), ("expiry", "365")]).await;
        app.clock.advance(Duration::days(100));
        w.admin.sign_in("admin@watch.example").await;
        dev.sign_in("leaver@watch.example").await;
        send(&app, &w, 3, json!({"key": broad.secret, "scope": "records:read"})).await;
        send(&app, &w, 1, json!({"key": risky.secret, "scope": "records:read"})).await;
        let healthy = create(&w.admin, &w.org_id, &[("name", "Healthy")]).await;
        send(&app, &w, 1, json!({"key": healthy.secret, "scope": "records:read"})).await;
        let expiring = create(&w.admin, &w.org_id, &[("name", "Expiring"), ("expiry", "7")]).await;
        send(&app, &w, 1, json!({"key": expiring.secret, "scope": "records:read"})).await;
        let orphan = create(&dev, &w.org_id, &[("name", "Orphan")]).await;
        send(&app, &w, 1, json!({"key": orphan.secret, "scope": "records:read"})).await;
        let gone = create(&w.admin, &w.org_id, &[("name", "Gone")]).await;
        w.admin.call::<()>("revoke_key", &[("key_id", gone.key.key_id.as_str()), ("reason", "replaced")]).await.unwrap();
        send(&app, &w, 2, json!({"key": gone.secret, "scope": "records:read"})).await;
        let members: Vec<MemberView> = w.admin.call::<portico::api::orgs::MemberPage>("members", &[("org_id", w.org_id.as_str())]).await.unwrap().items;
        let leaver = members.iter().find(|m| m.email == "leaver@watch.example").unwrap().user_id.to_string();
        w.admin.call::<usize>("remove_member", &[("org_id", w.org_id.as_str()), ("user_id", &leaver)]).await.unwrap();

        let review: Review = w.admin.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        let found: BTreeSet<(String, FindingKind)> = review.findings.iter().map(|f| (f.key_name.clone(), f.kind)).collect();
        let expected: BTreeSet<(String, FindingKind)> = [
            ("Risky", FindingKind::NotRotated),
            ("Risky", FindingKind::ProductionHighRisk),
            ("Risky", FindingKind::UnusedScopes),
            ("Idle", FindingKind::Unused),
            ("Broad", FindingKind::UnusedScopes),
            ("Expiring", FindingKind::ExpiringSoon),
            ("Orphan", FindingKind::NoOwner),
            ("Gone", FindingKind::RetiredKeyTraffic),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_owned(), k))
        .collect();
        assert_eq!(found, expected);
        assert!(review.findings.iter().all(|f| f.key_name != "Healthy"));
        let broad_finding = review.findings.iter().find(|f| f.key_name == "Broad").unwrap();
        assert!(broad_finding.reason.contains("customers:read") && !broad_finding.reason.contains("records:read"));

                // "Narrow to the scopes in use" is previewed: what stays, what goes.
        let preview = broad_finding.narrow.clone().expect("a preview");
        assert_eq!((preview.keep, preview.remove), (vec!["records:read".to_owned()], vec!["customers:read".to_owned()]));
        assert!(review.findings.iter().filter(|f| f.kind != FindingKind::UnusedScopes).all(|f| f.narrow.is_none()));
        // What was shown is what is done: no preview, or another one, is refused.
        let err = w.admin.call::<CreatedKey>("narrow_key", &[("key_id", broad.key.key_id.as_str())]).await.unwrap_err();
        assert!(err.error.message_for("keep").is_some(), "{err:?}");
        let err = w.admin.call::<CreatedKey>("narrow_key", &[("key_id", broad.key.key_id.as_str()), ("keep[0]", "customers:read"), ("overlap", "1h")]).await.unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        let err = w.admin.call::<CreatedKey>("narrow_key", &[("key_id", broad.key.key_id.as_str()), ("keep[0]", "records:read"), ("overlap", "3 weeks")]).await.unwrap_err();
        assert!(err.error.message_for("overlap").is_some(), "{err:?}");
        // Confirmed with the overlap chosen, it rotates into a smaller key.
        let narrowed: CreatedKey = w.admin.call("narrow_key", &[("key_id", broad.key.key_id.as_str()), ("keep[0]", "records:read"), ("overlap", "1h")]).await.unwrap();
        assert_eq!(narrowed.key.scopes, vec!["records:read".to_owned()]);
        assert_eq!(narrowed.replaces.as_ref().map(|r| r.1), Some(app.clock.now() + Duration::hours(1)), "the old key stops after the chosen overlap");
        assert_eq!(send(&app, &w, 1, json!({"key": narrowed.secret, "scope": "records:read"})).await, "ok");
        assert!(w.admin.call::<CreatedKey>("narrow_key", &[("key_id", idle.key.key_id.as_str()), ("keep[0]", "records:read")]).await.is_err(), "nothing used: revoke instead");

        // A finding an admin accepts is listed apart, with the note, until reopened.
        let risky_id = risky.key.key_id.as_str();
        let err = w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "production_high_risk"), ("note", "  ")]).await.unwrap_err();
        assert!(err.error.message_for("note").is_some(), "{err:?}");
        let err = w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "expiring_soon"), ("note", "fine")]).await.unwrap_err();
        assert_eq!(err.status, 409, "not a finding the review makes: {err:?}");
        let err = w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "made_up"), ("note", "fine")]).await.unwrap_err();
        assert!(err.error.message_for("kind").is_some(), "{err:?}");
        w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "production_high_risk"), ("note", "Refunds approved by security, ticket SEC-42")]).await.unwrap();
        let review: Review = w.admin.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        let accepted = review.findings.iter().find(|f| f.key_name == "Risky" && f.kind == FindingKind::ProductionHighRisk).unwrap();
        let acceptance = accepted.accepted.clone().expect("accepted");
        assert_eq!(acceptance.note, "Refunds approved by security, ticket SEC-42");
        assert_eq!(acceptance.by, "admin@watch.example");
        assert!(review.findings.iter().any(|f| f.key_name == "Risky" && f.kind == FindingKind::NotRotated && f.accepted.is_none()), "other findings stay open");
        let trail: portico::api::keys::AuditPage = w.admin.call("org_audit", &[("org_id", w.org_id.as_str())]).await.unwrap();
        let event = trail.entries.iter().find(|e| e.action == "finding_accepted").expect("audited");
        assert_eq!(event.reason.as_deref(), Some("Refunds approved by security, ticket SEC-42"));
        w.admin.call::<()>("reopen_finding", &[("key_id", risky_id), ("kind", "production_high_risk")]).await.unwrap();
        let review: Review = w.admin.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert!(review.findings.iter().all(|f| f.accepted.is_none()));
                let err = w.admin.call::<()>("reopen_finding", &[("key_id", risky_id), ("kind", "production_high_risk")]).await.unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        // An acceptance holds for what was accepted: once the key's scopes
        // change, the finding is about something else and open again.
        w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "production_high_risk"), ("note", "Approved for refunds")]).await.unwrap();
        w.admin.call::<()>("update_key", &[("key_id", risky_id), ("name", "Risky"), ("purpose", "Refunds"), ("scopes[0]", "payments:refund")]).await.unwrap();
        let review: Review = w.admin.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        let again = review.findings.iter().find(|f| f.key_name == "Risky" && f.kind == FindingKind::ProductionHighRisk).unwrap();
        assert!(again.accepted.is_none(), "a new occurrence is open");
        // Notes are checked like reasons: not empty-looking, no control characters.
        for bad in ["\u{200b}\u{a0}", "ok", "fine\u{0}\u{1b}[31m"] {
            let err = w.admin.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "production_high_risk"), ("note", bad)]).await.unwrap_err();
            assert!(err.error.message_for("note").is_some(), "{bad:?}: {err:?}");
        }
        // Another organisation's admin knows nothing of the key.
        let stranger = app.sign_up("admin@stranger.example", "Stranger").await;
        let err = stranger.call::<()>("accept_finding", &[("key_id", risky_id), ("kind", "production_high_risk"), ("note", "mine now")]).await.unwrap_err();
        assert_eq!(err.status, 404, "{err:?}");
        // The organisation's own rotation interval counts.
        w.admin.call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "365"), ("default_expiry_days", "90"), ("developer_environments[0]", "sandbox"), ("developer_environments[1]", "production"), ("rotate_low_risk_days", "60")]).await.unwrap();
        let review: Review = w.admin.call("key_review", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert!(review.findings.iter().any(|f| f.key_name == "Idle" && f.kind == FindingKind::NotRotated));
        assert!(!review.findings.iter().any(|f| f.key_name == "Healthy"));
        // Developers cannot read the review.
        let dev2 = app.sign_up("solo@else.example", "Else").await;
        assert!(dev2.call::<Review>("key_review", &[("org_id", w.org_id.as_str())]).await.is_err());
    }

    async fn the_alerts_list_is_paged_by_cursor_and_stable_under_new_alerts(app) {
        use portico::server::db::{alerts::{self, NewAlert}, api_keys};
        let w = world(&app).await;
        let key = create(&w.admin, &w.org_id, &[]).await;
        let mut conn = app.state.db.acquire().await.unwrap();
        let key_row = api_keys::find_by_key_id(conn.conn(), &key.key.key_id).await.unwrap().unwrap();
        let start = app.clock.now();
        let open = |i: i64| NewAlert {
            org_id: key_row.org_id,
            key_id: key_row.id,
            kind: "scope_denied",
            fingerprint: "",
            at: start + Duration::seconds(i),
            count: 1,
            evidence: "{}",
        };
        let mut ids = Vec::new();
        for i in 0..55 {
            let fingerprint = format!("scope-{i}");
            ids.push(alerts::insert(conn.conn(), &NewAlert { fingerprint: &fingerprint, ..open(i) }).await.unwrap());
        }
        drop(conn);
        let page = |query: Vec<(&'static str, String)>| {
            let admin = &w.admin;
            let org = w.org_id.clone();
            async move {
                let mut form = vec![("org_id", org)];
                form.extend(query);
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.call::<AlertPage>("org_alerts", &form).await.unwrap()
            }
        };
        let newest_first: Vec<i64> = ids.iter().rev().copied().collect();
        let one = page(vec![]).await;
        assert_eq!((one.total, one.first, one.items.len()), (55, 1, 50));
        assert_eq!(one.items.iter().map(|a| a.id).collect::<Vec<_>>(), newest_first[..50]);
        assert_eq!((one.previous_before, one.next_after), (None, Some(newest_first[49])));
        // A new alert shifts no page.
        let mut conn = app.state.db.acquire().await.unwrap();
        let newest = alerts::insert(conn.conn(), &NewAlert { fingerprint: "late", ..open(100) }).await.unwrap();
        drop(conn);
        let two = page(vec![("after", newest_first[49].to_string())]).await;
        assert_eq!(two.items.iter().map(|a| a.id).collect::<Vec<_>>(), newest_first[50..]);
        assert_eq!((two.total, two.first, two.next_after), (56, 52, None));
        let back = page(vec![("before", two.previous_before.unwrap().to_string())]).await;
        assert_eq!(back.items.iter().map(|a| a.id).collect::<Vec<_>>(), newest_first[..50]);
        assert_eq!(back.previous_before, Some(newest_first[0]));
        let top = page(vec![("before", newest_first[0].to_string())]).await;
        assert_eq!((top.first, top.items.len(), top.items[0].id), (1, 50, newest));
        assert_eq!(top.previous_before, None);
        // Another organisation's alert as a cursor starts at the top, and
        // its alerts are never listed here.
        let other = app.sign_up("other@watch.example", "Elsewhere").await;
        let other_org = other.me().await.unwrap().active_org_id.unwrap().to_string();
        let theirs: AlertPage = other.call("org_alerts", &[("org_id", other_org.as_str()), ("after", &newest.to_string())]).await.unwrap();
        assert_eq!((theirs.total, theirs.items.len()), (0, 0));
        let mine = page(vec![("after", "999999".to_owned())]).await;
        assert_eq!(mine.first, 1);
    }

    async fn use_of_a_rotated_out_key_can_suspend_its_successor(app) {
        let w = world(&app).await;
        w.admin.call::<()>("set_alert_settings", &[("org_id", w.org_id.as_str()), ("spike_factor", "5"), ("spike_floor", "100"), ("wrong_secret_threshold", "3"), ("auto_suspend_on_retired_use", "on")]).await.unwrap();
        let old = create(&w.admin, &w.org_id, &[]).await;
        let new: CreatedKey = w.admin.call("rotate_key", &[("key_id", old.key.key_id.as_str()), ("overlap", "immediate")]).await.unwrap();
        assert_eq!(send(&app, &w, 1, json!({"key": new.secret})).await, "ok");
        assert_eq!(send(&app, &w, 1, json!({"key": old.secret, "client_ip": "192.0.2.8"})).await, "expired");
        let report = detect::run(&app.state).await.unwrap();
        assert_eq!((report.opened, report.suspended), (1, 1));
        assert_eq!(send(&app, &w, 1, json!({"key": new.secret})).await, "suspended");
        let detail: portico::api::keys::KeyDetail = w.admin.call("get_key", &[("key_id", new.key.key_id.as_str())]).await.unwrap();
        let s = detail.suspension.unwrap();
        assert_eq!(s.by, "Portico (automatically)");
        assert!(s.reason.starts_with("Automatic:"), "{}", s.reason);
        assert_eq!(detail.audit[0].actor, "system");
        // Without the policy, the alert alone.
        let quiet = create(&w.admin, &w.org_id, &[("name", "Other")]).await;
        w.admin.call::<()>("set_alert_settings", &[("org_id", w.org_id.as_str()), ("spike_factor", "5"), ("spike_floor", "100"), ("wrong_secret_threshold", "3")]).await.unwrap();
        let next: CreatedKey = w.admin.call("rotate_key", &[("key_id", quiet.key.key_id.as_str()), ("overlap", "immediate")]).await.unwrap();
        send(&app, &w, 1, json!({"key": quiet.secret})).await;
        assert_eq!(detect::run(&app.state).await.unwrap().suspended, 0);
        assert_eq!(send(&app, &w, 1, json!({"key": next.secret})).await, "ok");
    }
}
