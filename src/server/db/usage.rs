//! Queries on the usage tables.

use super::Conn;
use crate::{domain::verify::VerifyCode, on_conn};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// One verification, allowed or denied.
#[derive(Clone, Debug)]
pub struct UsageEvent {
    /// When the verification was decided (UTC).
    pub at: DateTime<Utc>,
    /// The key, once identified by id and secret (`None` for a wrong
    /// secret: that is not the key's traffic).
    pub key_row_id: Option<i64>,
    /// The identified key's organisation; `None` when no key was identified.
    pub org_id: Option<i64>,
    /// The public key id presented, if the key was well formed.
    pub presented_key_id: Option<String>,
    /// The scope checked.
    pub scope: Option<String>,
    /// The request's method.
    pub method: Option<String>,
    /// The request's path.
    pub path: Option<String>,
    /// The answer.
    pub outcome: VerifyCode,
    /// The client's address.
    pub client_addr: Option<IpAddr>,
    /// Time to decide, in microseconds.
    pub latency_us: i64,
}

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

/// A key's accepted verifications since `since`, from the hourly counts
/// (the hour containing `since` counts whole: pass an hour's start).
pub async fn accepted_since(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let hour = hour_of(since);
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select cast(coalesce(sum(requests), 0) as bigint) from usage_hourly
             where key_id = $1 and hour >= $2 and outcome = 'ok'",
        )
        .bind(key_row_id)
        .bind(hour)
        .fetch_one(c)
        .await
    })
}

/// A key's refused verifications (any answer but `ok`) since `since`
/// (counted by the hour it falls in).
pub async fn refused_since(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select cast(coalesce(sum(requests), 0) as bigint) from usage_hourly
             where key_id = $1 and hour >= $2 and outcome <> 'ok'",
        )
        .bind(key_row_id)
        .bind(hour_of(since))
        .fetch_one(c)
        .await
    })
}

/// A key's last refused verification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefusalRow {
    /// When (to the hour when the raw event has been pruned).
    pub at: DateTime<Utc>,
    /// The client address, when the raw event is still kept.
    pub client_addr: Option<String>,
    /// The answer (a verification code other than `ok`).
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
}

/// A key's last refused verification, if any is recorded. The hourly counts
/// find the hour (their key is the primary key's prefix); the raw events of
/// that hour give the moment and the address.
pub async fn last_refusal(conn: Conn<'_>, key_row_id: i64) -> sqlx::Result<Option<RefusalRow>> {
    on_conn!(conn, |c| {
        let hour: Option<(DateTime<Utc>, String)> = sqlx::query_as(
            "select hour, outcome from usage_hourly
             where key_id = $1 and outcome <> 'ok' order by hour desc limit 1",
        )
        .bind(key_row_id)
        .fetch_optional(&mut *c)
        .await?;
        let Some((hour, outcome)) = hour else {
            return Ok(None);
        };
        let event: Option<RefusalRow> = sqlx::query_as(
            "select at, client_addr, outcome from usage_events
             where key_id = $1 and outcome <> 'ok' and at >= $2 and at < $3
             order by at desc limit 1",
        )
        .bind(key_row_id)
        .bind(hour)
        .bind(hour + chrono::Duration::hours(1))
        .fetch_optional(&mut *c)
        .await?;
        let outcome = VerifyCode::try_from(outcome).map_err(|e| sqlx::Error::ColumnDecode {
            index: "outcome".to_owned(),
            source: Box::new(e),
        })?;
        Ok(Some(event.unwrap_or(RefusalRow {
            at: hour,
            client_addr: None,
            outcome,
        })))
    })
}

