//! The web security baseline: headers, cross-site refusal, no state change on GET.

use crate::helpers::{Backend, TestApp, GOOD_PASSWORD};
use reqwest::StatusCode;

#[tokio::test]
async fn pages_carry_the_security_headers_and_a_nonce_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, headers, body) = app.client().get("/signin").await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page policy has a nonce");
    assert!(
        body.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    assert!(headers.get("x-request-id").is_some());

    // Each response gets its own nonce.
    let (_, again, _) = app.client().get("/signin").await;
    assert_ne!(
        again["content-security-policy"],
        headers["content-security-policy"]
    );
}

#[tokio::test]
async fn api_responses_are_locked_down() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app
        .client()
        .http
        .post(app.url("/api/current_user"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = app.client();
    let form = [
        ("email", "csrf@example.com"),
        ("password", GOOD_PASSWORD),
        ("org_name", "Csrf"),
    ];
    let res = client
        .http
        .post(app.url("/api/sign_up"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client
        .http
        .post(app.url("/api/sign_up"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nothing was created.
    let mut conn = app.state.db.acquire().await.unwrap();
    assert!(
        portico::server::db::users::find_by_email(conn.conn(), "csrf@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // The same request from the site itself goes through.
    let res = client
        .http
        .post(app.url("/api/sign_up"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", format!("http://{}", app.addr))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}

#[tokio::test]
async fn server_functions_do_not_answer_get() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app
        .client()
        .http
        .get(app.url("/api/sign_up?email=get@example.com&password=paper%20lantern%20orbit%20velvet&org_name=Get"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let mut conn = app.state.db.acquire().await.unwrap();
    assert!(
        portico::server::db::users::find_by_email(conn.conn(), "get@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn unknown_pages_are_404_and_protected_pages_redirect_to_sign_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = app.client();
    let (status, _, body) = client.get("/definitely/not/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
    let (status, headers, _) = client.get("/members").await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/signin?next=/members");
}

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (status, _, body) = app.client().get("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
}
