//! Queries on `sign_in_failures`, the memory behind sign-in throttling.
//!
//! A subject is `account:<email>` or `address:<ip>`.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// Records one failed sign-in against `subject`. Returns the row's id.
pub async fn record(conn: Conn<'_>, subject: &str, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into sign_in_failures (subject, failed_at) values ($1, $2) returning id",
        )
        .bind(subject)
        .bind(now)
        .fetch_one(c)
        .await
    })
}

/// Serialises attempts on `subject` until the transaction ends: on Postgres a
/// transaction-scoped advisory lock; on SQLite nothing, since a write
/// transaction (`BEGIN IMMEDIATE`) already holds the database's one write lock.
pub async fn lock(conn: Conn<'_>, subject: &str) -> sqlx::Result<()> {
    match conn {
        Conn::Sqlite(_) => Ok(()),
        Conn::Postgres(c) => sqlx::query("select pg_advisory_xact_lock(hashtext($1))")
            .bind(subject)
            .execute(c)
            .await
            .map(|_| ()),
    }
}

/// Forgets one recorded attempt (it turned out to be a success).
pub async fn forget(conn: Conn<'_>, id: i64) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("delete from sign_in_failures where id = $1")
            .bind(id)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// Times of `subject`'s failures after `since`, newest first (at most 200).
pub async fn since(
    conn: Conn<'_>,
    subject: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select failed_at from sign_in_failures where subject = $1 and failed_at > $2
             order by failed_at desc limit 200",
        )
        .bind(subject)
        .bind(since)
        .fetch_all(c)
        .await
    })
}

/// Forgets `subject`'s failures (after a successful sign-in).
pub async fn clear(conn: Conn<'_>, subject: &str) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("delete from sign_in_failures where subject = $1")
            .bind(subject)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// Deletes failures older than `before`. Returns how many.
pub async fn prune(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from sign_in_failures where failed_at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}
