//! Queries on `invitations`: single-use links that let someone join an
//! organisation.

use super::Conn;
use crate::{domain::Role, on_conn};
use chrono::{DateTime, Utc};

/// An invitation with the names needed to show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    /// Primary key.
    pub id: i64,
    /// The organisation it joins.
    pub org_id: i64,
    /// That organisation's name.
    pub org_name: String,
    /// The role it grants.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Who made it.
    pub created_by_email: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Who used it, if anyone.
    pub accepted_by_email: Option<String>,
    /// When an admin withdrew it, if they did.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The address it was sent to; only that account may use it.
    pub email: Option<String>,
}

const SELECT: &str = "select i.id, i.org_id, o.name as org_name, i.role,
        creator.email as created_by_email, i.created_at, i.expires_at,
        i.accepted_at, acceptor.email as accepted_by_email, i.revoked_at, i.email
    from invitations i
    join organisations o on o.id = i.org_id
    join users creator on creator.id = i.created_by
    left join users acceptor on acceptor.id = i.accepted_by";

/// What is stored for a new invitation.
#[derive(Debug)]
pub struct NewInvitationRow<'a> {
    /// The organisation it joins.
    pub org_id: i64,
    /// SHA-256 of the link's token.
    pub token_hash: &'a str,
    /// The role it grants.
    pub role: &'a str,
    /// Who made it.
    pub created_by: i64,
    /// When the invitation is made (UTC).
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The only address that may use it, if any.
    pub email: Option<&'a str>,
}

/// Stores a new invitation and returns its id.
pub async fn insert(conn: Conn<'_>, new: &NewInvitationRow<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into invitations (org_id, token_hash, role, created_by, created_at, expires_at, email)
             values ($1, $2, $3, $4, $5, $6, $7) returning id",
        )
        .bind(new.org_id)
        .bind(new.token_hash)
        .bind(new.role)
        .bind(new.created_by)
        .bind(new.created_at)
        .bind(new.expires_at)
        .bind(new.email)
        .fetch_one(c)
        .await
    })
}

/// The invitation whose token hashes to `token_hash`.
pub async fn find_by_token_hash(
    conn: Conn<'_>,
    token_hash: &str,
) -> sqlx::Result<Option<InvitationRow>> {
    let sql = format!("{SELECT} where i.token_hash = $1");
    on_conn!(conn, |c| {
        sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(c)
            .await
    })
}

/// The invitation with this id.
pub async fn find(conn: Conn<'_>, id: i64) -> sqlx::Result<Option<InvitationRow>> {
    let sql = format!("{SELECT} where i.id = $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// An organisation's invitations, newest first (the last 100).
pub async fn list_for_org(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Vec<InvitationRow>> {
    let sql =
        format!("{SELECT} where i.org_id = $1 order by i.created_at desc, i.id desc limit 100");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(org_id)
        .fetch_all(c)
        .await)
}

/// Marks the invitation used by `user_id`, if it is still open. Returns
/// whether it was: a second use of the same link changes nothing.
pub async fn accept(
    conn: Conn<'_>,
    id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update invitations set accepted_at = $3, accepted_by = $2
             where id = $1 and accepted_at is null and revoked_at is null and expires_at > $3",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Withdraws an open invitation of `org_id`. Returns whether one was withdrawn.
pub async fn revoke(
    conn: Conn<'_>,
    org_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update invitations set revoked_at = $3
             where id = $1 and org_id = $2 and accepted_at is null and revoked_at is null",
        )
        .bind(id)
        .bind(org_id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
