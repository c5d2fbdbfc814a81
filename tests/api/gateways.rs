//! Debian's nginx and Caddy in front of a tiny upstream, configured from
//! `tests/gateways/nginx.conf` and `tests/gateways/Caddyfile` (the files the
//! README shows, with the test's ports and token put in), asking a running
//! Portico about every request over `/v1/forward-auth`.

use crate::helpers::TestApp;
use crate::on_both_databases;
use crate::verify::{world, World};
use axum::{extract::Request, Json, Router};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

/// The API behind the gateway: answers every request with what it received.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(move |req: Request| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let headers: serde_json::Map<String, Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or("?"))))
                .collect();
            Json(json!({
                "method": req.method().as_str(),
                "uri": req.uri().to_string(),
                "headers": headers,
            }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Upstream { addr, hits }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Nginx,
    Caddy,
}

/// A gateway process on loopback; stopped when dropped.
struct Gateway {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/gateways")
        .join(name)
}

fn program(env: &str, candidates: &[&str]) -> String {
    if let Ok(path) = std::env::var(env) {
        return path;
    }
    candidates
        .iter()
        .find(|c| std::path::Path::new(c).exists())
        .unwrap_or(&candidates[candidates.len() - 1])
        .to_string()
}

impl Gateway {
    /// Starts `kind` listening on a free port, in front of `api`, asking the
    /// Portico at `portico` with `token` as its gateway token ("" for none).
    fn start(kind: Kind, portico: SocketAddr, api: SocketAddr, token: &str) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let dir = std::env::temp_dir().join(format!("portico-{kind:?}-{port}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
        let mut command = match kind {
            Kind::Nginx => {
                let mut conf = std::fs::read_to_string(config_file("nginx.conf")).unwrap();
                for (example, actual) in [
                    ("127.0.0.1:3000", portico.to_string()),
                    ("127.0.0.1:8080", api.to_string()),
                    ("127.0.0.1:8000", addr.to_string()),
                    ("gwt_YOUR_GATEWAY_TOKEN", token.to_owned()),
                ] {
                    assert!(conf.contains(example), "nginx.conf names {example}");
                    conf = conf.replace(example, &actual);
                }
                std::fs::write(dir.join("nginx.conf"), conf).unwrap();
                let mut c =
                    Command::new(program("PORTICO_TEST_NGINX", &["/usr/sbin/nginx", "nginx"]));
                c.arg("-p").arg(&dir).args([
                    "-c",
                    "nginx.conf",
                    "-e",
                    "stderr",
                    "-g",
                    "daemon off;",
                ]);
                c
            }
            Kind::Caddy => {
                let mut c =
                    Command::new(program("PORTICO_TEST_CADDY", &["/usr/bin/caddy", "caddy"]));
                c.args(["run", "--adapter", "caddyfile", "--config"])
                    .arg(config_file("Caddyfile"))
                    .env("GATEWAY_LISTEN", addr.to_string())
                    .env("PORTICO", portico.to_string())
                    .env("API", api.to_string())
                    .env("PORTICO_GATEWAY_TOKEN", token)
                    .env("HOME", &dir)
                    .env("XDG_DATA_HOME", &dir)
                    .env("XDG_CONFIG_HOME", &dir);
                c
            }
        };
        let child = command
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {kind:?} ({e}); run `make integration`, which installs it")
            });
        let gateway = Self { child, dir, addr };
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return gateway;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(gateway.dir.join("gateway.log")).unwrap_or_default();
        panic!("{kind:?} did not start on {addr}:\n{log}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn header<'r>(res: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Drives the requests the issue lists through a real gateway of `kind`.
async fn through(app: &TestApp, kind: Kind) {
    let w: World = world(app, &format!("{kind:?}@gateway.example").to_lowercase()).await;
    let api = upstream().await;
    let gateway = Gateway::start(kind, app.addr, api.addr, &w.gateway);
    let http = reqwest::Client::new();
    let key = w.key(&[]).await;
    let case = format!("{kind:?}");

    // A valid key reaches the upstream with its identity; what the client
    // claimed is replaced, and the upstream never sees the key.
    for (how, req) in [
        (
            "bearer",
            http.get(gateway.url("/v1/records/42?page=2"))
                .bearer_auth(&key.secret),
        ),
        (
            "x-api-key",
            http.get(gateway.url("/v1/records/42?page=2"))
                .header("x-api-key", &key.secret),
        ),
    ] {
        let res = req
            .header("portico-key-id", "forged")
            .header("portico-scopes", "admin:everything")
            .header("portico-org-id", "1")
            .header("portico_scopes", "admin:everything")
            .header("x-original-url", "/v1/customers/export")
            .header("x-http-method-override", "DELETE")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{case} {how}");
        let seen: Value = res.json().await.unwrap();
        let h = &seen["headers"];
        assert_eq!(seen["uri"], "/v1/records/42?page=2", "{case}");
        assert_eq!(h["portico-key-id"], key.key.key_id.as_str(), "{case} {how}");
        assert_eq!(h["portico-org-id"], w.org_id.as_str(), "{case} {how}");
        assert_eq!(h["portico-environment"], "sandbox", "{case} {how}");
        assert_eq!(
            h["portico-scopes"], "customers:read records:read",
            "{case} {how}"
        );
        assert!(
            h.get("authorization").is_none() && h.get("x-api-key").is_none(),
            "{case}: the upstream saw the key: {h}"
        );
        for steer in [
            "portico_scopes",
            "x-original-url",
            "x-http-method-override",
            "x-forwarded-uri",
            "x-original-uri",
        ] {
            assert!(
                h.get(steer).is_none(),
                "{case}: the upstream saw {steer}: {h}"
            );
        }
        assert!(!seen.to_string().contains(&key.secret), "{case}");
    }
    assert_eq!(api.hits.load(Ordering::SeqCst), 2);

    // Refusals stop at the gateway with the status and code.
    let revoked = w.key(&[]).await;
    w.client
        .call::<()>(
            "revoke_key",
            &[("key_id", &revoked.key.key_id), ("reason", "test")],
        )
        .await
        .unwrap();
    let fenced = w.key(&[("ip_allowlist", "203.0.113.0/24")]).await;
    let slow = w.key(&[("rate_limit", "1")]).await;
    assert_eq!(
        http.get(gateway.url("/v1/records"))
            .bearer_auth(&slow.secret)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let refusals = [
        (
            "wrong scope",
            http.get(gateway.url("/v1/customers/export"))
                .bearer_auth(&key.secret),
            StatusCode::FORBIDDEN,
            "scope_denied",
        ),
        (
            "wrong scope, encoded",
            http.get(gateway.url("/v1/customers/%65xport"))
                .bearer_auth(&key.secret),
            StatusCode::FORBIDDEN,
            "scope_denied",
        ),
        (
            "wrong method",
            http.delete(gateway.url("/v1/records/42"))
                .bearer_auth(&key.secret),
            StatusCode::FORBIDDEN,
            "scope_denied",
        ),
        // A client naming an allowed request in the other conventions' headers.
        (
            "forged original",
            http.get(gateway.url("/v1/customers/export"))
                .bearer_auth(&key.secret)
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-uri", "/v1/records")
                .header("x-original-method", "GET")
                .header("x-original-uri", "/v1/records"),
            StatusCode::FORBIDDEN,
            "scope_denied",
        ),
        // A client claiming an allowed address.
        (
            "forged address",
            http.get(gateway.url("/v1/records"))
                .bearer_auth(&fenced.secret)
                .header("x-forwarded-for", "203.0.113.7")
                .header("x-real-ip", "203.0.113.7"),
            StatusCode::FORBIDDEN,
            "ip_denied",
        ),
        (
            "revoked key",
            http.get(gateway.url("/v1/records"))
                .bearer_auth(&revoked.secret),
            StatusCode::FORBIDDEN,
            "revoked",
        ),
        (
            "missing key",
            http.get(gateway.url("/v1/records")),
            StatusCode::UNAUTHORIZED,
            "malformed",
        ),
        (
            "rate limited",
            http.get(gateway.url("/v1/records"))
                .bearer_auth(&slow.secret),
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
        ),
        (
            "ambiguous path",
            http.get(gateway.url("/v1/records/%2F..%2Fcustomers"))
                .bearer_auth(&key.secret),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (what, req, status, code) in refusals {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{case}: {what}");
        assert_eq!(header(&res, "portico-code"), Some(code), "{case}: {what}");
        match status {
            StatusCode::UNAUTHORIZED => assert!(
                header(&res, "www-authenticate")
                    .unwrap_or("")
                    .starts_with("Bearer"),
                "{case}: {what}"
            ),
            StatusCode::TOO_MANY_REQUESTS => {
                let secs: u64 = header(&res, "retry-after")
                    .unwrap_or("")
                    .parse()
                    .unwrap_or_else(|_| panic!("{case}: Retry-After"));
                assert!((1..=60).contains(&secs), "{case}: {secs}");
            }
            _ => {}
        }
        let body = res.text().await.unwrap();
        assert!(
            !body.contains(&key.secret) && !body.contains(&revoked.secret),
            "{case}: {what}"
        );
    }
    assert_eq!(
        api.hits.load(Ordering::SeqCst),
        3,
        "{case}: only allowed requests reached the upstream"
    );

    // A gateway without its token, or with a wrong one, is refused.
    let wrong = format!("{}{}", &w.gateway[..w.gateway.len() - 4], "abcd");
    for token in ["", wrong.as_str()] {
        let stranger = Gateway::start(kind, app.addr, api.addr, token);
        let res = http
            .get(stranger.url("/v1/records"))
            .bearer_auth(&key.secret)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{case}: token {token:?}"
        );
        assert_eq!(
            header(&res, "portico-code"),
            Some("gateway_unauthorized"),
            "{case}: token {token:?}"
        );
    }
    assert_eq!(api.hits.load(Ordering::SeqCst), 3);

    // With Portico unreachable, the gateway fails closed.
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let orphan = Gateway::start(kind, dead, api.addr, &w.gateway);
    let res = http
        .get(orphan.url("/v1/records"))
        .bearer_auth(&key.secret)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_server_error(), "{case}: {}", res.status());
    assert_eq!(
        api.hits.load(Ordering::SeqCst),
        3,
        "{case}: nothing passed without an answer"
    );
}

on_both_databases! {
    async fn nginx_lets_through_only_what_portico_allows(app) {
        through(&app, Kind::Nginx).await;
    }

    async fn caddy_lets_through_only_what_portico_allows(app) {
        through(&app, Kind::Caddy).await;
    }
}

/// The README shows the configurations the tests run.
#[test]
fn the_readme_shows_the_tested_configurations() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for name in ["nginx.conf", "Caddyfile", "traefik.yml", "envoy.yaml"] {
        let file = std::fs::read_to_string(config_file(name)).unwrap();
        assert!(
            readme.contains(&file),
            "README.md shows tests/gateways/{name} as it is"
        );
    }
}
