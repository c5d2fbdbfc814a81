//! Queries for anomaly alerts: the alerts, the detector's cursor through
//! `usage_events`, the networks each key was used from, and the
//! organisations' alert settings.

use super::Conn;
use crate::domain::{
    alerts::{AlertKind, AlertState},
    key_format::Environment,
    verify::VerifyCode,
};
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A usage event as the detector reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DetectRow {
    /// Event id.
    pub id: i64,
    /// When the verification happened (UTC).
    pub at: DateTime<Utc>,
    /// The key, once identified by id and secret.
    pub key_id: Option<i64>,
    /// The public key id presented (with a wrong secret, the only trace of
    /// which key was named).
    pub presented_key_id: Option<String>,
    /// The scope checked.
    pub scope: Option<String>,
    /// The verification code.
    #[sqlx(try_from = "String")]
    pub outcome: VerifyCode,
    /// The client's address.
    pub client_addr: Option<String>,
}

/// Usage events after `after_id`, oldest first.
pub async fn events_after(
    conn: Conn<'_>,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<DetectRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, at, key_id, presented_key_id, scope, outcome, client_addr from usage_events
             where id > $1 order by id limit $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })
}

/// The detector's position: the last usage event it has read.
pub async fn cursor(conn: Conn<'_>, name: &str) -> sqlx::Result<Option<i64>> {
    on_conn!(conn, |c| sqlx::query_scalar(
        "select last_event_id from detector_cursor where name = $1"
    )
    .bind(name)
    .fetch_optional(c)
    .await)
}

/// Moves the cursor from `from` to `to`; returns `false` when another
/// instance moved it first (its work wins, this one's is rolled back).
pub async fn move_cursor(
    conn: Conn<'_>,
    name: &str,
    from: Option<i64>,
    to: i64,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        let moved = match from {
            Some(from) => sqlx::query(
                "update detector_cursor set last_event_id = $3 where name = $1 and last_event_id = $2",
            )
            .bind(name)
            .bind(from)
            .bind(to)
            .execute(&mut *c)
            .await?
            .rows_affected(),
            None => sqlx::query(
                "insert into detector_cursor (name, last_event_id) values ($1, $2) on conflict (name) do nothing",
            )
            .bind(name)
            .bind(to)
            .execute(&mut *c)
            .await?
            .rows_affected(),
        };
        Ok(moved == 1)
    })
}

/// The networks a key was used from since `since`.
pub async fn networks_since(
    conn: Conn<'_>,
    key_id: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    on_conn!(conn, |c| sqlx::query_scalar(
        "select network from key_networks where key_id = $1 and last_seen >= $2"
    )
    .bind(key_id)
    .bind(since)
    .fetch_all(c)
    .await)
}

/// Records that a key was used from `network` at `at`.
pub async fn note_network(
    conn: Conn<'_>,
    key_id: i64,
    network: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into key_networks (key_id, network, first_seen, last_seen) values ($1, $2, $3, $3)
             on conflict (key_id, network) do update set last_seen = excluded.last_seen",
        )
        .bind(key_id)
        .bind(network)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Forgets networks not seen since `before` (a network unseen for 30 days
/// is new again). Returns how many were forgotten.
pub async fn prune_networks(conn: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(conn, |c| sqlx::query(
        "delete from key_networks where last_seen < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Usage events of a key since `since`, with this outcome when given.
pub async fn count_since(
    conn: Conn<'_>,
    key_id: i64,
    since: DateTime<Utc>,
    outcome: Option<&str>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
        "select count(*) from usage_events where key_id = $1 and at >= $2 and ($3 is null or outcome = $3)"
    )
    .bind(key_id)
    .bind(since)
    .bind(outcome)
    .fetch_one(c)
    .await
    })
}

/// Requests since `since` that named the key with public id `key_id` with a
/// wrong secret.
pub async fn wrong_secrets_since(
    conn: Conn<'_>,
    key_id: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select count(*) from usage_events
             where key_id is null and outcome = 'unknown' and presented_key_id = $1 and at >= $2",
        )
        .bind(key_id)
        .bind(since)
        .fetch_one(c)
        .await
    })
}

