//! Queries on `security_keys`: the WebAuthn credentials (security keys and
//! passkeys) an account signs in with as its second factor.

use super::{unique_violation, Conn};
use crate::on_conn;
use chrono::{DateTime, Utc};

/// One registered security key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecurityKeyRow {
    /// The row's id.
    pub id: i64,
    /// The name its owner gave it ("YubiKey on my keyring").
    pub name: String,
    /// The relying party's record of the credential, as JSON
    /// (`webauthn_rs::prelude::SecurityKey`).
    pub credential: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last signed in.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The security keys of `user_id`, oldest first.
pub async fn list(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<SecurityKeyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, name, credential, created_at, last_used_at
             from security_keys where user_id = $1 order by id",
        )
        .bind(user_id)
        .fetch_all(c)
        .await
    })
}

/// Registers a security key. Returns `None` when its credential id is
/// registered already (to this account or another: WebAuthn §7.1 step 22).
pub async fn insert(
    conn: Conn<'_>,
    user_id: i64,
    name: &str,
    credential_id: &str,
    credential: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    let inserted = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into security_keys (user_id, name, credential_id, credential, created_at)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(user_id)
        .bind(name)
        .bind(credential_id)
        .bind(credential)
        .bind(now)
        .fetch_one(c)
        .await
    });
    match inserted {
        Ok(id) => Ok(Some(id)),
        Err(e) if unique_violation(&e).as_deref() == Some("security_keys_credential_id_key") => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Records a sign-in with key `id` of `user_id`, with the credential as it
/// stands after it (its signature counter moved on).
pub async fn record_use(
    conn: Conn<'_>,
    user_id: i64,
    id: i64,
    credential: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update security_keys set credential = $3, last_used_at = $4
             where user_id = $1 and id = $2",
        )
        .bind(user_id)
        .bind(id)
        .bind(credential)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Removes key `id` of `user_id`. Returns whether there was one.
pub async fn delete(conn: Conn<'_>, user_id: i64, id: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from security_keys where user_id = $1 and id = $2")
            .bind(user_id)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Removes every security key of `user_id`. Returns how many there were.
pub async fn delete_all(conn: Conn<'_>, user_id: i64) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from security_keys where user_id = $1")
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}
