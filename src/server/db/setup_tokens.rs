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

/// Whether an unused token with this hash exists.
pub async fn is_open(conn: Conn<'_>, token_hash: &str) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from setup_tokens where token_hash = $1 and used_at is null",
        )
        .bind(token_hash)
        .fetch_one(c)
        .await
        .map(|n| n > 0)
    })
}

/// Uses the token up. Returns whether it was still open.
pub async fn consume(conn: Conn<'_>, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update setup_tokens set used_at = $2 where token_hash = $1 and used_at is null",
        )
        .bind(token_hash)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
