//! Queries on `token_grants`: every access token minted (never the token).

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// One minted access token, as recorded.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// The parent key (`api_keys.id`).
    pub key_row_id: i64,
    /// The key's organisation.
    pub org_id: i64,
    /// The granted scopes, space-separated.
    pub scope: &'a str,
    /// The signing key's `kid`.
    pub kid: &'a str,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Records a minted token.
pub async fn insert(conn: Conn<'_>, grant: &NewGrant<'_>) -> sqlx::Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "insert into token_grants (jti, key_id, org_id, scope, kid, issued_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(grant.jti)
    .bind(grant.key_row_id)
    .bind(grant.org_id)
    .bind(grant.scope)
    .bind(grant.kid)
    .bind(grant.issued_at)
    .bind(grant.expires_at)
    .execute(c)
    .await
    .map(|_| ()))
}

/// How many tokens the key minted at or after `since`.
pub async fn count_since(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| sqlx::query_scalar(
        "select count(*) from token_grants where key_id = $1 and issued_at >= $2"
    )
    .bind(key_row_id)
    .bind(since)
    .fetch_one(c)
    .await)
}

/// Deletes the records of tokens that expired before `before`; returns how
/// many.
pub async fn prune(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| sqlx::query(
        "delete from token_grants where expires_at < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
