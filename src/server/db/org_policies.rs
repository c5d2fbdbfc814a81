//! Queries on `org_policies`: one row per organisation that changed the
//! defaults; no row means the defaults.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// An organisation's stored policy.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    /// Longest lifetime of a key, in days.
    pub max_lifetime_days: i32,
    /// Lifetime a new key gets unless another is chosen, in days.
    pub default_expiry_days: i32,
    /// Environments developers may create keys in, space-separated.
    pub developer_environments: String,
    /// Whether production keys with high-risk scopes wait for an admin.
    pub approval_for_high_risk_production: bool,
    /// Rotation interval for keys with high-risk scopes, days.
    pub rotate_high_risk_days: i32,
    /// Rotation interval for other keys, days.
    pub rotate_low_risk_days: i32,
    /// How long access tokens live, seconds.
    pub access_token_lifetime_secs: i64,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by_email: Option<String>,
}

/// The stored policy of `org_id`, if it has one.
pub async fn find(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Option<PolicyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select p.max_lifetime_days, p.default_expiry_days, p.developer_environments,
                    p.approval_for_high_risk_production, p.rotate_high_risk_days, p.rotate_low_risk_days,
                    p.access_token_lifetime_secs, p.updated_at, u.email as updated_by_email
             from org_policies p left join users u on u.id = p.updated_by
             where p.org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(c)
        .await
    })
}

/// What is stored for a policy.
#[derive(Debug)]
pub struct NewPolicy<'a> {
    /// Longest lifetime, days.
    pub max_lifetime_days: i32,
    /// Default lifetime, days.
    pub default_expiry_days: i32,
    /// Environments developers may use, space-separated.
    pub developer_environments: &'a str,
    /// Approval for high-risk production keys.
    pub approval_for_high_risk_production: bool,
    /// Rotation interval, high risk, days.
    pub rotate_high_risk_days: i32,
    /// Rotation interval, other keys, days.
    pub rotate_low_risk_days: i32,
    /// Access token lifetime, seconds.
    pub access_token_lifetime_secs: i64,
}

/// Stores `org_id`'s policy, replacing any earlier one.
pub async fn upsert(
    conn: Conn<'_>,
    org_id: i64,
    policy: &NewPolicy<'_>,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into org_policies (org_id, max_lifetime_days, default_expiry_days, developer_environments,
                 approval_for_high_risk_production, updated_at, updated_by, rotate_high_risk_days, rotate_low_risk_days,
                 access_token_lifetime_secs)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (org_id) do update set max_lifetime_days = excluded.max_lifetime_days,
                 default_expiry_days = excluded.default_expiry_days,
                 developer_environments = excluded.developer_environments,
                 approval_for_high_risk_production = excluded.approval_for_high_risk_production,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by,
                 rotate_high_risk_days = excluded.rotate_high_risk_days,
                 rotate_low_risk_days = excluded.rotate_low_risk_days,
                 access_token_lifetime_secs = excluded.access_token_lifetime_secs",
        )
        .bind(org_id)
        .bind(policy.max_lifetime_days)
        .bind(policy.default_expiry_days)
        .bind(policy.developer_environments)
        .bind(policy.approval_for_high_risk_production)
        .bind(now)
        .bind(by)
        .bind(policy.rotate_high_risk_days)
        .bind(policy.rotate_low_risk_days)
        .bind(policy.access_token_lifetime_secs)
        .execute(c)
        .await
        .map(|_| ())
    })
}