/// An alert.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    /// The alert's row id (`alerts.id`).
    pub id: i64,
    /// The organisation of the alert's key (`organisations.id`).
    pub org_id: i64,
    /// The key's row id (`api_keys.id`), not its public id.
    pub key_id: i64,
    /// The key's public id (`api_keys.key_id`, 10 base62 characters).
    pub key_public_id: String,
    /// The key's current name.
    pub key_name: String,
    /// The key's environment as stored (`sandbox` or `production`), to build its display id.
    #[sqlx(try_from = "String")]
    pub key_environment: Environment,
    /// The organisation's display name.
    pub org_name: String,
    /// What kind of alert it is.
    #[sqlx(try_from = "String")]
    pub kind: AlertKind,
    /// What tells this alert from others of its kind on the key.
    pub fingerprint: String,
    /// First event.
    pub first_seen: DateTime<Utc>,
    /// Latest event.
    pub last_seen: DateTime<Utc>,
    /// Events (or detections, for spikes).
    pub count: i64,
    /// Evidence, JSON.
    pub evidence: String,
    /// Open, acknowledged or resolved.
    #[sqlx(try_from = "String")]
    pub state: AlertState,
    /// Who last changed the state.
    pub state_changed_by: Option<String>,
}

const SELECT: &str =
    "select a.id, a.org_id, a.key_id, k.key_id as key_public_id, k.name as key_name,
        k.environment as key_environment, o.name as org_name, a.kind, a.fingerprint, a.first_seen,
        a.last_seen, a.count, a.evidence, a.state, a.state_changed_by
    from alerts a join api_keys k on k.id = a.key_id join organisations o on o.id = a.org_id";

/// The live (open or acknowledged) alert of a key for this kind and
/// fingerprint: `(id, count)`.
pub async fn find_live(
    conn: Conn<'_>,
    key_id: i64,
    kind: &str,
    fingerprint: &str,
) -> sqlx::Result<Option<(i64, i64)>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
        "select id, count from alerts where key_id = $1 and kind = $2 and fingerprint = $3 and state <> 'resolved'"
    )
    .bind(key_id)
    .bind(kind)
    .bind(fingerprint)
    .fetch_optional(c)
    .await
    })
}

/// A new alert.
#[derive(Debug)]
pub struct NewAlert<'a> {
    /// The organisation of the key (`organisations.id`).
    pub org_id: i64,
    /// The key's row id (`api_keys.id`).
    pub key_id: i64,
    /// The stored form of its `AlertKind` (`spike`, `new_network`, `scope_denied`, …).
    pub kind: &'a str,
    /// What tells it from other live alerts of its kind on the key: the scope, the
    /// client network (`203.0.113.0/24`), or empty.
    pub fingerprint: &'a str,
    /// First event.
    pub at: DateTime<Utc>,
    /// Events so far.
    pub count: i64,
    /// Evidence, JSON.
    pub evidence: &'a str,
}

/// Stores a new open alert and returns its id.
pub async fn insert(conn: Conn<'_>, a: &NewAlert<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
        "insert into alerts (org_id, key_id, kind, fingerprint, first_seen, last_seen, count, evidence, state)
         values ($1, $2, $3, $4, $5, $5, $6, $7, 'open') returning id"
    )
    .bind(a.org_id)
    .bind(a.key_id)
    .bind(a.kind)
    .bind(a.fingerprint)
    .bind(a.at)
    .bind(a.count)
    .bind(a.evidence)
    .fetch_one(c)
    .await
    })
}

/// Adds `count` events seen up to `at` to a live alert, with fresh evidence.
pub async fn add_to(
    conn: Conn<'_>,
    id: i64,
    count: i64,
    at: DateTime<Utc>,
    evidence: &str,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update alerts set count = count + $2,
                 last_seen = case when last_seen < $3 then $3 else last_seen end, evidence = $4
             where id = $1",
        )
        .bind(id)
        .bind(count)
        .bind(at)
        .bind(evidence)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Which alerts a list holds: of one key, of one organisation, or all
/// (staff); only live ones unless `include_resolved`.
#[derive(Clone, Copy, Debug)]
pub struct AlertScope {
    /// Only this organisation's (`organisations.id`).
    pub org_id: Option<i64>,
    /// Only this key's (`api_keys.id`).
    pub key_id: Option<i64>,
    /// Resolved alerts too.
    pub include_resolved: bool,
}

const IN_SCOPE: &str = "($1 is null or a.org_id = $1) and ($2 is null or a.key_id = $2)
             and ($3 or a.state <> 'resolved')";

/// Where a page of alerts starts, by an alert's row id in the order of
/// newest activity first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertCursor {
    /// From the newest.
    Start,
    /// The alerts after (older than) this one.
    After(i64),
    /// The alerts before (newer than) this one.
    Before(i64),
}

const CURSOR_ROW: &str = "(select b.last_seen, b.id from alerts b where b.id = $5)";

