//! Queries on `api_keys`.

use super::Conn;
use crate::domain::{
    key_format::Environment,
    keys::{Approval, KeyState, KeyStatus},
};
use crate::on_conn;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

/// A key with the emails of the people named on it. Holds the secret's
/// HMAC, never the secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// Primary key.
    pub id: i64,
    /// Public key id (10 base62 characters).
    pub key_id: String,
    /// The organisation the key belongs to (`organisations.id`).
    pub org_id: i64,
    /// The user who owns the key (`users.id`): its creator, unless an admin has
    /// given it to another member.
    pub owner_id: i64,
    /// Owner's email.
    pub owner_email: String,
    /// Who made it.
    pub created_by_email: String,
    /// The name people know the key by: one line, 1 to 60 characters.
    pub name: String,
    /// What the key is for, as its creator wrote it: 1 to 500 characters, may span lines.
    pub purpose: String,
    /// Service or app.
    pub service: String,
    /// Sandbox or production.
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    /// Scope names separated by spaces.
    pub scopes: String,
    /// CIDR blocks separated by spaces; empty for anywhere.
    pub ip_allowlist: String,
    /// HMAC-SHA256 of the whole key under the server secret, hex.
    pub secret_hash: String,
    /// When this row was issued (UTC); for a successor, when the rotation made it.
    pub created_at: DateTime<Utc>,
    /// What the key's status is worked out from: expiry, rotation overlap,
    /// revocation, suspension and approval.
    #[sqlx(flatten)]
    pub standing: KeyState,
    /// Last verified.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Address of the last verification.
    pub last_used_addr: Option<String>,
    /// The key this one replaced.
    pub predecessor_id: Option<i64>,
    /// The key that replaced this one.
    pub successor_id: Option<i64>,
    /// Who revoked it.
    pub revoked_by_email: Option<String>,
    /// The reason the revoker gave, 3 to 500 characters; `None` unless revoked.
    pub revoked_reason: Option<String>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
    /// Accepted verifications allowed in a calendar month (UTC); `None`: no quota.
    pub monthly_quota: Option<i64>,
    /// Organisation's name.
    pub org_name: String,
    /// Whether the owner is still a member of the organisation.
    pub owner_is_member: bool,
    /// By whom.
    pub suspended_by_email: Option<String>,
    /// The reason for the suspension: a person's words, or the detector's `Automatic: …`.
    pub suspended_reason: Option<String>,
    /// Who decided the approval.
    pub approval_decided_by_email: Option<String>,
    /// When an admin approved or rejected the key (UTC); `None` until decided.
    pub approval_decided_at: Option<DateTime<Utc>>,
    /// The deciding admin's comment: required for a rejection, possibly empty for an
    /// approval; `None` until decided.
    pub approval_comment: Option<String>,
}

/// A key's standing read from the columns of the same names, with the
/// approval parsed from its stored word (an unknown word fails the read).
impl<'r, R: Row> FromRow<'r, R> for KeyState
where
    &'r str: ColumnIndex<R>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        let approval: String = row.try_get("approval")?;
        Ok(KeyState {
            expires_at: row.try_get("expires_at")?,
            rotating_until: row.try_get("rotating_until")?,
            revoked_at: row.try_get("revoked_at")?,
            suspended_at: row.try_get("suspended_at")?,
            suspended_until: row.try_get("suspended_until")?,
            approval: Approval::try_from(approval).map_err(|e| sqlx::Error::ColumnDecode {
                index: "approval".to_owned(),
                source: Box::new(e),
            })?,
        })
    }
}

