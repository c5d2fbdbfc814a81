//! Verification benchmarks (`make bench`).
//!
//! 1. In-process: `verify()` of a cached valid key, against computing the
//!    key's HMAC alone (the one unavoidable piece of work) in the same run.
//! 2. Over HTTP: `POST /v1/verify` under `wrk` at 64 connections, against
//!    the trivial `GET /v1/ping` handler of the same server in the same run.
//!    Then the latency at a fixed rate (open loop, `oha -q`): half of the
//!    verify throughput just measured, sent to both endpoints. Under `wrk`
//!    the server is saturated, so its latencies measure the queue (Little's
//!    law: 64 connections ÷ throughput); the fixed-rate run measures the
//!    latency a gateway sees at a busy but sustainable load.
//! 3. Exactly 100,000 verifications over HTTP, then a graceful shutdown: the
//!    database must hold exactly 100,000 usage events.
//! 4. Forward-auth: nginx with `auth_request` asking Portico in front of a
//!    tiny upstream, against the same nginx configuration without
//!    `auth_request`, saturated and at a fixed rate.
//! 5. Shared limits: `POST /v1/verify` with `PORTICO_REDIS_URL` (Redis at
//!    `BENCH_REDIS_URL`, by default 127.0.0.1:6379) against the same
//!    server limiting alone, saturated and at a fixed rate.
//!
//! Every figure is the median of several runs. Set `BENCH_DATABASE=postgres`
//! to run on Postgres (`TEST_POSTGRES_URL`) instead of SQLite. For quicker
//! iterations: `BENCH_ONLY=instructions|inproc|http|saturated|count|gateway|redis` runs one part,
//! `BENCH_RUNS=N` sets the runs per figure, and `BENCH_RATE=N` skips the
//! saturated runs and measures at N requests a second.

