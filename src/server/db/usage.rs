//! Queries on the usage tables.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// Verifications of a key since `since` (from the hourly counts; the hour
/// containing `since` counts whole).
pub async fn requests_since(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let hour = crate::server::db::usage::hour_of(since);
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select cast(coalesce(sum(requests), 0) as bigint) from usage_hourly where key_id = $1 and hour >= $2",
        )
        .bind(key_row_id)
        .bind(hour)
        .fetch_one(c)
        .await
    })
}

/// The start of the hour containing `t`.
pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

/// Adds `requests` to a key's count for one hour, scope and outcome.
pub async fn add_hourly(
    conn: Conn<'_>,
    key_row_id: i64,
    hour: DateTime<Utc>,
    scope: &str,
    outcome: &str,
    requests: i64,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into usage_hourly (key_id, hour, scope, outcome, requests) values ($1, $2, $3, $4, $5)
             on conflict (key_id, hour, scope, outcome) do update set requests = usage_hourly.requests + excluded.requests",
        )
        .bind(key_row_id)
        .bind(hour)
        .bind(scope)
        .bind(outcome)
        .bind(requests)
        .execute(c)
        .await
        .map(|_| ())
    })
}
