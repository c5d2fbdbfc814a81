//! The operator's endpoints: liveness, readiness and the metrics scrape.

use crate::helpers::{create_key, Backend, TestApp, GOOD_PASSWORD};
use portico::server::secrets::bearer_token::BearerToken;
use reqwest::StatusCode;
use serde_json::{json, Value};

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = reqwest::Client::new().get(app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

/// The value of a series line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn health_readiness_and_metrics(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.metrics_token = Some(BearerToken::parse(TOKEN).unwrap())
    })
    .await;
    let (status, _, body) = get(&app, "/healthz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));

    // Ready once the listener has connected (at once on SQLite).
    let mut ready = Value::Null;
    for _ in 0..50 {
        let (status, _, body) = get(&app, "/readyz", None).await;
        ready = serde_json::from_str(&body).unwrap();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        ready,
        json!({"ready": true, "checks": {"database": "ok", "migrations": "ok", "listener": "ok"}})
    );

    // Traffic to count: a verification, a failed sign-in.
    let client = app.sign_up("ops@metrics.example", "Ops").await;
    let org_id = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();
    let key = create_key(&client, &org_id, &[]).await.unwrap();
    let gateway = portico::server::verify::gateway::create(&app.state, "gw-ops", None)
        .await
        .unwrap()
        .token;
    let res = reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(&gateway)
        .json(&json!({"key": key.secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let err = app
        .client()
        .call::<()>(
            "sign_in",
            &[
                ("email", "ops@metrics.example"),
                ("password", "not the password at all"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::UNAUTHORIZED);

    // The scrape needs the token.
    assert_eq!(
        get(&app, "/metrics", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(
            &app,
            "/metrics",
            Some("metrics-token-but-not-the-right-one-at-all")
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // The scheme is read in any case (RFC 9110 §11.1), as for every bearer token.
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, kind, text) = get(&app, "/metrics", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    // Every sample line parses: name, optional labels, a number.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(line.starts_with("portico_"), "{line}");
    }
    assert_eq!(
        sample(&text, "portico_verify_duration_seconds_count{code=\"ok\"}"),
        Some(1.0)
    );
    assert!(sample(&text, "portico_verify_cache_lookups_total{result=\"miss\"}").unwrap() >= 1.0);
    assert!(sample(&text, "portico_sign_in_failures_total").unwrap() >= 1.0);
    assert_eq!(sample(&text, "portico_invalidation_listener_up"), Some(1.0));
    assert_eq!(
        sample(&text, "portico_rate_limit_backend{backend=\"local\"}"),
        Some(1.0)
    );
    assert!(sample(&text, "portico_usage_buffer_capacity").unwrap() > 0.0);
    for series in [
        "portico_usage_buffer_depth",
        "portico_usage_events_written_total",
        "portico_usage_events_dropped_total",
        "portico_invalidation_listener_reconnects_total",
    ] {
        assert!(sample(&text, series).is_some(), "{series} in\n{text}");
    }
    assert_eq!(
        sample(
            &text,
            "portico_http_requests_total{route=\"/v1/verify\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &text,
            "portico_http_requests_total{route=\"/api\",status=\"401\"}"
        )
        .unwrap()
            >= 1.0
    );
    // No secret or address in the exposition.
    assert!(!text.contains(&key.secret) && !text.contains(GOOD_PASSWORD) && !text.contains(TOKEN));

    // A database that cannot be reached makes the instance unready, named.
    app.state.db.close().await;
    let (status, _, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["database"], "unreachable");
    assert_eq!(
        get(&app, "/healthz", None).await.0,
        StatusCode::OK,
        "alive all the same"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_on_sqlite() {
    health_readiness_and_metrics(Backend::Sqlite).await;
}

#[tokio::test]
async fn health_readiness_and_metrics_on_postgres() {
    health_readiness_and_metrics(Backend::Postgres).await;
}

#[tokio::test]
async fn without_a_token_there_is_no_metrics_endpoint() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(
        get(&app, "/metrics", Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
}