const SELECT: &str = "select k.id, k.key_id, k.org_id, k.owner_id, owner.email as owner_email,
        creator.email as created_by_email, k.name, k.purpose, k.service, k.environment, k.scopes,
        k.ip_allowlist, k.secret_hash, k.created_at, k.expires_at, k.last_used_at, k.last_used_addr,
        k.predecessor_id, k.successor_id, k.rotating_until, k.revoked_at,
        revoker.email as revoked_by_email, k.revoked_reason,
        cast(k.rate_limit_per_minute as bigint) as rate_limit_per_minute,
        cast(k.monthly_quota as bigint) as monthly_quota,
        o.name as org_name,
        exists (select 1 from memberships m where m.org_id = k.org_id and m.user_id = k.owner_id) as owner_is_member,
        k.suspended_at, suspender.email as suspended_by_email, k.suspended_reason, k.suspended_until,
        k.approval, decider.email as approval_decided_by_email, k.approval_decided_at, k.approval_comment
    from api_keys k
    join organisations o on o.id = k.org_id
    join users owner on owner.id = k.owner_id
    join users creator on creator.id = k.created_by
    left join users revoker on revoker.id = k.revoked_by
    left join users suspender on suspender.id = k.suspended_by
    left join users decider on decider.id = k.approval_decided_by";

/// What is stored for a new key.
#[derive(Debug)]
pub struct NewKey<'a> {
    /// Public key id.
    pub key_id: &'a str,
    /// The organisation the key belongs to (`organisations.id`).
    pub org_id: i64,
    /// The user who will own it (`users.id`): the creator, or for a successor the
    /// old key's owner.
    pub owner_id: i64,
    /// The user issuing this row (`users.id`): the creator, or whoever rotated the old key.
    pub created_by: i64,
    /// The key's name, already checked (one line, 1 to 60 characters).
    pub name: &'a str,
    /// What the key is for, already checked (1 to 500 characters).
    pub purpose: &'a str,
    /// The service or app using the key: at most 80 characters, possibly empty.
    pub service: &'a str,
    /// Sandbox or production.
    pub environment: Environment,
    /// Scopes, space-separated.
    pub scopes: &'a str,
    /// Allowlist, space-separated.
    pub ip_allowlist: &'a str,
    /// HMAC of the secret.
    pub secret_hash: &'a str,
    /// When the key is issued (UTC).
    pub created_at: DateTime<Utc>,
    /// When the key stops working (UTC), within the organisation's maximum lifetime.
    pub expires_at: DateTime<Utc>,
    /// The key it replaces, when rotating.
    pub predecessor_id: Option<i64>,
    /// The form's one-time token, so a double submit makes one key.
    pub create_token: Option<&'a str>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
    /// Accepted verifications allowed a month; `None`: no quota.
    pub monthly_quota: Option<i64>,
    /// `NotRequired` or `Pending`.
    pub approval: Approval,
}

/// Stores a new key and returns its row id.
pub async fn insert(conn: Conn<'_>, key: &NewKey<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into api_keys (key_id, org_id, owner_id, created_by, name, purpose, service, environment,
                scopes, ip_allowlist, secret_hash, created_at, expires_at, predecessor_id, create_token,
                rate_limit_per_minute, approval, monthly_quota)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             returning id",
        )
        .bind(key.key_id)
        .bind(key.org_id)
        .bind(key.owner_id)
        .bind(key.created_by)
        .bind(key.name)
        .bind(key.purpose)
        .bind(key.service)
        .bind(key.environment.as_str())
        .bind(key.scopes)
        .bind(key.ip_allowlist)
        .bind(key.secret_hash)
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.predecessor_id)
        .bind(key.create_token)
        .bind(key.rate_limit_per_minute)
        .bind(key.approval.as_str())
        .bind(key.monthly_quota)
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

/// The keys with these row ids, in no particular order.
pub async fn find_many(conn: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<KeyRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{SELECT} where k.id in ({})", marks.join(", "));
    on_conn!(conn, |c| {
        let mut query = sqlx::query_as(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(c).await
    })
}

/// When the key aliased `a` stops working by time, in SQL: [`KeyState::ends_at`].
fn ends_at(a: &str) -> String {
    format!(
        "(case when {a}.rotating_until is not null and {a}.rotating_until < {a}.expires_at
            then {a}.rotating_until else {a}.expires_at end)"
    )
}