/// At most `limit` alerts in `scope` from `cursor`, newest activity first.
pub async fn list(
    conn: Conn<'_>,
    scope: AlertScope,
    cursor: AlertCursor,
    limit: i64,
) -> sqlx::Result<Vec<AlertRow>> {
    let (condition, order, id) = match cursor {
        AlertCursor::Start => ("$5 is null", "desc", None),
        AlertCursor::After(id) => ("(a.last_seen, a.id) < {CURSOR}", "desc", Some(id)),
        AlertCursor::Before(id) => ("(a.last_seen, a.id) > {CURSOR}", "asc", Some(id)),
    };
    let condition = condition.replace("{CURSOR}", CURSOR_ROW);
    let sql = format!(
        "{SELECT} where {IN_SCOPE} and {condition}
         order by a.last_seen {order}, a.id {order} limit $4"
    );
    let mut rows: Vec<AlertRow> = on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(scope.org_id)
        .bind(scope.key_id)
        .bind(scope.include_resolved)
        .bind(limit)
        .bind(id)
        .fetch_all(c)
        .await)?;
    if matches!(cursor, AlertCursor::Before(_)) {
        rows.reverse();
    }
    Ok(rows)
}

/// How many alerts `scope` holds, and how many of them come before the
/// alert `id` (newer activity) when given.
pub async fn count(conn: Conn<'_>, scope: AlertScope, id: Option<i64>) -> sqlx::Result<(i64, i64)> {
    let sql = format!(
        "select count(*),
                coalesce(sum(case when $4 is not null and (a.last_seen, a.id) > (select b.last_seen, b.id from alerts b where b.id = $4) then 1 else 0 end), 0)
         from alerts a where {IN_SCOPE}"
    );
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(scope.org_id)
        .bind(scope.key_id)
        .bind(scope.include_resolved)
        .bind(id)
        .fetch_one(c)
        .await)
}

/// One alert.
pub async fn find(conn: Conn<'_>, id: i64) -> sqlx::Result<Option<AlertRow>> {
    let sql = format!("{SELECT} where a.id = $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// Sets an alert's state. Returns whether it changed.
pub async fn set_state(
    conn: Conn<'_>,
    id: i64,
    state: &str,
    by: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update alerts set state = $2, state_changed_by = $3, state_changed_at = $4
             where id = $1 and state <> $2 and state <> 'resolved'",
        )
        .bind(id)
        .bind(state)
        .bind(by)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// An organisation's stored alert settings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    /// A spike is the last 5 minutes above this many times the usual volume (2 to 1000;
    /// 5 by default).
    pub spike_factor: i32,
    /// ...and at least this many requests in them (1 to 10,000,000; 100 by default).
    pub spike_floor: i32,
    /// Wrong-secret attempts within 10 minutes that open an alert (1 to 10,000;
    /// 3 by default).
    pub wrong_secret_threshold: i32,
    /// Whether a spike suspends the key at once (off by default).
    pub auto_suspend_on_spike: bool,
    /// Auto-suspend the successor on retired-key use.
    pub auto_suspend_on_retired_use: bool,
}

/// The stored alert settings of `org_id`, if any.
pub async fn settings(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Option<SettingsRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
        "select spike_factor, spike_floor, wrong_secret_threshold, auto_suspend_on_spike, auto_suspend_on_retired_use
         from alert_settings where org_id = $1"
    )
    .bind(org_id)
    .fetch_optional(c)
    .await
    })
}

/// Stores `org_id`'s alert settings.
pub async fn save_settings(
    conn: Conn<'_>,
    org_id: i64,
    s: &SettingsRow,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into alert_settings (org_id, spike_factor, spike_floor, wrong_secret_threshold,
                 auto_suspend_on_spike, auto_suspend_on_retired_use, updated_at, updated_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict (org_id) do update set spike_factor = excluded.spike_factor,
                 spike_floor = excluded.spike_floor, wrong_secret_threshold = excluded.wrong_secret_threshold,
                 auto_suspend_on_spike = excluded.auto_suspend_on_spike,
                 auto_suspend_on_retired_use = excluded.auto_suspend_on_retired_use,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(org_id)
        .bind(s.spike_factor)
        .bind(s.spike_floor)
        .bind(s.wrong_secret_threshold)
        .bind(s.auto_suspend_on_spike)
        .bind(s.auto_suspend_on_retired_use)
        .bind(at)
        .bind(by)
        .execute(c)
        .await
        .map(|_| ())
    })
}
