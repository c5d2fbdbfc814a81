//! Queries on `password_resets`: single-use password reset links.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// Stores a reset token's hash for `user_id`, valid until `expires_at`.
pub async fn insert(
    conn: Conn<'_>,
    token_hash: &str,
    user_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into password_resets (token_hash, user_id, created_at, expires_at)
             values ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// When `user_id` was last sent a reset link, if ever.
pub async fn last_sent(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select created_at from password_resets where user_id = $1
             order by created_at desc limit 1",
        )
        .bind(user_id)
        .fetch_optional(c)
        .await
    })
}

/// The account an unused, unexpired token belongs to.
pub async fn open_for(
    conn: Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select user_id from password_resets
             where token_hash = $1 and used_at is null and expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })
}

/// Uses the token up, with every other open token of its account. Returns
/// the account, or `None` if the token was not open.
pub async fn consume(
    conn: Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    on_conn!(conn, |c| {
        let user_id: Option<i64> = sqlx::query_scalar(
            "update password_resets set used_at = $2
             where token_hash = $1 and used_at is null and expires_at > $2
             returning user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?;
        if let Some(user_id) = user_id {
            sqlx::query(
                "update password_resets set used_at = $2 where user_id = $1 and used_at is null",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
        Ok(user_id)
    })
}

/// Deletes links that expired before `before`. Returns how many.
pub async fn prune(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from password_resets where expires_at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}
