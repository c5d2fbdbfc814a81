//! Two-factor sign-in: an authenticator app (codes computed here from the
//! secret the page shows), recovery codes, the throttle, the organisation
//! policy and the staff requirement.

use crate::helpers::{Authenticator, SmtpSink, TestApp, TestClient, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    error::AppError,
    model::{
        account::{RecoveryCodes, SecondFactorChoice, SecondFactorStatus, TotpEnrolment},
        keys::AuditPage,
        orgs::{MemberView, NewInvitation},
    },
};
use reqwest::StatusCode;

fn field_message(err: &AppError, field: &str) -> String {
    err.message_for(field)
        .unwrap_or_else(|| panic!("no message for {field}: {err:?}"))
}

async fn status(client: &TestClient) -> SecondFactorStatus {
    client.call("second_factor_status", &[]).await.unwrap()
}

on_both_databases! {
    async fn an_authenticator_app_is_set_up_once_and_asked_for_after_the_password(app) {
        let email = "ada@example.com";
        let client = app.sign_up(email, "Engines").await;
        let elsewhere = app.client();
        elsewhere.sign_in(email).await;
        assert_eq!(status(&client).await.totp_since, None);

        // The page shows the secret, its otpauth URI and a QR code drawn here.
        let enrolment: TotpEnrolment = client.call("begin_totp", &[]).await.unwrap();
        assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/Portico:ada%40example.com?"));
        assert!(enrolment.otpauth_uri.contains("issuer=Portico"));
        assert!(enrolment.qr_svg.starts_with("<svg") && enrolment.qr_svg.contains("<path"));
        let shown: String = enrolment.secret.split_whitespace().collect();
        assert_eq!(shown.len(), 32, "160 bits in base 32: {}", enrolment.secret);
        assert!(enrolment.otpauth_uri.contains(&format!("secret={shown}")));
        let phone = Authenticator::from_shown(&enrolment.secret);

        // Not until the first code is right; a wrong one changes nothing.
        let err = client
                        .call::<RecoveryCodes>("confirm_totp", &[("code", "000 000"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        if phone.code_at(app.clock.now()) != "000000" {
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(field_message(&err.error, "code").contains("not right"));
        }
                assert!(!client.me().await.unwrap().second_factor);
        // A session alone cannot bind an app: the password is needed too.
        for password in ["", "not the password at all"] {
            let err = client
                .call::<RecoveryCodes>("confirm_totp", &[("code", &phone.code_at(app.clock.now())), ("password", password)])
                .await
                .unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(err.error.message_for("password").is_some(), "{:?}", err.error);
        }
        assert!(!client.me().await.unwrap().second_factor);
        let codes: RecoveryCodes = client
            .call("confirm_totp", &[("code", &phone.code_at(app.clock.now())), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        assert_eq!(codes.codes.len(), 10);
        assert_eq!(codes.sessions_ended, 1, "the password-only session elsewhere ends");
        let mut distinct = codes.codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
        assert!(codes.codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        assert!(elsewhere.me().await.is_none());
        assert!(client.me().await.unwrap().second_factor, "this session stays");
        let st = status(&client).await;
        assert!(st.totp_since.is_some());
        assert_eq!(st.recovery_codes_left, 10);
        // Starting again is refused while an app is set up.
        let err = client.call::<TotpEnrolment>("begin_totp", &[]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);

        // The secret is not in the database as the app knows it.
        let mut conn = app.state.db.acquire().await.unwrap();
        let user = portico::server::db::users::find_by_email(conn.conn(), email)
            .await
            .unwrap()
            .unwrap();
        let row = portico::server::db::totp_authenticators::find(conn.conn(), user.id)
            .await
            .unwrap()
            .expect("the account has an authenticator");
        drop(conn);
        assert!(!row.sealed_secret.to_uppercase().contains(&shown));
        assert!(row.confirmed_at.is_some());

        // Signing in: the password first, then the code.
        app.clock.advance(Duration::seconds(30));
        let browser = app.client();
        let res = browser
            .http
            .post(format!("{}/api/sign_in", browser.base))
            .header("accept", "text/html")
            .form(&[("email", email), ("password", GOOD_PASSWORD), ("next", "/keys")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection());
        assert_eq!(
            res.headers().get("location").unwrap(),
            "/signin/code?next=/keys"
        );
        assert!(browser.me().await.is_none(), "not signed in before the code");
        let due: Option<SecondFactorChoice> = browser.call("sign_in_code_due", &[]).await.unwrap();
        assert_eq!(due, Some(SecondFactorChoice { totp: true, security_key: false }));
        let err = browser
            .call::<()>("sign_in_code", &[("code", "12345")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let code = phone.code_at(app.clock.now());
        let wrong = if code == "111111" { "222222" } else { "111111" };
        let err = browser
            .call::<()>("sign_in_code", &[("code", wrong)])
            .await
            .unwrap_err();
        assert!(field_message(&err.error, "code").contains("not right"));
        assert!(browser.me().await.is_none());
        browser
            .call::<()>("sign_in_code", &[("code", &code)])
            .await
            .expect("the right code signs in");
        assert_eq!(browser.me().await.unwrap().email, email);

        // A code works once (RFC 6238 section 5.2), even from another browser.
        let replay = app.client();
        let err = replay.sign_in_with_code(email, &code).await.unwrap_err();
        assert!(field_message(&err.error, "code").contains("not right"));
        assert!(replay.me().await.is_none());

        // A wrong password answers as for an unknown account: it never
        // reaches the code.
        let stranger = app.client();
        let err = stranger
            .call::<()>("sign_in", &[("email", email), ("password", "wrong wrong wrong wrong")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        let due: Option<SecondFactorChoice> = stranger.call("sign_in_code_due", &[]).await.unwrap();
        assert_eq!(due, None);
        let err = stranger
            .call::<()>("sign_in_code", &[("code", &phone.code_at(app.clock.now()))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(stranger.me().await.is_none());

        // The code step waits five minutes for the code, then asks again.
        let slow = app.client();
        slow.call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
                app.clock.advance(Duration::minutes(5));
        let err = slow
            .call::<()>("sign_in_code", &[("code", &phone.code_at(app.clock.now()))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(slow.me().await.is_none());

        // A password changed while a sign-in waits for its code voids it.
        app.clock.advance(Duration::seconds(30));
        let waiting = app.client();
        waiting
            .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        browser
            .call::<u64>("change_password", &[("current_password", GOOD_PASSWORD), ("new_password", "quiet harbour copper lantern")])
            .await
            .unwrap();
        let err = waiting
            .call::<()>("sign_in_code", &[("code", &phone.code_at(app.clock.now()))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(waiting.me().await.is_none());
    }

    async fn recovery_codes_work_once_each_and_can_be_replaced(app) {
        let email = "grace@example.com";
        let client = app.sign_up(email, "Compilers").await;
        let (phone, codes) = client.enrol_totp(&app).await;

        // In capitals and without the hyphen, as people type them.
        let lost_phone = app.client();
        let typed = codes[3].replace('-', " ").to_uppercase();
        lost_phone.sign_in_with_code(email, &typed).await.expect("a recovery code signs in");
        assert!(lost_phone.me().await.is_some());
        assert_eq!(status(&client).await.recovery_codes_left, 9);
        let again = app.client();
        let err = again.sign_in_with_code(email, &codes[3]).await.unwrap_err();
        assert!(field_message(&err.error, "code").contains("not right"));

        // New codes need the page's JavaScript, which shows them: a plain
        // form post (JavaScript off, or not started yet) changes nothing.
        let res = client
            .http
            .post(format!("{}/api/replace_recovery_codes", client.base))
            .header("accept", "text/html")
            .header("referer", format!("{}/account", client.base))
            .form(&[("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(res.headers()["location"].to_str().unwrap().contains("__err="));
        assert_eq!(status(&client).await.recovery_codes_left, 9, "the codes were not replaced");

        // New codes need the password; the old ones stop working.
        let err = client
            .call::<RecoveryCodes>("replace_recovery_codes", &[("password", "not my password at all")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_message(&err.error, "password").contains("not your current password"));
        let fresh: RecoveryCodes = client
            .call("replace_recovery_codes", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        assert_eq!(fresh.codes.len(), 10);
        assert!(fresh.codes.iter().all(|c| !codes.contains(c)));
        let err = again.sign_in_with_code(email, &codes[4]).await.unwrap_err();
        assert!(field_message(&err.error, "code").contains("not right"));
        again.sign_in_with_code(email, &fresh.codes[0]).await.expect("a new code works");

        // Turning it off needs the password; then the password alone signs in.
        let err = client
            .call::<()>("turn_off_second_factor", &[("password", "")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        client
            .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
                assert!(!client.me().await.unwrap().second_factor);
        assert_eq!(status(&client).await.recovery_codes_left, 0);
        let err = client
            .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(format!("{:?}", err.error).contains("is not on"));
        let plain = app.client();
        plain.sign_in(email).await;
        assert!(plain.me().await.is_some(), "no code asked for");
        let _ = phone;
    }

    async fn an_organisation_can_require_a_second_factor_of_every_member(app) {
        let admin = app.sign_up("admin@acme.example", "Acme").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let invite: NewInvitation = admin
            .call("create_invitation", &[("org_id", &org_id), ("role", "developer")])
            .await
            .unwrap();
        let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
        let dev = app.client();
        app.sign_up_with(
            &dev,
            &[("email", "dev@acme.example"), ("password", GOOD_PASSWORD), ("invitation", &token)],
        )
        .await
        .unwrap();

        // Developers cannot set it; an admin without a second factor cannot
        // lock themselves out.
        let err = dev
            .call::<Vec<String>>("set_second_factor_requirement", &[("org_id", &org_id), ("required", "true")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        let err = admin
            .call::<Vec<String>>("set_second_factor_requirement", &[("org_id", &org_id), ("required", "true")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(format!("{:?}", err.error).contains("for yourself first"));

                // A key of the developer's, made while nothing is required.
        let dev_key = crate::helpers::create_key(&dev, &org_id, &[]).await.unwrap();
        admin.enrol_totp(&app).await;
        let without: Vec<String> = admin
            .call("set_second_factor_requirement", &[("org_id", &org_id), ("required", "true")])
            .await
            .unwrap();
        assert_eq!(without, vec!["dev@acme.example".to_owned()]);
        let members: Vec<MemberView> = admin.call::<portico::api::orgs::MemberPage>("members", &[("org_id", &org_id)]).await.unwrap().items;
                let flags: Vec<(String, Option<bool>)> =
            members.iter().map(|m| (m.email.clone(), m.second_factor)).collect();
        assert_eq!(
            flags,
            vec![("admin@acme.example".into(), Some(true)), ("dev@acme.example".into(), Some(false))]
        );
        // Setting it again changes nothing and records nothing.
        let again: Vec<String> = admin
            .call("set_second_factor_requirement", &[("org_id", &org_id), ("required", "true")])
            .await
            .unwrap();
        assert_eq!(again, vec!["dev@acme.example".to_owned()]);

        // The developer without one can do nothing in the organisation, at once.
        let me = dev.me().await.unwrap();
        assert_eq!(me.second_factor_required_by(), vec!["Acme".to_owned()]);
        for (call, form) in [
            ("list_keys", vec![("org_id", org_id.as_str())]),
            ("members", vec![("org_id", org_id.as_str())]),
            ("key_form", vec![("org_id", org_id.as_str())]),
        ] {
            let err = dev.call::<serde_json::Value>(call, &form).await.unwrap_err();
            assert_eq!(err.status, StatusCode::FORBIDDEN, "{call}");
            assert!(format!("{:?}", err.error).contains("Acme requires two-factor"), "{call}");
        }
        // Their keys' exports too (the REST side decides in the same place).
        let (status_code, _, _) = dev.get(&format!("/exports/keys.json?org_id={org_id}")).await;
        assert_eq!(status_code, StatusCode::FORBIDDEN);

                // Notices about the organisation wait, unshown, until then.
                admin
            .call::<()>("suspend_key", &[("key_id", &dev_key.key.key_id), ("reason", "suspicious traffic from 192.0.2.1")])
            .await
            .unwrap();
        let hidden: portico::model::notifications::NotificationList =
            dev.call("notifications", &[]).await.unwrap();
        assert!(hidden.items.is_empty() && hidden.unread == 0, "{hidden:?}");

        // Once they set one up, everything opens; it then stays on.
        dev.enrol_totp(&app).await;
                dev.call::<serde_json::Value>("list_keys", &[("org_id", &org_id)])
            .await
            .expect("opens once the developer has a second factor");
        // Who has a second factor is for admins' eyes.
        let seen: Vec<MemberView> = dev.call::<portico::api::orgs::MemberPage>("members", &[("org_id", &org_id)]).await.unwrap().items;
        assert!(seen.iter().all(|m| m.second_factor.is_none()));
        // The notices held back are shown now.
        let shown: portico::model::notifications::NotificationList =
            dev.call("notifications", &[]).await.unwrap();
        assert!(shown.items.iter().any(|n| n.kind == "suspended"), "{shown:?}");
        let err = dev
            .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(format!("{:?}", err.error).contains("Acme requires"));

        // The change is in the audit trail.
        let audit: AuditPage = admin.call("org_audit", &[("org_id", &org_id)]).await.unwrap();
        let entry = audit
            .entries
            .iter()
            .find(|e| e.action == "second_factor_requirement_changed")
            .expect("audited");
        assert_eq!(entry.actor, "admin@acme.example");
                assert_eq!(
            entry.details.as_deref(),
            Some("Two-factor authentication required of every member")
        );
        let changes = audit
            .entries
            .iter()
            .filter(|e| e.action == "second_factor_requirement_changed")
            .count();
        assert_eq!(changes, 1, "setting the same value again records nothing");
        let off: Vec<String> = admin
            .call("set_second_factor_requirement", &[("org_id", &org_id), ("required", "false")])
            .await
            .unwrap();
        assert!(off.is_empty());
        dev.call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .expect("may be turned off once nothing requires it");
    }

    async fn staff_pages_need_a_second_factor(app) {
        let staff = app.sign_up("help@platform.example", "Platform").await;
        portico::server::staff::grant(
            &app.state.db,
            &app.state.clock,
            "help@platform.example",
            portico::domain::StaffRole::Support,
        )
        .await
        .unwrap();
        for call in ["platform_status", "gateway_tokens"] {
            let err = staff.call::<serde_json::Value>(call, &[]).await.unwrap_err();
            assert_eq!(err.status, StatusCode::FORBIDDEN, "{call}");
            assert!(format!("{:?}", err.error).contains("need two-factor"), "{call}");
        }
        let err = staff
            .call::<serde_json::Value>("support_search", &[("q", "acme")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        staff.enrol_totp(&app).await;
        staff
            .call::<serde_json::Value>("platform_status", &[])
            .await
            .expect("open with a second factor");
        let err = staff
            .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
    }
}

/// Wrong codes count in the sign-in throttle, and giving the right password
/// again does not wipe them: ten wrong codes lock the account's sign-in.
#[tokio::test]
async fn wrong_codes_are_throttled_and_the_password_does_not_reset_the_count() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let email = "mallory.target@example.com";
    let owner = app.sign_up(email, "Target").await;
    let (phone, _) = owner.enrol_totp(&app).await;
    let attacker = app.client();
    attacker
        .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    let mut refused_at = None;
    for attempt in 1..=12 {
        if attempt == 6 {
            // The password again, half way: the count carries on.
            attacker
                .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
                .await
                .unwrap();
        }
        let code = phone.code_at(app.clock.now());
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        match attacker
            .call::<()>("sign_in_code", &[("code", &wrong)])
            .await
        {
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {}
            Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
                refused_at = Some(attempt);
                break;
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
        app.clock.advance(Duration::seconds(20));
    }
    assert_eq!(refused_at, Some(11), "ten wrong codes, then refused");
    // Locked for the right code and for the password alike.
    let err = attacker
        .call::<()>("sign_in_code", &[("code", &phone.code_at(app.clock.now()))])
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    let err = app
        .client()
        .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
}

/// The account is told by email when its second factor changes or a
/// recovery code is used, without the codes themselves.
#[tokio::test]
async fn the_account_is_told_of_second_factor_changes() {
    let sink = SmtpSink::start();
    let smtp = sink.config();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, move |c| {
        c.smtp = Some(smtp)
    })
    .await;
    let email = "told@example.com";
    let client = app.sign_up(email, "Told").await;
    let (_, codes) = client.enrol_totp(&app).await;
    app.client()
        .sign_in_with_code(email, &codes[0])
        .await
        .unwrap();
    // The right password and wrong codes: told once, whatever the number.
    let guesser = app.client();
    guesser
        .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    for wrong in ["000000", "111111"] {
        let _ = guesser.call::<()>("sign_in_code", &[("code", wrong)]).await;
    }
    client
        .call::<RecoveryCodes>("replace_recovery_codes", &[("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    client
        .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    let mail = sink.wait_for(6).await;
    let subjects: Vec<&str> = mail
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject: ")))
        .collect();
    for subject in [
        "Subject: [Portico] Two-factor authentication is on",
        "Subject: [Portico] A recovery code was used",
        "Subject: [Portico] Two-factor authentication is off",
        "Subject: [Portico] New recovery codes were made",
        "Subject: [Portico] Your password was used, but the code was wrong",
    ] {
        assert!(subjects.contains(&subject), "{subject} in {subjects:?}");
    }
    let warned = subjects
        .iter()
        .filter(|s| s.contains("the code was wrong"))
        .count();
    assert_eq!(warned, 1, "{subjects:?}");
    let used = mail
        .iter()
        .find(|m| m.contains("A recovery code was used"))
        .unwrap();
    assert!(used.contains("9 recovery codes are left"), "{used}");
    assert!(codes
        .iter()
        .all(|c| mail.iter().all(|m| !m.contains(c.as_str()))));
}

on_both_databases! {
    async fn an_operator_resets_a_lost_second_factor_and_the_person_sets_it_up_again(app) {
        let email = "lost.phone@example.com";
        let client = app.sign_up(email, "Lost").await;
        client.enrol_totp(&app).await;
        let err = portico::server::second_factor::reset(&app.state, "nobody@example.com").await.unwrap_err();
        assert!(matches!(err, AppError::NotFound(_)));
        let ended = portico::server::second_factor::reset(&app.state, "Lost.Phone@example.com").await.unwrap();
        assert_eq!(ended, 1);
        assert!(client.me().await.is_none(), "signed out everywhere");
        let again = app.client();
        again.sign_in(email).await;
        assert!(!again.me().await.unwrap().second_factor, "the password alone signs in");
        // What happened is on the Account page, newest first.
        let told: Vec<portico::model::account::SecurityNoticeView> =
            again.call("security_activity", &[]).await.unwrap();
        let subjects: Vec<&str> = told.iter().map(|n| n.subject.as_str()).collect();
        assert_eq!(
            subjects,
            ["Your two-factor authentication was reset", "Two-factor authentication is on"]
        );
        let err = portico::server::second_factor::reset(&app.state, email).await.unwrap_err();
        assert!(matches!(err, AppError::Conflict(_)), "nothing left to reset");
        again.enrol_totp(&app).await;
    }

    async fn a_first_code_only_confirms_the_secret_it_was_made_for(app) {
        let client = app.sign_up("twotabs@example.com", "Two Tabs").await;
        let first: TotpEnrolment = client.call("begin_totp", &[]).await.unwrap();
        let first_phone = Authenticator::from_shown(&first.secret);
        // Setting up again (another tab) replaces the secret: the first
        // one's code no longer confirms anything.
        let second: TotpEnrolment = client.call("begin_totp", &[]).await.unwrap();
        assert_ne!(first.secret, second.secret);
        let err = client
            .call::<RecoveryCodes>("confirm_totp", &[("code", &first_phone.code_at(app.clock.now())), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        // And the store only confirms the secret the code was checked against.
        let mut conn = app.state.db.acquire().await.unwrap();
        let user = portico::server::db::users::find_by_email(conn.conn(), "twotabs@example.com").await.unwrap().unwrap();
        let now = app.clock.now();
        let stale = portico::server::db::totp_authenticators::confirm(conn.conn(), user.id, "not-the-stored-secret", 1, now).await.unwrap();
        assert!(!stale);
        drop(conn);
        let phone = Authenticator::from_shown(&second.secret);
        client
            .call::<RecoveryCodes>("confirm_totp", &[("code", &phone.code_at(app.clock.now())), ("password", GOOD_PASSWORD)])
            .await
            .expect("the current secret's code confirms it");
    }
}
