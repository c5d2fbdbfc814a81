//! Forward-auth through a real nginx: the configuration the integration
//! tests run (`tests/gateways/nginx.conf`) in front of a tiny upstream,
//! against the same configuration without its `auth_request` line (nginx
//! proxying straight to the upstream), in the same run: saturated under
//! `wrk`, then at a fixed rate (half of forward-auth's maximum) under `oha`.

use super::{oha, runs, setup, start_server, wrk, WrkResult, CONNECTIONS, HTTP_SECONDS};
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

/// An nginx process; stopped when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nginx(portico: SocketAddr, api: SocketAddr, token: &str, with_auth: bool) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gateways/nginx.conf");
    let mut conf = std::fs::read_to_string(file).unwrap();
    for (example, actual) in [
        ("127.0.0.1:3000", portico.to_string()),
        ("127.0.0.1:8080", api.to_string()),
        ("127.0.0.1:8000", addr.to_string()),
        ("gwt_YOUR_GATEWAY_TOKEN", token.to_owned()),
    ] {
        conf = conf.replace(example, &actual);
    }
    if !with_auth {
        conf = conf.replace("auth_request /_portico;", "");
    }
    let dir = std::env::temp_dir().join(format!("portico-bench-nginx-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let program = if std::path::Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    };
    let child = Command::new(program)
        .arg("-p")
        .arg(&dir)
        .args(["-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx runs (make bench installs it)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Nginx { child, dir, addr }
}

/// The upstream: one route answering a few bytes, as cheap as it gets.
async fn upstream() -> SocketAddr {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The medians: straight through nginx, and through nginx asking Portico.
pub struct GatewayResults {
    pub plain: WrkResult,
    pub guarded: WrkResult,
    pub rate: u32,
    pub plain_at_rate: WrkResult,
    pub guarded_at_rate: WrkResult,
}

/// Runs the comparison.
pub async fn through_nginx() -> GatewayResults {
    let (state, secret, token) = setup("gateway").await;
    let (portico, stop, handle) = start_server(state).await;
    let api = upstream().await;
    let guarded = nginx(portico, api, &token, true);
    let plain = nginx(portico, api, &token, false);
    let path = "/v1/records/42";
    let check = reqwest::Client::new()
        .get(format!("http://{}{path}", guarded.addr))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 200, "a valid key passes nginx");
    assert_eq!(check.headers()["portico-code"], "ok");

    let script =
        std::env::temp_dir().join(format!("portico-bench-gateway-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!("wrk.headers[\"Authorization\"] = \"Bearer {secret}\"\n"),
    )
    .unwrap();
    let header = vec![format!("Authorization: Bearer {secret}")];
    let saturated = |addr: SocketAddr| {
        let (url, script) = (format!("http://{addr}{path}"), script.clone());
        tokio::task::spawn_blocking(move || wrk(&url, Some(&script)))
    };
    let (mut plain_runs, mut guarded_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        plain_runs.push(saturated(plain.addr).await.unwrap());
        guarded_runs.push(saturated(guarded.addr).await.unwrap());
    }
    let (plain_sat, guarded_sat) = (
        WrkResult::median(&plain_runs),
        WrkResult::median(&guarded_runs),
    );
    let rate = (guarded_sat.rps / 2.0).floor().max(100.0) as u32;
    let at_rate = |addr: SocketAddr| {
        let (url, header) = (format!("http://{addr}{path}"), header.clone());
        tokio::task::spawn_blocking(move || oha(&url, rate, None, &header))
    };
    let (mut plain_rate, mut guarded_rate) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        plain_rate.push(at_rate(plain.addr).await.unwrap());
        guarded_rate.push(at_rate(guarded.addr).await.unwrap());
    }
    drop((guarded, plain));
    let _ = stop.send(());
    handle.await.unwrap();
    let _ = std::fs::remove_file(&script);
    GatewayResults {
        plain: plain_sat,
        guarded: guarded_sat,
        rate,
        plain_at_rate: WrkResult::median(&plain_rate),
        guarded_at_rate: WrkResult::median(&guarded_rate),
    }
}

/// Prints the comparison.
pub fn report(r: GatewayResults) {
    println!(
        "4. Forward-auth through nginx (auth_request asking Portico), {CONNECTIONS} connections, {HTTP_SECONDS} s per run"
    );
    let row = |name: &str, x: &WrkResult| {
        println!(
            "   {name:<30}{:>11.0}{:>8.2}{:>8.2}",
            x.rps, x.p50_ms, x.p99_ms
        );
    };
    println!(
        "   {:<30}{:>11}{:>8}{:>8}",
        "", "requests/s", "p50 ms", "p99 ms"
    );
    println!("   Saturated (wrk)");
    row("nginx → upstream", &r.plain);
    row("nginx + Portico → upstream", &r.guarded);
    println!(
        "   throughput ratio with/without forward-auth: {:.2}",
        r.guarded.rps / r.plain.rps
    );
    println!(
        "   At a fixed {} requests/s (half of forward-auth's maximum; oha, open loop)",
        r.rate
    );
    row("nginx → upstream", &r.plain_at_rate);
    row("nginx + Portico → upstream", &r.guarded_at_rate);
    println!(
        "   added by forward-auth: p50 {:+.2} ms, p99 {:+.2} ms\n",
        r.guarded_at_rate.p50_ms - r.plain_at_rate.p50_ms,
        r.guarded_at_rate.p99_ms - r.plain_at_rate.p99_ms
    );
}
