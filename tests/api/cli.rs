//! The `portico` binary's admin commands and start-up checks.

use crate::helpers::{fresh_database, Backend};
use std::process::Command;

fn portico(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("PORTICO_SECRET", "ab".repeat(32))
        .env("PORTICO_LOG", "warn")
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Prepares an account and its organisation through the service, as
/// sign-up would, and closes the pool so the binary has the database.
async fn with_account(url: &str, email: &str, org: &str) {
    let state = portico::server::build_state(
        portico::server::config::Config::for_database(url),
        portico::server::clock::Clock::system(),
    )
    .await
    .unwrap();
    portico::server::accounts::sign_up(
        &state,
        portico::server::accounts::SignUpForm {
            email: email.into(),
            password: crate::helpers::GOOD_PASSWORD.into(),
            org_name: Some(org.into()),
            invitation: None,
        },
        std::net::Ipv4Addr::LOCALHOST.into(),
    )
    .await
    .unwrap();
    crate::helpers::confirm_email_of(&state, &email.to_lowercase()).await;
    state.db.close().await;
}

async fn staff_commands_manage_staff(backend: Backend) {
    let (url, _cleanup) = fresh_database(backend).await;
    with_account(&url, "support@platform.example", "Platform").await;

    let (ok, out, _) = portico(
        &url,
        &[
            "staff",
            "grant",
            "Support@Platform.example",
            "--role",
            "support",
        ],
    );
    assert!(ok);
    assert!(out.contains("is now platform support"));
    let (_, list, _) = portico(&url, &["staff", "list"]);
    assert!(list.contains("support  support@platform.example"), "{list}");
    let (ok, _, _) = portico(
        &url,
        &[
            "staff",
            "grant",
            "support@platform.example",
            "--role",
            "owner",
        ],
    );
    assert!(ok);
    let (_, list, _) = portico(&url, &["staff", "list"]);
    assert!(list.contains("owner    support@platform.example"), "{list}");

    let (ok, _, err) = portico(
        &url,
        &[
            "staff",
            "grant",
            "ghost@platform.example",
            "--role",
            "support",
        ],
    );
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "portico: no account uses ghost@platform.example: they must sign up first"
    );
    let (ok, _, err) = portico(
        &url,
        &[
            "staff",
            "grant",
            "support@platform.example",
            "--role",
            "admin",
        ],
    );
    assert!(!ok);
    assert!(err.contains("invalid value 'admin'"), "{err}");

    let (ok, out, _) = portico(&url, &["staff", "revoke", "support@platform.example"]);
    assert!(ok, "{out}");
    let (ok, _, err) = portico(&url, &["staff", "revoke", "support@platform.example"]);
    assert!(!ok);
    assert!(err.contains("is not staff"));
    let (_, list, _) = portico(&url, &["staff", "list"]);
    assert_eq!(list.trim(), "no staff yet");

    // An account without a second factor has nothing to reset; the command
    // says so and fails.
    let (ok, _, err) = portico(
        &url,
        &["second-factor", "reset", "support@platform.example"],
    );
    assert!(!ok);
    assert!(err.contains("has no second factor to reset"), "{err}");
    let (ok, _, err) = portico(&url, &["second-factor", "reset", "ghost@platform.example"]);
    assert!(!ok);
    assert!(
        err.contains("No account uses ghost@platform.example"),
        "{err}"
    );
}

#[tokio::test]
async fn staff_commands_manage_staff_on_sqlite() {
    staff_commands_manage_staff(Backend::Sqlite).await;
}

#[tokio::test]
async fn staff_commands_manage_staff_on_postgres() {
    staff_commands_manage_staff(Backend::Postgres).await;
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env("PORTICO_LISTEN", "not-an-address")
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("portico: invalid setting PORTICO_LISTEN (--listen)"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));
}

/// The real binary, stopped with SIGTERM as an orchestrator would, writes
/// every buffered usage event before it exits.
#[tokio::test]
async fn sigterm_flushes_the_usage_buffer() {
    use crate::helpers::GOOD_PASSWORD;
    use portico::api::keys::{CreatedKey, KeyFormData};

    let (url, _cleanup) = fresh_database(Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let (ok, token, err) = portico(&url, &["gateway-token", "create", "sigterm-test"]);
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    let mut server = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env("DATABASE_URL", &url)
        .env("PORTICO_SECRET", "ab".repeat(32))
        .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTICO_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = crate::helpers::TestClient {
        base: base.clone(),
        http: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        jar: Default::default(),
    };
    for _ in 0..50 {
        if reqwest::get(format!("{base}/v1/ping")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    client
        .call::<()>(
            "sign_up",
            &[
                ("email", "term@example.com"),
                ("password", GOOD_PASSWORD),
                ("org_name", "Term"),
            ],
        )
        .await
        .unwrap();
    client.sign_in("term@example.com").await;
    let org_id = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();
    let form: KeyFormData = client
        .call("key_form", &[("org_id", &org_id)])
        .await
        .unwrap();
    let key: CreatedKey = client
        .call(
            "create_key",
            &[
                ("org_id", org_id.as_str()),
                ("request_token", &form.request_token),
                ("name", "k"),
                ("purpose", "p"),
                ("environment", "sandbox"),
                ("scopes[0]", "records:read"),
            ],
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..250 {
        let res = http
            .post(format!("{base}/v1/verify"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"key": key.secret, "scope": "records:read"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK);
    }
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");

    let db = portico::server::db::Db::connect(&url).await.unwrap();
    let mut conn = db.acquire().await.unwrap();
    assert_eq!(
        portico::server::db::usage::count_events(conn.conn())
            .await
            .unwrap(),
        250
    );
}

/// `portico review` prints an organisation's hygiene review, and names an
/// unknown organisation.
#[tokio::test]
async fn review_command_prints_the_review() {
    let (url, _cleanup) = fresh_database(Backend::Sqlite).await;
    with_account(&url, "ops@review.example", "Review Co").await;

    let (ok, out, err) = portico(&url, &["review", "--org", "review-co"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("0 finding(s) across 0 working key(s)"),
        "{out}"
    );
    assert!(out.contains("Nothing to fix."));
    let (ok, out, _) = portico(&url, &["review", "--org", "review-co", "--format", "json"]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 0);
    let (ok, _, err) = portico(&url, &["review", "--org", "nobody"]);
    assert!(!ok);
    assert!(
        err.contains("No organisation with the slug \"nobody\""),
        "{err}"
    );
}

/// A command's standard output is only what it prints for the operator (a
/// token shown once), so that `TOKEN=$(portico gateway-token create …)`
/// works with the default log level: logs go to standard error.
#[tokio::test]
async fn a_created_gateway_token_is_all_that_goes_to_standard_output() {
    let (url, _cleanup) = fresh_database(Backend::Sqlite).await;
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["gateway-token", "create", "edge"])
        .env("DATABASE_URL", &url)
        .env("PORTICO_SECRET", "ab".repeat(32))
        .env_remove("PORTICO_LOG")
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout.trim();
    assert!(
        token.starts_with("gwt_")
            && token.len() == 46
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "stdout: {stdout:?}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
        "no colour codes in a pipe"
    );
}
