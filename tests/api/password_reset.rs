//! "Forgot your password?": the emailed link, through a real SMTP server.

use crate::helpers::{Backend, SmtpSink, TestApp, GOOD_PASSWORD};
use chrono::Duration;
use portico::error::AppError;
use reqwest::StatusCode;

const NEW_PASSWORD: &str = "quiet harbour copper lantern";

/// The messages other than sign-ups' address confirmations, once there are
/// at least `n` (or after ten seconds).
async fn received(sink: &SmtpSink, n: usize) -> Vec<String> {
    let others = || -> Vec<String> {
        sink.messages()
            .into_iter()
            .filter(|m| !m.contains("Confirm your email address"))
            .collect()
    };
    for _ in 0..100 {
        if others().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    others()
}

fn link_in(message: &str) -> String {
    let start = message.find("/reset?token=").expect("a reset link");
    let rest = &message[start + "/reset?token=".len()..];
    rest.split_whitespace().next().unwrap().to_owned()
}

async fn a_reset_link_works_once_ends_every_session_and_tells_the_account(backend: Backend) {
    let sink = SmtpSink::start();
    let smtp = sink.config();
    let app = TestApp::spawn_with(backend, move |config| config.smtp = Some(smtp)).await;
    let here = app.sign_up("forgetful@example.com", "Forgetful").await;
    let there = app.client();
    there.sign_in("forgetful@example.com").await;

    // Registered or not, the same answer; only the registered address gets mail.
    let anyone = app.client();
    anyone
        .call::<()>("request_password_reset", &[("email", "nobody@example.com")])
        .await
        .unwrap();
    anyone
        .call::<()>(
            "request_password_reset",
            &[("email", "Forgetful@Example.com")],
        )
        .await
        .unwrap();
    let mail = received(&sink, 1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("To: forgetful@example.com"));
    let token = link_in(&mail[0]);
    // Asking again at once sends nothing more (no inbox flooding), same answer.
    anyone
        .call::<()>(
            "request_password_reset",
            &[("email", "forgetful@example.com")],
        )
        .await
        .unwrap();
    let err = anyone
        .call::<()>("request_password_reset", &[("email", "not an email")])
        .await
        .unwrap_err();
    assert!(err.error.message_for("email").is_some());

    assert!(anyone
        .call::<bool>("password_reset_open", &[("token", &token)])
        .await
        .unwrap());
    assert!(!anyone
        .call::<bool>("password_reset_open", &[("token", "made-up-token")])
        .await
        .unwrap());
    // A weak password is refused and the link survives the mistake.
    let err = anyone
        .call::<()>(
            "reset_password",
            &[("token", &token), ("password", "forgetful@example.com")],
        )
        .await
        .unwrap_err();
    assert!(
        err.error.message_for("password").is_some(),
        "{:?}",
        err.error
    );
    assert!(here.me().await.is_some(), "a refused reset ends nothing");

    anyone
        .call::<()>(
            "reset_password",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(here.me().await, None, "every session ends");
    assert_eq!(there.me().await, None);
    let err = app
        .client()
        .call::<()>(
            "reset_password",
            &[
                ("token", &token),
                ("password", "another long passphrase here"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::CONFLICT, "the link works once");
    assert!(
        err.error.to_string().contains("expired or has been used"),
        "{}",
        err.error
    );

    let err = app
        .client()
        .call::<()>(
            "sign_in",
            &[
                ("email", "forgetful@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.error, AppError::BadCredentials);
    app.client()
        .call::<()>(
            "sign_in",
            &[
                ("email", "forgetful@example.com"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await
        .expect("the new password works");
    let mail = received(&sink, 2).await;
    assert_eq!(
        mail.len(),
        2,
        "the request's one link, then the notice: {mail:?}"
    );
    assert!(mail
        .iter()
        .any(|m| m.contains("Subject: [Portico] Your password was reset")));
    for m in &mail {
        assert!(!m.contains(NEW_PASSWORD) && !m.contains(GOOD_PASSWORD));
    }

    // A link expires after 30 minutes.
    app.clock.advance(Duration::minutes(2));
    anyone
        .call::<()>(
            "request_password_reset",
            &[("email", "forgetful@example.com")],
        )
        .await
        .unwrap();
    let mail = received(&sink, 3).await;
    let newest = mail
        .iter()
        .filter_map(|m| link_in_or_none(m))
        .find(|t| *t != token)
        .expect("a new link");
    app.clock.advance(Duration::minutes(31));
    assert!(!anyone
        .call::<bool>("password_reset_open", &[("token", &newest)])
        .await
        .unwrap());
    let err = anyone
        .call::<()>(
            "reset_password",
            &[
                ("token", &newest),
                ("password", "another long passphrase here"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::CONFLICT);
}

fn link_in_or_none(message: &str) -> Option<String> {
    message.contains("/reset?token=").then(|| link_in(message))
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_tells_the_account_on_sqlite() {
    a_reset_link_works_once_ends_every_session_and_tells_the_account(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_tells_the_account_on_postgres() {
    a_reset_link_works_once_ends_every_session_and_tells_the_account(Backend::Postgres).await;
}

#[tokio::test]
async fn a_reset_ends_the_lockout_of_a_guessed_account() {
    let sink = SmtpSink::start();
    let smtp = sink.config();
    let app = TestApp::spawn_with(Backend::Sqlite, move |config| config.smtp = Some(smtp)).await;
    app.sign_up("locked@example.com", "Locked").await;
    let attacker = app.client();
    for _ in 0..10 {
        let _ = attacker
            .call::<()>(
                "sign_in",
                &[
                    ("email", "locked@example.com"),
                    ("password", "wrong wrong wrong wrong"),
                ],
            )
            .await;
        app.clock.advance(Duration::seconds(40));
    }
    let owner = app.client();
    let err = owner
        .call::<()>(
            "sign_in",
            &[("email", "locked@example.com"), ("password", GOOD_PASSWORD)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    owner
        .call::<()>("request_password_reset", &[("email", "locked@example.com")])
        .await
        .unwrap();
    let token = link_in(&received(&sink, 1).await[0]);
    owner
        .call::<()>(
            "reset_password",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await
        .unwrap();
    owner
        .call::<()>(
            "sign_in",
            &[("email", "locked@example.com"), ("password", NEW_PASSWORD)],
        )
        .await
        .expect("the owner is in again");
}
