//! Queries on `email_verifications`: single-use links that prove an address.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// An open link's account, the address it proves, and the invitation (bound
/// to that address) to accept once it is proven.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenVerification {
    /// The account.
    pub user_id: i64,
    /// The address the link was sent to.
    pub email: String,
    /// The invitation the account signed up through, if it waits for this.
    pub invitation_id: Option<i64>,
}

/// Stores a link's token hash.
pub async fn insert(
    conn: Conn<'_>,
    token_hash: &str,
    open: &OpenVerification,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into email_verifications (token_hash, user_id, email, invitation_id, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(open.user_id)
        .bind(&open.email)
        .bind(open.invitation_id)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// When `user_id` was last sent a link, if ever.
pub async fn last_sent(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select created_at from email_verifications where user_id = $1
             order by created_at desc limit 1",
        )
        .bind(user_id)
        .fetch_optional(c)
        .await
    })
}

/// The newest open link's invitation for `user_id` and `email`, so that a
/// link sent again still joins the organisation.
pub async fn pending_invitation(
    conn: Conn<'_>,
    user_id: i64,
    email: &str,
) -> sqlx::Result<Option<i64>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select invitation_id from email_verifications
             where user_id = $1 and email = $2 and invitation_id is not null and used_at is null
             order by created_at desc limit 1",
        )
        .bind(user_id)
        .bind(email)
        .fetch_optional(c)
        .await
        .map(Option::flatten)
    })
}

/// The open link with this hash.
pub async fn open(
    conn: Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<OpenVerification>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select user_id, email, invitation_id from email_verifications
             where token_hash = $1 and used_at is null and expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })
}

/// Uses the link up, with every other open link of its account (for any
/// address: an earlier, mistyped email change must not stay usable).
/// Returns whether it was open.
pub async fn consume(conn: Conn<'_>, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        let used: Option<i64> = sqlx::query_scalar(
            "update email_verifications set used_at = $2
             where token_hash = $1 and used_at is null and expires_at > $2
             returning user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?;
        let Some(user_id) = used else {
            return Ok(false);
        };
        sqlx::query(
            "update email_verifications set used_at = $2 where user_id = $1 and used_at is null",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *c)
        .await?;
        Ok(true)
    })
}
