//! The key lifecycle over HTTP: create, list, rotate, retire, revoke, edit,
//! expiry, authorisation and the audit trail.

use crate::helpers::{CallError, TestApp, TestClient, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    api::{
        keys::{AuditPage, CreatedKey, KeyDetail, KeyFormData, KeyPage, KeySummary},
        orgs::NewInvitation,
    },
    domain::{
        key_format::{ApiKey, Environment, KeyPrefix},
        keys::KeyStatus,
    },
    error::AppError,
    server::{keys::record_expiries, secrets::key_hash},
};
use reqwest::StatusCode;

/// A signed-in admin of a fresh organisation, and the organisation's id.
async fn admin(app: &TestApp, email: &str, org: &str) -> (TestClient, String) {
    let client = app.sign_up(email, org).await;
    let org_id = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();
    (client, org_id)
}

/// Signs up `email` through an invitation to `org_id` as `role`.
async fn invited(
    app: &TestApp,
    admin: &TestClient,
    org_id: &str,
    email: &str,
    role: &str,
) -> TestClient {
    let invite: NewInvitation = admin
        .call("create_invitation", &[("org_id", org_id), ("role", role)])
        .await
        .unwrap();
    let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
    let client = app.client();
    app.sign_up_with(
        &client,
        &[
            ("email", email),
            ("password", GOOD_PASSWORD),
            ("invitation", &token),
        ],
    )
    .await
    .unwrap();
    client
}

