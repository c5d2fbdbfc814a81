//! Page benchmarks (`make bench-pages`): the server-side rendering of
//! `/keys` for an organisation with 10,000 keys, against the same page for
//! an organisation with none, in the same run, on SQLite.
//!
//! Each figure is the median of `BENCH_REQUESTS` (default 40) sequential
//! requests after a few for warming up, through the real HTTP server with a
//! signed-in session. Target: the 10,000-key page's median under 50 ms.

use chrono::{Duration as Days, Utc};
use portico::{
    domain::{key_format::Environment, keys::Approval},
    server::{
        accounts::{self, SignUpForm},
        build_state,
        clock::Clock,
        config::Config,
        db::api_keys::{self, NewKey},
        serve,
        state::AppState,
    },
};
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use tokio::sync::oneshot;

/// The allocator the `portico` binary uses (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEYS: usize = 10_000;
const PASSWORD: &str = "paper lantern orbit velvet";
const TARGET_MS: f64 = 50.0;

fn requests() -> usize {
    std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(40)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Signs up `email` with a new organisation and returns the organisation's id.
async fn account(state: &AppState, email: &str) -> i64 {
    accounts::sign_up(
        state,
        SignUpForm {
            email: email.to_owned(),
            password: PASSWORD.into(),
            org_name: Some(format!("Org of {email}")),
            invitation: None,
        },
        std::net::Ipv4Addr::LOCALHOST.into(),
    )
    .await
    .expect("sign up")
    .expect("a new account")
    .org_id
    .expect("an organisation")
}

/// Stores `n` keys for the organisation's first member, in one transaction.
async fn fill(state: &AppState, org_id: i64, owner_id: i64, n: usize) {
    let now = Utc::now();
    let mut tx = state.db.begin().await.unwrap();
    for i in 0..n {
        let key_id = format!("b{i:09}");
        let name = format!("Service key {i}");
        let secret_hash = format!("{i:064x}");
        api_keys::insert(
            tx.conn(),
            &NewKey {
                key_id: &key_id,
                org_id,
                owner_id,
                created_by: owner_id,
                name: &name,
                purpose: "Benchmark inventory",
                service: "billing",
                environment: if i % 3 == 0 {
                    Environment::Production
                } else {
                    Environment::Sandbox
                },
                scopes: "records:read records:write",
                ip_allowlist: "",
                secret_hash: &secret_hash,
                created_at: now - Days::seconds(i as i64),
                expires_at: now + Days::days(30 + (i % 300) as i64),
                predecessor_id: None,
                create_token: None,
                rate_limit_per_minute: 600,
                monthly_quota: None,
                approval: Approval::NotRequired,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn start_server(state: AppState) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(state, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// A client signed in as `email`.
async fn signed_in(addr: SocketAddr, email: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("http://{addr}/api/sign_in"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "sign-in: {}", res.status());
    client
}

/// The median time, in milliseconds, of rendering `path` for `client`.
async fn page_ms(client: &reqwest::Client, addr: SocketAddr, path: &str, expect: &str) -> f64 {
    let fetch = || async {
        let started = Instant::now();
        let res = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body = res.text().await.unwrap();
        let took = started.elapsed();
        assert!(body.contains(expect), "{path} does not show {expect:?}");
        took
    };
    for _ in 0..5 {
        fetch().await;
    }
    let mut ms = Vec::new();
    for _ in 0..requests() {
        ms.push(fetch().await.as_secs_f64() * 1000.0);
    }
    median(ms)
}

#[tokio::main]
async fn main() {
    let path = std::env::temp_dir().join(format!("portico-bench-pages-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let config = Config::for_database(&format!("sqlite://{}", path.display()));
    let state = build_state(config, Clock::system()).await.expect("state");
    let full_org = account(&state, "full@bench.example").await;
    account(&state, "empty@bench.example").await;
    let started = Instant::now();
    // The first account's user id is 1.
    fill(&state, full_org, 1, KEYS).await;
    println!(
        "Stored {KEYS} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (addr, stop) = start_server(state).await;
    let full = signed_in(addr, "full@bench.example").await;
    let empty = signed_in(addr, "empty@bench.example").await;

    let empty_ms = page_ms(&empty, addr, "/keys", "No API keys yet").await;
    let full_ms = page_ms(&full, addr, "/keys", &format!("of {} keys", "10,000")).await;
    let next_ms = page_ms(
        &full,
        addr,
        "/keys?sort=expiry&status=active&after=b000000049",
        "Showing",
    )
    .await;
    println!(
        "\n/keys, server-side rendering over HTTP, median of {} requests (SQLite)",
        requests()
    );
    println!("  no keys:                       {empty_ms:>8.2} ms");
    println!(
        "  10,000 keys, first page:       {full_ms:>8.2} ms  ({:.2}x the empty page)",
        full_ms / empty_ms
    );
    println!(
        "  10,000 keys, filtered, sorted, a later page: {next_ms:>8.2} ms  ({:.2}x)",
        next_ms / empty_ms
    );
    println!(
        "  target: 10,000 keys under {TARGET_MS} ms: {}",
        if full_ms < TARGET_MS && next_ms < TARGET_MS {
            "MET"
        } else {
            "MISSED"
        }
    );
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
