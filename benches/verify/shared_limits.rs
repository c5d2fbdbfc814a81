//! Part 5: the cost of limits shared through Redis. The same valid-key
//! `POST /v1/verify` against two servers in one run: one limiting alone, one
//! with `PORTICO_REDIS_URL` (a Lua script on Redis per verification).
//! Redis: `BENCH_REDIS_URL`, by default the machine's at 127.0.0.1:6379.

use super::{
    oha, runs, setup_with, start_server, verify_script, wrk, WrkResult, CONNECTIONS, HTTP_SECONDS,
};
use portico::server::config::RedisUrl;
use std::net::SocketAddr;

/// The comparison's medians.
pub struct SharedLimitResults {
    pub alone: WrkResult,
    pub shared: WrkResult,
    pub rate: u32,
    pub alone_at_rate: WrkResult,
    pub shared_at_rate: WrkResult,
}

fn redis_url() -> String {
    std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Runs the comparison; `Err` when Redis does not answer.
pub async fn with_and_without_redis() -> Result<SharedLimitResults, String> {
    let url = redis_url();
    let (alone_state, secret_alone, token_alone) = setup_with("alone", |_| {}).await;
    let (shared_state, secret_shared, token_shared) =
        setup_with("shared", |c| c.redis_url = Some(RedisUrl(url.clone()))).await;
    shared_state
        .global_limiter
        .as_ref()
        .expect("configured")
        .ping()
        .await
        .map_err(|e| format!("Redis at {url} does not answer ({e})"))?;
    let (alone, stop_alone, alone_handle) = start_server(alone_state).await;
    let (shared, stop_shared, shared_handle) = start_server(shared_state.clone()).await;
    let body = |secret: &str| {
        serde_json::json!({"key": secret, "method": "GET", "path": "/v1/records/42", "client_ip": "203.0.113.7"})
            .to_string()
    };
    let script = |tag: &str, secret: &str, token: &str| verify_script(tag, &body(secret), token);
    let targets = [
        (
            alone,
            script("alone", &secret_alone, &token_alone),
            body(&secret_alone),
            token_alone,
        ),
        (
            shared,
            script("shared", &secret_shared, &token_shared),
            body(&secret_shared),
            token_shared,
        ),
    ];
    for (addr, _, body, token) in &targets {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{addr}/v1/verify"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["code"], "ok", "{answer}");
    }
    let saturated = |addr: SocketAddr, script: std::path::PathBuf| {
        let url = format!("http://{addr}/v1/verify");
        tokio::task::spawn_blocking(move || wrk(&url, Some(&script)))
    };
    let (mut alone_runs, mut shared_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        alone_runs.push(saturated(targets[0].0, targets[0].1.clone()).await.unwrap());
        shared_runs.push(saturated(targets[1].0, targets[1].1.clone()).await.unwrap());
    }
    let (alone_sat, shared_sat) = (
        WrkResult::median(&alone_runs),
        WrkResult::median(&shared_runs),
    );
    let rate = (shared_sat.rps / 2.0).floor().max(100.0) as u32;
    let at_rate = |i: usize| {
        let (addr, _, body, token) = &targets[i];
        let (url, body, token) = (
            format!("http://{addr}/v1/verify"),
            body.clone(),
            token.clone(),
        );
        tokio::task::spawn_blocking(move || oha(&url, rate, Some((&token, &body)), &[]))
    };
    let (mut alone_rate, mut shared_rate) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        alone_rate.push(at_rate(0).await.unwrap());
        shared_rate.push(at_rate(1).await.unwrap());
    }
    let health = shared_state.global_limiter.as_ref().unwrap().health();
    assert!(
        health.up && health.fallbacks == 0,
        "every decision was Redis's: {health:?}"
    );
    let _ = (stop_alone.send(()), stop_shared.send(()));
    alone_handle.await.unwrap();
    shared_handle.await.unwrap();
    for (_, script, ..) in &targets {
        let _ = std::fs::remove_file(script);
    }
    Ok(SharedLimitResults {
        alone: alone_sat,
        shared: shared_sat,
        rate,
        alone_at_rate: WrkResult::median(&alone_rate),
        shared_at_rate: WrkResult::median(&shared_rate),
    })
}

/// Prints the comparison and the target's verdict.
pub fn report(r: Result<SharedLimitResults, String>) {
    println!(
        "5. Limits shared through Redis: POST /v1/verify, {CONNECTIONS} connections, {HTTP_SECONDS} s per run"
    );
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            println!("   not measured: {e}\n");
            return;
        }
    };
    let row = |name: &str, x: &WrkResult| {
        println!(
            "   {name:<30}{:>11.0}{:>8.2}{:>8.2}{:>11.1}",
            x.rps, x.p50_ms, x.p99_ms, x.cpu_us
        );
    };
    println!(
        "   {:<30}{:>11}{:>8}{:>8}{:>11}",
        "", "requests/s", "p50 ms", "p99 ms", "server µs"
    );
    println!("   Saturated (wrk)");
    row("limits per instance", &r.alone);
    row("limits in Redis", &r.shared);
    let ratio = r.shared.rps / r.alone.rps;
    println!(
        "   throughput ratio with/without Redis: {ratio:.2}  (target at least 0.70: {})",
        if ratio >= 0.7 { "met" } else { "MISSED" }
    );
    println!(
        "   At a fixed {} requests/s (half of the Redis run's maximum; oha, open loop)",
        r.rate
    );
    row("limits per instance", &r.alone_at_rate);
    row("limits in Redis", &r.shared_at_rate);
    println!(
        "   added by Redis: p50 {:+.2} ms, p99 {:+.2} ms\n",
        r.shared_at_rate.p50_ms - r.alone_at_rate.p50_ms,
        r.shared_at_rate.p99_ms - r.alone_at_rate.p99_ms
    );
}
