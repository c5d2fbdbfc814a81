//! Signing up, in and out; throttling; sessions.

use crate::helpers::{TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    error::AppError,
    model::account::{SecurityNoticeView, SessionView},
};
use reqwest::StatusCode;

fn field_message(err: &AppError, field: &str) -> String {
    err.message_for(field)
        .unwrap_or_else(|| panic!("expected an error on {field}, got {err:?}"))
}

on_both_databases! {
    async fn sign_up_sign_in_and_sign_out(app) {
        let client = app.sign_up("Ada@Example.com", "Analytical Engines").await;
        let me = client.me().await.expect("signed in after sign-up");
        assert_eq!(me.email, "ada@example.com");
        let org = me.active_org().expect("acts in the new organisation");
        assert_eq!(org.name, "Analytical Engines");
        assert_eq!(org.slug, "analytical-engines");
        assert!(me.is_admin(), "the creator is the organisation's admin");

        client.call::<()>("sign_out", &[]).await.unwrap();
        assert_eq!(client.me().await, None);

        client
            .call::<()>("sign_in", &[("email", "ada@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        assert_eq!(client.me().await.unwrap().email, "ada@example.com");
    }

    async fn sign_out_destroys_the_session_on_the_server(app) {
        let client = app.sign_up("grace@example.com", "Cobol Co").await;
        let stolen = client.session_cookie().expect("a session cookie");
        client.call::<()>("sign_out", &[]).await.unwrap();
        // Replaying the old cookie from elsewhere gets nobody.
        let thief = app.client();
        thief.set_session_cookie(&stolen);
        assert_eq!(thief.me().await, None);
    }

    async fn sign_up_answers_the_same_for_new_and_registered_addresses(app) {
        app.sign_up("dup@example.com", "First").await;
        let answer = |email: &'static str, org: &'static str| {
            let client = app.client();
            async move {
                let res = client
                    .http
                    .post(format!("{}/api/sign_up", client.base))
                    .form(&[("email", email), ("password", GOOD_PASSWORD), ("org_name", org)])
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let location = res.headers().get("location").cloned();
                let signed_in = res.headers().get("set-cookie").is_some();
                (status, location, signed_in, res.text().await.unwrap(), client)
            }
        };
        let (s1, l1, c1, b1, registered) = answer("DUP@example.com ", "Second").await;
        let (s2, l2, c2, b2, newcomer) = answer("fresh@example.com", "Fresh").await;
        assert_eq!((s1, &l1, c1, &b1), (s2, &l2, c2, &b2), "the same answer either way");
        assert!(s1.is_success() || s1.is_redirection(), "{s1}");
        assert_eq!(registered.me().await, None, "sign-up does not sign in");
        assert_eq!(newcomer.me().await, None);
        // Nothing was created for the registered address; the new one exists, unconfirmed.
        let mut conn = app.state.db.acquire().await.unwrap();
        assert!(portico::server::db::organisations::find_by_slug(conn.conn(), "second").await.unwrap().is_none());
        let fresh = portico::server::db::users::find_by_email(conn.conn(), "fresh@example.com").await.unwrap().unwrap();
        assert!(fresh.email_verified_at.is_none());
        drop(conn);
        // The new account can sign in and read, unconfirmed.
        newcomer.sign_in("fresh@example.com").await;
        let me = newcomer.me().await.unwrap();
        assert!(!me.email_verified);
        assert_eq!(me.active_org().unwrap().name, "Fresh");
    }

    async fn every_sign_up_problem_is_reported_at_once(app) {
        let err = app
            .client()
            .call::<()>("sign_up", &[("email", "nope"), ("password", "short"), ("org_name", "")])
            .await
            .unwrap_err();
        assert!(field_message(&err.error, "email").contains("name@example.com"));
        assert!(field_message(&err.error, "password").contains("at least 15"));
        assert!(field_message(&err.error, "org_name").contains("Name your organisation"));
    }

    async fn common_passwords_are_refused_with_a_reason(app) {
        let err = app
            .client()
            .call::<()>("sign_up", &[("email", "weak@example.com"), ("password", "passwordpassword1"), ("org_name", "Weak")])
            .await
            .unwrap_err();
        assert!(field_message(&err.error, "password").contains("too easy to guess"));
    }

    async fn a_double_submitted_sign_up_makes_one_account(app) {
        let form = [("email", "twice@example.com"), ("password", GOOD_PASSWORD), ("org_name", "Twice")];
        let (a, b) = (app.client(), app.client());
        let (ra, rb) = tokio::join!(a.call::<()>("sign_up", &form), b.call::<()>("sign_up", &form));
        assert!(ra.is_ok() && rb.is_ok(), "both get the same answer: {ra:?} {rb:?}");
        let mut conn = app.state.db.acquire().await.unwrap();
        assert!(portico::server::db::organisations::find_by_slug(conn.conn(), "twice").await.unwrap().is_some());
        assert!(portico::server::db::organisations::find_by_slug(conn.conn(), "twice-2").await.unwrap().is_none());
    }

    async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(app) {
        app.sign_up("known@example.com", "Known").await;
        let client = app.client();
        let wrong = client
            .call::<()>("sign_in", &[("email", "known@example.com"), ("password", "not the password at all")])
            .await
            .unwrap_err();
        let unknown = client
            .call::<()>("sign_in", &[("email", "unknown@example.com"), ("password", "not the password at all")])
            .await
            .unwrap_err();
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.error, AppError::BadCredentials);
        assert_eq!(unknown.error, wrong.error);
        assert_eq!(unknown.status, wrong.status);
        assert_eq!(client.me().await, None);
    }

    async fn throttling_engages_and_lifts(app) {
        app.sign_up("target@example.com", "Target").await;
        let client = app.client();
        let attempt = |password: &'static str| {
            let client = &client;
            async move {
                client
                    .call::<()>("sign_in", &[("email", "target@example.com"), ("password", password)])
                    .await
            }
        };
        // Ten wrong guesses, each after any back-off has passed.
        for _ in 0..10 {
            let err = attempt("wrong wrong wrong wrong").await.unwrap_err();
            assert_eq!(err.error, AppError::BadCredentials);
            app.clock.advance(Duration::seconds(40));
        }
        // Now even the right password is refused, with a time to wait.
        let locked = attempt(GOOD_PASSWORD).await.unwrap_err();
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        let AppError::TooManyAttempts { message, retry_after_secs } = &locked.error else {
            panic!("expected throttling, got {:?}", locked.error);
        };
        assert!(message.contains("try again in"), "{message}");
        assert!(*retry_after_secs > 0);
        assert_eq!(locked.headers["retry-after"].to_str().unwrap(), retry_after_secs.to_string());
        // Other accounts are not locked by it.
        app.sign_up("bystander@example.com", "Bystander").await;
        // Once the window has passed, the right password works.
        app.clock.advance(Duration::minutes(15));
        attempt(GOOD_PASSWORD).await.expect("the lock lifts");
        // And success clears the account's count.
        attempt("wrong wrong wrong wrong").await.unwrap_err();
        assert!(attempt(GOOD_PASSWORD).await.is_ok());
    }

    async fn concurrent_guesses_are_throttled_like_serial_ones(app) {
        app.sign_up("burst@example.com", "Burst").await;
        // Ten wrong passwords at once, each from its own browser.
        let clients: Vec<_> = (0..10).map(|_| app.client()).collect();
        let answers = futures_util::future::join_all(clients.iter().map(|c| {
            c.call::<()>("sign_in", &[("email", "burst@example.com"), ("password", "wrong wrong wrong wrong")])
        }))
        .await;
        let statuses: Vec<StatusCode> = answers.into_iter().map(|a| a.unwrap_err().status).collect();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        // Serial guesses at one instant: four free failures and a fifth, then a wait.
        assert_eq!((checked, refused), (5, 5), "{statuses:?}");
        // And the right password waits too, as it would after serial guesses.
        let err = app.client()
            .call::<()>("sign_in", &[("email", "burst@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    }

    async fn an_overlong_password_is_refused_before_any_hashing(app) {
        app.sign_up("long@example.com", "Long").await;
        let huge = "p".repeat(1_500_000);
        let client = app.client();
        let err = client
            .call::<()>("sign_in", &[("email", "long@example.com"), ("password", &huge)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", err.error);
        assert!(err.error.message_for("password").unwrap().contains("longer than any"), "{:?}", err.error);
        // Refused early, it counts as no failure: five real guesses still come free.
        for _ in 0..5 {
            let err = client
                .call::<()>("sign_in", &[("email", "long@example.com"), ("password", "wrong wrong wrong wrong")])
                .await
                .unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        }
        // Sign-up refuses it too, with the length rule.
        let err = app.client()
            .call::<()>("sign_up", &[("email", "huge@example.com"), ("password", &huge), ("org_name", "Huge")])
            .await
            .unwrap_err();
        assert!(err.error.message_for("password").unwrap().contains("at most"), "{:?}", err.error);
    }

    async fn repeated_failures_slow_down_before_locking(app) {
        app.sign_up("slow@example.com", "Slow").await;
        let client = app.client();
        for _ in 0..5 {
            let err = client
                .call::<()>("sign_in", &[("email", "slow@example.com"), ("password", "wrong wrong wrong wrong")])
                .await
                .unwrap_err();
            assert_eq!(err.error, AppError::BadCredentials);
        }
        // The sixth attempt straight away must wait a moment.
        let err = client
            .call::<()>("sign_in", &[("email", "slow@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
        app.clock.advance(Duration::seconds(2));
        client
            .call::<()>("sign_in", &[("email", "slow@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .expect("after the short wait the right password works");
    }

    async fn the_session_id_changes_at_sign_in(app) {
        app.sign_up("fixation@example.com", "Fixation").await;
        let victim = app.client();
        // An attacker plants a session id before the victim signs in.
        victim.set_session_cookie("planted-by-attacker-0000000000");
        victim
            .call::<()>("sign_in", &[("email", "fixation@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let first = victim.session_cookie().expect("a session cookie");
        assert_ne!(first, "planted-by-attacker-0000000000");
        // Signing in again issues yet another id, and the old one is dead.
        victim
            .call::<()>("sign_in", &[("email", "fixation@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let second = victim.session_cookie().unwrap();
        assert_ne!(first, second);
        let old = app.client();
        old.set_session_cookie(&first);
        assert_eq!(old.me().await, None);
        assert!(victim.me().await.is_some());
    }

    async fn sessions_end_after_their_absolute_lifetime(app) {
        let client = app.sign_up("lifetime@example.com", "Lifetime").await;
        // In use every 20 minutes, so the idle timeout never ends it.
        for _ in 0..35 {
            app.clock.advance(Duration::minutes(20));
            assert!(client.me().await.is_some());
        }
        app.clock.advance(Duration::minutes(19));
        assert!(client.me().await.is_some(), "still inside 12 hours");
        app.clock.advance(Duration::minutes(2));
        assert_eq!(client.me().await, None, "12 hours after sign-in the session is over");
    }

    async fn the_idle_timeout_counts_from_the_last_request(app) {
        let client = app.sign_up("active@example.com", "Active").await;
        // Active every 20 minutes for an hour and a half: still signed in,
        // though far more than 30 minutes have passed since sign-in.
        for _ in 0..5 {
            app.clock.advance(Duration::minutes(20));
            assert!(client.me().await.is_some(), "an active session stays signed in");
        }
        // Then 31 minutes without a request end it.
        app.clock.advance(Duration::minutes(31));
        assert_eq!(client.me().await, None);
        let sessions = client.call::<Vec<SessionView>>("account_sessions", &[]).await.unwrap_err();
        assert_eq!(sessions.status, StatusCode::UNAUTHORIZED);
    }

    async fn people_see_their_sessions_and_end_others(app) {
        let laptop = app.sign_up("many@example.com", "Many").await;
        let phone = app.client();
        phone
            .http
            .post(format!("{}/api/sign_in", phone.base))
            .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
            .form(&[("email", "many@example.com"), ("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        let tablet = app.client();
        tablet.sign_in("many@example.com").await;
        let listed: Vec<SessionView> = laptop.call("account_sessions", &[]).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed[0].current, "this session comes first and is marked");
        assert_eq!(listed.iter().filter(|s| s.current).count(), 1);
        assert!(listed.iter().any(|s| s.browser == "Chrome on Linux"), "{listed:?}");
        assert!(listed.iter().all(|s| s.client_addr == "127.0.0.1"));

        // Someone else cannot end them, and the id is not the cookie.
        let stranger = app.sign_up("stranger@example.com", "Stranger").await;
        let phone_id = phone.call::<Vec<SessionView>>("account_sessions", &[]).await.unwrap()[0].id.clone();
        assert_ne!(Some(phone_id.clone()), phone.session_cookie());
        let err = stranger.call::<()>("end_session", &[("id", &phone_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert!(phone.me().await.is_some());
        // The current session is ended by signing out, not from the list.
        let own = listed[0].id.clone();
        let err = laptop.call::<()>("end_session", &[("id", &own)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);

        laptop.call::<()>("end_session", &[("id", &phone_id)]).await.unwrap();
        assert_eq!(phone.me().await, None, "an ended session is signed out at its next request");
        let err = laptop.call::<()>("end_session", &[("id", &phone_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND, "ending twice says it has ended");
        assert!(tablet.me().await.is_some());
        assert_eq!(laptop.call::<u64>("end_other_sessions", &[]).await.unwrap(), 1);
        assert_eq!(tablet.me().await, None);
        assert!(laptop.me().await.is_some(), "the session that asked stays");
        assert_eq!(laptop.call::<Vec<SessionView>>("account_sessions", &[]).await.unwrap().len(), 1);
        // Signing out removes the session from the list.
        laptop.call::<()>("sign_out", &[]).await.unwrap();
        let again = app.client();
        again.sign_in("many@example.com").await;
        assert_eq!(again.call::<Vec<SessionView>>("account_sessions", &[]).await.unwrap().len(), 1);
    }

    async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(app) {
        let here = app.sign_up("changer@example.com", "Changer").await;
        let elsewhere = app.client();
        elsewhere.sign_in("changer@example.com").await;
        let new_password = "quiet harbour copper lantern";
        let err = here
            .call::<u64>("change_password", &[("current_password", "not my password at all"), ("new_password", new_password)])
            .await
            .unwrap_err();
        assert_eq!(field_message(&err.error, "current_password"), "That is not your current password.");
        assert!(elsewhere.me().await.is_some(), "a refused change ends nothing");
        let err = here
            .call::<u64>("change_password", &[("current_password", GOOD_PASSWORD), ("new_password", "short")])
            .await
            .unwrap_err();
        assert!(err.error.message_for("new_password").is_some());
        let err = here
            .call::<u64>("change_password", &[("current_password", GOOD_PASSWORD), ("new_password", "changer@example.com")])
            .await
            .unwrap_err();
        assert!(field_message(&err.error, "new_password").starts_with("This password is too easy to guess"));

        let ended = here
            .call::<u64>("change_password", &[("current_password", GOOD_PASSWORD), ("new_password", new_password)])
            .await
            .unwrap();
        assert_eq!(ended, 1);
        assert_eq!(elsewhere.me().await, None);
        assert!(here.me().await.is_some());
        // Told on the Account page, though this portal sends no email; the
        // refused attempts were not changes, so they are not listed.
        assert!(app.state.config.smtp.is_none());
        let told: Vec<SecurityNoticeView> = here.call("security_activity", &[]).await.unwrap();
        let subjects: Vec<&str> = told.iter().map(|n| n.subject.as_str()).collect();
        assert_eq!(subjects, ["Your password was changed"]);
        assert!(told[0].body.contains("127.0.0.1") && told[0].body.contains("signed out"), "{}", told[0].body);
        assert_eq!(told[0].at, app.clock.now());
        let stranger = app.sign_up("stranger@example.com", "Elsewhere").await;
        let theirs: Vec<SecurityNoticeView> = stranger.call("security_activity", &[]).await.unwrap();
        assert!(theirs.is_empty(), "{theirs:?}");
        assert!(app.client().call::<Vec<SecurityNoticeView>>("security_activity", &[]).await.is_err());
        let err = app.client()
            .call::<()>("sign_in", &[("email", "changer@example.com"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.error, AppError::BadCredentials);
        app.client()
            .call::<()>("sign_in", &[("email", "changer@example.com"), ("password", new_password)])
            .await
            .expect("the new password works");
    }

    async fn wrong_current_passwords_are_throttled_like_sign_ins(app) {
        let client = app.sign_up("guessed@example.com", "Guessed").await;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let err = client
                .call::<u64>("change_password", &[("current_password", "wrong wrong wrong wrong"), ("new_password", "quiet harbour copper lantern")])
                .await
                .unwrap_err();
            statuses.push(err.status);
        }
        assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    }

    async fn taking_a_staff_role_away_ends_the_persons_sessions(app) {
        let staffer = app.sign_up("former.staff@platform.example", "Platform").await;
        portico::server::staff::grant(&app.state.db, &app.state.clock, "former.staff@platform.example", portico::domain::StaffRole::Support)
            .await
            .unwrap();
        assert!(staffer.me().await.unwrap().staff.is_some());
        portico::server::staff::revoke(&app.state.db, "former.staff@platform.example").await.unwrap();
        assert_eq!(staffer.me().await, None, "signed out everywhere, not left with a staff page open");
    }

    async fn session_cookies_are_http_only_and_same_site(app) {
        app.sign_up("cookie@example.com", "Cookies").await;
        let client = app.client();
        let res = client
            .http
            .post(format!("{}/api/sign_in", client.base))
            .form(&[("email", "cookie@example.com"), ("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("portico_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Max-Age=1860"), "30 minutes idle, and the minute in which the last request is counted: {cookie}");
        assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    }
}

mod short_idle_timeouts {
    use super::*;
    use crate::helpers::Backend;

    /// With a one-minute idle timeout, a session used every 20 seconds
    /// stays signed in, and one left for 70 seconds ends.
    #[tokio::test]
    async fn a_session_in_use_outlives_a_short_idle_timeout() {
        let app = TestApp::spawn_with(Backend::Sqlite, |config| {
            config.session_idle = std::time::Duration::from_secs(60);
        })
        .await;
        let client = app.sign_up("brisk@example.com", "Brisk").await;
        for _ in 0..9 {
            app.clock.advance(Duration::seconds(20));
            assert!(
                client.me().await.is_some(),
                "used every 20 seconds, the session stays"
            );
        }
        app.clock.advance(Duration::seconds(70));
        assert_eq!(
            client.me().await,
            None,
            "70 seconds without a request end it"
        );
    }
}

mod secure_cookies {
    use super::*;
    use crate::helpers::Backend;

    #[tokio::test]
    async fn with_secure_on_the_cookie_is_secure_and_host_prefixed() {
        let app = TestApp::spawn_with(Backend::Sqlite, |config| {
            config.cookie_secure = true;
            config.public_url = "https://keys.example.com".to_owned();
            config.session_idle = std::time::Duration::from_secs(600);
        })
        .await;
        let client = app.client();
        let res = client
            .http
            .post(format!("{}/api/sign_up", client.base))
            .header("host", "keys.example.com")
            .form(&[
                ("email", "secure@example.com"),
                ("password", GOOD_PASSWORD),
                ("org_name", "Secure"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            res.headers().get("set-cookie").is_none(),
            "sign-up signs nobody in"
        );
        let res = client
            .http
            .post(format!("{}/api/sign_in", client.base))
            .header("host", "keys.example.com")
            .form(&[("email", "secure@example.com"), ("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-portico_session="), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Domain="), "{cookie}");
        assert!(cookie.contains("Max-Age=660"), "{cookie}");
        let res = client
            .http
            .get(format!("{}/signin", client.base))
            .header("host", "keys.example.com")
            .send()
            .await
            .unwrap();
        let headers = res.headers();
        assert!(headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age="));
    }
}
