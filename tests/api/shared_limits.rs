//! Rate limits that hold across instances through a real Redis, and what
//! happens when Redis stops: verification goes on with each instance's own
//! limits, says so, and shares limits again once Redis answers.

use crate::helpers::{Backend, RedisServer, TestApp};
use crate::verify::world;
use portico::server::config::RedisUrl;
use serde_json::{json, Value};

fn with_redis(redis: &RedisServer) -> impl FnOnce(&mut portico::server::config::Config) {
    let url = redis.url();
    move |config| config.redis_url = Some(RedisUrl(url))
}

async fn ask(app: &TestApp, gateway: &str, key: &str) -> Value {
    reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(gateway)
        .json(&json!({"key": key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Three instances on one database and one Redis, a key limited to 60 a
/// minute, 300 requests spread round-robin: 60 accepted, the rest
/// `rate_limited`, each refusal telling the same wait whichever instance
/// answers.
async fn a_limit_holds_across_three_instances(backend: Backend) {
    let redis = RedisServer::start().await;
    let a = TestApp::spawn_with(backend, with_redis(&redis)).await;
    let b = a.instance_with(with_redis(&redis)).await;
    let c = a.instance_with(with_redis(&redis)).await;
    let w = world(&a, "limits@shared.example").await;
    let key = w.key(&[("rate_limit", "60")]).await;
    let instances = [&a, &b, &c];

    let mut answers = Vec::new();
    for round in 0..30 {
        // Ten at once, round-robin over the three instances.
        let batch = (0..10).map(|i| ask(instances[(round * 10 + i) % 3], &w.gateway, &key.secret));
        answers.extend(futures_util::future::join_all(batch).await);
    }
    let count = |code: &str| answers.iter().filter(|a| a["code"] == code).count();
    assert_eq!(count("ok"), 60, "the limit, across instances");
    assert_eq!(count("rate_limited"), 240);
    let waits: Vec<i64> = answers
        .iter()
        .filter_map(|a| a["retry_after"].as_i64())
        .collect();
    assert_eq!(waits.len(), 240, "every refusal tells the wait");
    assert!(waits.iter().all(|w| (1..=60).contains(w)), "{waits:?}");
    // The wait is the shared window's: the same from every instance.
    let told: Vec<i64> =
        futures_util::future::join_all(instances.map(|i| ask(i, &w.gateway, &key.secret)))
            .await
            .iter()
            .map(|a| a["retry_after"].as_i64().unwrap())
            .collect();
    assert!(
        told.iter().max().unwrap() - told.iter().min().unwrap() <= 1,
        "{told:?}"
    );
    assert!(
        told[0] >= 50,
        "the first of 60 requests made seconds ago frees a place in about a minute: {told:?}"
    );

    // Another key has its own window.
    let other = w.key(&[("rate_limit", "60")]).await;
    assert_eq!(ask(&b, &w.gateway, &other.secret).await["code"], "ok");
    for instance in instances {
        let health = instance.state.global_limiter.as_ref().unwrap().health();
        assert!(health.up && health.fallbacks == 0, "{health:?}");
    }
}

#[tokio::test]
async fn a_limit_holds_across_three_instances_on_sqlite() {
    a_limit_holds_across_three_instances(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_limit_holds_across_three_instances_on_postgres() {
    a_limit_holds_across_three_instances(Backend::Postgres).await;
}

/// Redis stops mid-test: verification keeps answering with each instance's
/// own limit (never with a key it would refuse), `/readyz` and the staff
/// status say so, and limits are shared again once Redis answers.
#[tokio::test]
async fn verification_goes_on_when_redis_stops_and_shares_limits_again_when_it_answers() {
    let mut redis = RedisServer::start().await;
    let a = TestApp::spawn_with(Backend::Postgres, with_redis(&redis)).await;
    let b = a.instance_with(with_redis(&redis)).await;
    let w = world(&a, "outage@shared.example").await;
    let key = w.key(&[("rate_limit", "4")]).await;
    let revoked = w.key(&[]).await;
    w.client
        .call::<()>(
            "revoke_key",
            &[
                ("key_id", revoked.key.key_id.as_str()),
                ("reason", "outage test"),
            ],
        )
        .await
        .unwrap();
    // Shared: four across both instances.
    let codes = |answers: &[Value]| {
        answers
            .iter()
            .map(|a| a["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let mut shared = Vec::new();
    for i in 0..6 {
        shared.push(ask([&a, &b][i % 2], &w.gateway, &key.secret).await);
    }
    assert_eq!(
        codes(&shared),
        ["ok", "ok", "ok", "ok", "rate_limited", "rate_limited"]
    );

    redis.stop();
    // Each instance now limits alone: four each, then refusals; the key is
    // still checked (a revoked key stays refused, an unknown one unknown).
    let mut alone = Vec::new();
    for _ in 0..6 {
        alone.push(ask(&a, &w.gateway, &key.secret).await);
    }
    assert_eq!(
        codes(&alone),
        ["ok", "ok", "ok", "ok", "rate_limited", "rate_limited"]
    );
    assert_eq!(
        ask(&a, &w.gateway, &revoked.secret).await["code"],
        "revoked"
    );
    let health = a.state.global_limiter.as_ref().unwrap().health();
    assert!(!health.up, "{health:?}");
    assert_eq!(health.outages, 1);
    assert!(health.fallbacks >= 6, "{health:?}");
    let error = health.last_error.unwrap();
    assert!(
        !error.contains("127.0.0.1") && !error.contains(&redis.port.to_string()),
        "{error}"
    );

    // Not ready while Redis is away, and the reason is named.
    let ready = reqwest::get(a.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_ne!(body["checks"]["redis"], "ok", "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    // An orchestrator that would take every instance out at once asks with
    // Redis optional: reported, not failed on.
    let ready = reqwest::get(a.url("/readyz?optional=redis")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["checks"]["redis"]
            .as_str()
            .unwrap()
            .contains("optional"),
        "{body}"
    );

    // The staff page's status says limits are per instance for now.
    let staff = a.sign_up("staff@shared.example", "Staff Co").await;
    portico::server::staff::grant(
        &a.state.db,
        &a.state.clock,
        "staff@shared.example",
        portico::domain::StaffRole::Support,
    )
    .await
    .unwrap();
    staff.enrol_totp(&a).await;
    let status: portico::api::staff::PlatformStatus =
        staff.call("platform_status", &[]).await.unwrap();
    let shared_limits = status.shared_limits.expect("Redis is configured");
    assert!(
        !shared_limits.up && shared_limits.fallbacks >= 6,
        "{shared_limits:?}"
    );

    // Redis answers again (empty): after the one-second pause between
    // tries, each instance shares limits again.
    redis.resume().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let probe = w.key(&[("rate_limit", "1000")]).await;
    for instance in [&a, &b] {
        let limiter = instance.state.global_limiter.as_ref().unwrap();
        for _ in 0..30 {
            assert_eq!(ask(instance, &w.gateway, &probe.secret).await["code"], "ok");
            if limiter.health().up {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(limiter.health().up, "{:?}", limiter.health());
    }
    let fresh = w.key(&[("rate_limit", "2")]).await;
    let mut back = Vec::new();
    for i in 0..4 {
        back.push(ask([&a, &b][i % 2], &w.gateway, &fresh.secret).await);
    }
    assert_eq!(
        codes(&back),
        ["ok", "ok", "rate_limited", "rate_limited"],
        "shared again"
    );
    let ready = reqwest::get(a.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(a.state.global_limiter.as_ref().unwrap().health().outages, 1);
}

/// A Redis that stalls (SIGSTOP) and resumes runs the scripts the instance
/// stopped waiting for; those requests were decided alone, so they must not
/// stay in the shared window and refuse the key's later requests.
#[tokio::test]
async fn a_stalled_redis_does_not_count_requests_decided_alone() {
    let redis = RedisServer::start().await;
    let a = TestApp::spawn_with(Backend::Sqlite, with_redis(&redis)).await;
    let w = world(&a, "stall@shared.example").await;
    let key = w.key(&[("rate_limit", "5")]).await;
    // Redis knows the script (another key's request loaded it), so the
    // scripts sent during the stall run when it resumes.
    let other = w.key(&[]).await;
    assert_eq!(ask(&a, &w.gateway, &other.secret).await["code"], "ok");
    redis.pause();
    for _ in 0..4 {
        // Decided alone (four of the instance's own five).
        assert_eq!(ask(&a, &w.gateway, &key.secret).await["code"], "ok");
        tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    }
    assert!(!a.state.global_limiter.as_ref().unwrap().health().up);
    redis.unpause();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Shared again, with a window that holds only what Redis decided.
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(
            ask(&a, &w.gateway, &key.secret).await["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(codes, ["ok", "ok", "ok", "ok", "ok", "rate_limited"]);
    assert!(a.state.global_limiter.as_ref().unwrap().health().up);
}

/// A monthly quota counted across three instances through Redis: exactly
/// the quota is accepted, however the requests are spread.
#[tokio::test]
async fn a_quota_holds_across_three_instances() {
    let redis = RedisServer::start().await;
    let a = TestApp::spawn_with(Backend::Postgres, with_redis(&redis)).await;
    let b = a.instance_with(with_redis(&redis)).await;
    let c = a.instance_with(with_redis(&redis)).await;
    let w = world(&a, "quota@shared.example").await;
    let key = w.key(&[("monthly_quota", "10")]).await;
    let instances = [&a, &b, &c];
    let mut answers = Vec::new();
    for round in 0..3 {
        let batch = (0..10).map(|i| ask(instances[(round * 10 + i) % 3], &w.gateway, &key.secret));
        answers.extend(futures_util::future::join_all(batch).await);
    }
    let count = |code: &str| answers.iter().filter(|a| a["code"] == code).count();
    assert_eq!((count("ok"), count("quota_exceeded")), (10, 20));
    for instance in instances {
        let health = instance.state.global_limiter.as_ref().unwrap().health();
        assert!(health.up && health.fallbacks == 0, "{health:?}");
    }
}