/// Stores raw usage events. On Postgres: one insert of column arrays
/// through `unnest`, the same prepared statement whatever the batch size,
/// with ten parameters rather than ten per event. On SQLite (no arrays):
/// multi-row inserts of up to 500 events.
pub async fn insert_events(conn: Conn<'_>, events: &[UsageEvent]) -> sqlx::Result<()> {
    const COLUMNS: &str = "insert into usage_events (at, key_id, org_id, presented_key_id, scope, method, path, outcome, client_addr, latency_us) ";
    let addr = |e: &UsageEvent| e.client_addr.map(|a| a.to_string());
    match conn {
        Conn::Postgres(c) => {
            let column =
                |f: fn(&UsageEvent) -> Option<&str>| events.iter().map(f).collect::<Vec<_>>();
            sqlx::query(&format!(
                "{COLUMNS}select * from unnest($1::timestamptz[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[])"
            ))
            .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.key_row_id).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.org_id).collect::<Vec<_>>())
            .bind(column(|e| e.presented_key_id.as_deref()))
            .bind(column(|e| e.scope.as_deref()))
            .bind(column(|e| e.method.as_deref()))
            .bind(column(|e| e.path.as_deref()))
            .bind(events.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>())
            .bind(events.iter().map(addr).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.latency_us).collect::<Vec<_>>())
            .execute(&mut *c)
            .await?;
        }
        Conn::Sqlite(c) => {
            for chunk in events.chunks(500) {
                let mut query = sqlx::QueryBuilder::new(COLUMNS);
                query.push_values(chunk, |mut row, e| {
                    row.push_bind(e.at)
                        .push_bind(e.key_row_id)
                        .push_bind(e.org_id)
                        .push_bind(e.presented_key_id.as_deref())
                        .push_bind(e.scope.as_deref())
                        .push_bind(e.method.as_deref())
                        .push_bind(e.path.as_deref())
                        .push_bind(e.outcome.as_str())
                        .push_bind(addr(e))
                        .push_bind(e.latency_us);
                });
                query.build().execute(&mut *c).await?;
            }
        }
    }
    Ok(())
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

/// Moves a key's last use forward to `at` (never back).
pub async fn note_last_use(
    conn: Conn<'_>,
    key_row_id: i64,
    at: DateTime<Utc>,
    addr: Option<&str>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set last_used_at = $2, last_used_addr = $3
             where id = $1 and (last_used_at is null or last_used_at <= $2)",
        )
        .bind(key_row_id)
        .bind(at)
        .bind(addr)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Deletes raw events older than `before`. Returns how many.
pub async fn prune_events(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from usage_events where at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}

/// Deletes hourly counts older than `before`. Returns how many.
pub async fn prune_hourly(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query("delete from usage_hourly where hour < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
}

/// One hourly count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HourlyRow {
    /// The key's row id (`api_keys.id`).
    pub key_id: i64,
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// The scope checked ("" when none).
    pub scope: String,
    /// The answer.
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
    /// How many.
    pub requests: i64,
}

/// A key's hourly counts since `since`.
pub async fn hourly_for_key(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<HourlyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select key_id, hour, scope, outcome, requests from usage_hourly where key_id = $1 and hour >= $2",
        )
        .bind(key_row_id)
        .bind(hour_of(since))
        .fetch_all(c)
        .await
    })
}

/// The hourly counts of every key of an organisation since `since`.
pub async fn hourly_for_org(
    conn: Conn<'_>,
    org_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<HourlyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select h.key_id, h.hour, h.scope, h.outcome, h.requests
             from usage_hourly h join api_keys k on k.id = h.key_id
             where k.org_id = $1 and h.hour >= $2",
        )
        .bind(org_id)
        .bind(hour_of(since))
        .fetch_all(c)
        .await
    })
}

/// The scopes a key was allowed to use since `since` (from the hourly
/// counts; the hour containing `since` counts whole), in name order. A
/// request that needed two scopes is stored with both, space-separated, and
/// counts for each.
pub async fn scopes_used_since(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    let stored: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select distinct scope from usage_hourly
             where key_id = $1 and hour >= $2 and outcome = 'ok' and scope <> ''",
        )
        .bind(key_row_id)
        .bind(hour_of(since))
        .fetch_all(c)
        .await
    })?;
    let used: std::collections::BTreeSet<String> = stored
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    Ok(used.into_iter().collect())
}

/// A key's raw events from one client address with one scope: how many
/// were accepted and how many refused.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientScopeRow {
    /// The client's address.
    pub client_addr: String,
    /// The scope checked (space-separated when a request needed two);
    /// `None` when none was.
    pub scope: Option<String>,
    /// Accepted requests.
    pub accepted: i64,
    /// Refused requests.
    pub refused: i64,
}

/// A key's raw events since `since` that name a client address, from
/// `client_addr` only when given, counted by address and scope.
pub async fn clients_for_key(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
    client_addr: Option<&str>,
) -> sqlx::Result<Vec<ClientScopeRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select client_addr, scope,
                    cast(sum(case when outcome = 'ok' then 1 else 0 end) as bigint) as accepted,
                    cast(sum(case when outcome = 'ok' then 0 else 1 end) as bigint) as refused
             from usage_events
             where key_id = $1 and at >= $2 and client_addr is not null
               and (cast($3 as text) is null or client_addr = $3)
             group by client_addr, scope
             limit $4",
        )
        .bind(key_row_id)
        .bind(since)
        .bind(client_addr)
        .bind(MAX_EVENT_GROUPS)
        .fetch_all(c)
        .await
    })
}

