//! Health for load balancers and orchestrators: `GET /healthz` (the process
//! answers) and `GET /readyz` (it can serve: database reachable, migrations
//! applied, key changes from other instances arriving, and Redis answering
//! when rate limits are shared through it).

use crate::server::{db::Db, state::AppState};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};

/// `/readyz`'s query: `optional=redis` reports Redis without failing on it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReadyQuery {
    /// Checks reported but not required, comma-separated (`redis`).
    optional: Option<String>,
}
use serde_json::json;

/// `GET /healthz`: 200 `ok` whenever the process answers (liveness).
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// `GET /readyz`: 200 when every check passes, else 503; the JSON body
/// names each check and what failed:
/// `{"ready": false, "checks": {"database": "ok", "migrations": "3 not applied", "listener": "ok"}}`;
/// with `PORTICO_REDIS_URL`, a `redis` check too (verification goes on
/// without Redis, but its limits are per instance until it answers), which
/// `?optional=redis` reports without failing on it: every instance shares
/// one Redis, so an orchestrator that takes unready instances out would
/// otherwise take them all out at once.
pub async fn readyz(
    State(state): State<AppState>,
    Query(query): Query<ReadyQuery>,
) -> impl IntoResponse {
    let mut notes: Vec<(&str, String)> = Vec::new();
    let database = database_check(&state.db).await;
    let migrations = match &database {
        Ok(()) => migrations_check(&state.db).await,
        Err(_) => Err("not checked: the database is unreachable".to_owned()),
    };
    let listener = if state.metrics.listener_connected() {
        Ok(())
    } else {
        Err("not listening for key changes from other instances".to_owned())
    };
    let mut checks = vec![
        ("database", database),
        ("migrations", migrations),
        ("listener", listener),
    ];
    if let Some(limiter) = &state.global_limiter {
        let redis = limiter.refresh().await;
        // `?optional=redis`: reported, but not a reason to take the
        // instance out (verification goes on without Redis).
        let optional = query
            .optional
            .as_deref()
            .is_some_and(|o| o.split(',').any(|c| c.trim() == "redis"));
        match redis {
            Err(e) if optional => {
                notes.push(("redis", format!("{e} (optional: limits per instance)")))
            }
            redis => checks.push(("redis", redis)),
        }
    }
    let ready = checks.iter().all(|(_, r)| r.is_ok());
    let mut named: serde_json::Map<String, serde_json::Value> = checks
        .iter()
        .map(|(name, r)| {
            (
                name.to_string(),
                json!(r.as_ref().map_or_else(|e| e.clone(), |()| "ok".to_owned())),
            )
        })
        .collect();
    for (name, note) in notes {
        named.insert(name.to_owned(), json!(note));
    }
    let body = json!({ "ready": ready, "checks": named });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn database_check(db: &Db) -> Result<(), String> {
    let mut conn = db.acquire().await.map_err(|_| "unreachable".to_owned())?;
    crate::on_conn!(conn.conn(), |c| sqlx::query("select 1")
        .execute(c)
        .await
        .map(|_| ()))
    .map_err(|_| "unreachable".to_owned())
}

async fn migrations_check(db: &Db) -> Result<(), String> {
    let missing = db
        .migrations_missing()
        .await
        .map_err(|_| "cannot read the migrations table".to_owned())?;
    match missing {
        0 => Ok(()),
        1 => Err("1 migration not applied: run portico migrate".to_owned()),
        n => Err(format!("{n} migrations not applied: run portico migrate")),
    }
}
