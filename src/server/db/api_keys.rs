//! Queries on `api_keys`.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A key with the emails of the people named on it. Holds the secret's
/// HMAC, never the secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// Primary key.
    pub id: i64,
    /// Public key id (10 base62 characters).
    pub key_id: String,
    /// Organisation.
    pub org_id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Owner's email.
    pub owner_email: String,
    /// Who made it.
    pub created_by_email: String,
    /// Name.
    pub name: String,
    /// Purpose.
    pub purpose: String,
    /// Service or app.
    pub service: String,
    /// `sandbox` or `production`.
    pub environment: String,
    /// Scope names separated by spaces.
    pub scopes: String,
    /// CIDR blocks separated by spaces; empty for anywhere.
    pub ip_allowlist: String,
    /// HMAC-SHA256 of the whole key under the server secret, hex.
    pub secret_hash: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Last verified.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Address of the last verification.
    pub last_used_addr: Option<String>,
    /// The key this one replaced.
    pub predecessor_id: Option<i64>,
    /// The key that replaced this one.
    pub successor_id: Option<i64>,
    /// End of the rotation overlap.
    pub rotating_until: Option<DateTime<Utc>>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by_email: Option<String>,
    /// Why.
    pub revoked_reason: Option<String>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
}

const SELECT: &str = "select k.id, k.key_id, k.org_id, k.owner_id, owner.email as owner_email,
        creator.email as created_by_email, k.name, k.purpose, k.service, k.environment, k.scopes,
        k.ip_allowlist, k.secret_hash, k.created_at, k.expires_at, k.last_used_at, k.last_used_addr,
        k.predecessor_id, k.successor_id, k.rotating_until, k.revoked_at,
        revoker.email as revoked_by_email, k.revoked_reason,
        cast(k.rate_limit_per_minute as bigint) as rate_limit_per_minute
    from api_keys k
    join users owner on owner.id = k.owner_id
    join users creator on creator.id = k.created_by
    left join users revoker on revoker.id = k.revoked_by";

/// What is stored for a new key.
#[derive(Debug)]
pub struct NewKey<'a> {
    /// Public key id.
    pub key_id: &'a str,
    /// Organisation.
    pub org_id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Creator.
    pub created_by: i64,
    /// Name.
    pub name: &'a str,
    /// Purpose.
    pub purpose: &'a str,
    /// Service.
    pub service: &'a str,
    /// Environment.
    pub environment: &'a str,
    /// Scopes, space-separated.
    pub scopes: &'a str,
    /// Allowlist, space-separated.
    pub ip_allowlist: &'a str,
    /// HMAC of the secret.
    pub secret_hash: &'a str,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// The key it replaces, when rotating.
    pub predecessor_id: Option<i64>,
    /// The form's one-time token, so a double submit makes one key.
    pub create_token: Option<&'a str>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
}

/// Stores a new key and returns its row id.
pub async fn insert(conn: Conn<'_>, key: &NewKey<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into api_keys (key_id, org_id, owner_id, created_by, name, purpose, service, environment,
                scopes, ip_allowlist, secret_hash, created_at, expires_at, predecessor_id, create_token,
                rate_limit_per_minute)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             returning id",
        )
        .bind(key.key_id)
        .bind(key.org_id)
        .bind(key.owner_id)
        .bind(key.created_by)
        .bind(key.name)
        .bind(key.purpose)
        .bind(key.service)
        .bind(key.environment)
        .bind(key.scopes)
        .bind(key.ip_allowlist)
        .bind(key.secret_hash)
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.predecessor_id)
        .bind(key.create_token)
        .bind(key.rate_limit_per_minute)
        .fetch_one(c)
        .await
    })
}

/// The key with this public id.
pub async fn find_by_key_id(conn: Conn<'_>, key_id: &str) -> sqlx::Result<Option<KeyRow>> {
    let sql = format!("{SELECT} where k.key_id = $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(key_id)
        .fetch_optional(c)
        .await)
}

