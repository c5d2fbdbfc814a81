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

async fn exported_rows(app: &TestApp) -> i64 {
    match &app.state.db {
        portico::server::db::Db::Sqlite(p) => {
            sqlx::query_scalar("select count(*) from audit_events where action = 'exported'")
                .fetch_one(p)
                .await
                .unwrap()
        }
        portico::server::db::Db::Postgres(p) => {
            sqlx::query_scalar("select count(*) from audit_events where action = 'exported'")
                .fetch_one(p)
                .await
                .unwrap()
        }
    }
}

#[tokio::test]
async fn cross_site_reads_of_organisation_data_are_refused_get_included() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.sign_up("export@example.com", "Exporters").await;
    let org_id = admin.me().await.unwrap().active_org_id.unwrap();
    let get = |path: String, site: &'static str, mode: &'static str| {
        admin
            .http
            .get(app.url(&path))
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", mode)
            .send()
    };
    for path in [
        format!("/exports/keys.json?org_id={org_id}"),
        format!("/exports/keys.csv?org_id={org_id}"),
        format!("/exports/audit.csv?org_id={org_id}"),
    ] {
        // A link on another site, followed by the signed-in admin's browser.
        let res = get(path.clone(), "cross-site", "navigate").await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let res = get(path.clone(), "same-site", "no-cors").await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        exported_rows(&app).await,
        0,
        "a refused export writes no audit row"
    );
    // A page embedded by another site as a script or image is refused; a
    // link to a page from elsewhere (an email) still opens it.
    let res = get("/keys".into(), "cross-site", "no-cors").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = get("/keys".into(), "cross-site", "navigate").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // From the portal itself, the export works and is recorded.
    let res = get(
        format!("/exports/keys.json?org_id={org_id}"),
        "same-origin",
        "navigate",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(exported_rows(&app).await, 1);
}

#[tokio::test]
async fn only_the_portals_own_hosts_are_answered() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.public_url = "https://keys.example.com".to_owned();
    })
    .await;
    let client = app.client();
    let with_host = |path: &'static str, host: &'static str| {
        client.http.get(app.url(path)).header("host", host).send()
    };
    let res = with_host("/signin", "rebound.attacker.example")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    let res = with_host("/signin", "127.0.0.1").await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::MISDIRECTED_REQUEST,
        "loopback only while the public URL is loopback"
    );
    let res = with_host("/signin", "keys.example.com").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .http
        .post(app.url("/api/current_user"))
        .header("host", "rebound.attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    // Machines call by internal names: health and verification still answer.
    let res = with_host("/healthz", "portico.internal:3000")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_it_is_a_short_safe_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = app.client();
    let id_for = |given: &'static str| {
        let req = client
            .http
            .get(app.url("/healthz"))
            .header("x-request-id", given);
        async move {
            let res = req.send().await.unwrap();
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(id_for("edge-7f3a.42").await, "edge-7f3a.42");
    let forged = id_for("abc\tforged=1 level=error").await;
    assert_ne!(forged, "abc\tforged=1 level=error");
    assert_eq!(forged.len(), 16, "a fresh id replaces it: {forged}");
    let long = "a".repeat(300);
    let res = client
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", long.as_str())
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"].to_str().unwrap(), long);
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
