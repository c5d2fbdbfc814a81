//! Queries on `gateway_tokens`: what the platform's gateway presents to
//! `/v1/verify`.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A gateway token (its HMAC only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GatewayTokenRow {
    /// Public part of the token.
    pub token_id: String,
    /// Its unique name: 1 to 60 letters, digits, `-`, `_` or `.`. Staff and the
    /// command line revoke tokens by name.
    pub name: String,
    /// HMAC of the whole token, hex.
    pub token_hash: String,
    /// Who made it (`None`: the command line).
    pub created_by_email: Option<String>,
    /// When it was made (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "select g.token_id, g.name, g.token_hash, u.email as created_by_email, g.created_at, g.revoked_at
    from gateway_tokens g left join users u on u.id = g.created_by";

/// Stores a new token.
pub async fn insert(
    conn: Conn<'_>,
    token_id: &str,
    name: &str,
    token_hash: &str,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into gateway_tokens (token_id, name, token_hash, created_by, created_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(token_id)
        .bind(name)
        .bind(token_hash)
        .bind(created_by)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// The token with this public id.
pub async fn find(conn: Conn<'_>, token_id: &str) -> sqlx::Result<Option<GatewayTokenRow>> {
    let sql = format!("{SELECT} where g.token_id = $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(token_id)
        .fetch_optional(c)
        .await)
}

/// Revokes the live token called `name`; returns its public id.
pub async fn revoke(
    conn: Conn<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "update gateway_tokens set revoked_at = $2 where name = $1 and revoked_at is null returning token_id",
        )
        .bind(name)
        .bind(now)
        .fetch_optional(c)
        .await
    })
}

/// Every token, newest first.
pub async fn list(conn: Conn<'_>) -> sqlx::Result<Vec<GatewayTokenRow>> {
    let sql = format!("{SELECT} order by g.created_at desc, g.id desc");
    on_conn!(conn, |c| sqlx::query_as(&sql).fetch_all(c).await)
}
