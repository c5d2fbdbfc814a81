//! Queries on `account_sessions`: where each account is signed in.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// One signed-in session of an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountSessionRow {
    /// The session's handle: 32 hex characters, kept in the session's data.
    pub id: String,
    /// The account.
    pub user_id: i64,
    /// When the person signed in.
    pub created_at: DateTime<Utc>,
    /// The last request seen (updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// The client address of the last request seen.
    pub client_addr: String,
    /// The browser's `User-Agent`, cut to 256 characters.
    pub user_agent: String,
}

/// Records a new session.
pub async fn insert(conn: Conn<'_>, row: &AccountSessionRow) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into account_sessions (id, user_id, created_at, last_seen_at, client_addr, user_agent)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(row.user_id)
        .bind(row.created_at)
        .bind(row.last_seen_at)
        .bind(&row.client_addr)
        .bind(&row.user_agent)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// The session with this handle, if it has not been ended.
pub async fn find(conn: Conn<'_>, id: &str) -> sqlx::Result<Option<AccountSessionRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as("select * from account_sessions where id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })
}

/// Notes a request on the session.
pub async fn touch(
    conn: Conn<'_>,
    id: &str,
    now: DateTime<Utc>,
    client_addr: &str,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("update account_sessions set last_seen_at = $2, client_addr = $3 where id = $1")
            .bind(id)
            .bind(now)
            .bind(client_addr)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// An account's sessions, most recently used first.
pub async fn for_user(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<AccountSessionRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select * from account_sessions where user_id = $1 order by last_seen_at desc, id",
        )
        .bind(user_id)
        .fetch_all(c)
        .await
    })
}

/// Ends one of `user_id`'s sessions. Returns whether it existed (someone
/// else's session id ends nothing).
pub async fn end(conn: Conn<'_>, user_id: i64, id: &str) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from account_sessions where user_id = $1 and id = $2")
            .bind(user_id)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Ends every session of `user_id` except `keep` (all of them with `None`).
/// Returns how many ended.
pub async fn end_all(conn: Conn<'_>, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from account_sessions where user_id = $1 and ($2 is null or id <> $2)")
            .bind(user_id)
            .bind(keep)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}

/// Deletes sessions idle since before `before`. Returns how many.
pub async fn prune(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from account_sessions where last_seen_at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}
