//! Queries on `totp_authenticators`: one TOTP authenticator per account,
//! pending until its first code is confirmed.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// An account's authenticator.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthenticatorRow {
    /// The shared secret, sealed (see `secrets::sealed`).
    pub sealed_secret: String,
    /// When enrolment began.
    pub created_at: DateTime<Utc>,
    /// When the first code was confirmed; `None` while enrolment is pending.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step (Unix seconds / 30) a code was accepted for.
    pub last_used_step: Option<i64>,
}

/// The authenticator of `user_id`, pending or confirmed.
pub async fn find(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Option<AuthenticatorRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select sealed_secret, created_at, confirmed_at, last_used_step
             from totp_authenticators where user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(c)
        .await
    })
}

/// Starts (or restarts) a pending enrolment with a new sealed secret.
/// Returns `false`, changing nothing, when a confirmed authenticator exists.
pub async fn begin(
    conn: Conn<'_>,
    user_id: i64,
    sealed_secret: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into totp_authenticators (user_id, sealed_secret, created_at)
             values ($1, $2, $3)
             on conflict (user_id) do update
                 set sealed_secret = excluded.sealed_secret, created_at = excluded.created_at
                 where totp_authenticators.confirmed_at is null",
        )
        .bind(user_id)
        .bind(sealed_secret)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Confirms a pending enrolment whose first code matched `step` for the
/// secret `sealed_secret`. Returns `false` when that enrolment is no longer
/// pending: confirmed meanwhile, or restarted with another secret (so the
/// secret kept is always the one the code was checked against).
pub async fn confirm(
    conn: Conn<'_>,
    user_id: i64,
    sealed_secret: &str,
    step: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update totp_authenticators set confirmed_at = $3, last_used_step = $2
             where user_id = $1 and confirmed_at is null and sealed_secret = $4",
        )
        .bind(user_id)
        .bind(step)
        .bind(now)
        .bind(sealed_secret)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Records that a code for `step` was accepted, unless one for that step or
/// a later one already was. Returns whether it was recorded: two sign-ins
/// racing with the same code cannot both win.
pub async fn use_step(conn: Conn<'_>, user_id: i64, step: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update totp_authenticators set last_used_step = $2
             where user_id = $1 and confirmed_at is not null
               and (last_used_step is null or last_used_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Removes `user_id`'s authenticator. Returns whether there was one.
pub async fn delete(conn: Conn<'_>, user_id: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from totp_authenticators where user_id = $1")
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}