/// [`KeyStatus::of`] in SQL, as the status's stored word, at the time bound
/// to the parameter `now` (e.g. `$7`): the same rule, step for step, so that the database can filter
/// and count by status. `inventory_status_matches_the_domain_rule` (tests)
/// compares the two over every combination of a key's standing.
fn status_at(now: &str) -> String {
    let ends_at = ends_at("k");
    format!(
        "(case
            when k.revoked_at is not null then 'revoked'
            when k.approval = 'rejected' then 'rejected'
            when {ends_at} <= {now} then 'expired'
            when k.suspended_at is not null and (k.suspended_until is null or {now} < k.suspended_until)
                then 'suspended'
            when k.approval = 'pending' then 'pending_approval'
            when k.rotating_until is not null then 'rotating'
            else 'active'
        end)"
    )
}

/// How an inventory is ordered; ties go to the newest key, then the
/// highest row id, so that every key has one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryOrder {
    /// Newest first.
    Newest,
    /// Most recently used first, never-used last.
    LastUsed,
    /// Soonest to stop working first.
    Expiry,
}

/// Which keys an inventory lists: an organisation's (or one owner's), with
/// filters, at a moment.
#[derive(Clone, Copy, Debug)]
pub struct Inventory {
    /// The organisation (`organisations.id`).
    pub org_id: i64,
    /// Only this owner's keys (`users.id`).
    pub owner_id: Option<i64>,
    /// Only this environment.
    pub environment: Option<Environment>,
    /// Only keys with this status at `now`.
    pub status: Option<KeyStatus>,
    /// The order.
    pub order: InventoryOrder,
    /// The moment statuses are worked out at.
    pub now: DateTime<Utc>,
}

/// Where a page of an inventory starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryCursor<'a> {
    /// At the top.
    Start,
    /// After the key with this public id, in the inventory's order (whether
    /// or not that key passes the filters now).
    After(&'a str),
    /// Before it.
    Before(&'a str),
}

/// A key of an inventory page: its row id and its place among the keys
/// that pass the filters, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    /// The key's row id.
    pub id: i64,
    /// Its place in the filtered inventory, from 1.
    pub rank: i64,
}

/// The inventory's sort keys for the key aliased `a`, each with whether it
/// ascends; the last (the row id) tells every two keys apart.
fn sort_keys(order: InventoryOrder, a: &str) -> Vec<(String, bool)> {
    let newest = [
        (format!("{a}.created_at"), false),
        (format!("{a}.id"), false),
    ];
    let mut keys = match order {
        InventoryOrder::Newest => Vec::new(),
        // Used keys first (`false` sorts before `true`), most recent first.
        InventoryOrder::LastUsed => vec![
            (format!("({a}.last_used_at is null)"), true),
            (format!("{a}.last_used_at"), false),
        ],
        InventoryOrder::Expiry => vec![(ends_at(a), true)],
    };
    keys.extend(newest);
    keys
}

/// SQL that holds when the key `k` comes after (`later`) or before the key
/// `c` in the order of `keys` (for `k`; the same expressions over `c`).
fn comes(keys_k: &[(String, bool)], keys_c: &[(String, bool)], later: bool) -> String {
    let ((k, ascending), (c, _)) = (&keys_k[0], &keys_c[0]);
    let op = if *ascending == later { ">" } else { "<" };
    if keys_k.len() == 1 {
        return format!("{k} {op} {c}");
    }
    format!(
        "({k} {op} {c} or ({k} is not distinct from {c} and {}))",
        comes(&keys_k[1..], &keys_c[1..], later)
    )
}