/// Creates a key through the form's server function; `extra` overrides or
/// adds fields.
async fn create(
    client: &TestClient,
    org_id: &str,
    extra: &[(&str, &str)],
) -> Result<CreatedKey, CallError> {
    let form: KeyFormData = client
        .call("key_form", &[("org_id", org_id)])
        .await
        .unwrap();
    let mut fields: Vec<(String, String)> = vec![
        ("org_id".into(), org_id.into()),
        ("request_token".into(), form.request_token.clone()),
        ("name".into(), "Billing sync".into()),
        ("purpose".into(), "Nightly export of invoices".into()),
        ("service".into(), "invoice-worker".into()),
        ("environment".into(), "sandbox".into()),
        ("expiry".into(), "90".into()),
    ];
    // The scopes as a browser sends ticked boxes: indexed by catalog position.
    for (i, scope) in form.catalog.scopes.iter().enumerate() {
        if form.default_scopes.contains(&scope.name) && !extra.iter().any(|(k, _)| *k == "scopes") {
            fields.push((format!("scopes[{i}]"), scope.name.clone()));
        }
    }
    for (k, v) in extra {
        fields.retain(|(fk, _)| fk != k);
        if *k == "scopes" {
            for (j, scope) in v.split_whitespace().enumerate() {
                fields.push((format!("scopes[{j}]"), scope.to_owned()));
            }
        } else {
            fields.push(((*k).into(), (*v).into()));
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.call("create_key", &pairs).await
}

async fn detail(client: &TestClient, key_id: &str) -> Result<KeyDetail, CallError> {
    client.call("get_key", &[("key_id", key_id)]).await
}

async fn page(client: &TestClient, org_id: &str, query: &[(&str, &str)]) -> KeyPage {
    let mut form = vec![("org_id", org_id)];
    form.extend_from_slice(query);
    client.call("list_keys", &form).await.unwrap()
}

async fn list(client: &TestClient, org_id: &str, query: &[(&str, &str)]) -> Vec<KeySummary> {
    page(client, org_id, query).await.items
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, CallError>) {
    let err = result.unwrap_err();
    assert_eq!(err.status, StatusCode::NOT_FOUND, "{:?}", err.error);
    assert!(matches!(err.error, AppError::NotFound(_)));
}

fn key_regex_matches(secret: &str) -> bool {
    // The README's regex, checked by hand: prt_(test|live)_ then 38 base62.
    let Some(rest) = secret
        .strip_prefix("prt_test_")
        .or_else(|| secret.strip_prefix("prt_live_"))
    else {
        return false;
    };
    rest.len() == 38 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

on_both_databases! {
    async fn a_sandbox_key_with_the_default_scopes_is_created_and_shown_once(app) {
        let (client, org_id) = admin(&app, "owner@keys.example", "Keys Inc").await;
        let created = create(&client, &org_id, &[]).await.unwrap();
        assert!(key_regex_matches(&created.secret), "{}", created.secret);
        let parsed = ApiKey::parse(&created.secret, &KeyPrefix::default()).unwrap();
        assert_eq!(parsed.key_id(), created.key.key_id);
        assert_eq!(created.key.environment, Environment::Sandbox);
        assert_eq!(created.key.status, KeyStatus::Active);
        assert_eq!(created.key.display_id, format!("prt_test_{}", created.key.key_id));
        assert!(created.key.scopes.iter().all(|s| s.ends_with(":read")));
        assert_eq!(created.key.expires_at, app.clock.now() + Duration::days(90));
        assert_eq!(created.key.last_used_at, None);

        // Only the HMAC is stored, and later reads never carry the secret.
        let mut conn = app.state.db.acquire().await.unwrap();
        let row = portico::server::db::api_keys::find_by_key_id(conn.conn(), &created.key.key_id).await.unwrap().unwrap();
        assert_ne!(row.secret_hash, created.secret);
        assert!(key_hash::key_matches(&app.state.secret, &created.secret, &row.secret_hash));
        let page = detail(&client, &created.key.key_id).await.unwrap();
        assert!(!format!("{page:?}").contains(&created.secret));
        let keys = list(&client, &org_id, &[]).await;
        assert!(!format!("{keys:?}").contains(&created.secret));
        assert_eq!(page.audit.len(), 1);
        assert_eq!(page.audit[0].action, "created");
        assert_eq!(page.audit[0].actor, "owner@keys.example");
        assert_eq!(page.audit[0].client_addr.as_deref(), Some("127.0.0.1"));
    }

    async fn a_rotating_key_shows_one_expiry_everywhere(app) {
        let (client, org_id) = admin(&app, "expiry@keys.example", "One Expiry").await;
        let created = create(&client, &org_id, &[("expiry", "90")]).await.unwrap();
        let old_id = created.key.key_id.clone();
        client
            .call::<CreatedKey>("rotate_key", &[("key_id", &old_id), ("overlap", "24h")])
            .await
            .unwrap();
        let page = detail(&client, &old_id).await.unwrap();
        let ends = page.summary.rotating_until.expect("rotating");
        assert!(ends < app.clock.now() + chrono::Duration::hours(25));
        assert_eq!(page.summary.expires_at, ends, "the detail shows when it really stops");
        let keys = list(&client, &org_id, &[]).await;
        let listed = keys.iter().find(|k| k.key_id == old_id).unwrap();
        assert_eq!(listed.expires_at, ends, "and so does the list");
        let (status, _, json) = client.get(&format!("/exports/keys.json?org_id={org_id}")).await;
        assert_eq!(status, StatusCode::OK);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        let exported = rows.iter().find(|r| r["key_id"].as_str() == Some(old_id.as_str())).unwrap();
        let exported: chrono::DateTime<chrono::Utc> = serde_json::from_value(exported["expires_at"].clone()).unwrap();
        assert_eq!(exported, ends, "and so does the export");
    }

    async fn the_plaintext_secret_is_nowhere_in_the_database(app) {
        let (client, org_id) = admin(&app, "leak@keys.example", "Leak Check").await;
        let created = create(&client, &org_id, &[]).await.unwrap();
        let rotated: CreatedKey = client
            .call("rotate_key", &[("key_id", &created.key.key_id), ("overlap", "1h")])
            .await
            .unwrap();
        let mut conn = app.state.db.acquire().await.unwrap();
        for secret in [&created.secret, &rotated.secret] {
            // The secret body is what matters; look for it in every text column.
            let body = &secret[9..];
            let hits: i64 = portico::on_conn!(conn.conn(), |c| {
                sqlx::query_scalar(
                    "select count(*) from (
                        select name || purpose || service || scopes || ip_allowlist || secret_hash || coalesce(create_token, '') as t from api_keys
                        union all select coalesce(details, '') || coalesce(reason, '') from audit_events
                        union all select cast(data as text) from sessions
                     ) s where t like $1",
                )
                .bind(format!("%{body}%"))
                .fetch_one(c)
                .await
                .unwrap()
            });
            assert_eq!(hits, 0, "the secret was found in the database");
        }
    }

    async fn a_double_submitted_create_makes_one_key(app) {
        let (client, org_id) = admin(&app, "twice@keys.example", "Twice").await;
        let form: KeyFormData = client.call("key_form", &[("org_id", &org_id)]).await.unwrap();
        let fields = [
            ("org_id", org_id.as_str()),
            ("request_token", form.request_token.as_str()),
            ("name", "Double"),
            ("purpose", "Double submit"),
            ("environment", "sandbox"),
            ("scopes[0]", "records:read"),
        ];
        let (a, b) = tokio::join!(
            client.call::<CreatedKey>("create_key", &fields),
            client.call::<CreatedKey>("create_key", &fields)
        );
        assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
        let loser = a.err().or(b.err()).unwrap();
        assert_eq!(loser.status, StatusCode::CONFLICT);
        assert!(loser.error.to_string().contains("already submitted"));
        assert_eq!(list(&client, &org_id, &[]).await.len(), 1);
    }

    async fn every_bad_field_is_reported_and_nothing_is_created(app) {
        let (client, org_id) = admin(&app, "bad@keys.example", "Bad Fields").await;
        let err = create(
            &client,
            &org_id,
            &[
                ("name", " "),
                ("purpose", ""),
                ("environment", "staging"),
                ("scopes", "records:read nukes:launch"),
                ("expiry", "400"),
                ("ip_allowlist", "10.0.0.1/8, banana"),
            ],
        )
        .await
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        for field in ["name", "purpose", "environment", "scopes", "expiry", "ip_allowlist"] {
            assert!(err.error.message_for(field).is_some(), "no error for {field}: {:?}", err.error);
        }
        assert!(err.error.message_for("scopes").unwrap().contains("nukes:launch"));
        assert!(err.error.message_for("ip_allowlist").unwrap().contains("banana"));
        assert!(list(&client, &org_id, &[]).await.is_empty());
        let none = create(&client, &org_id, &[("scopes", "")]).await.unwrap_err();
        assert!(none.error.message_for("scopes").unwrap().contains("at least one"));
    }

    async fn high_risk_scopes_need_a_confirmation(app) {
        let (client, org_id) = admin(&app, "risky@keys.example", "Risky").await;
        let scopes = ("scopes", "payments:read payments:refund");
        let err = create(&client, &org_id, &[("environment", "production"), scopes]).await.unwrap_err();
        assert!(err.error.message_for("confirm_high_risk").unwrap().contains("payments:refund"));
        let created = create(&client, &org_id, &[("environment", "production"), scopes, ("confirm_high_risk", "true")])
            .await
            .unwrap();
        assert!(created.secret.starts_with("prt_live_"));
        assert_eq!(created.key.environment, Environment::Production);
        let page = detail(&client, &created.key.key_id).await.unwrap();
        assert_eq!(page.high_risk_scopes, vec!["payments:refund"]);
    }

    async fn expiry_dates_and_allowlists_are_kept(app) {
        let (client, org_id) = admin(&app, "dates@keys.example", "Dates").await;
        let date = (app.clock.now() + Duration::days(30)).format("%Y-%m-%d").to_string();
        let created = create(&client, &org_id, &[("expiry", "date"), ("expiry_date", &date), ("ip_allowlist", "203.0.113.7\n2001:db8::/32")])
            .await
            .unwrap();
        assert_eq!(created.key.expires_at.format("%Y-%m-%d %H:%M:%S").to_string(), format!("{date} 23:59:59"));
        let page = detail(&client, &created.key.key_id).await.unwrap();
        assert_eq!(page.ip_allowlist, vec!["203.0.113.7/32", "2001:db8::/32"]);
    }

    async fn developers_see_and_touch_only_their_own_keys_and_admins_all(app) {
        let (boss, org_id) = admin(&app, "boss@team.example", "Team").await;
        let alice = invited(&app, &boss, &org_id, "alice@team.example", "developer").await;
        let bob = invited(&app, &boss, &org_id, "bob@team.example", "developer").await;
        let alices = create(&alice, &org_id, &[("name", "Alice's key")]).await.unwrap();
        let bobs = create(&bob, &org_id, &[("name", "Bob's key")]).await.unwrap();

        let seen: Vec<String> = list(&alice, &org_id, &[]).await.into_iter().map(|k| k.name).collect();
        assert_eq!(seen, vec!["Alice's key"]);
        let seen: Vec<String> = list(&boss, &org_id, &[]).await.into_iter().map(|k| k.name).collect();
        assert_eq!(seen, vec!["Bob's key", "Alice's key"]);

        let id = bobs.key.key_id.as_str();
        assert_not_found(detail(&alice, id).await);
        assert_not_found(alice.call::<CreatedKey>("rotate_key", &[("key_id", id)]).await);
        assert_not_found(alice.call::<()>("retire_key", &[("key_id", id)]).await);
        assert_not_found(alice.call::<()>("revoke_key", &[("key_id", id), ("reason", "mine now")]).await);
        assert_not_found(
            alice
                .call::<()>("update_key", &[("key_id", id), ("name", "Hijacked"), ("purpose", "x"), ("scopes[0]", "records:read")])
                .await,
        );
        assert_eq!(detail(&bob, id).await.unwrap().summary.status, KeyStatus::Active);

        // The admin can act on any key of the organisation.
        boss.call::<()>("revoke_key", &[("key_id", &alices.key.key_id), ("reason", "Alice left the project")])
            .await
            .unwrap();
        let page = detail(&alice, &alices.key.key_id).await.unwrap();
        assert_eq!(page.summary.status, KeyStatus::Revoked);
        assert_eq!(page.revoked_by.as_deref(), Some("boss@team.example"));
        // Developers cannot read the organisation's audit trail.
        let err = alice.call::<AuditPage>("org_audit", &[("org_id", &org_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
    }

    async fn every_key_call_about_another_organisations_key_answers_not_found(app) {
        let (a, a_org) = admin(&app, "a@orgs.example", "Org A").await;
        let (b, b_org) = admin(&app, "b@orgs.example", "Org B").await;
        let b_key = create(&b, &b_org, &[]).await.unwrap();
        let id = b_key.key.key_id.as_str();

        assert_not_found(detail(&a, id).await);
        assert_not_found(a.call::<CreatedKey>("rotate_key", &[("key_id", id), ("overlap", "24h")]).await);
        assert_not_found(a.call::<()>("retire_key", &[("key_id", id)]).await);
        assert_not_found(a.call::<()>("revoke_key", &[("key_id", id), ("reason", "not mine")]).await);
        assert_not_found(
            a.call::<()>("update_key", &[("key_id", id), ("name", "x"), ("purpose", "x"), ("scopes[0]", "records:read")]).await,
        );
        assert_not_found(a.call::<KeyPage>("list_keys", &[("org_id", &b_org)]).await);
        assert_not_found(a.call::<KeyFormData>("key_form", &[("org_id", &b_org)]).await);
        assert_not_found(a.call::<AuditPage>("org_audit", &[("org_id", &b_org)]).await);
        let direct = a
            .call::<CreatedKey>(
                "create_key",
                &[("org_id", &b_org), ("request_token", "t"), ("name", "x"), ("purpose", "x"), ("environment", "sandbox"), ("scopes[0]", "records:read")],
            )
            .await;
        assert_not_found(direct);
        // Malformed and unknown ids get the same answer.
        assert_not_found(detail(&a, "nope").await);
        assert_not_found(detail(&a, "ZZZZZZZZZZ").await);
        // B's key is untouched.
        assert_eq!(detail(&b, id).await.unwrap().summary.status, KeyStatus::Active);
        // And A's own inventory does not include it.
        assert!(list(&a, &a_org, &[]).await.is_empty());
    }

    async fn the_inventory_is_paged_by_cursor_and_stable_under_inserts(app) {
        let (client, org_id) = admin(&app, "pages@keys.example", "Pages").await;
        let mut made = Vec::new();
        for i in 0..60 {
            let expiry = if i % 2 == 0 { "30" } else { "90" };
            made.push(create(&client, &org_id, &[("name", &format!("Key {i:02}")), ("expiry", expiry)]).await.unwrap());
            app.clock.advance(Duration::seconds(1));
        }
        let ids = |keys: &[KeySummary]| keys.iter().map(|k| k.key_id.clone()).collect::<Vec<_>>();
        let newest_first: Vec<String> = made.iter().rev().map(|k| k.key.key_id.clone()).collect();

        let one = page(&client, &org_id, &[]).await;
        assert_eq!((one.total, one.first, one.items.len()), (60, 1, 50));
        assert_eq!(ids(&one.items), newest_first[..50]);
        assert_eq!(one.previous_before, None);
        let after = one.next_after.clone().expect("a second page");
        assert_eq!(after, newest_first[49]);

        // A key created meanwhile shifts no page: the second page is the rest.
        let late = create(&client, &org_id, &[("name", "Late")]).await.unwrap();
        let two = page(&client, &org_id, &[("after", &after)]).await;
        assert_eq!(ids(&two.items), newest_first[50..]);
        assert_eq!((two.total, two.first, two.next_after.as_deref()), (61, 52, None));
        // Back from it: the fifty keys before it, then the late key at the top.
        let back = page(&client, &org_id, &[("before", two.previous_before.as_deref().unwrap())]).await;
        assert_eq!(ids(&back.items), newest_first[..50]);
        assert_eq!(back.first, 2);
        let top = page(&client, &org_id, &[("before", back.previous_before.as_deref().unwrap())]).await;
        assert_eq!(top.items[0].key_id, late.key.key_id);
        assert_eq!((top.first, top.previous_before.as_deref()), (1, None));

        // Filters and sorts page the same way.
        for key in &made[..3] {
            client.call::<()>("revoke_key", &[("key_id", key.key.key_id.as_str()), ("reason", "paging test")]).await.unwrap();
        }
        let revoked = page(&client, &org_id, &[("status", "revoked")]).await;
        assert_eq!((revoked.total, revoked.items.len(), revoked.next_after.as_deref()), (3, 3, None));
        let by_expiry = page(&client, &org_id, &[("sort", "expiry")]).await;
        assert!(by_expiry.items.windows(2).all(|w| w[0].expires_at <= w[1].expires_at));
        let rest = page(&client, &org_id, &[("sort", "expiry"), ("after", by_expiry.next_after.as_deref().unwrap())]).await;
        assert_eq!(rest.items.len(), 11);
        assert!(by_expiry.items.last().unwrap().expires_at <= rest.items[0].expires_at);
        let mut seen = ids(&by_expiry.items);
        seen.extend(ids(&rest.items));
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 61, "every key exactly once");
        // Never-used keys sort last by last use, newest first among them,
        // and the pages still hold every key once.
        let used = page(&client, &org_id, &[("sort", "last_used")]).await;
        let more = page(&client, &org_id, &[("sort", "last_used"), ("after", used.next_after.as_deref().unwrap())]).await;
        let mut all = ids(&used.items);
        all.extend(ids(&more.items));
        assert_eq!(all.len(), 61);
        assert_eq!(all[0], late.key.key_id);
        assert_eq!((more.first, more.next_after.as_deref()), (51, None));

        // A cursor naming no key this person sees starts at the top.
        let stranger = page(&client, &org_id, &[("after", "ZZZZZZZZZZ")]).await;
        assert_eq!((stranger.first, stranger.items[0].key_id.as_str()), (1, late.key.key_id.as_str()));
        // A developer pages through their own keys only.
        let dev = invited(&app, &client, &org_id, "pager-dev@keys.example", "developer").await;
        create(&dev, &org_id, &[("name", "Mine")]).await.unwrap();
        let own = page(&dev, &org_id, &[]).await;
        assert_eq!((own.total, own.items.len()), (1, 1));
        let probe = page(&dev, &org_id, &[("after", &newest_first[0])]).await;
        assert_eq!(probe.total, 1, "another's key as a cursor reveals nothing");
    }

    async fn inventory_status_matches_the_domain_rule(app) {
        // Every combination of a key's standing, told apart by the SQL the
        // inventory filters and counts with and by `KeyStatus::of`.
        use portico::domain::keys::{Approval, KeyStatus};
        use portico::server::db::api_keys;
        let (client, org_id) = admin(&app, "rule@keys.example", "Rule").await;
        let template = create(&client, &org_id, &[]).await.unwrap();
        let now = app.clock.now();
        let (past, future) = (now - Duration::hours(1), now + Duration::hours(1));
        let mut conn = app.state.db.acquire().await.unwrap();
        let row = api_keys::find_by_key_id(conn.conn(), &template.key.key_id).await.unwrap().unwrap();
        let mut n = 0;
        for revoked in [None, Some(past)] {
            for approval in [Approval::NotRequired, Approval::Pending, Approval::Approved, Approval::Rejected] {
                for expires in [past, future, now] {
                    for rotating in [None, Some(past), Some(future), Some(now)] {
                        for suspension in [None, Some((past, None)), Some((past, Some(past))), Some((past, Some(future))), Some((past, Some(now)))] {
                            n += 1;
                            let key_id = format!("r{n:09}");
                            let hash = format!("{n:064x}");
                            let id = api_keys::insert(conn.conn(), &api_keys::NewKey {
                                key_id: &key_id, org_id: row.org_id, owner_id: row.owner_id, created_by: row.owner_id,
                                name: "Rule", purpose: "Rule", service: "", environment: row.environment,
                                scopes: "records:read", ip_allowlist: "", secret_hash: &hash,
                                created_at: now - Duration::days(1), expires_at: expires, predecessor_id: None,
                                create_token: None, rate_limit_per_minute: 60, monthly_quota: None, approval,
                            }).await.unwrap();
                            let (suspended_at, suspended_until) = suspension.map_or((None, None), |(at, until)| (Some(at), until));
                            portico::on_conn!(conn.conn(), |c| sqlx::query(
                                "update api_keys set revoked_at = $2, rotating_until = $3, suspended_at = $4, suspended_until = $5 where id = $1")
                                .bind(id).bind(revoked).bind(rotating).bind(suspended_at).bind(suspended_until)
                                .execute(c).await.map(|_| ())).unwrap();
                        }
                    }
                }
            }
        }
        let by_sql = api_keys::statuses_by_sql(conn.conn(), row.org_id, now).await.unwrap();
        assert_eq!(by_sql.len(), n + 1);
        let mut seen = std::collections::HashSet::new();
        for (id, sql_status) in by_sql {
            let key = api_keys::find(conn.conn(), id).await.unwrap().unwrap();
            let rule = KeyStatus::of(&key.standing, now);
            assert_eq!(sql_status, rule.as_str(), "key {id}: {:?}", key.standing);
            seen.insert(rule);
        }
        assert_eq!(seen.len(), KeyStatus::ALL.len(), "every status is exercised");
    }

    async fn rotation_keeps_both_keys_working_through_the_overlap(app) {
        let (client, org_id) = admin(&app, "rotor@keys.example", "Rotor").await;
        let old = create(&client, &org_id, &[("expiry", "30"), ("ip_allowlist", "198.51.100.0/24")]).await.unwrap();
        let new: CreatedKey = client
            .call("rotate_key", &[("key_id", &old.key.key_id), ("overlap", "24h")])
            .await
            .unwrap();
        assert_ne!(new.secret, old.secret);
        assert!(key_regex_matches(&new.secret));
        assert_eq!(new.key.name, old.key.name);
        assert_eq!(new.key.scopes, old.key.scopes);
        assert_eq!(new.key.environment, old.key.environment);
        assert_eq!(new.key.expires_at, app.clock.now() + Duration::days(30), "same lifetime, from now");

        let keys = list(&client, &org_id, &[]).await;
        assert_eq!(keys.len(), 2);
        let old_now = detail(&client, &old.key.key_id).await.unwrap();
        assert_eq!(old_now.summary.status, KeyStatus::Rotating);
        assert_eq!(old_now.summary.rotating_until, Some(app.clock.now() + Duration::hours(24)));
        let chain: Vec<&str> = old_now.chain.iter().map(|l| l.key_id.as_str()).collect();
        assert_eq!(chain, vec![old.key.key_id.as_str(), new.key.key_id.as_str()]);
        let new_page = detail(&client, &new.key.key_id).await.unwrap();
        assert_eq!(new_page.ip_allowlist, vec!["198.51.100.0/24"]);
        assert!(new_page.audit[0].details.as_deref().unwrap().contains(&old.key.display_id));
        assert_eq!(old_now.audit[0].action, "rotated");

        // Rotating the old key again is a clear error.
        let again = client.call::<CreatedKey>("rotate_key", &[("key_id", &old.key.key_id)]).await.unwrap_err();
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.error.to_string().contains("already been rotated"));

        // When the overlap ends, the old key expires; its expiry is recorded once.
        app.clock.advance(Duration::hours(24));
        client.sign_in("rotor@keys.example").await;
        assert_eq!(detail(&client, &old.key.key_id).await.unwrap().summary.status, KeyStatus::Expired);
        assert_eq!(record_expiries(&app.state).await.unwrap(), 1);
        assert_eq!(record_expiries(&app.state).await.unwrap(), 0);
        let page = detail(&client, &old.key.key_id).await.unwrap();
        assert_eq!(page.audit[0].action, "expired");
        assert_eq!(page.audit[0].actor, "system");
        assert_eq!(page.audit[0].details.as_deref(), Some("Its rotation overlap ended"));
    }

    async fn retiring_ends_the_overlap_at_once(app) {
        let (client, org_id) = admin(&app, "retire@keys.example", "Retire").await;
        let old = create(&client, &org_id, &[]).await.unwrap();
        let err = client.call::<()>("retire_key", &[("key_id", &old.key.key_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "an active key is not retired, it is revoked");
        client.call::<CreatedKey>("rotate_key", &[("key_id", &old.key.key_id), ("overlap", "7d")]).await.unwrap();
        client.call::<()>("retire_key", &[("key_id", &old.key.key_id)]).await.unwrap();
        let page = detail(&client, &old.key.key_id).await.unwrap();
        assert_eq!(page.summary.status, KeyStatus::Expired);
        assert_eq!(page.audit[0].action, "retired");
        // Already accounted for: no separate expiry event follows.
        assert_eq!(record_expiries(&app.state).await.unwrap(), 0);
        let twice = client.call::<()>("retire_key", &[("key_id", &old.key.key_id)]).await.unwrap_err();
        assert_eq!(twice.status, StatusCode::CONFLICT);

        // An emergency rotation stops the old key immediately.
        let leaked = create(&client, &org_id, &[("name", "Leaked")]).await.unwrap();
        client.call::<CreatedKey>("rotate_key", &[("key_id", &leaked.key.key_id), ("overlap", "immediate")]).await.unwrap();
        let page = detail(&client, &leaked.key.key_id).await.unwrap();
        assert_eq!(page.summary.status, KeyStatus::Expired);
        let actions: Vec<&str> = page.audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, vec!["retired", "rotated", "created"]);
        let bad = client.call::<CreatedKey>("rotate_key", &[("key_id", &leaked.key.key_id), ("overlap", "2d")]).await.unwrap_err();
        assert!(bad.error.message_for("overlap").is_some() || bad.status == StatusCode::CONFLICT);
    }

    async fn revoking_needs_a_reason_and_a_revoked_key_stays_revoked(app) {
        let (client, org_id) = admin(&app, "revoker@keys.example", "Revoker").await;
        let key = create(&client, &org_id, &[]).await.unwrap();
        let id = key.key.key_id.as_str();
        let err = client.call::<()>("revoke_key", &[("key_id", id), ("reason", " ")]).await.unwrap_err();
        assert!(err.error.message_for("reason").is_some());
        client.call::<()>("revoke_key", &[("key_id", id), ("reason", "Leaked in a public repo")]).await.unwrap();
        let page = detail(&client, id).await.unwrap();
        assert_eq!(page.summary.status, KeyStatus::Revoked);
        assert_eq!(page.revoked_reason.as_deref(), Some("Leaked in a public repo"));
        assert_eq!(page.revoked_by.as_deref(), Some("revoker@keys.example"));
        assert_eq!(page.audit[0].action, "revoked");
        assert_eq!(page.audit[0].reason.as_deref(), Some("Leaked in a public repo"));

        let again = client.call::<()>("revoke_key", &[("key_id", id), ("reason", "Again")]).await.unwrap_err();
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.error.to_string().contains("already revoked"), "{}", again.error);
        assert_eq!(detail(&client, id).await.unwrap().revoked_reason.as_deref(), Some("Leaked in a public repo"));
        // Revoked keys cannot be rotated or edited, and are listed as revoked.
        let rotate = client.call::<CreatedKey>("rotate_key", &[("key_id", id)]).await.unwrap_err();
        assert!(rotate.error.to_string().contains("revoked"));
        let keys = list(&client, &org_id, &[("status", "revoked")]).await;
        assert_eq!(keys.len(), 1);
        // Revocation is not undone by time passing.
        app.clock.advance(Duration::days(400));
        client.sign_in("revoker@keys.example").await;
        assert_eq!(record_expiries(&app.state).await.unwrap(), 0);
        assert_eq!(detail(&client, id).await.unwrap().summary.status, KeyStatus::Revoked);
    }

    async fn an_expired_key_is_reported_expired(app) {
        let (client, org_id) = admin(&app, "expiry@keys.example", "Expiry").await;
        let key = create(&client, &org_id, &[("expiry", "7")]).await.unwrap();
        app.clock.advance(Duration::days(7) - Duration::seconds(1));
        client.sign_in("expiry@keys.example").await;
        assert_eq!(detail(&client, &key.key.key_id).await.unwrap().summary.status, KeyStatus::Active);
        app.clock.advance(Duration::seconds(1));
        assert_eq!(detail(&client, &key.key.key_id).await.unwrap().summary.status, KeyStatus::Expired);
        let expired = list(&client, &org_id, &[("status", "expired")]).await;
        assert_eq!(expired.len(), 1);
        assert!(list(&client, &org_id, &[("status", "active")]).await.is_empty());
        assert_eq!(record_expiries(&app.state).await.unwrap(), 1);
        assert_eq!(record_expiries(&app.state).await.unwrap(), 0);
        let page = detail(&client, &key.key.key_id).await.unwrap();
        assert_eq!(page.audit[0].details.as_deref(), Some("Reached its expiry date"));
        let rotate = client.call::<CreatedKey>("rotate_key", &[("key_id", &key.key.key_id)]).await.unwrap_err();
        assert!(rotate.error.to_string().contains("expired"));
    }

    async fn keys_can_be_renamed_and_narrowed_but_never_widened(app) {
        let (client, org_id) = admin(&app, "editor@keys.example", "Editor").await;
        let key = create(&client, &org_id, &[("scopes", "records:read customers:read payments:read")]).await.unwrap();
        let id = key.key.key_id.as_str();
        let widen = client
            .call::<()>("update_key", &[("key_id", id), ("name", "Billing sync"), ("purpose", "p"), ("scopes[0]", "records:read"), ("scopes[1]", "records:write")])
            .await
            .unwrap_err();
        assert!(widen.error.message_for("scopes").unwrap().contains("records:write"));
        client
            .call::<()>("update_key", &[("key_id", id), ("name", "Billing export"), ("purpose", "Nightly export of invoices"), ("service", "invoice-worker"), ("scopes[0]", "records:read"), ("scopes[2]", "payments:read")])
            .await
            .unwrap();
        let page = detail(&client, id).await.unwrap();
        assert_eq!(page.summary.name, "Billing export");
        assert_eq!(page.summary.scopes, vec!["payments:read", "records:read"]);
        let actions: Vec<&str> = page.audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, vec!["scopes_changed", "renamed", "created"]);
        assert_eq!(page.audit[0].details.as_deref(), Some("Removed customers:read"));
        assert_eq!(page.audit[1].details.as_deref(), Some("Renamed from “Billing sync” to “Billing export”"));
    }

    async fn the_revoke_confirmation_counts_the_last_seven_days(app) {
        let (client, org_id) = admin(&app, "counts@keys.example", "Counts").await;
        let key = create(&client, &org_id, &[]).await.unwrap();
        let mut conn = app.state.db.acquire().await.unwrap();
        let row = portico::server::db::api_keys::find_by_key_id(conn.conn(), &key.key.key_id).await.unwrap().unwrap();
        let now = app.clock.now();
        use portico::server::db::usage::{add_hourly, hour_of};
        add_hourly(conn.conn(), row.id, hour_of(now), "records:read", "ok", 40).await.unwrap();
        add_hourly(conn.conn(), row.id, hour_of(now), "records:read", "ok", 2).await.unwrap();
        add_hourly(conn.conn(), row.id, hour_of(now - Duration::days(3)), "records:read", "scope_denied", 5).await.unwrap();
        add_hourly(conn.conn(), row.id, hour_of(now - Duration::days(8)), "records:read", "ok", 1000).await.unwrap();
        assert_eq!(detail(&client, &key.key.key_id).await.unwrap().requests_7d, 47);
    }

    async fn the_inventory_filters_and_sorts(app) {
        let (client, org_id) = admin(&app, "filter@keys.example", "Filters").await;
        create(&client, &org_id, &[("name", "Long sandbox"), ("expiry", "365")]).await.unwrap();
        create(&client, &org_id, &[("name", "Short prod"), ("environment", "production"), ("expiry", "7")]).await.unwrap();
        create(&client, &org_id, &[("name", "Mid sandbox"), ("expiry", "30")]).await.unwrap();
        let names = |keys: Vec<KeySummary>| keys.into_iter().map(|k| k.name).collect::<Vec<_>>();
        assert_eq!(names(list(&client, &org_id, &[("environment", "production")]).await), vec!["Short prod"]);
        assert_eq!(names(list(&client, &org_id, &[("sort", "expiry")]).await), vec!["Short prod", "Mid sandbox", "Long sandbox"]);
        assert_eq!(names(list(&client, &org_id, &[("environment", "sandbox"), ("status", "active")]).await).len(), 2);
        assert_eq!(list(&client, &org_id, &[("environment", "nonsense")]).await.len(), 3, "unknown filter values mean any");
    }

    async fn the_audit_trail_is_append_only_and_paged_for_admins(app) {
        let (client, org_id) = admin(&app, "auditor@keys.example", "Audit").await;
        for i in 0..26 {
            let key = create(&client, &org_id, &[("name", &format!("Key {i}"))]).await.unwrap();
            client.call::<()>("revoke_key", &[("key_id", &key.key.key_id), ("reason", "test churn")]).await.unwrap();
        }
        let first: AuditPage = client.call("org_audit", &[("org_id", &org_id)]).await.unwrap();
        assert_eq!(first.entries.len(), 50);
        assert_eq!(first.entries[0].action, "revoked");
        let before = first.next_before.unwrap().to_string();
        let second: AuditPage = client.call("org_audit", &[("org_id", &org_id), ("before", &before)]).await.unwrap();
        // 52 key events, and the admin joining as the organisation was made.
        assert_eq!(second.entries.len(), 3);
        assert_eq!(second.entries[2].action, "member_joined");
        assert_eq!(second.next_before, None);
        assert!(second.entries[0].id < first.entries[49].id);

        // The database itself refuses to change or delete audit rows.
        let mut conn = app.state.db.acquire().await.unwrap();
        let update = portico::on_conn!(conn.conn(), |c| sqlx::query("update audit_events set reason = 'forged'").execute(c).await.map(|_| ()));
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = portico::on_conn!(conn.conn(), |c| sqlx::query("delete from audit_events").execute(c).await.map(|_| ()));
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    async fn creating_a_key_without_javascript_is_refused_before_anything_is_made(app) {
        let (client, org_id) = admin(&app, "nojs@keys.example", "No JS").await;
        let form: KeyFormData = client.call("key_form", &[("org_id", &org_id)]).await.unwrap();
        let res = client
            .http
            .post(format!("{}/api/create_key", client.base))
            .header("accept", "text/html")
            .header("referer", format!("{}/keys/new", client.base))
            .form(&[("org_id", org_id.as_str()), ("request_token", &form.request_token), ("name", "x"), ("purpose", "x"), ("environment", "sandbox"), ("scopes[0]", "records:read")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "back to the form, with the error in the address");
        // The error travels in the address as base64 of its JSON.
        let said = |res: &reqwest::Response| {
            use base64::Engine;
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            let err = location.split("__err=").nth(1).unwrap_or_default();
            let err = percent_encoding::percent_decode_str(err).decode_utf8_lossy().into_owned();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(err).unwrap_or_default()).unwrap_or_default()
        };
        assert!(said(&res).contains("Creating a key needs JavaScript"), "{}", said(&res));
        assert!(list(&client, &org_id, &[]).await.is_empty());

        // Each such action names itself: a rotation is not "creating a key".
        let key = crate::helpers::create_key(&client, &org_id, &[]).await.unwrap();
        let res = client
            .http
            .post(format!("{}/api/rotate_key", client.base))
            .header("accept", "text/html")
            .header("referer", format!("{}/keys/{}", client.base, key.key.key_id))
            .form(&[("key_id", key.key.key_id.as_str()), ("overlap", "24h")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(said(&res).contains("Rotating a key needs JavaScript"), "{}", said(&res));
        assert_eq!(list(&client, &org_id, &[]).await.len(), 1, "nothing was rotated");
    }
}
