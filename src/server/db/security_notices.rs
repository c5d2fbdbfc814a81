//! Queries on `security_notices`: what an account was told about changes to
//! its security, newest first.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// One notice.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecurityNoticeRow {
    /// One line.
    pub subject: String,
    /// What happened and what to do if it was not them.
    pub body: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// Records a notice to `user_id`, and forgets its notices older than
/// `forget_before`.
pub async fn insert(
    conn: Conn<'_>,
    user_id: i64,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into security_notices (user_id, subject, body, created_at)
             values ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query("delete from security_notices where user_id = $1 and created_at < $2")
            .bind(user_id)
            .bind(forget_before)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
}

/// The newest `limit` notices to `user_id`, newest first.
pub async fn recent(
    conn: Conn<'_>,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<SecurityNoticeRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select subject, body, created_at from security_notices
             where user_id = $1 order by id desc limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })
}
