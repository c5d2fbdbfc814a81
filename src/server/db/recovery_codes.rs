//! Queries on `recovery_codes`: single-use codes that stand in for a second
//! factor, stored as HMACs.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// Replaces every recovery code of `user_id` with `hashes`.
pub async fn replace(
    conn: Conn<'_>,
    user_id: i64,
    hashes: &[String],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *c)
            .await?;
        for hash in hashes {
            sqlx::query(
                "insert into recovery_codes (user_id, code_hash, created_at) values ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    })
}

/// Uses the unused code with this hash. Returns whether there was one: a
/// code works once, however many requests race with it.
pub async fn use_code(
    conn: Conn<'_>,
    user_id: i64,
    code_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update recovery_codes set used_at = $3
             where user_id = $1 and code_hash = $2 and used_at is null",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// How many unused codes `user_id` has.
pub async fn unused(conn: Conn<'_>, user_id: i64) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select count(*) from recovery_codes where user_id = $1 and used_at is null",
        )
        .bind(user_id)
        .fetch_one(c)
        .await
    })
}

/// Removes every recovery code of `user_id`.
pub async fn delete_all(conn: Conn<'_>, user_id: i64) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(c)
            .await
            .map(|_| ())
    })
}