/// The key with this row id.
pub async fn find(conn: Conn<'_>, id: i64) -> sqlx::Result<Option<KeyRow>> {
    let sql = format!("{SELECT} where k.id = $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// An organisation's keys, newest first; only `owner_id`'s when given.
pub async fn list_for_org(
    conn: Conn<'_>,
    org_id: i64,
    owner_id: Option<i64>,
) -> sqlx::Result<Vec<KeyRow>> {
    let sql = format!(
        "{SELECT} where k.org_id = $1 and ($2 is null or k.owner_id = $2) order by k.created_at desc, k.id desc"
    );
    on_conn!(conn, |c| {
        sqlx::query_as(&sql)
            .bind(org_id)
            .bind(owner_id)
            .fetch_all(c)
            .await
    })
}

/// Marks `id` as replaced by `successor_id`, working until `until`. Only a
/// key not yet rotated or revoked changes; returns whether it did.
pub async fn start_rotation(
    conn: Conn<'_>,
    id: i64,
    successor_id: i64,
    until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set successor_id = $2, rotating_until = $3
             where id = $1 and successor_id is null and revoked_at is null",
        )
        .bind(id)
        .bind(successor_id)
        .bind(until)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Ends a rotation overlap now. Returns whether the key was still in it.
pub async fn end_overlap(conn: Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set rotating_until = $2
             where id = $1 and rotating_until > $2 and expires_at > $2 and revoked_at is null",
        )
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Revokes a key. Returns whether it was not revoked already.
pub async fn revoke(
    conn: Conn<'_>,
    id: i64,
    by: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set revoked_at = $2, revoked_by = $3, revoked_reason = $4
             where id = $1 and revoked_at is null",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .bind(reason)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Changes a key's descriptive settings and scopes.
pub async fn update_details(
    conn: Conn<'_>,
    id: i64,
    name: &str,
    purpose: &str,
    service: &str,
    scopes: &str,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set name = $2, purpose = $3, service = $4, scopes = $5 where id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(purpose)
        .bind(service)
        .bind(scopes)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Keys that have stopped working by time (expiry or end of overlap) and
/// whose expiry is not yet in the audit trail: `(id, org_id, by_rotation)`.
pub async fn newly_expired(
    conn: Conn<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, i64, bool)>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, org_id, (rotating_until is not null and rotating_until < expires_at) as by_rotation
             from api_keys
             where expiry_recorded_at is null and revoked_at is null
               and (expires_at <= $1 or rotating_until <= $1)
             order by id limit 500",
        )
        .bind(now)
        .fetch_all(c)
        .await
    })
}

/// Notes that a key's expiry is in the audit trail. Returns whether this
/// call was the one that noted it.
pub async fn mark_expiry_recorded(
    conn: Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("update api_keys set expiry_recorded_at = $2 where id = $1 and expiry_recorded_at is null")
            .bind(id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// What verification needs of a key: no emails, no joins.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerifyRow {
    /// Row id.
    pub id: i64,
    /// Public key id.
    pub key_id: String,
    /// Organisation.
    pub org_id: i64,
    /// `sandbox` or `production`.
    pub environment: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// CIDR blocks, space-separated.
    pub ip_allowlist: String,
    /// HMAC of the secret, hex.
    pub secret_hash: String,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// End of the rotation overlap.
    pub rotating_until: Option<DateTime<Utc>>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Suspended at.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Suspension ends by itself at.
    pub suspended_until: Option<DateTime<Utc>>,
    /// `not_required`, `pending`, `approved` or `rejected`.
    pub approval: String,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
}

/// The key with this public id, as verification sees it.
pub async fn for_verification(conn: Conn<'_>, key_id: &str) -> sqlx::Result<Option<VerifyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, key_id, org_id, environment, scopes, ip_allowlist, secret_hash, expires_at,
                    rotating_until, revoked_at, suspended_at, suspended_until, approval,
                    cast(rate_limit_per_minute as bigint) as rate_limit_per_minute
             from api_keys where key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(c)
        .await
    })
}
