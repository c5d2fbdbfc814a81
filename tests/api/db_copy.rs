//! `portico db copy`: a populated SQLite installation moved into an empty
//! Postgres database. Keys still verify, every table's counts and checksums
//! agree, the audit trail stays append-only, and new rows continue the ids.

use crate::helpers::{fresh_database, Backend, TestApp};
use crate::verify::world;
use portico::api::keys::CreatedKey;
use portico::server::db::copy::{copy, CopyError};
use serde_json::{json, Value};
use std::process::Command;

async fn ask(app: &TestApp, gateway: &str, key: &str) -> Value {
    reqwest::Client::new()
        .post(app.url("/v1/verify"))
        .bearer_auth(gateway)
        .json(&json!({"key": key, "method": "GET", "path": "/v1/records/1", "client_ip": "203.0.113.9"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sqlite_installation_moves_to_postgres_and_its_keys_still_verify() {
    // An installation in use: accounts, keys (one rotated, one revoked),
    // usage, the audit trail, sessions.
    let old = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&old, "owner@move.example").await;
    let kept = w.key(&[]).await;
    let rotated = w.key(&[]).await;
    let revoked = w.key(&[]).await;
    let successor: CreatedKey = w
        .client
        .call(
            "rotate_key",
            &[("key_id", rotated.key.key_id.as_str()), ("overlap", "24h")],
        )
        .await
        .unwrap();
    w.client
        .call::<()>(
            "revoke_key",
            &[
                ("key_id", revoked.key.key_id.as_str()),
                ("reason", "moving"),
            ],
        )
        .await
        .unwrap();
    for key in [&kept, &rotated, &revoked] {
        ask(&old, &w.gateway, &key.secret).await;
    }
    old.state.usage.shutdown().await;
    let source = old.database_url.clone();
    // The servers on the source stop before the copy.
    old.state.db.close().await;

    let (target, _cleanup) = fresh_database(Backend::Postgres).await;
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["db", "copy", "--from", &source, "--to", &target])
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("copying api_keys: 4 of 4 rows"),
        "a progress line per table: {stderr}"
    );
    for table in [
        "users",
        "organisations",
        "memberships",
        "sessions",
        "api_keys",
        "audit_events",
        "usage_events",
        "usage_hourly",
        "gateway_tokens",
        "email_verifications",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("{table} in\n{stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], fields[2], "{line}");
        assert_ne!(fields[1], "0", "{table} had rows to copy: {line}");
        assert_eq!(fields.last(), Some(&"equal"), "{line}");
    }
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    assert!(
        stdout.contains("change_log") && stdout.contains("not copied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the audit trail is append-only on the target"),
        "{stdout}"
    );

    // The new installation, on Postgres with the same server secret.
    let new = TestApp::start_on(target.clone()).await;
    assert_eq!(ask(&new, &w.gateway, &kept.secret).await["code"], "ok");
    assert_eq!(
        ask(&new, &w.gateway, &rotated.secret).await["code"],
        "ok",
        "still in its overlap"
    );
    assert_eq!(ask(&new, &w.gateway, &successor.secret).await["code"], "ok");
    assert_eq!(
        ask(&new, &w.gateway, &revoked.secret).await["code"],
        "revoked"
    );
    // The rotation's links survived (they refer to rows of the same table).
    let client = new.client();
    client.sign_in("owner@move.example").await;
    let detail: portico::api::keys::KeyDetail = client
        .call("get_key", &[("key_id", rotated.key.key_id.as_str())])
        .await
        .unwrap();
    let chain: Vec<&str> = detail.chain.iter().map(|l| l.key_id.as_str()).collect();
    assert_eq!(
        chain,
        [rotated.key.key_id.as_str(), successor.key.key_id.as_str()]
    );
    // New rows continue after the copied ids.
    let fresh = crate::helpers::create_key(&client, &w.org_id, &[])
        .await
        .unwrap();
    assert_eq!(ask(&new, &w.gateway, &fresh.secret).await["code"], "ok");
    // The audit trail stays append-only.
    let mut conn = new.state.db.acquire().await.unwrap();
    let changed = portico::on_conn!(conn.conn(), |c| sqlx::query(
        "update audit_events set reason = 'rewritten'"
    )
    .execute(c)
    .await
    .map(|_| ()));
    assert!(changed.is_err(), "the trigger refuses changes");
    drop(conn);

    // A target that holds data is refused, and named.
    let err = copy(&source, &target, |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, CopyError::TargetNotEmpty(_)), "{err}");
    assert!(
        err.to_string().contains("users: 1 row") && !err.to_string().contains("users: 1 rows"),
        "{err}"
    );
    // Only SQLite to Postgres, and a source that exists.
    let err = copy(&target, &target, |_, _, _| {}).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("--from sqlite://PATH --to postgres://"),
        "{err}"
    );
    let err = copy("sqlite:///nonexistent/portico.db", &target, |_, _, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open the source"), "{err}");
}

/// A target given by mistake (another application's database) is refused
/// before anything is written to it.
#[tokio::test]
async fn a_database_that_holds_data_is_refused_untouched() {
    let old = TestApp::spawn(Backend::Sqlite).await;
    let source = old.database_url.clone();
    old.state.db.close().await;
    let (target, _cleanup) = fresh_database(Backend::Postgres).await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&target)
        .await
        .unwrap();
    sqlx::raw_sql("create table invoices (id int primary key); insert into invoices values (1)")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = copy(&source, &target, |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, CopyError::TargetNotEmpty(_)), "{err}");
    assert!(err.to_string().contains("invoices: 1 row"), "{err}");
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 1, "no Portico table was created");
}
