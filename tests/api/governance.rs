//! Governance over HTTP: suspension and reinstatement, the support console,
//! organisation policy, approvals, notifications and their emails.

use crate::helpers::{CallError, SmtpSink, TestApp, TestClient, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::model::orgs::MemberView;
use portico::{
    api::{
        approvals::PendingKey,
        keys::{CreatedKey, KeyDetail, KeyFormData},
        notifications::NotificationList,
        orgs::NewInvitation,
        support::SupportHit,
    },
    domain::{keys::KeyStatus, StaffRole},
    error::AppError,
    server::{
        keys::suspension::reinstate_due,
        notify::reminders::send_due,
        verify::{api::VerifyResponse, gateway},
    },
};
use reqwest::StatusCode;
use serde_json::json;

/// An organisation with an admin and a developer, a support person, and a
/// gateway token.
struct World {
    admin: TestClient,
    dev: TestClient,
    support: TestClient,
    org_id: String,
    gateway: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.sign_up("admin@acme.example", "Acme").await;
    let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
    let invite: NewInvitation = admin
        .call(
            "create_invitation",
            &[("org_id", &org_id), ("role", "developer")],
        )
        .await
        .unwrap();
    let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
    let dev = app.client();
    app.sign_up_with(
        &dev,
        &[
            ("email", "dev@acme.example"),
            ("password", GOOD_PASSWORD),
            ("invitation", &token),
        ],
    )
    .await
    .unwrap();
    let support = app.sign_up("help@platform.example", "Platform").await;
    portico::server::staff::grant(
        &app.state.db,
        &app.state.clock,
        "help@platform.example",
        StaffRole::Support,
    )
    .await
    .unwrap();
    // The staff pages need a second factor.
    support.enrol_totp(app).await;
    let gateway = gateway::create(&app.state, "gw-governance", None)
        .await
        .unwrap()
        .token;
    World {
        admin,
        dev,
        support,
        org_id,
        gateway,
    }
}

async fn create(
    client: &TestClient,
    org_id: &str,
    extra: &[(&str, &str)],
) -> Result<CreatedKey, CallError> {
    crate::helpers::create_key(client, org_id, extra).await
}

async fn verify(app: &TestApp, w: &World, secret: &str) -> String {
    let res = reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(&w.gateway)
        .json(&json!({ "key": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<VerifyResponse>()
        .await
        .unwrap()
        .code
        .as_str()
        .to_owned()
}

async fn notifications(client: &TestClient) -> NotificationList {
    client.call("notifications", &[]).await.unwrap()
}

fn assert_status<T: std::fmt::Debug>(result: Result<T, CallError>, status: StatusCode) -> AppError {
    let err = result.unwrap_err();
    assert_eq!(err.status, status, "{:?}", err.error);
    err.error
}

on_both_databases! {
    async fn former_members_are_no_longer_told(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
        let id = key.key.key_id.as_str();
        w.support.call::<()>("suspend_key", &[("key_id", id), ("reason", "Unusual traffic")]).await.unwrap();
        assert_eq!(notifications(&w.dev).await.unread, 1, "a member hears about their key");

        let members: Vec<MemberView> = w.admin.call::<portico::api::orgs::MemberPage>("members", &[("org_id", w.org_id.as_str())]).await.unwrap().items;
        let dev_id = members.iter().find(|m| m.email == "dev@acme.example").unwrap().user_id.to_string();
        w.admin.call::<usize>("remove_member", &[("org_id", w.org_id.as_str()), ("user_id", &dev_id)]).await.unwrap();

        // The key they still own changes: the admin is told, the former member is not,
        // and what they were told while a member is no longer shown to them.
        w.support.call::<()>("reinstate_key", &[("key_id", id), ("reason", "Customer confirmed")]).await.unwrap();
        let former = notifications(&w.dev).await;
        assert_eq!(former.unread, 0);
        assert!(former.items.is_empty(), "{:?}", former.items);
        assert_eq!(notifications(&w.admin).await.unread, 2);
        let stored: i64 = match &app.state.db {
            portico::server::db::Db::Sqlite(p) => sqlx::query_scalar("select count(*) from notifications n join users u on u.id = n.user_id where u.email = 'dev@acme.example'").fetch_one(p).await.unwrap(),
            portico::server::db::Db::Postgres(p) => sqlx::query_scalar("select count(*) from notifications n join users u on u.id = n.user_id where u.email = 'dev@acme.example'").fetch_one(p).await.unwrap(),
        };
        assert_eq!(stored, 1, "no notice is stored for a former member");

        // Invited back, they see only what happens from now on.
        let invite: NewInvitation = w.admin
            .call("create_invitation", &[("org_id", w.org_id.as_str()), ("role", "developer")])
            .await
            .unwrap();
        app.clock.advance(Duration::seconds(1));
        let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
        w.dev.call::<()>("accept_invitation", &[("token", &token)]).await.unwrap();
        assert!(notifications(&w.dev).await.items.is_empty(), "nothing from before they left");
        w.support.call::<()>("suspend_key", &[("key_id", id), ("reason", "Unusual traffic again")]).await.unwrap();
        let back = notifications(&w.dev).await;
        assert_eq!(back.items.len(), 1, "{:?}", back.items);
        assert!(back.items[0].body.contains("Unusual traffic again"));
    }

    async fn staff_suspend_and_reinstate_take_effect_at_once_and_tell_the_owner(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "ok");
        let id = key.key.key_id.as_str();

        // A reason is required.
        let err = assert_status(
            w.support.call::<()>("suspend_key", &[("key_id", id), ("reason", " ")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(matches!(&err, AppError::Invalid(f) if f[0].field == "reason"), "{err:?}");
        assert_eq!(verify(&app, &w, &key.secret).await, "ok", "a refused suspension changes nothing");

        w.support
            .call::<()>("suspend_key", &[("key_id", id), ("reason", "Traffic from an unknown network")])
            .await
            .unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "suspended");
        let detail: KeyDetail = w.dev.call("get_key", &[("key_id", id)]).await.unwrap();
        assert_eq!(detail.summary.status, KeyStatus::Suspended);
        let s = detail.suspension.unwrap();
        assert_eq!((s.by.as_str(), s.reason.as_str()), ("help@platform.example", "Traffic from an unknown network"));
        // Suspending twice is a clear error.
        let err = assert_status(
            w.support.call::<()>("suspend_key", &[("key_id", id), ("reason", "again, please")]).await,
            StatusCode::CONFLICT,
        );
        assert!(err.to_string().contains("already suspended"), "{err}");

        // The owner and the admin hear of it; the staff member does not.
        let owner = notifications(&w.dev).await;
        assert_eq!(owner.unread, 1);
        assert_eq!(owner.items[0].kind, "suspended");
        assert!(owner.items[0].body.contains("Traffic from an unknown network"));
        assert!(owner.items[0].subject.contains(&key.key.display_id));
        assert!(!owner.items[0].body.contains(&key.secret));
        assert_eq!(notifications(&w.admin).await.unread, 1);
        assert_eq!(notifications(&w.support).await.unread, 0);

        let err = assert_status(
            w.support.call::<()>("reinstate_key", &[("key_id", id), ("reason", "")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(matches!(err, AppError::Invalid(_)));
        w.support
            .call::<()>("reinstate_key", &[("key_id", id), ("reason", "Customer confirmed the new office")])
            .await
            .unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "ok");
        let owner = notifications(&w.dev).await;
        assert_eq!(owner.unread, 2);
        assert_eq!(owner.items[0].kind, "reinstated");
        // Marking read: one, then all; someone else's id changes nothing.
        let first = owner.items[0].id.to_string();
        assert_eq!(w.admin.call::<u64>("mark_notifications_read", &[("id", &first)]).await.unwrap(), 0);
        assert_eq!(w.dev.call::<u64>("mark_notifications_read", &[("id", &first)]).await.unwrap(), 1);
        assert_eq!(w.dev.call::<u64>("mark_notifications_read", &[]).await.unwrap(), 1);
        assert_eq!(notifications(&w.dev).await.unread, 0);

        // Both are in the audit trail with who and why.
        let detail: KeyDetail = w.admin.call("get_key", &[("key_id", id)]).await.unwrap();
        let actions: Vec<(&str, &str, Option<&str>)> = detail
            .audit
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str(), e.reason.as_deref()))
            .collect();
        assert_eq!(&actions[..2], &[
            ("reinstated", "help@platform.example", Some("Customer confirmed the new office")),
            ("suspended", "help@platform.example", Some("Traffic from an unknown network")),
        ]);
    }

    async fn developers_cannot_suspend_approve_set_policy_or_use_the_support_console(app) {
        let w = world(&app).await;
        let own = create(&w.dev, &w.org_id, &[]).await.unwrap();
        let colleague = create(&w.admin, &w.org_id, &[]).await.unwrap();
        let reason = ("reason", "I would like to pause it");
        let err = assert_status(
            w.dev.call::<()>("suspend_key", &[("key_id", own.key.key_id.as_str()), reason]).await,
            StatusCode::FORBIDDEN,
        );
        assert!(err.to_string().contains("Only an admin"), "{err}");
        assert_status(
            w.dev.call::<()>("suspend_key", &[("key_id", colleague.key.key_id.as_str()), reason]).await,
            StatusCode::NOT_FOUND,
        );
        assert_status(w.dev.call::<Vec<SupportHit>>("support_search", &[("q", "acme")]).await, StatusCode::FORBIDDEN);
        assert_status(
            w.dev.call::<KeyDetail>("support_key", &[("key_id", own.key.key_id.as_str())]).await,
            StatusCode::FORBIDDEN,
        );
        assert_status(w.dev.call::<Vec<PendingKey>>("approval_queue", &[("org_id", &w.org_id)]).await, StatusCode::FORBIDDEN);
        assert_status(
            w.dev.call::<()>("decide_key", &[("key_id", own.key.key_id.as_str()), ("decision", "approve")]).await,
            StatusCode::FORBIDDEN,
        );
        assert_status(
            w.dev.call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "30"), ("default_expiry_days", "7")]).await,
            StatusCode::FORBIDDEN,
        );
        for path in ["/exports/keys.csv", "/exports/audit.json"] {
            let (status, _, _) = w.dev.get(&format!("{path}?org_id={}", w.org_id)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        // Admins of another organisation cannot suspend this one's keys.
        let other = app.sign_up("boss@other.example", "Other").await;
        assert_status(
            other.call::<()>("suspend_key", &[("key_id", own.key.key_id.as_str()), reason]).await,
            StatusCode::NOT_FOUND,
        );
        // The organisation's admin can.
        w.admin.call::<()>("suspend_key", &[("key_id", own.key.key_id.as_str()), reason]).await.unwrap();
        assert_eq!(verify(&app, &w, &own.secret).await, "suspended");
    }

    async fn support_finds_keys_by_id_prefix_organisation_and_owner(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
        let other = create(&w.admin, &w.org_id, &[("name", "Admin key")]).await.unwrap();
        let find = |q: String| {
            let support = &w.support;
            async move { support.call::<Vec<SupportHit>>("support_search", &[("q", q.as_str())]).await.unwrap() }
        };
        let ids = |hits: Vec<SupportHit>| hits.into_iter().map(|h| h.key.key_id).collect::<Vec<_>>();
        assert_eq!(ids(find(key.key.key_id.clone()).await), vec![key.key.key_id.clone()]);
        assert_eq!(ids(find(key.key.display_id.clone()).await), vec![key.key.key_id.clone()]);
        // A whole pasted key finds the key by its id part.
        assert_eq!(ids(find(key.secret.clone()).await), vec![key.key.key_id.clone()]);
        assert_eq!(ids(find(key.key.key_id[..6].to_owned()).await), vec![key.key.key_id.clone()]);
        assert_eq!(find("DEV@ACME".into()).await.len(), 1);
        let by_org = find("acme".into()).await;
        assert_eq!(by_org.len(), 2);
        assert!(by_org.iter().all(|h| h.org_name == "Acme"));
        assert!(find("%_".into()).await.is_empty(), "wildcards are literal");
        assert_status(w.support.call::<Vec<SupportHit>>("support_search", &[("q", "a")]).await, StatusCode::UNPROCESSABLE_ENTITY);
        let detail: KeyDetail = w.support.call("support_key", &[("key_id", other.key.key_id.as_str())]).await.unwrap();
        assert_eq!(detail.org_name, "Acme");
        assert!(detail.permissions.suspend && !detail.permissions.manage);
    }

    async fn a_suspension_with_an_end_lifts_itself(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
        let end = (app.clock.now() + Duration::days(2)).format("%Y-%m-%dT%H:%M").to_string();
        w.admin
            .call::<()>("suspend_key", &[("key_id", key.key.key_id.as_str()), ("reason", "Investigating a spike"), ("until", &end)])
            .await
            .unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "suspended");
        assert_eq!(reinstate_due(&app.state).await.unwrap(), 0);
        app.clock.advance(Duration::days(2) + Duration::minutes(1));
        assert_eq!(verify(&app, &w, &key.secret).await, "ok", "works from the end at once");
        assert_eq!(reinstate_due(&app.state).await.unwrap(), 1);
        assert_eq!(reinstate_due(&app.state).await.unwrap(), 0);
        w.dev.sign_in("dev@acme.example").await;
        let n = notifications(&w.dev).await;
        assert_eq!(n.items[0].kind, "reinstated");
        assert!(n.items[0].body.starts_with("Portico reinstated"));
    }

    async fn each_expiry_reminder_is_sent_once(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[("expiry", "30")]).await.unwrap();
        assert_eq!(send_due(&app.state).await.unwrap(), 0, "nothing due at birth");
        app.clock.advance(Duration::days(17));
        // 13 days left: the 14-day reminder, to the owner and the admin.
        assert_eq!(send_due(&app.state).await.unwrap(), 2);
        assert_eq!(send_due(&app.state).await.unwrap(), 0, "not again on the next tick");
        app.clock.advance(Duration::days(10) + Duration::hours(1));
        assert_eq!(send_due(&app.state).await.unwrap(), 2, "the 3-day reminder");
        assert_eq!(send_due(&app.state).await.unwrap(), 0);
        app.clock.advance(Duration::days(2));
        assert_eq!(send_due(&app.state).await.unwrap(), 2, "the 1-day reminder");
        assert_eq!(send_due(&app.state).await.unwrap(), 0);
        app.clock.advance(Duration::days(2));
        assert_eq!(send_due(&app.state).await.unwrap(), 0, "none after expiry");
        w.dev.sign_in("dev@acme.example").await;
        let n = notifications(&w.dev).await;
        let reminders: Vec<&str> = n.items.iter().filter(|i| i.kind == "expiry_reminder").map(|i| i.subject.as_str()).collect();
        assert_eq!(reminders.len(), 3);
        assert!(reminders.iter().all(|s| s.contains(&key.key.display_id)));
        // A 7-day key skips the 14-day reminder.
        let short = create(&w.dev, &w.org_id, &[("expiry", "7")]).await.unwrap();
        app.clock.advance(Duration::hours(1));
        assert_eq!(send_due(&app.state).await.unwrap(), 0, "{}", short.key.key_id);
    }

    async fn a_policy_breaking_request_is_refused_with_the_rule_named(app) {
        let w = world(&app).await;
        let err = assert_status(
            w.admin.call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "400"), ("default_expiry_days", "7"), ("developer_environments[0]", "sandbox")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(matches!(&err, AppError::Invalid(f) if f[0].field == "max_lifetime_days"), "{err:?}");
        w.admin
            .call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "30"), ("default_expiry_days", "14"), ("developer_environments[0]", "sandbox")])
            .await
            .unwrap();
        let err = assert_status(create(&w.dev, &w.org_id, &[("environment", "production")]).await, StatusCode::UNPROCESSABLE_ENTITY);
        let AppError::Invalid(fields) = err else { panic!("field errors") };
        assert_eq!(fields[0].field, "environment");
        assert!(fields[0].message.contains("Environments for developers"), "{}", fields[0].message);
        let err = assert_status(create(&w.dev, &w.org_id, &[("expiry", "90")]).await, StatusCode::UNPROCESSABLE_ENTITY);
        let AppError::Invalid(fields) = err else { panic!("field errors") };
        assert_eq!(fields[0].field, "expiry");
        assert!(fields[0].message.contains("Maximum key lifetime"), "{}", fields[0].message);
        // Within the policy: the default expiry is the policy's.
        let key = create(&w.dev, &w.org_id, &[("expiry", "")]).await.unwrap();
        assert_eq!((key.key.expires_at - key.key.created_at).num_days(), 14);
        // Admins may still use production.
        create(&w.admin, &w.org_id, &[("environment", "production")]).await.unwrap();
        let form: KeyFormData = w.dev.call("key_form", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert_eq!(form.environments.len(), 1);
        assert_eq!(form.lifetime_presets, vec![7, 14, 30]);
        let err = assert_status(
            w.admin.call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "30"), ("default_expiry_days", "14"), ("developer_environments[0]", "sandbox"), ("rotate_high_risk_days", "0")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(matches!(&err, AppError::Invalid(f) if f[0].field == "rotate_high_risk_days"), "{err:?}");
        // The change is in the audit trail.
        let audit: portico::api::keys::AuditPage = w.admin.call("org_audit", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert!(audit.entries.iter().any(|e| e.action == "policy_changed" && e.actor == "admin@acme.example"));
    }

    async fn a_risky_production_key_waits_for_an_admin(app) {
        let w = world(&app).await;
        let key = create(&w.dev, &w.org_id, &[("environment", "production"), ("scopes", "records:read payments:refund"), ("confirm_high_risk", "on")])
            .await
            .unwrap();
        assert!(key.secret.starts_with("prt_live_"), "the secret is still shown once");
        assert_eq!(key.key.status, KeyStatus::PendingApproval);
        assert_eq!(verify(&app, &w, &key.secret).await, "pending_approval");
        let admin_n = notifications(&w.admin).await;
        assert_eq!(admin_n.items[0].kind, "approval_requested");
        let queue: Vec<PendingKey> = w.admin.call("approval_queue", &[("org_id", w.org_id.as_str())]).await.unwrap();
        assert_eq!(queue.len(), 1);
        assert_eq!(queue[0].high_risk_scopes, vec!["payments:refund".to_owned()]);
        let id = key.key.key_id.as_str();
        // A rejection needs a reason; a bad decision is named.
        assert_status(w.admin.call::<()>("decide_key", &[("key_id", id), ("decision", "reject")]).await, StatusCode::UNPROCESSABLE_ENTITY);
        assert_status(w.admin.call::<()>("decide_key", &[("key_id", id), ("decision", "maybe")]).await, StatusCode::UNPROCESSABLE_ENTITY);
        w.admin.call::<()>("decide_key", &[("key_id", id), ("decision", "approve"), ("comment", "Refunds bot, agreed in review")]).await.unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "ok");
        let again = assert_status(w.admin.call::<()>("decide_key", &[("key_id", id), ("decision", "reject"), ("comment", "changed my mind")]).await, StatusCode::CONFLICT);
        assert!(again.to_string().contains("already decided"), "{again}");
        let dev_n = notifications(&w.dev).await;
        assert_eq!(dev_n.items[0].kind, "approved");
        assert!(dev_n.items[0].body.contains("Refunds bot, agreed in review"));
        assert!(w.admin.call::<Vec<PendingKey>>("approval_queue", &[("org_id", w.org_id.as_str())]).await.unwrap().is_empty());

        // A rejected key never works.
        let second = create(&w.dev, &w.org_id, &[("environment", "production"), ("scopes", "webhooks:manage"), ("confirm_high_risk", "on")]).await.unwrap();
        w.admin.call::<()>("decide_key", &[("key_id", second.key.key_id.as_str()), ("decision", "reject"), ("comment", "Use a sandbox key first")]).await.unwrap();
        assert_eq!(verify(&app, &w, &second.secret).await, "revoked");
        let detail: KeyDetail = w.dev.call("get_key", &[("key_id", second.key.key_id.as_str())]).await.unwrap();
        assert_eq!(detail.summary.status, KeyStatus::Rejected);
        assert_eq!(detail.approval_decision.unwrap().comment, "Use a sandbox key first");

        // Sandbox keys and admins' own keys do not wait; nor does anything with approval off.
        let sandbox = create(&w.dev, &w.org_id, &[("scopes", "payments:refund"), ("confirm_high_risk", "on")]).await.unwrap();
        assert_eq!(sandbox.key.status, KeyStatus::Active);
        let admins = create(&w.admin, &w.org_id, &[("environment", "production"), ("scopes", "payments:refund"), ("confirm_high_risk", "on")]).await.unwrap();
        assert_eq!(admins.key.status, KeyStatus::Active);
        w.admin.call::<()>("set_org_policy", &[("org_id", w.org_id.as_str()), ("max_lifetime_days", "365"), ("default_expiry_days", "90"), ("developer_environments[0]", "sandbox"), ("developer_environments[1]", "production")]).await.unwrap();
        let off = create(&w.dev, &w.org_id, &[("environment", "production"), ("scopes", "payments:refund"), ("confirm_high_risk", "on")]).await.unwrap();
        assert_eq!(off.key.status, KeyStatus::Active);
    }

    async fn revocation_by_someone_else_is_notified_but_not_your_own(app) {
        let w = world(&app).await;
        let mine = create(&w.dev, &w.org_id, &[]).await.unwrap();
        w.dev.call::<()>("revoke_key", &[("key_id", mine.key.key_id.as_str()), ("reason", "no longer needed")]).await.unwrap();
        assert_eq!(notifications(&w.dev).await.unread, 0);
        assert_eq!(notifications(&w.admin).await.unread, 0, "an owner revoking their own key is no news");
        let other = create(&w.dev, &w.org_id, &[]).await.unwrap();
        w.admin.call::<()>("revoke_key", &[("key_id", other.key.key_id.as_str()), ("reason", "leaked in a ticket")]).await.unwrap();
        let n = notifications(&w.dev).await;
        assert_eq!(n.unread, 1);
        assert_eq!(n.items[0].kind, "revoked");
        assert!(n.items[0].body.contains("leaked in a ticket"));
        assert!(n.items[0].body.contains("admin@acme.example"));
    }

    async fn admins_change_roles_and_remove_members_whose_keys_are_flagged(app) {
        let w = world(&app).await;
        let members: Vec<portico::api::orgs::MemberView> = w.admin.call::<portico::api::orgs::MemberPage>("members", &[("org_id", w.org_id.as_str())]).await.unwrap().items;
        let id_of = |email: &str| members.iter().find(|m| m.email == email).unwrap().user_id.to_string();
        let (admin_id, dev_id) = (id_of("admin@acme.example"), id_of("dev@acme.example"));
        // Developers cannot; the last admin cannot step down.
        assert_status(w.dev.call::<()>("change_member_role", &[("org_id", w.org_id.as_str()), ("user_id", &admin_id), ("role", "developer")]).await, StatusCode::FORBIDDEN);
        let err = assert_status(w.admin.call::<()>("change_member_role", &[("org_id", w.org_id.as_str()), ("user_id", &admin_id), ("role", "developer")]).await, StatusCode::CONFLICT);
        assert!(err.to_string().contains("at least one admin"), "{err}");
        assert_status(w.admin.call::<usize>("remove_member", &[("org_id", w.org_id.as_str()), ("user_id", &admin_id)]).await, StatusCode::CONFLICT);
        // Promote the developer, then demote them again.
        w.admin.call::<()>("change_member_role", &[("org_id", w.org_id.as_str()), ("user_id", &dev_id), ("role", "admin")]).await.unwrap();
        assert!(w.dev.me().await.unwrap().is_admin());
        w.admin.call::<()>("change_member_role", &[("org_id", w.org_id.as_str()), ("user_id", &dev_id), ("role", "developer")]).await.unwrap();
        assert!(!w.dev.me().await.unwrap().is_admin());

        // Removing the developer: their key keeps working, flagged.
        let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
        let owned: usize = w.admin.call("remove_member", &[("org_id", w.org_id.as_str()), ("user_id", &dev_id)]).await.unwrap();
        assert_eq!(owned, 1);
        assert_eq!(verify(&app, &w, &key.secret).await, "ok");
        let detail: KeyDetail = w.admin.call("get_key", &[("key_id", key.key.key_id.as_str())]).await.unwrap();
        assert!(detail.summary.owner_left);
        let err = assert_status(w.dev.call::<KeyDetail>("get_key", &[("key_id", key.key.key_id.as_str())]).await, StatusCode::NOT_FOUND);
        assert!(matches!(err, AppError::NotFound(_)));
        // Only a current member can be the new owner.
        assert_status(w.admin.call::<()>("give_key", &[("key_id", key.key.key_id.as_str()), ("owner_id", &dev_id)]).await, StatusCode::UNPROCESSABLE_ENTITY);
        w.admin.call::<()>("give_key", &[("key_id", key.key.key_id.as_str()), ("owner_id", &admin_id)]).await.unwrap();
        let detail: KeyDetail = w.admin.call("get_key", &[("key_id", key.key.key_id.as_str())]).await.unwrap();
        assert!(!detail.summary.owner_left);
        assert_eq!(detail.summary.owner, "admin@acme.example");
        assert_eq!(detail.audit[0].action, "owner_changed");
        let audit: portico::api::keys::AuditPage = w.admin.call("org_audit", &[("org_id", w.org_id.as_str())]).await.unwrap();
        let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
        for expected in ["member_invited", "member_role_changed", "member_removed", "owner_changed"] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
    }

    async fn an_invitation_sent_to_an_address_works_only_for_it(app) {
        let w = world(&app).await;
        let err = assert_status(
            w.admin.call::<NewInvitation>("create_invitation", &[("org_id", w.org_id.as_str()), ("role", "developer"), ("email", "not an email")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(matches!(&err, AppError::Invalid(f) if f[0].field == "email"));
        let invite: NewInvitation = w.admin
            .call("create_invitation", &[("org_id", w.org_id.as_str()), ("role", "developer"), ("email", "Carol@Acme.example")])
            .await
            .unwrap();
        assert_eq!(invite.email.as_deref(), Some("carol@acme.example"));
        assert!(!invite.emailed, "no SMTP configured");
        let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
        let mallory = app.client();
        let err = assert_status(
            app.sign_up_with(&mallory, &[("email", "mallory@evil.example"), ("password", GOOD_PASSWORD), ("invitation", &token)]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(err.to_string().contains("sent to carol@acme.example") || matches!(&err, AppError::Invalid(f) if f.iter().any(|f| f.message.contains("sent to carol@acme.example"))), "{err:?}");
        // An existing account with another address cannot accept it either.
        let err = assert_status(w.support.call::<()>("accept_invitation", &[("token", &token)]).await, StatusCode::CONFLICT);
        assert!(err.to_string().contains("carol@acme.example"), "{err}");
        let carol = app.client();
        app.sign_up_with(&carol, &[("email", "carol@acme.example"), ("password", GOOD_PASSWORD), ("invitation", &token)]).await.unwrap();
        assert_eq!(carol.me().await.unwrap().active_org_id.unwrap().to_string(), w.org_id);
    }

    async fn admins_export_the_inventory_and_a_filtered_audit_trail(app) {
        let w = world(&app).await;
        let a = create(&w.dev, &w.org_id, &[("name", "=cmd|' /C calc'!A0")]).await.unwrap();
        let b = create(&w.admin, &w.org_id, &[("name", "Second")]).await.unwrap();
        w.admin.call::<()>("revoke_key", &[("key_id", b.key.key_id.as_str()), ("reason", "not needed")]).await.unwrap();
        let (status, headers, csv) = w.admin.get(&format!("/exports/keys.csv?org_id={}", w.org_id)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[reqwest::header::CONTENT_DISPOSITION].to_str().unwrap().contains("acme-keys"));
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("\"key_id\",\"display_id\",\"name\",\"environment\",\"status\""), "every cell is quoted: {}", lines[0]);
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains("'=cmd"), "formulas are defused: {}", lines[1]);
        assert!(lines[2].contains(",\"revoked\","));
        assert!(!csv.contains(&a.secret) && !csv.contains(&b.secret));
        let (status, _, json) = w.admin.get(&format!("/exports/keys.json?org_id={}", w.org_id)).await;
        assert_eq!(status, StatusCode::OK);
        let keys: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["owner"], "dev@acme.example");
        let (_, _, json) = w.admin.get(&format!("/exports/audit.json?org_id={}&action=revoked", w.org_id)).await;
        let events: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["reason"], "not needed");
        let (_, _, json) = w.admin.get(&format!("/exports/audit.json?org_id={}&actor=dev@acme.example", w.org_id)).await;
        let events: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert!(events.iter().all(|e| e["actor"] == "dev@acme.example") && !events.is_empty());
        let (status, _, body) = w.admin.get(&format!("/exports/audit.csv?org_id={}&from=yesterday", w.org_id)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("YYYY-MM-DD"));
        // Exports are audited; another organisation's admin gets nothing.
        let (_, _, csv) = w.admin.get(&format!("/exports/audit.csv?org_id={}&action=exported", w.org_id)).await;
        assert!(csv.lines().count() >= 4, "{csv}");
        let other = app.sign_up("boss@other.example", "Other").await;
        let (status, _, _) = other.get(&format!("/exports/keys.csv?org_id={}", w.org_id)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Signed out: a browser is sent to sign in, a script gets 401.
        let (status, _, _) = app.client().get(&format!("/exports/keys.csv?org_id={}", w.org_id)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let res = app.client().http.get(app.url(&format!("/exports/keys.csv?org_id={}", w.org_id))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn notifications_reach_a_real_smtp_server_without_the_secret() {
    let sink = SmtpSink::start();
    let port = sink.port;
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, move |config| {
        config.smtp = Some(portico::server::config::SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "Portico <portico@platform.example>".parse().unwrap(),
        });
    })
    .await;
    let w = world(&app).await;
    let key = create(&w.dev, &w.org_id, &[]).await.unwrap();
    w.support
        .call::<()>(
            "suspend_key",
            &[
                ("key_id", key.key.key_id.as_str()),
                ("reason", "Unusual traffic from 203.0.113.0/24"),
            ],
        )
        .await
        .unwrap();
    let mut messages = Vec::new();
    for _ in 0..100 {
        // Sign-ups' address confirmations and the support person's
        // two-factor notice aside.
        messages = sink
            .messages()
            .into_iter()
            .filter(|m| {
                !m.contains("Confirm your email address")
                    && !m.contains("Two-factor authentication is on")
            })
            .collect();
        if messages.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(messages.len(), 2, "one to the owner, one to the admin");
    let to_owner = messages
        .iter()
        .find(|m| m.contains("To: dev@acme.example"))
        .expect("the owner's email");
    assert!(to_owner.contains(&key.key.display_id), "{to_owner}");
    assert!(
        to_owner.contains("Unusual traffic from 203.0.113.0/24"),
        "{to_owner}"
    );
    assert!(to_owner.contains("Subject: [Portico] Key"), "{to_owner}");
    for m in &messages {
        assert!(!m.contains(&key.secret), "no email carries the secret");
    }
    // The portal shows it went by email.
    let n = notifications(&w.dev).await;
    assert!(n.items[0].emailed);

    // An invitation to an address is emailed at once (and never stored).
    let invite: NewInvitation = w
        .admin
        .call(
            "create_invitation",
            &[
                ("org_id", w.org_id.as_str()),
                ("role", "developer"),
                ("email", "carol@acme.example"),
            ],
        )
        .await
        .unwrap();
    assert!(invite.emailed);
    let to_carol = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("To: carol@acme.example"))
        .expect("the invitation email");
    assert!(to_carol.contains(&invite.link), "{to_carol}");
    assert!(
        to_carol.contains("Subject: [Portico] Join Acme on Portico"),
        "{to_carol}"
    );
}

mod exports_for_people {
    use super::*;

    #[tokio::test]
    async fn the_inventory_export_needs_no_internal_id_and_follows_the_lists_filters() {
        let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
        let w = world(&app).await;
        create(&w.admin, &w.org_id, &[("name", "Sandbox one")])
            .await
            .unwrap();
        create(
            &w.admin,
            &w.org_id,
            &[("name", "Live one"), ("environment", "production")],
        )
        .await
        .unwrap();
        // Typed by hand, without org_id: the organisation this session acts in.
        let (status, _, csv) = w.admin.get("/exports/keys.csv").await;
        assert_eq!(status, StatusCode::OK, "{csv}");
        assert_eq!(csv.lines().count(), 3, "a header and two keys: {csv}");
        // The list's filters carry over.
        let (status, _, csv) = w
            .admin
            .get(&format!(
                "/exports/keys.csv?org_id={}&env=production",
                w.org_id
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(csv.contains("Live one") && !csv.contains("Sandbox one"));
    }

    #[tokio::test]
    async fn a_bad_export_request_gets_a_page_a_person_can_read() {
        let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
        let w = world(&app).await;
        // A browser (TestClient::get asks for HTML) gets a page, not a bare status.
        let (status, headers, body) = w.admin.get("/exports/keys.csv?org_id=abc").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            body.contains("Export not available") && body.contains("org_id must be a number"),
            "{body}"
        );
        assert!(body.contains("href=\"/keys\""));
        let (status, _, body) = w.admin.get("/exports/nonsense.csv").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("Try keys.csv"), "{body}");
        // Someone signed out is sent to sign in, and back afterwards.
        let (status, headers, _) = app.client().get("/exports/keys.csv").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], "/signin?next=/exports/keys.csv");
        // Scripts still get plain text.
        let res = w
            .admin
            .http
            .get(app.url("/exports/keys.csv?org_id=abc"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
    }
}

on_both_databases! {
    async fn a_pending_key_says_who_approves_it_and_its_requester_can_withdraw_it(app) {
        let w = world(&app).await;
        let risky = [("environment", "production"), ("scopes", "payments:refund"), ("confirm_high_risk", "on")];
        let key = create(&w.dev, &w.org_id, &risky).await.unwrap();
        assert_eq!(key.key.status, KeyStatus::PendingApproval);
        assert_eq!(key.approvers, vec!["admin@acme.example".to_owned()]);
        let id = key.key.key_id.as_str();
        // Someone who may not manage it hears "not found".
        let err = assert_status(w.support.call::<()>("withdraw_key_request", &[("key_id", id)]).await, StatusCode::NOT_FOUND);
        let _ = err;
        w.dev.call::<()>("withdraw_key_request", &[("key_id", id)]).await.unwrap();
        assert_eq!(verify(&app, &w, &key.secret).await, "revoked");
        let detail: KeyDetail = w.dev.call("get_key", &[("key_id", id)]).await.unwrap();
        assert_eq!(detail.summary.status, KeyStatus::Revoked);
        assert_eq!(detail.revoked_reason.as_deref(), Some("Approval request withdrawn before a decision"));
        assert!(w.admin.call::<Vec<PendingKey>>("approval_queue", &[("org_id", w.org_id.as_str())]).await.unwrap().is_empty());
        // Twice, or for a key that does not wait, is refused and changes nothing.
        assert_status(w.dev.call::<()>("withdraw_key_request", &[("key_id", id)]).await, StatusCode::CONFLICT);
        let working = create(&w.dev, &w.org_id, &[]).await.unwrap();
        assert!(working.approvers.is_empty());
        let refused = assert_status(
            w.dev.call::<()>("withdraw_key_request", &[("key_id", working.key.key_id.as_str())]).await,
            StatusCode::CONFLICT,
        );
        assert!(refused.to_string().contains("waiting for approval"), "{refused}");
        assert_eq!(verify(&app, &w, &working.secret).await, "ok");
    }
}
