//! Queries on `notifications`: the in-app list, and the outbox the mailer
//! reads (`email_state = 'pending'`).

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// A notification to store.
#[derive(Debug)]
pub struct NewNotification<'a> {
    /// The user who gets it (`users.id`); each recipient has a row of their own.
    pub user_id: i64,
    /// Organisation it concerns.
    pub org_id: i64,
    /// Key row it concerns.
    pub key_id: Option<i64>,
    /// What happened (`suspended`, `expiry_reminder`, …).
    pub kind: &'a str,
    /// One line.
    pub subject: &'a str,
    /// A few sentences.
    pub body: &'a str,
    /// Path in the portal where to act.
    pub link: &'a str,
    /// Makes a repeated notice (such as a reminder) go out once per user.
    pub dedupe_key: Option<&'a str>,
    /// When it is stored (UTC), in the transaction of the change it reports.
    pub created_at: DateTime<Utc>,
    /// `pending` when it should also go by email, else `none`.
    pub email_state: &'a str,
}

/// A stored notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    /// Row id.
    pub id: i64,
    /// The user it went to (`users.id`).
    pub user_id: i64,
    /// Recipient's email.
    pub email: String,
    /// Organisation's name.
    pub org_name: String,
    /// What happened, as `Notice::kind` names it (`suspended`, `expiry_reminder`, …).
    pub kind: String,
    /// One line.
    pub subject: String,
    /// A few sentences.
    pub body: String,
    /// Path in the portal.
    pub link: String,
    /// When it was stored (UTC).
    pub created_at: DateTime<Utc>,
    /// When the recipient marked it read (UTC); `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
    /// `none`, `pending`, `sent` or `failed`.
    pub email_state: String,
    /// Emailing attempts so far.
    pub email_attempts: i32,
}

const SELECT: &str =
    "select n.id, n.user_id, u.email, o.name as org_name, n.kind, n.subject, n.body,
        n.link, n.created_at, n.read_at, n.email_state, n.email_attempts
    from notifications n join users u on u.id = n.user_id join organisations o on o.id = n.org_id";

/// Whether notification `n`'s person may still hear about its organisation:
/// a member of it since before the notice (a notice from before someone left
/// and rejoined stays hidden), or platform staff. Notices to anyone else are
/// not stored, and older ones are no longer shown or emailed once a person
/// has left. While the organisation requires a second factor the person has
/// not set up, its notices wait unshown and unsent.
const ENTITLED: &str = concat!(
    "(exists (select 1 from memberships m
             where m.org_id = n.org_id and m.user_id = n.user_id and m.created_at <= n.created_at)
     or exists (select 1 from staff s where s.user_id = n.user_id))
    and not exists (select 1 from organisations o
             where o.id = n.org_id and o.require_second_factor and not ",
    crate::has_second_factor!("n.user_id"),
    ")"
);

/// Stores a notification, unless its person is neither a member of its
/// organisation nor staff (see [`ENTITLED`]). Returns `false` when one with the same dedupe key
/// already went to this user.
pub async fn insert(conn: Conn<'_>, n: &NewNotification<'_>) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into notifications (user_id, org_id, key_id, kind, subject, body, link, dedupe_key, created_at, email_state)
             select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
             where exists (select 1 from memberships m where m.org_id = $2 and m.user_id = $1)
                or exists (select 1 from staff s where s.user_id = $1)
             on conflict (user_id, dedupe_key) do nothing",
        )
        .bind(n.user_id)
        .bind(n.org_id)
        .bind(n.key_id)
        .bind(n.kind)
        .bind(n.subject)
        .bind(n.body)
        .bind(n.link)
        .bind(n.dedupe_key)
        .bind(n.created_at)
        .bind(n.email_state)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// A user's newest notifications.
pub async fn for_user(
    conn: Conn<'_>,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    let sql = format!("{SELECT} where n.user_id = $1 and {ENTITLED} order by n.id desc limit $2");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// How many of a user's notifications are unread.
pub async fn unread_count(conn: Conn<'_>, user_id: i64) -> sqlx::Result<i64> {
    let sql = format!(
        "select count(*) from notifications n where n.user_id = $1 and n.read_at is null and {ENTITLED}"
    );
    on_conn!(conn, |c| sqlx::query_scalar(&sql)
        .bind(user_id)
        .fetch_one(c)
        .await)
}

/// Marks one of a user's notifications, or all of them (`id` `None`), read.
pub async fn mark_read(
    conn: Conn<'_>,
    user_id: i64,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update notifications set read_at = $3
             where user_id = $1 and ($2 is null or id = $2) and read_at is null",
        )
        .bind(user_id)
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })
}

/// Notifications waiting to be emailed, oldest first.
pub async fn email_pending(conn: Conn<'_>, limit: i64) -> sqlx::Result<Vec<NotificationRow>> {
    let sql =
        format!("{SELECT} where n.email_state = 'pending' and {ENTITLED} order by n.id limit $1");
    on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Records an emailing attempt: `state` is `sent`, `failed`, or `pending`
/// to try again later.
pub async fn mark_emailed(
    conn: Conn<'_>,
    id: i64,
    state: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "update notifications set email_state = $2, email_attempts = email_attempts + 1,
                 emailed_at = case when $2 = 'sent' then $3 else emailed_at end
             where id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })
}
