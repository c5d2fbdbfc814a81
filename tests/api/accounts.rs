//! Signing up, in and out; throttling; sessions.

use crate::helpers::{TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::error::AppError;
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

    async fn a_duplicate_email_is_refused_with_a_field_error(app) {
        app.sign_up("dup@example.com", "First").await;
        let err = app
            .client()
            .call::<()>("sign_up", &[("email", "DUP@example.com "), ("password", GOOD_PASSWORD), ("org_name", "Second")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_message(&err.error, "email").contains("already exists"));
        // Nothing was created for the second attempt.
        let mut conn = app.state.db.acquire().await.unwrap();
        assert!(portico::server::db::organisations::find_by_slug(conn.conn(), "second").await.unwrap().is_none());
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
        assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(), 1, "{ra:?} {rb:?}");
        let loser = ra.err().or(rb.err()).unwrap();
        assert!(field_message(&loser.error, "email").contains("already exists"));
        let mut conn = app.state.db.acquire().await.unwrap();
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
        app.clock.advance(Duration::hours(11) + Duration::minutes(59));
        assert!(client.me().await.is_some(), "still inside 12 hours");
        app.clock.advance(Duration::minutes(2));
        assert_eq!(client.me().await, None, "12 hours after sign-in the session is over");
    }

    async fn session_cookies_are_http_only_and_same_site(app) {
        let client = app.client();
        let res = client
            .http
            .post(format!("{}/api/sign_up", client.base))
            .form(&[("email", "cookie@example.com"), ("password", GOOD_PASSWORD), ("org_name", "Cookies")])
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("portico_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Max-Age=1800"), "30 minutes idle: {cookie}");
        assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
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
            .form(&[
                ("email", "secure@example.com"),
                ("password", GOOD_PASSWORD),
                ("org_name", "Secure"),
            ])
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-portico_session="), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Domain="), "{cookie}");
        assert!(cookie.contains("Max-Age=600"), "{cookie}");
        let (_, headers, _) = client.get("/signin").await;
        assert!(headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age="));
    }
}