use portico::{
    domain::{key_format::Environment, request_path::CanonicalRequest},
    server::{
        accounts::{self, SignUpForm},
        authz::Actor,
        build_state,
        clock::Clock,
        config::Config,
        db::usage::count_events,
        keys::{self, NewKeyForm},
        secrets::key_hash,
        serve,
        state::AppState,
        verify::{gateway, verify, VerifyInput},
    },
};
use sqlx::{Connection, Executor};
use std::{
    net::{IpAddr, SocketAddr},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::oneshot;

#[path = "verify/footprint.rs"]
mod footprint;
#[path = "verify/gateway.rs"]
mod gateway_bench;
#[path = "verify/instructions.rs"]
mod instructions;
#[path = "verify/shared_limits.rs"]
mod shared_limits;

/// The allocator the `portico` binary uses (`src/main.rs`), since the server
/// under test runs in this process, counting each thread's allocations.
#[global_allocator]
static ALLOCATOR: footprint::Counting = footprint::Counting;

/// "met" or "MISSED", for a target line.
fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// Runs per measurement (`BENCH_RUNS` overrides it for quicker iterations).
fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(5)
}
const IN_PROCESS_OPS: usize = 200_000;
const HTTP_SECONDS: u32 = 8;
const CONNECTIONS: u32 = 64;
const EXACT: usize = 100_000;

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// A database for one phase: a temporary SQLite file, or a fresh Postgres database.
async fn database(tag: &str) -> String {
    match std::env::var("BENCH_DATABASE").as_deref() {
        Ok("postgres") => {
            let admin_url = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!("portico_bench_{tag}_{}", std::process::id());
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("Postgres reachable");
            admin
                .execute(format!("drop database if exists {name} with (force)").as_str())
                .await
                .unwrap();
            admin
                .execute(format!("create database {name}").as_str())
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            url.to_string()
        }
        _ => {
            let path =
                std::env::temp_dir().join(format!("portico-bench-{tag}-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            format!("sqlite://{}", path.display())
        }
    }
}

/// State with an organisation, a key that allows everything it is asked
/// here (no rate limit to speak of), and a gateway token.
async fn setup(tag: &str) -> (AppState, String, String) {
    setup_with(tag, |_| {}).await
}

/// [`setup`], after `adjust` has changed the settings.
async fn setup_with(tag: &str, adjust: impl FnOnce(&mut Config)) -> (AppState, String, String) {
    let mut config = Config::for_database(&database(tag).await);
    adjust(&mut config);
    config.usage_buffer = std::env::var("BENCH_BUFFER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let state = build_state(config, Clock::system()).await.expect("state");
    let signed = accounts::sign_up(
        &state,
        SignUpForm {
            email: format!("bench-{tag}@example.com"),
            password: "paper lantern orbit velvet".into(),
            org_name: Some("Bench".into()),
            invitation: None,
        },
        std::net::Ipv4Addr::LOCALHOST.into(),
    )
    .await
    .expect("sign up")
    .expect("a new account");
    let actor = Actor::load(state.db.acquire().await.unwrap(), signed.user_id)
        .await
        .unwrap()
        .unwrap();
    let form = keys::form_data(&state, &actor, signed.org_id.unwrap(), None)
        .await
        .unwrap();
    let created = keys::create(
        &state,
        &actor,
        signed.org_id.unwrap(),
        NewKeyForm {
            request_token: form.request_token,
            name: "Bench".into(),
            purpose: "Benchmark".into(),
            service: String::new(),
            environment: "sandbox".into(),
            scopes: vec!["records:read".into()],
            expiry: "365".into(),
            expiry_date: None,
            ip_allowlist: String::new(),
            confirm_high_risk: false,
            rate_limit: "100000".into(),
            monthly_quota: String::new(),
        },
        "127.0.0.1".parse().unwrap(),
    )
    .await
    .expect("key");
    // The benchmark measures the path of a valid key: lift the rate limit far
    // above what this machine can send.
    let mut conn = state.db.acquire().await.unwrap();
    portico::on_conn!(conn.conn(), |c| sqlx::query(
        "update api_keys set rate_limit_per_minute = 2000000000"
    )
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    drop(conn);
    state.key_cache.clear();
    let token = gateway::create(&state, "bench", None).await.unwrap().token;
    (state, created.secret, token)
}

async fn start_server(
    state: AppState,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        serve(state, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx, handle)
}

fn input(secret: &str) -> VerifyInput {
    VerifyInput {
        key: secret.to_owned(),
        scope: None,
        request: Some(CanonicalRequest::parse("GET", "/v1/records/42").unwrap()),
        client_ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
        environment: Some(Environment::Sandbox),
        requested_scopes: Vec::new(),
        keys_only: false,
    }
}

/// In-process figures: nanoseconds per `verify()` and per HMAC, then the
/// allocations and bytes asked for per `verify()` on the calling thread.
async fn in_process() -> (f64, f64, f64, f64) {
    let (state, secret, _) = setup("inproc").await;
    let input = input(&secret);
    assert_eq!(verify(&state, &input).await.unwrap().code.as_str(), "ok");
    let mut verify_ns = Vec::new();
    let mut hmac_ns = Vec::new();
    for _ in 0..runs() {
        let started = Instant::now();
        for _ in 0..IN_PROCESS_OPS {
            std::hint::black_box(verify(&state, std::hint::black_box(&input)).await.unwrap());
        }
        verify_ns.push(started.elapsed().as_nanos() as f64 / IN_PROCESS_OPS as f64);
        let started = Instant::now();
        for _ in 0..IN_PROCESS_OPS {
            std::hint::black_box(key_hash::hash_key(
                &state.secret,
                std::hint::black_box(&secret),
            ));
        }
        hmac_ns.push(started.elapsed().as_nanos() as f64 / IN_PROCESS_OPS as f64);
    }
    // A cache hit runs on this thread without yielding: its allocations are
    // counted here (the usage writer's, storing the events, are not).
    let (allocations, bytes) = footprint::allocated_here();
    for _ in 0..IN_PROCESS_OPS {
        std::hint::black_box(verify(&state, std::hint::black_box(&input)).await.unwrap());
    }
    let (allocations_after, bytes_after) = footprint::allocated_here();
    state.usage.shutdown().await;
    (
        median(verify_ns),
        median(hmac_ns),
        (allocations_after - allocations) as f64 / IN_PROCESS_OPS as f64,
        (bytes_after - bytes) as f64 / IN_PROCESS_OPS as f64,
    )
}

#[derive(Debug, Clone, Copy)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time the server process used per request, in microseconds: the
    /// cost of a request, much steadier than latency on a shared machine.
    cpu_us: f64,
    /// CPU time the load generator used per request, in microseconds: it
    /// shares the machine's cores with the server.
    client_cpu_us: f64,
    /// Of `cpu_us`, the usage writer's share (its thread and its database
    /// connection's, the process's only threads with a lowered priority).
    writer_cpu_us: f64,
}

/// CPU time, in microseconds, used so far by this process's threads that
/// run at a lowered priority: the usage writer and its SQLite thread.
#[cfg(target_os = "linux")]
fn writer_cpu_us() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut total = 0.0;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised name: state is field 3, utime 14,
        // stime 15, nice 19 (proc(5)).
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if field(19).is_some_and(|nice| nice > 0.0) {
            total += (field(14).unwrap_or(0.0) + field(15).unwrap_or(0.0)) / ticks * 1e6;
        }
    }
    total
}

#[cfg(not(target_os = "linux"))]
fn writer_cpu_us() -> f64 {
    f64::NAN
}

/// CPU time (user and system, all threads), in microseconds, used so far by
/// this process (the server under test, plus the idle benchmark harness) and
/// by its finished children (the load generators).
fn cpu_us() -> (f64, f64) {
    #[cfg(target_os = "linux")]
    {
        let of = |who| {
            // SAFETY: getrusage fills the struct it is given.
            let usage = unsafe {
                let mut usage: libc::rusage = std::mem::zeroed();
                libc::getrusage(who, &mut usage);
                usage
            };
            let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
            us(usage.ru_utime) + us(usage.ru_stime)
        };
        (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
    }
    #[cfg(not(target_os = "linux"))]
    (f64::NAN, f64::NAN)
}

impl WrkResult {
    /// The median of each figure over several runs.
    fn median(rs: &[WrkResult]) -> WrkResult {
        WrkResult {
            rps: median(rs.iter().map(|r| r.rps).collect()),
            p50_ms: median(rs.iter().map(|r| r.p50_ms).collect()),
            p99_ms: median(rs.iter().map(|r| r.p99_ms).collect()),
            cpu_us: median(rs.iter().map(|r| r.cpu_us).collect()),
            client_cpu_us: median(rs.iter().map(|r| r.client_cpu_us).collect()),
            writer_cpu_us: median(rs.iter().map(|r| r.writer_cpu_us).collect()),
        }
    }
}

fn parse_latency(text: &str) -> f64 {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, script: Option<&std::path::Path>) -> WrkResult {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{HTTP_SECONDS}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    let (cpu_before, writer_before) = (cpu_us(), writer_cpu_us());
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk runs (make bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line_value = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let rps: f64 = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let (cpu_after, writer) = (cpu_us(), writer_cpu_us() - writer_before);
    let (cpu, client_cpu) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let non2xx = text.lines().any(|l| l.contains("Non-2xx"));
    assert!(!non2xx, "wrk saw errors:\n{text}");
    // "  123456 requests in 8.00s, 20.1MB read"
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    WrkResult {
        rps,
        p50_ms: parse_latency(&line_value("50%")),
        p99_ms: parse_latency(&line_value("99%")),
        cpu_us: cpu / requests,
        client_cpu_us: client_cpu / requests,
        writer_cpu_us: writer / requests,
    }
}

/// Sends `rate` requests per second for `HTTP_SECONDS` over `CONNECTIONS`
/// connections with `oha` (open loop) and reads its latency percentiles.
fn oha(url: &str, rate: u32, post: Option<(&str, &str)>, headers: &[String]) -> WrkResult {
    let mut cmd = Command::new("oha");
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "-z",
        &format!("{HTTP_SECONDS}s"),
        "-c",
        &CONNECTIONS.to_string(),
        "-q",
        &rate.to_string(),
        // Count the time a request waited to be sent, not only its service
        // time (no coordinated omission).
        "--latency-correction",
    ]);
    if let Some((token, body)) = post {
        cmd.args(["-m", "POST", "-T", "application/json", "-d", body])
            .args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    for header in headers {
        cmd.args(["-H", header]);
    }
    let (cpu_before, writer_before) = (cpu_us(), writer_cpu_us());
    let out = cmd
        .arg(url)
        .output()
        .expect("oha runs (make bench installs it)");
    let (cpu_after, writer) = (cpu_us(), writer_cpu_us() - writer_before);
    let (cpu, client_cpu) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oha printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let ms = |key: &str| json["latencyPercentiles"][key].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let codes = &json["statusCodeDistribution"];
    let requests = codes["200"].as_f64().unwrap_or(f64::NAN);
    assert!(
        codes
            .as_object()
            .is_some_and(|c| c.keys().all(|k| k == "200")),
        "oha saw errors: {codes}"
    );
    WrkResult {
        rps: json["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN),
        p50_ms: ms("p50"),
        p99_ms: ms("p99"),
        cpu_us: cpu / requests,
        client_cpu_us: client_cpu / requests,
        writer_cpu_us: writer / requests,
    }
}

/// The saturated runs (wrk) and the fixed-rate runs (oha), each for the
/// trivial handler and for verify, and the fixed rate used.
struct HttpResults {
    ping: WrkResult,
    verify: WrkResult,
    rate: u32,
    ping_at_rate: WrkResult,
    verify_at_rate: WrkResult,
}

/// A `wrk` script that POSTs `body` to `/v1/verify` with the gateway
/// `token`, written to a temporary file named after `tag`.
fn verify_script(tag: &str, body: &str, token: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("portico-bench-{tag}-{}.lua", std::process::id()));
    std::fs::write(
        &path,
        format!(
            "wrk.method = \"POST\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
        ),
    )
    .unwrap();
    path
}

async fn over_http(fixed_rate_runs: bool) -> HttpResults {
    let (state, secret, token) = setup("http").await;
    let (addr, stop, handle) = start_server(state.clone()).await;
    let body = serde_json::json!({
        "key": secret, "method": "GET", "path": "/v1/records/42", "client_ip": "203.0.113.7", "environment": "sandbox"
    });
    let script = verify_script("http", &body.to_string(), &token);
    // Check the request is the valid-key path before measuring it.
    let check: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/v1/verify"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["code"], "ok", "{check}");

    // BENCH_RATE=N skips the saturated runs and measures at N requests/s.
    let fixed_rate: Option<u32> = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut ping = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..if fixed_rate.is_some() { 0 } else { runs() } {
        let url = format!("http://{addr}/v1/ping");
        ping.push(
            tokio::task::spawn_blocking(move || wrk(&url, None))
                .await
                .unwrap(),
        );
        let (url, script) = (format!("http://{addr}/v1/verify"), script.clone());
        verify.push(
            tokio::task::spawn_blocking(move || wrk(&url, Some(&script)))
                .await
                .unwrap(),
        );
    }
    let med = WrkResult::median;
    let (ping, verify) = (med(&ping), med(&verify));

    // Latency at a sustainable load: half of verify's saturated throughput.
    let rate = fixed_rate.unwrap_or_else(|| (verify.rps / 2.0).floor().max(100.0) as u32);
    let body_text = body.to_string();
    let mut ping_at_rate = Vec::new();
    let mut verify_at_rate = Vec::new();
    for _ in 0..if fixed_rate_runs { runs() } else { 0 } {
        let url = format!("http://{addr}/v1/ping");
        ping_at_rate.push(
            tokio::task::spawn_blocking(move || oha(&url, rate, None, &[]))
                .await
                .unwrap(),
        );
        let (url, token, body) = (
            format!("http://{addr}/v1/verify"),
            token.clone(),
            body_text.clone(),
        );
        verify_at_rate.push(
            tokio::task::spawn_blocking(move || oha(&url, rate, Some((&token, &body)), &[]))
                .await
                .unwrap(),
        );
    }
    let _ = stop.send(());
    handle.await.unwrap();
    let _ = std::fs::remove_file(&script);
    HttpResults {
        ping,
        verify,
        rate,
        ping_at_rate: med(&ping_at_rate),
        verify_at_rate: med(&verify_at_rate),
    }
}

async fn exact_count() -> (i64, u64, Duration) {
    let (state, secret, token) = setup("count").await;
    let (addr, stop, handle) = start_server(state.clone()).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS as usize)
        .build()
        .unwrap();
    let body = Arc::new(serde_json::json!({ "key": secret, "scope": "records:read" }).to_string());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONNECTIONS as usize {
        let (client, body, token) = (client.clone(), body.clone(), token.clone());
        let n = EXACT / CONNECTIONS as usize + usize::from(worker < EXACT % CONNECTIONS as usize);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let res = client
                    .post(format!("http://{addr}/v1/verify"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .await
                    .expect("request");
                assert!(res.status().is_success());
                let _ = res.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    // A graceful shutdown writes every buffered event.
    let _ = stop.send(());
    handle.await.unwrap();
    let mut conn = state.db.acquire().await.unwrap();
    let stored = count_events(conn.conn()).await.unwrap();
    (stored, state.usage.stats().dropped, elapsed)
}

/// The trivial handler's figures and verify's, one row each.
fn print_table(ping: &WrkResult, verify: &WrkResult) {
    println!(
        "   {:<22}{:>11}{:>8}{:>8}{:>11}{:>11}{:>11}",
        "", "requests/s", "p50 ms", "p99 ms", "server µs", "writer µs", "client µs"
    );
    for (name, r) in [
        ("GET /v1/ping (trivial)", ping),
        ("POST /v1/verify", verify),
    ] {
        println!(
            "   {:<22}{:>11.0}{:>8.2}{:>8.2}{:>11.1}{:>11.1}{:>11.1}",
            name, r.rps, r.p50_ms, r.p99_ms, r.cpu_us, r.writer_cpu_us, r.client_cpu_us
        );
    }
    println!(
        "   (CPU time per request: the server, of which the usage writer, and the load generator)"
    );
}

fn main() {
    if let Ok(what) = std::env::var("BENCH_CHILD") {
        if what == "memory" {
            footprint::memory_child();
        }
        instructions::child(&what);
        return;
    }
    // BENCH_ONLY=instructions|inproc|http|saturated|count|gateway|redis runs one part (for
    // quicker iterations; `saturated` is the HTTP part without the
    // fixed-rate runs).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only == part;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = std::env::var("BENCH_DATABASE").unwrap_or_else(|_| "sqlite".into());
        println!(
            "Portico verification benchmarks ({backend}; medians of {} runs)\n",
            runs()
        );

        if run("instructions") {
            println!(
                "0. Instructions per call (callgrind, {} calls each; steady across runs and load)",
                instructions::CALLS
            );
            match instructions::count() {
                Ok(counts) => {
                    let of = |what: &str| counts.iter().find(|(w, _)| *w == what).map_or(f64::NAN, |(_, n)| *n);
                    for (what, label) in instructions::MEASURES {
                        println!("   {label:<44} {:>10.0}", of(what));
                    }
                    let inproc = of("verify") / of("hmac");
                    let router = of("router-verify") / of("router-ping");
                    println!(
                        "   ratio verify()/HMAC:                         {inproc:>10.2}  (target at most 2.00: {})",
                        verdict(inproc <= 2.0)
                    );
                    println!(
                        "   ratio /v1/verify / /v1/ping (router):        {router:>10.2}  (target at most 1.25: {})\n",
                        verdict(router <= 1.25)
                    );
                }
                Err(e) => println!("   not measured: {e}\n"),
            }
        }

        if run("inproc") {
            let (verify_ns, hmac_ns, allocations, bytes) = in_process().await;
            println!("1. In-process verification of a cached valid key");
            println!(
                "   verify():            {:>8.0} ns/op  ({:.0} per second on one core)",
                verify_ns,
                1e9 / verify_ns
            );
            println!("   HMAC of the key only:{:>8.0} ns/op  (baseline)", hmac_ns);
            let ratio = verify_ns / hmac_ns;
            println!(
                "   ratio verify/HMAC:   {ratio:>8.2}  (target at most 2.00: {})",
                verdict(ratio <= 2.0)
            );
            println!(
                "   allocations per verify(): {allocations:.2} ({bytes:.0} bytes asked for), on the calling thread"
            );
            match footprint::memory() {
                Ok((before, after)) => println!(
                    "   resident size with {} keys cached: {:.1} MiB more ({:.0} bytes per key)\n",
                    footprint::CACHED_KEYS,
                    (after - before) / 1_048_576.0,
                    (after - before) / footprint::CACHED_KEYS as f64
                ),
                Err(e) => println!("   resident size not measured: {e}\n"),
            }
        }

        if run("http") || only == "saturated" {
            let HttpResults {
                ping,
                verify,
                rate,
                ping_at_rate,
                verify_at_rate,
            } = over_http(only != "saturated").await;
            let saturated = !ping.rps.is_nan();
            let at_rate = !verify_at_rate.rps.is_nan();
            println!("2. HTTP, {CONNECTIONS} connections, {HTTP_SECONDS} s per run");
            if saturated {
                println!("   Saturated (wrk, closed loop)");
                print_table(&ping, &verify);
                let ratio = verify.rps / ping.rps;
                println!(
                    "   throughput ratio verify/trivial: {ratio:.2}  (target at least 0.80: {})",
                    verdict(ratio >= 0.8)
                );
                let cpu = verify.cpu_us / ping.cpu_us;
                println!(
                    "   server CPU per request, verify/trivial: {cpu:.2}  (target at most 1.25: {})",
                    verdict(cpu <= 1.25)
                );
                println!(
                    "   verify p99: {:.2} ms (the trivial handler's {:.2} ms is this machine's floor)",
                    verify.p99_ms, ping.p99_ms
                );
                println!("   latency here is queueing ({CONNECTIONS} connections / throughput)\n");
            }
            if at_rate {
                println!(
                    "   At a fixed {rate} requests/s ({}oha, open loop)",
                    if saturated {
                        "half of verify's maximum; "
                    } else {
                        ""
                    }
                );
                print_table(&ping_at_rate, &verify_at_rate);
                let p99 = verify_at_rate.p99_ms / ping_at_rate.p99_ms;
                println!(
                    "   verify p99 at {rate}/s: {:.2} ms, {p99:.2} × the trivial handler's  (target at most 1.50 ×: {})\n",
                    verify_at_rate.p99_ms,
                    verdict(p99 <= 1.5)
                );
            }
        }

        if run("count") {
            let (stored, dropped, took) = exact_count().await;
            println!(
                "3. {EXACT} verifications over HTTP in {:.1} s, then a graceful shutdown",
                took.as_secs_f64()
            );
            println!(
                "   usage events stored: {stored}, dropped: {dropped}  ({})",
                if stored == EXACT as i64 {
                    "exact"
                } else {
                    "MISMATCH"
                }
            );
            if stored != EXACT as i64 {
                std::process::exit(1);
            }
        }

        if run("gateway") {
            gateway_bench::report(gateway_bench::through_nginx().await);
        }

        if run("redis") {
            shared_limits::report(shared_limits::with_and_without_redis().await);
        }
    });
}