/// The `order by` of `keys`, or of its reverse.
fn order_by(keys: &[(String, bool)], reverse: bool) -> String {
    keys.iter()
        .map(|(e, ascending)| {
            let up = *ascending != reverse;
            format!("{e} {}", if up { "asc" } else { "desc" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The filters of an inventory over the key `k`, with the status at `$5`.
const INVENTORY_FILTERS: &str = "k.org_id = $1 and ($2 is null or k.owner_id = $2)
       and ($3 is null or k.environment = $3) and ($4 is null or {status} = $4)";

/// At most `limit` keys of `inventory` from `cursor`, in its order, each
/// with its place among the keys that pass the filters. Found by the sort
/// keys (keyset), so a later page costs about what the first does.
pub async fn inventory_page(
    conn: Conn<'_>,
    inventory: &Inventory,
    cursor: InventoryCursor<'_>,
    limit: i64,
) -> sqlx::Result<Vec<Listed>> {
    let filters = INVENTORY_FILTERS.replace("{status}", &status_at("$5"));
    let keys_k = sort_keys(inventory.order, "k");
    let keys_c = sort_keys(inventory.order, "c");
    let (cursor_key, later) = match cursor {
        InventoryCursor::Start => (None, true),
        InventoryCursor::After(key) => (Some(key), true),
        InventoryCursor::Before(key) => (Some(key), false),
    };
    // The cursor's own row, for its sort keys: none (no page) when it is not
    // a key of this organisation.
    let from = if cursor_key.is_some() {
        format!(
            "api_keys k,
                (select * from api_keys
                 where key_id = $6 and org_id = $1 and ($2 is null or owner_id = $2)) c
             where {filters} and {}",
            comes(&keys_k, &keys_c, later)
        )
    } else {
        format!("api_keys k where {filters} and $6 is null")
    };
    let sql = format!(
        "select k.id, cast(0 as bigint) as rank from {from} order by {} limit $7",
        order_by(&keys_k, !later)
    );
    // Places: the keys that pass the filters and come before the page's first.
    let places = format!(
        "select count(*) from api_keys k, (select * from api_keys where id = $6) c
         where {filters} and {}",
        comes(&keys_k, &keys_c, false)
    );
    let (mut rows, before) = on_conn!(conn, |c| {
        let mut rows: Vec<Listed> = sqlx::query_as(&sql)
            .bind(inventory.org_id)
            .bind(inventory.owner_id)
            .bind(inventory.environment.map(Environment::as_str))
            .bind(inventory.status.map(KeyStatus::as_str))
            .bind(inventory.now)
            .bind(cursor_key)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        if !later {
            rows.reverse();
        }
        let before: i64 = match rows.first() {
            None => 0,
            Some(first) => {
                sqlx::query_scalar(&places)
                    .bind(inventory.org_id)
                    .bind(inventory.owner_id)
                    .bind(inventory.environment.map(Environment::as_str))
                    .bind(inventory.status.map(KeyStatus::as_str))
                    .bind(inventory.now)
                    .bind(first.id)
                    .fetch_one(&mut *c)
                    .await?
            }
        };
        Ok::<_, sqlx::Error>((rows, before))
    })?;
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = before + i as i64 + 1;
    }
    Ok(rows)
}

/// How many keys pass `inventory`'s filters.
pub async fn inventory_total(conn: Conn<'_>, inventory: &Inventory) -> sqlx::Result<i64> {
    let filters = INVENTORY_FILTERS.replace("{status}", &status_at("$5"));
    let sql = format!("select count(*) from api_keys k where {filters}");
    on_conn!(conn, |c| sqlx::query_scalar(&sql)
        .bind(inventory.org_id)
        .bind(inventory.owner_id)
        .bind(inventory.environment.map(Environment::as_str))
        .bind(inventory.status.map(KeyStatus::as_str))
        .bind(inventory.now)
        .fetch_one(c)
        .await)
}

/// How an organisation's (or one owner's) keys stand: working keys by
/// environment, keys rotating, working keys stopping by `soon`, and working
/// keys never used. "Working" is active or rotating.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct InventoryCounts {
    /// Every key.
    pub total: i64,
    /// Working sandbox keys.
    pub sandbox: i64,
    /// Working production keys.
    pub production: i64,
    /// Keys in their rotation overlap.
    pub rotating: i64,
    /// Working keys that stop by `soon`.
    pub expiring_soon: i64,
    /// Working keys never used.
    pub never_used: i64,
}

/// Counts the keys of an organisation (or one owner's) at `now`.
pub async fn inventory_counts(
    conn: Conn<'_>,
    org_id: i64,
    owner_id: Option<i64>,
    now: DateTime<Utc>,
    soon: DateTime<Utc>,
) -> sqlx::Result<InventoryCounts> {
    let status = status_at("$3");
    let ends_at = ends_at("k");
    let sql = format!(
        "with s as (
            select k.environment, k.last_used_at, {ends_at} as ends_at, {status} as status
            from api_keys k where k.org_id = $1 and ($2 is null or k.owner_id = $2)
         )
         select count(*) as total,
            coalesce(sum(case when status in ('active', 'rotating') and environment = 'sandbox' then 1 else 0 end), 0) as sandbox,
            coalesce(sum(case when status in ('active', 'rotating') and environment = 'production' then 1 else 0 end), 0) as production,
            coalesce(sum(case when status = 'rotating' then 1 else 0 end), 0) as rotating,
            coalesce(sum(case when status in ('active', 'rotating') and ends_at <= $4 then 1 else 0 end), 0) as expiring_soon,
            coalesce(sum(case when status in ('active', 'rotating') and last_used_at is null then 1 else 0 end), 0) as never_used
         from s"
    );
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(owner_id)
        .bind(now)
        .bind(soon)
        .fetch_one(c)
        .await)
}

/// Every key's status at `now` by the SQL rule, by row id (for the test that
/// holds it to the domain rule).
pub async fn statuses_by_sql(
    conn: Conn<'_>,
    org_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, String)>> {
    let status = status_at("$2");
    let sql = format!("select k.id, {status} from api_keys k where k.org_id = $1 order by k.id");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(now)
        .fetch_all(c)
        .await)
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
    /// The key's organisation (`organisations.id`), told to callers as `org_id`.
    pub org_id: i64,
    /// Sandbox or production.
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    /// Scopes, space-separated.
    pub scopes: String,
    /// CIDR blocks, space-separated.
    pub ip_allowlist: String,
    /// HMAC of the secret, hex.
    pub secret_hash: String,
    /// What verification refuses or accepts the key by.
    #[sqlx(flatten)]
    pub standing: KeyState,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
    /// Accepted verifications allowed a month; `None`: no quota.
    pub monthly_quota: Option<i64>,
}