/// A key's raw events with the same method, path, address, answer and scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventGroup {
    /// The checked request's method; `None` when the caller sent none.
    pub method: Option<String>,
    /// The checked request's canonical path.
    pub path: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The answer.
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
    /// The scope checked.
    pub scope: Option<String>,
    /// How many events.
    pub requests: i64,
}

/// Most groups [`groups_for_key`] returns: a page counts at most this many
/// distinct (endpoint, address, answer, scope) combinations.
pub const MAX_EVENT_GROUPS: i64 = 20_000;

/// A key's raw events since `since`, from `client_addr` only when given,
/// grouped by method, path, address, answer and scope, busiest first.
pub async fn groups_for_key(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
    client_addr: Option<&str>,
) -> sqlx::Result<Vec<EventGroup>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select method, path, client_addr, outcome, scope, count(*) as requests
             from usage_events
             where key_id = $1 and at >= $2 and (cast($3 as text) is null or client_addr = $3)
             group by method, path, client_addr, outcome, scope
             order by count(*) desc limit $4",
        )
        .bind(key_row_id)
        .bind(since)
        .bind(client_addr)
        .bind(MAX_EVENT_GROUPS)
        .fetch_all(c)
        .await
    })
}

/// One raw event of a key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyEventRow {
    /// The event's row id (orders events of the same instant).
    pub id: i64,
    /// When it was decided (UTC).
    pub at: DateTime<Utc>,
    /// The checked request's method.
    pub method: Option<String>,
    /// The checked request's canonical path.
    pub path: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The answer.
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
    /// The scope checked.
    pub scope: Option<String>,
}

/// A key's most recent raw events since `since`, from `client_addr` only
/// when given, newest first; with `before` (an event's time and id), only
/// those older than it, to page through.
pub async fn recent_for_key(
    conn: Conn<'_>,
    key_row_id: i64,
    since: DateTime<Utc>,
    client_addr: Option<&str>,
    before: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<KeyEventRow>> {
    let (before_at, before_id) = before.unwrap_or((since, 0));
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, at, method, path, client_addr, outcome, scope from usage_events
             where key_id = $1 and at >= $2 and (cast($3 as text) is null or client_addr = $3)
               and ($4 or at < $5 or (at = $5 and id < $6))
             order by at desc, id desc limit $7",
        )
        .bind(key_row_id)
        .bind(since)
        .bind(client_addr)
        .bind(before.is_none())
        .bind(before_at)
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })
}

/// A verification, with the key's public id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// When the verification happened (UTC).
    pub at: DateTime<Utc>,
    /// The key's public id, if it exists.
    pub key_public_id: Option<String>,
    /// The key's current name; `None` when no key was identified by id and secret.
    pub key_name: Option<String>,
    /// The key's environment as stored (`sandbox` or `production`), for its display id;
    /// `None` when no key was identified.
    pub key_environment: Option<String>,
    /// The scope checked.
    pub scope: Option<String>,
    /// The checked request's method, upper-case (`GET`); `None` when the caller sent none.
    pub method: Option<String>,
    /// The checked request's canonical path, cut to 512 characters; `None` when not sent.
    pub path: Option<String>,
    /// The answer.
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
    /// Client address.
    pub client_addr: Option<String>,
}

/// An organisation's most recent refused verifications since `since`.
pub async fn recent_denied_for_org(
    conn: Conn<'_>,
    org_id: i64,
    since: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select e.at, k.key_id as key_public_id, k.name as key_name, k.environment as key_environment,
                    e.scope, e.method, e.path, e.outcome, e.client_addr
             from usage_events e left join api_keys k on k.id = e.key_id
             where e.org_id = $1 and e.at >= $2 and e.outcome <> 'ok'
             order by e.at desc, e.id desc limit $3",
        )
        .bind(org_id)
        .bind(since)
        .bind(limit)
        .fetch_all(c)
        .await
    })
}

/// How many raw usage events are stored.
pub async fn count_events(conn: Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| sqlx::query_scalar(
        "select count(*) from usage_events"
    )
    .fetch_one(c)
    .await)
}
