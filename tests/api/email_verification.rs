//! Confirming an address by its emailed link, through a real SMTP server:
//! what waits for it, invitations bound to it, changing it, and sign-up's
//! one answer for new and registered addresses.

use crate::helpers::{create_key, Backend, SmtpSink, TestApp, GOOD_PASSWORD};
use chrono::Duration;
use portico::{api::orgs::NewInvitation, domain::StaffRole};
use reqwest::StatusCode;

fn token_in(message: &str) -> Option<String> {
    let start = message.find("/verify-email?token=")?;
    let rest = &message[start + "/verify-email?token=".len()..];
    Some(rest.split_whitespace().next()?.to_owned())
}

fn to(messages: &[String], address: &str) -> Vec<String> {
    let header = format!("To: {address}");
    messages
        .iter()
        .filter(|m| m.contains(&header))
        .cloned()
        .collect()
}

async fn app_with_mail(backend: Backend) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start();
    let smtp = sink.config();
    let app = TestApp::spawn_with(backend, move |config| config.smtp = Some(smtp)).await;
    (app, sink)
}

async fn a_new_address_is_confirmed_by_its_link(backend: Backend) {
    let (app, sink) = app_with_mail(backend).await;
    let client = app.client();
    client
        .call::<()>(
            "sign_up",
            &[
                ("email", "new@example.com"),
                ("password", GOOD_PASSWORD),
                ("org_name", "Newco"),
            ],
        )
        .await
        .unwrap();
    let mail = sink.wait_for(1).await;
    let token = token_in(&to(&mail, "new@example.com")[0]).expect("a confirmation link");
    client.sign_in("new@example.com").await;
    let org_id = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();

    // Unconfirmed: sandbox keys yes, production keys no, with the reason.
    create_key(&client, &org_id, &[("environment", "sandbox")])
        .await
        .expect("sandbox works");
    let err = create_key(&client, &org_id, &[("environment", "production")])
        .await
        .unwrap_err();
    assert!(
        err.error
            .message_for("environment")
            .unwrap()
            .contains("Confirm your email"),
        "{:?}",
        err.error
    );
    // Nor can the account be made staff; the operator is told why.
    let refusal = portico::server::staff::grant(
        &app.state.db,
        &app.state.clock,
        "new@example.com",
        StaffRole::Support,
    )
    .await
    .unwrap_err();
    assert!(refusal.contains("has not confirmed"), "{refusal}");

    // A made-up link is refused; the real one works once.
    assert!(!client
        .call::<bool>("email_confirmation_open", &[("token", "nope")])
        .await
        .unwrap());
    assert!(client
        .call::<bool>("email_confirmation_open", &[("token", &token)])
        .await
        .unwrap());
    client
        .call::<()>("confirm_email", &[("token", &token)])
        .await
        .unwrap();
    assert!(client.me().await.unwrap().email_verified);
    let err = client
        .call::<()>("confirm_email", &[("token", &token)])
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::CONFLICT);
    create_key(&client, &org_id, &[("environment", "production")])
        .await
        .expect("production works once confirmed");
    portico::server::staff::grant(
        &app.state.db,
        &app.state.clock,
        "new@example.com",
        StaffRole::Support,
    )
    .await
    .expect("a confirmed address can be made staff");
    // Asking for a link once confirmed says so.
    let err = client
        .call::<()>("resend_confirmation", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_new_address_is_confirmed_by_its_link_on_sqlite() {
    a_new_address_is_confirmed_by_its_link(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_new_address_is_confirmed_by_its_link_on_postgres() {
    a_new_address_is_confirmed_by_its_link(Backend::Postgres).await;
}

#[tokio::test]
async fn links_expire_and_are_sent_again_at_most_once_a_minute() {
    let (app, sink) = app_with_mail(Backend::Sqlite).await;
    let client = app.client();
    client
        .call::<()>(
            "sign_up",
            &[
                ("email", "slow@example.com"),
                ("password", GOOD_PASSWORD),
                ("org_name", "Slow"),
            ],
        )
        .await
        .unwrap();
    let first = token_in(&sink.wait_for(1).await[0]).unwrap();
    client.sign_in("slow@example.com").await;
    let err = client
        .call::<()>("resend_confirmation", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.status,
        StatusCode::CONFLICT,
        "not again within a minute"
    );
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    client.sign_in("slow@example.com").await;
    let err = client
        .call::<()>("confirm_email", &[("token", &first)])
        .await
        .unwrap_err();
    assert_eq!(
        err.status,
        StatusCode::CONFLICT,
        "a day-old link has expired"
    );
    client.call::<()>("resend_confirmation", &[]).await.unwrap();
    let mail = sink.wait_for(2).await;
    let second = mail
        .iter()
        .filter_map(|m| token_in(m))
        .find(|t| *t != first)
        .expect("a new link");
    client
        .call::<()>("confirm_email", &[("token", &second)])
        .await
        .unwrap();
    assert!(client.me().await.unwrap().email_verified);
}

#[tokio::test]
async fn a_registered_address_is_told_that_someone_tried() {
    let (app, sink) = app_with_mail(Backend::Sqlite).await;
    app.sign_up("taken@example.com", "Taken").await;
    app.client()
        .call::<()>(
            "sign_up",
            &[
                ("email", "taken@example.com"),
                ("password", "another long passphrase here"),
                ("org_name", "Squatter"),
            ],
        )
        .await
        .expect("the same answer as for a new address");
    // The first message confirmed the account's own sign-up; the second
    // tells it of the attempt.
    let mail = sink.wait_for(2).await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    let told: Vec<_> = mail
        .iter()
        .filter(|m| m.contains("Someone tried to sign up with your address"))
        .collect();
    assert_eq!(told.len(), 1, "{mail:?}");
    assert!(
        token_in(told[0]).is_none(),
        "no link that would confirm anything"
    );
    // The account's password is unchanged.
    app.client().sign_in("taken@example.com").await;
}

#[tokio::test]
async fn an_invitation_bound_to_an_address_waits_for_its_confirmation() {
    let (app, sink) = app_with_mail(Backend::Postgres).await;
    let admin = app.sign_up("admin@bound.example", "Bound").await;
    let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
    let invite: NewInvitation = admin
        .call(
            "create_invitation",
            &[
                ("org_id", &org_id),
                ("role", "developer"),
                ("email", "dana@bound.example"),
            ],
        )
        .await
        .unwrap();
    let token = invite.link.rsplit_once("token=").unwrap().1.to_owned();
    let dana = app.client();
    dana.call::<()>(
        "sign_up",
        &[
            ("email", "dana@bound.example"),
            ("password", GOOD_PASSWORD),
            ("invitation", &token),
        ],
    )
    .await
    .unwrap();
    dana.sign_in("dana@bound.example").await;
    assert!(
        dana.me().await.unwrap().orgs.is_empty(),
        "not a member before the address is confirmed"
    );
    let err = dana
        .call::<()>("accept_invitation", &[("token", &token)])
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::CONFLICT);
    assert!(
        err.error.to_string().contains("not confirmed"),
        "{}",
        err.error
    );
    // The admin's confirmation and the invitation may arrive first.
    let mut link = None;
    for _ in 0..100 {
        link = to(&sink.messages(), "dana@bound.example")
            .iter()
            .find_map(|m| token_in(m));
        if link.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let link = link.expect("dana's link");
    dana.call::<()>("confirm_email", &[("token", &link)])
        .await
        .unwrap();
    let me = dana.me().await.unwrap();
    assert_eq!(
        me.active_org().map(|o| o.name.as_str()),
        Some("Bound"),
        "joined on confirmation"
    );
}

#[tokio::test]
async fn changing_the_address_needs_the_password_and_the_new_addresses_link() {
    let (app, sink) = app_with_mail(Backend::Sqlite).await;
    let client = app.sign_up("old@example.com", "Mover").await;
    let err = client
        .call::<()>(
            "change_email",
            &[
                ("new_email", "new@example.com"),
                ("password", "not my password at all"),
            ],
        )
        .await
        .unwrap_err();
    assert!(err.error.message_for("password").is_some());
    let err = client
        .call::<()>(
            "change_email",
            &[
                ("new_email", "old@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await
        .unwrap_err();
    assert!(err.error.message_for("new_email").is_some());
    client
        .call::<()>(
            "change_email",
            &[
                ("new_email", "New@Example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await
        .unwrap();
    let mail = sink.wait_for(3).await;
    assert_eq!(
        client.me().await.unwrap().email,
        "old@example.com",
        "nothing changes before the link"
    );
    let link = to(&mail, "new@example.com")
        .iter()
        .find_map(|m| token_in(m))
        .expect("a link to the new address");
    assert!(
        to(&mail, "old@example.com")
            .iter()
            .any(|m| m.contains("asked to change")),
        "the old address is told"
    );
    client
        .call::<()>("confirm_email", &[("token", &link)])
        .await
        .unwrap();
    let me = client.me().await.unwrap();
    assert_eq!(me.email, "new@example.com");
    assert!(me.email_verified);
    let mail = sink.wait_for(4).await;
    assert!(to(&mail, "old@example.com")
        .iter()
        .any(|m| m.contains("Your email address was changed")));
    app.client().sign_in("new@example.com").await;
    let err = app
        .client()
        .call::<()>(
            "sign_in",
            &[("email", "old@example.com"), ("password", GOOD_PASSWORD)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn confirming_one_address_change_ends_the_others_and_taken_addresses_get_nothing() {
    let (app, sink) = app_with_mail(Backend::Postgres).await;
    app.sign_up("someone@example.com", "Someone").await;
    let client = app.sign_up("dave@example.com", "Dave").await;
    // A mistyped address first, then the right one.
    for new_email in [
        "dave@exmaple.com",
        "dave@example.org",
        "someone@example.com",
    ] {
        client
            .call::<()>(
                "change_email",
                &[("new_email", new_email), ("password", GOOD_PASSWORD)],
            )
            .await
            .expect("the same answer whatever the address");
    }
    // Two sign-ups' confirmations, two links, three notices to the old address.
    let mail = sink.wait_for(7).await;
    assert_eq!(
        to(&mail, "someone@example.com")
            .iter()
            .filter(|m| token_in(m).is_some())
            .count(),
        1,
        "an address that has an account gets no link but its own sign-up's"
    );
    let typo = to(&mail, "dave@exmaple.com")
        .iter()
        .find_map(|m| token_in(m))
        .expect("the typo's link");
    let right = to(&mail, "dave@example.org")
        .iter()
        .find_map(|m| token_in(m))
        .expect("the right link");
    client
        .call::<()>("confirm_email", &[("token", &right)])
        .await
        .unwrap();
    let err = client
        .call::<()>("confirm_email", &[("token", &typo)])
        .await
        .unwrap_err();
    assert_eq!(
        err.status,
        StatusCode::CONFLICT,
        "the mistyped address's link no longer works"
    );
    assert_eq!(client.me().await.unwrap().email, "dave@example.org");
}

#[tokio::test]
async fn sign_ups_are_throttled_per_client_address() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut last = None;
    for n in 0..31 {
        let email = format!("bulk{n}@example.com");
        let org = format!("Bulk {n}");
        last = Some(
            app.client()
                .call::<()>(
                    "sign_up",
                    &[
                        ("email", email.as_str()),
                        ("password", GOOD_PASSWORD),
                        ("org_name", org.as_str()),
                    ],
                )
                .await,
        );
        if n < 30 {
            last.take().unwrap().expect("the first thirty go through");
        }
    }
    let err = last.unwrap().unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(err.headers.get("retry-after").is_some());
}

/// An office behind one address gets the number its operator set.
#[tokio::test]
async fn the_sign_up_allowance_per_address_is_a_setting() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.sign_ups_per_address = 3).await;
    let sign_up = |n: usize| {
        let client = app.client();
        async move {
            let (email, org) = (format!("office{n}@example.com"), format!("Office {n}"));
            client
                .call::<()>(
                    "sign_up",
                    &[
                        ("email", email.as_str()),
                        ("password", GOOD_PASSWORD),
                        ("org_name", org.as_str()),
                    ],
                )
                .await
        }
    };
    for n in 0..3 {
        sign_up(n).await.expect("within the allowance");
    }
    let err = sign_up(3).await.unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
}