/// The key with this public id, as verification sees it.
pub async fn for_verification(conn: Conn<'_>, key_id: &str) -> sqlx::Result<Option<VerifyRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, key_id, org_id, environment, scopes, ip_allowlist, secret_hash, expires_at,
                    rotating_until, revoked_at, suspended_at, suspended_until, approval,
                    cast(rate_limit_per_minute as bigint) as rate_limit_per_minute,
                    cast(monthly_quota as bigint) as monthly_quota
             from api_keys where key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(c)
        .await
    })
}

/// Suspends a key that is neither revoked nor suspended already (a
/// suspension whose end has passed is over); `by` is `None` for the system.
/// Returns whether this call suspended it: of two at once (two leak reports,
/// two instances), one wins.
pub async fn suspend(
    conn: Conn<'_>,
    id: i64,
    by: Option<i64>,
    reason: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set suspended_at = $3, suspended_by = $2, suspended_reason = $4, suspended_until = $5
             where id = $1 and revoked_at is null
               and (suspended_at is null or (suspended_until is not null and suspended_until <= $3))",
        )
        .bind(id)
        .bind(by)
        .bind(now)
        .bind(reason)
        .bind(until)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Lifts the suspension `suspended_at` of a key. Returns whether this call
/// lifted it (two instances reinstating at once: one wins).
pub async fn reinstate(conn: Conn<'_>, id: i64, suspended_at: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set suspended_at = null, suspended_by = null, suspended_reason = null, suspended_until = null
             where id = $1 and suspended_at = $2",
        )
        .bind(id)
        .bind(suspended_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Keys whose suspension has reached its end date: `(id, suspended_at)`.
pub async fn due_reinstatements(
    conn: Conn<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, DateTime<Utc>)>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select id, suspended_at from api_keys
             where suspended_at is not null and suspended_until is not null and suspended_until <= $1
             order by id limit 500",
        )
        .bind(now)
        .fetch_all(c)
        .await
    })
}

