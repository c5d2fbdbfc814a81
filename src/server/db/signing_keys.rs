//! Queries on `signing_keys`: the ES256 keys access tokens are signed with.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A signing key as stored: the private key sealed, the public key as the
/// JWK coordinates (RFC 7518 §6.2.1, base64url without padding).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// The key id (`kid`) named in token headers and the JWKS.
    pub kid: String,
    /// `ES256`.
    pub algorithm: String,
    /// The PKCS #8 private key, sealed under the server secret for this `kid`.
    pub private_key_sealed: String,
    /// The P-256 point's x coordinate.
    pub public_x: String,
    /// The P-256 point's y coordinate.
    pub public_y: String,
    /// When it was made, and published.
    pub created_at: DateTime<Utc>,
    /// When it starts signing (until the next key's `signs_from`).
    pub signs_from: DateTime<Utc>,
    /// When it was taken out of the JWKS before its time (an emergency).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "kid, algorithm, private_key_sealed, public_x, public_y, created_at, signs_from, withdrawn_at";

/// Stores a new key.
pub async fn insert(conn: Conn<'_>, row: &SigningKeyRow) -> sqlx::Result<()> {
    let sql =
        format!("insert into signing_keys ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8)");
    on_conn!(conn, |c| sqlx::query(&sql)
        .bind(&row.kid)
        .bind(&row.algorithm)
        .bind(&row.private_key_sealed)
        .bind(&row.public_x)
        .bind(&row.public_y)
        .bind(row.created_at)
        .bind(row.signs_from)
        .bind(row.withdrawn_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Every key not withdrawn, in the order they sign (by `signs_from`, then
/// `kid`).
pub async fn live(conn: Conn<'_>) -> sqlx::Result<Vec<SigningKeyRow>> {
    let sql = format!(
        "select {COLUMNS} from signing_keys where withdrawn_at is null order by signs_from, kid"
    );
    on_conn!(conn, |c| sqlx::query_as(&sql).fetch_all(c).await)
}

/// Every key, withdrawn or not, newest first (for `portico signing-key list`).
pub async fn all(conn: Conn<'_>) -> sqlx::Result<Vec<SigningKeyRow>> {
    let sql = format!("select {COLUMNS} from signing_keys order by signs_from desc, kid desc");
    on_conn!(conn, |c| sqlx::query_as(&sql).fetch_all(c).await)
}

/// Withdraws every live key but `keep`; returns how many.
pub async fn withdraw_all_but(conn: Conn<'_>, keep: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| sqlx::query(
        "update signing_keys set withdrawn_at = $2 where kid <> $1 and withdrawn_at is null"
    )
    .bind(keep)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
