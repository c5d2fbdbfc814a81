//! Queries on accepted review findings.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// An accepted finding, with the key's public id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AcceptanceRow {
    /// The key's public id.
    pub key_public_id: String,
    /// The finding's kind, as stored (`production_high_risk`).
    pub kind: String,
    /// What the accepted occurrence was about.
    pub subject: String,
    /// Why it was accepted.
    pub note: String,
    /// Who accepted it (their email then).
    pub accepted_by_email: String,
    /// When (UTC).
    pub accepted_at: DateTime<Utc>,
}

/// An acceptance to store.
pub struct NewAcceptance<'a> {
    /// The key's row id (`api_keys.id`).
    pub key_row_id: i64,
    /// The finding's kind, as stored.
    pub kind: &'a str,
    /// What the accepted occurrence is about.
    pub subject: &'a str,
    /// Why it is acceptable.
    pub note: &'a str,
    /// Who accepts it (`users.id`).
    pub user_id: i64,
    /// Their email.
    pub email: &'a str,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

/// Accepts (or re-accepts, with a new note) a finding on a key.
pub async fn accept(conn: Conn<'_>, a: &NewAcceptance<'_>) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into review_acceptances (key_id, kind, subject, note, accepted_by, accepted_by_email, accepted_at)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (key_id, kind) do update set subject = excluded.subject, note = excluded.note,
                 accepted_by = excluded.accepted_by, accepted_by_email = excluded.accepted_by_email,
                 accepted_at = excluded.accepted_at",
        )
        .bind(a.key_row_id)
        .bind(a.kind)
        .bind(a.subject)
        .bind(a.note)
        .bind(a.user_id)
        .bind(a.email)
        .bind(a.at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Reopens a finding; whether it had been accepted.
pub async fn reopen(conn: Conn<'_>, key_row_id: i64, kind: &str) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from review_acceptances where key_id = $1 and kind = $2")
            .bind(key_row_id)
            .bind(kind)
            .execute(c)
            .await
            .map(|r| r.rows_affected() > 0)
    })
}

/// Every accepted finding on the keys of an organisation.
pub async fn for_org(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Vec<AcceptanceRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select k.key_id as key_public_id, a.kind, a.subject, a.note, a.accepted_by_email, a.accepted_at
             from review_acceptances a join api_keys k on k.id = a.key_id
             where k.org_id = $1",
        )
        .bind(org_id)
        .fetch_all(c)
        .await
    })
}