/// Records an admin's decision on a pending key. Returns whether it was
/// still pending.
pub async fn decide_approval(
    conn: Conn<'_>,
    id: i64,
    approval: &str,
    by: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update api_keys set approval = $2, approval_decided_by = $3, approval_comment = $4, approval_decided_at = $5
             where id = $1 and approval = 'pending' and revoked_at is null",
        )
        .bind(id)
        .bind(approval)
        .bind(by)
        .bind(comment)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// An organisation's keys waiting for approval, oldest first.
pub async fn pending_for_org(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Vec<KeyRow>> {
    let sql = format!(
        "{SELECT} where k.org_id = $1 and k.approval = 'pending' and k.revoked_at is null order by k.created_at, k.id"
    );
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(org_id)
        .fetch_all(c)
        .await)
}

/// Gives a key a new owner.
pub async fn set_owner(conn: Conn<'_>, id: i64, owner_id: i64) -> sqlx::Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "update api_keys set owner_id = $2 where id = $1"
    )
    .bind(id)
    .bind(owner_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Keys for the support console: by public key id prefix (exact case), or
/// by part of the organisation's name or slug or the owner's email (any
/// case), newest first.
pub async fn search(conn: Conn<'_>, needle: &str, limit: i64) -> sqlx::Result<Vec<KeyRow>> {
    let sql = format!(
        "{SELECT} where substr(k.key_id, 1, $4) = $1 or lower(o.name) like $2 escape '\\'
             or lower(o.slug) like $2 escape '\\' or lower(owner.email) like $2 escape '\\'
         order by k.created_at desc, k.id desc limit $3"
    );
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let contains = format!("%{escaped}%");
    let prefix_len = i32::try_from(needle.chars().count()).unwrap_or(i32::MAX);
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(needle)
        .bind(&contains)
        .bind(limit)
        .bind(prefix_len)
        .fetch_all(c)
        .await)
}

/// Keys that still work and expire in `(after, before]`, for reminders.
pub async fn expiring_between(
    conn: Conn<'_>,
    after: DateTime<Utc>,
    before: DateTime<Utc>,
) -> sqlx::Result<Vec<KeyRow>> {
    let sql = format!(
        "{SELECT} where k.expires_at > $1 and k.expires_at <= $2 and k.revoked_at is null
             and k.rotating_until is null and k.approval <> 'rejected'
         order by k.expires_at, k.id"
    );
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(after)
        .bind(before)
        .fetch_all(c)
        .await)
}

/// A page of an organisation's keys with ids above `after_id`, for exports.
pub async fn page_for_org(
    conn: Conn<'_>,
    org_id: i64,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<KeyRow>> {
    let sql = format!("{SELECT} where k.org_id = $1 and k.id > $2 order by k.id limit $3");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Sets how many quiet minutes retire a rotating key early.
pub async fn set_quiet_minutes(conn: Conn<'_>, id: i64, minutes: Option<i32>) -> sqlx::Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "update api_keys set quiet_minutes = $2 where id = $1"
    )
    .bind(id)
    .bind(minutes)
    .execute(c)
    .await
    .map(|_| ()))
}

/// A rotating key that retires itself once quiet: `(id, quiet minutes,
/// last used, when the rotation started)`.
pub type QuietCandidate = (i64, i32, Option<DateTime<Utc>>, DateTime<Utc>);

/// Keys in a rotation overlap that retire themselves once quiet.
pub async fn quiet_candidates(
    conn: Conn<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<QuietCandidate>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select k.id, k.quiet_minutes, k.last_used_at, s.created_at
             from api_keys k join api_keys s on s.id = k.successor_id
             where k.quiet_minutes is not null and k.rotating_until > $1 and k.expires_at > $1
               and k.revoked_at is null and k.expiry_recorded_at is null
             order by k.id limit 500",
        )
        .bind(now)
        .fetch_all(c)
        .await
    })
}

/// Sets (or, with `None`, removes) a key's monthly quota. Returns whether
/// the key exists.
pub async fn set_monthly_quota(conn: Conn<'_>, id: i64, quota: Option<i64>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("update api_keys set monthly_quota = $2 where id = $1")
            .bind(id)
            .bind(quota)
            .execute(c)
            .await
            .map(|r| r.rows_affected() > 0)
    })
}
