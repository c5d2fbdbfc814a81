//! Instruction counts: the figures to compare builds by, since they do not
//! vary with the machine's load (`valgrind --tool=callgrind`).
//!
//! The benchmark runs itself under callgrind once per measure, as a child
//! (`BENCH_CHILD=hmac|verify|router-ping|router-verify`). The child prepares
//! the state (outside the count), makes one call to warm the caches, then
//! makes [`CALLS`] calls inside [`measured_calls`], the only function
//! callgrind counts (`--toggle-collect`): the count covers that thread's
//! work for the calls, not the usage writer's thread that stores the events
//! afterwards.

use super::{input, setup};
use axum::body::Body;
use portico::server::{http, secrets::key_hash, verify::verify};
use std::{future::Future, process::Command};
use tower::ServiceExt;

/// Calls counted per measure.
pub const CALLS: usize = 2_000;

/// What each child measures, in the order printed.
pub const MEASURES: [(&str, &str); 4] = [
    ("hmac", "HMAC of the key only (baseline)"),
    ("verify", "verify() of a cached valid key"),
    ("router-ping", "GET /v1/ping through the router (baseline)"),
    ("router-verify", "POST /v1/verify through the router"),
];

/// Runs `call` `n` times to completion on `runtime`. Callgrind counts the
/// instructions executed inside this function only.
#[inline(never)]
fn measured_calls<F, Fut>(runtime: &tokio::runtime::Runtime, n: usize, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    runtime.block_on(async {
        for _ in 0..n {
            call().await;
        }
    });
}

/// The child: prepares, warms up, then makes the counted calls.
pub fn child(what: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The router spawns tasks as it is built: it needs the runtime entered.
    let _entered = runtime.enter();
    let (state, secret, token) = runtime.block_on(setup(&format!("instructions-{what}")));
    let input = input(&secret);
    let router = http::router(state.clone());
    let verify_request = move || {
        axum::http::Request::post("/v1/verify")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({
                    "key": secret,
                    "method": "GET",
                    "path": "/v1/records/42",
                    "client_ip": "203.0.113.7",
                    "environment": "sandbox"
                })
                .to_string(),
            ))
            .unwrap()
    };
    let ping_request = || {
        axum::http::Request::get("/v1/ping")
            .body(Body::empty())
            .unwrap()
    };
    let key = input.key.clone();
    match what {
        "hmac" => {
            let secret_key = state.secret.clone();
            let once = || {
                std::hint::black_box(key_hash::hash_key(&secret_key, std::hint::black_box(&key)));
                async {}
            };
            measured_calls(&runtime, 1, once);
            measured_calls(&runtime, CALLS, once);
        }
        "verify" => {
            let once = || async {
                let verdict = verify(&state, std::hint::black_box(&input)).await.unwrap();
                assert!(verdict.code.is_valid());
            };
            runtime.block_on(once());
            measured_calls(&runtime, CALLS, once);
        }
        "router-ping" | "router-verify" => {
            let make = if what == "router-ping" {
                Box::new(ping_request) as Box<dyn Fn() -> axum::http::Request<Body>>
            } else {
                Box::new(verify_request)
            };
            let once = || {
                let router = router.clone();
                let request = make();
                async move {
                    let res = router.oneshot(request).await.unwrap();
                    assert_eq!(res.status(), 200);
                    let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
                    assert!(body.windows(4).any(|w| w == b"true"), "{body:?}");
                }
            };
            runtime.block_on(once());
            measured_calls(&runtime, CALLS, once);
        }
        other => panic!("unknown BENCH_CHILD {other}"),
    }
    // Leave at once: the count is taken.
    std::process::exit(0);
}

/// Instructions per call of each measure: `(what, instructions)`, or a
/// reason why none could be counted.
pub fn count() -> Result<Vec<(&'static str, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut counts = Vec::new();
    for (what, _) in MEASURES {
        let out = Command::new("valgrind")
            .args([
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--toggle-collect=*measured_calls*",
            ])
            .arg(&exe)
            .env("BENCH_CHILD", what)
            .env("PORTICO_LOG", "error")
            .output()
            .map_err(|e| format!("cannot run valgrind: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("the {what} child failed:\n{stderr}"));
        }
        let collected = stderr
            .lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_owned())
            })
            .and_then(|n| n.parse::<f64>().ok())
            .ok_or_else(|| format!("no count in callgrind's output:\n{stderr}"))?;
        counts.push((what, collected / CALLS as f64));
    }
    Ok(counts)
}
