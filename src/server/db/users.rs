//! Queries on `users`.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A user as the application sees it (no password hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Normalised email address.
    pub email: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// When the account proved it receives mail at `email`; `None` until
    /// then.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Whether it signs in with a confirmed second factor.
    pub second_factor: bool,
}

/// Inserts a user and returns the new id.
pub async fn insert(
    conn: Conn<'_>,
    email: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into users (email, password_hash, created_at) values ($1, $2, $3) returning id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(now)
        .fetch_one(c)
        .await
    })
}

/// The id and password hash of the user with this email, for signing in.
pub async fn credentials(conn: Conn<'_>, email: &str) -> sqlx::Result<Option<(i64, String)>> {
    on_conn!(conn, |c| {
        sqlx::query_as("select id, password_hash from users where email = $1")
            .bind(email)
            .fetch_optional(c)
            .await
    })
}

/// Replaces a user's password hash.
pub async fn set_password_hash(conn: Conn<'_>, id: i64, password_hash: &str) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("update users set password_hash = $2 where id = $1")
            .bind(id)
            .bind(password_hash)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// Records that `id` proved it receives mail at `email`, making it the
/// account's address (the same one, or the new one of an email change).
/// Fails with a unique violation if another account took that address.
pub async fn set_verified_email(
    conn: Conn<'_>,
    id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("update users set email = $2, email_verified_at = $3 where id = $1")
            .bind(id)
            .bind(email)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// The user with this id.
pub async fn find(conn: Conn<'_>, id: i64) -> sqlx::Result<Option<UserRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "select id, email, created_at, email_verified_at, ",
            crate::has_second_factor!("users.id"),
            " as second_factor from users where id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await
    })
}

/// The user with this email.
pub async fn find_by_email(conn: Conn<'_>, email: &str) -> sqlx::Result<Option<UserRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "select id, email, created_at, email_verified_at, ",
            crate::has_second_factor!("users.id"),
            " as second_factor from users where email = $1"
        ))
        .bind(email)
        .fetch_optional(c)
        .await
    })
}

/// How many accounts exist.
pub async fn count(conn: Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar("select count(*) from users")
            .fetch_one(c)
            .await
    })
}
