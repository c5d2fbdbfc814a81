//! Queries on `setup_tokens`: the one-time link that creates the first owner.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// Replaces any unused setup token with a new one.
pub async fn replace(conn: Conn<'_>, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("delete from setup_tokens where used_at is null")
            .execute(&mut *c)
            .await?;
        sqlx::query("insert into setup_tokens (token_hash, created_at) values ($1, $2)")
            .bind(token_hash)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
}

/// What makes a setup token usable: unused, made after `$2` (the oldest
/// moment a live one can have been made), and no platform owner yet.
const OPEN: &str = "token_hash = $1 and used_at is null and created_at > $2
     and not exists (select 1 from staff where role = 'owner')";

/// Whether a usable token with this hash exists, for tokens made after
/// `made_after`.
pub async fn is_open(
    conn: Conn<'_>,
    token_hash: &str,
    made_after: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(&format!("select count(*) from setup_tokens where {OPEN}"))
            .bind(token_hash)
            .bind(made_after)
            .fetch_one(c)
            .await
            .map(|n| n > 0)
    })
}

/// Uses the token up. Returns whether it was still open (see [`is_open`]).
pub async fn consume(
    conn: Conn<'_>,
    token_hash: &str,
    made_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(&format!(
            "update setup_tokens set used_at = $3 where {OPEN}"
        ))
        .bind(token_hash)
        .bind(made_after)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
