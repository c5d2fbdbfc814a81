//! Queries on `audit_events`: insert and read, nothing else. The database
//! refuses updates and deletes (see the migrations' triggers).

use super::Conn;
use crate::domain::audit::AuditAction;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// One lifecycle event to record.
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// The organisation whose trail records it (`organisations.id`).
    pub org_id: i64,
    /// Key row, if the event is about a key.
    pub key_id: Option<i64>,
    /// Who did it (`None` for the system).
    pub actor_id: Option<i64>,
    /// Their email, or `system`.
    pub actor_email: &'a str,
    /// What happened.
    pub action: AuditAction,
    /// Why, when someone said.
    pub reason: Option<&'a str>,
    /// Extra facts as JSON.
    pub details: Option<String>,
    /// Where the request came from.
    pub client_addr: Option<String>,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
}

/// A recorded event, with the key's public id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Row id (newest is highest).
    pub id: i64,
    /// Public id of the key, if any.
    pub key_public_id: Option<String>,
    /// The key's environment as stored (`sandbox` or `production`), for its display id;
    /// `None` when the event is not about a key.
    pub key_environment: Option<String>,
    /// The key's current name (not its name at the time); `None` when the event is not
    /// about a key.
    pub key_name: Option<String>,
    /// The actor's email as recorded at the time, or `system` for the server's own acts.
    pub actor_email: String,
    /// The stored action name (`AuditAction::as_str`, e.g. `scopes_changed`).
    pub action: String,
    /// The reason or comment the actor gave, if any (revocation, suspension, rejection…).
    pub reason: Option<String>,
    /// Extra facts as JSON.
    pub details: Option<String>,
    /// From where.
    pub client_addr: Option<String>,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
}

const SELECT: &str = "select e.id, k.key_id as key_public_id, k.environment as key_environment,
        k.name as key_name, e.actor_email, e.action, e.reason, e.details, e.client_addr, e.at
    from audit_events e left join api_keys k on k.id = e.key_id";

/// Appends an event.
pub async fn insert(conn: Conn<'_>, event: &NewEvent<'_>) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into audit_events (org_id, key_id, actor_id, actor_email, action, reason, details, client_addr, at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(event.org_id)
        .bind(event.key_id)
        .bind(event.actor_id)
        .bind(event.actor_email)
        .bind(event.action.as_str())
        .bind(event.reason)
        .bind(&event.details)
        .bind(&event.client_addr)
        .bind(event.at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// A key's events, newest first.
pub async fn for_key(conn: Conn<'_>, key_row_id: i64) -> sqlx::Result<Vec<EventRow>> {
    let sql = format!("{SELECT} where e.key_id = $1 order by e.id desc limit 500");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(key_row_id)
        .fetch_all(c)
        .await)
}

/// A page of an organisation's events, newest first, older than `before`
/// (an event id) when given.
pub async fn for_org(
    conn: Conn<'_>,
    org_id: i64,
    filter: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    let sql = format!(
        "{SELECT} where e.org_id = $1 and ($2 is null or e.id < $2)
             and ($3 is null or e.at >= $3) and ($4 is null or e.at < $4)
             and ($5 is null or e.actor_email = $5) and ($6 is null or k.key_id = $6)
             and ($7 is null or e.action = $7)
         order by e.id desc limit $8"
    );
    on_conn!(conn, |c| {
        sqlx::query_as(&sql)
            .bind(org_id)
            .bind(before)
            .bind(filter.from)
            .bind(filter.to)
            .bind(&filter.actor)
            .bind(&filter.key)
            .bind(&filter.action)
            .bind(limit)
            .fetch_all(c)
            .await
    })
}

/// Which events a page of the trail or an export takes.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Only events strictly before this time (UTC); exports pass the end of the chosen day.
    pub to: Option<DateTime<Utc>>,
    /// The actor's email, exactly.
    pub actor: Option<String>,
    /// The key's public id.
    pub key: Option<String>,
    /// Only this stored action name (`AuditAction::as_str`), matched exactly.
    pub action: Option<String>,
}

/// A page of an organisation's events matching `filter`, oldest first, with
/// ids above `after_id` (for streaming exports).
pub async fn page_for_export(
    conn: Conn<'_>,
    org_id: i64,
    filter: &EventFilter,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    let sql = format!(
        "{SELECT} where e.org_id = $1 and e.id > $2
             and ($3 is null or e.at >= $3) and ($4 is null or e.at < $4)
             and ($5 is null or e.actor_email = $5) and ($6 is null or k.key_id = $6)
             and ($7 is null or e.action = $7)
         order by e.id limit $8"
    );
    on_conn!(conn, |c| {
        sqlx::query_as(&sql)
            .bind(org_id)
            .bind(after_id)
            .bind(filter.from)
            .bind(filter.to)
            .bind(&filter.actor)
            .bind(&filter.key)
            .bind(&filter.action)
            .bind(limit)
            .fetch_all(c)
            .await
    })
}
