//! Notifications: what owners and admins are told about their keys, in the
//! portal (with an unread count) and by email when SMTP is configured.
//!
//! A notification is written in the same transaction as the change it
//! reports, so neither exists without the other; the [`mailer`] sends the
//! email afterwards from the stored row. No notification carries a secret:
//! they name keys by their public id.

pub mod mailer;
pub mod reminders;
pub mod security_notice;

use super::{
    authz::Actor,
    db::{
        memberships,
        notifications::{self, NewNotification},
        Tx,
    },
    state::AppState,
};
use crate::{
    error::AppError,
    model::notifications::{NotificationList, NotificationView},
};

/// One thing to tell people.
#[derive(Clone, Debug)]
pub struct Notice {
    /// Kind (`suspended`, `reinstated`, `revoked`, `approval_requested`,
    /// `approved`, `rejected`, `expiry_reminder`, `owner_changed`).
    pub kind: &'static str,
    /// The organisation the notice is about (`organisations.id`); recipients see its name.
    pub org_id: i64,
    /// The key row it is about.
    pub key_row_id: Option<i64>,
    /// One line.
    pub subject: String,
    /// A few sentences.
    pub body: String,
    /// Where in the portal to look or act (a path).
    pub link: String,
    /// Makes the notice go to each person once (reminders).
    pub dedupe_key: Option<String>,
}

/// Who hears about a key: its owner and the organisation's admins, each
/// once, without `except` (the person who did it needs no notice).
pub async fn key_audience(
    tx: &mut Tx,
    org_id: i64,
    owner_id: i64,
    except: Option<i64>,
) -> Result<Vec<i64>, AppError> {
    let mut people = memberships::admin_ids(tx.conn(), org_id).await?;
    people.push(owner_id);
    people.sort_unstable();
    people.dedup();
    people.retain(|p| Some(*p) != except);
    Ok(people)
}

/// Tells a key's owner and its organisation's admins (except `except`).
pub async fn tell_about_key(
    state: &AppState,
    tx: &mut Tx,
    owner_id: i64,
    except: Option<i64>,
    notice: &Notice,
) -> Result<usize, AppError> {
    let audience = key_audience(tx, notice.org_id, owner_id, except).await?;
    send(state, tx, &audience, notice).await
}

/// Stores `notice` for each of `recipients` inside `tx`; returns how many
/// were new (a dedupe key already used for a person is skipped). Call
/// [`mailer::Mailer::wake`] after the commit.
pub async fn send(
    state: &AppState,
    tx: &mut Tx,
    recipients: &[i64],
    notice: &Notice,
) -> Result<usize, AppError> {
    let email_state = if state.config.smtp.is_some() {
        "pending"
    } else {
        "none"
    };
    let now = state.clock.now();
    let mut sent = 0;
    for user_id in recipients {
        let new = notifications::insert(
            tx.conn(),
            &NewNotification {
                user_id: *user_id,
                org_id: notice.org_id,
                key_id: notice.key_row_id,
                kind: notice.kind,
                subject: &notice.subject,
                body: &notice.body,
                link: &notice.link,
                dedupe_key: notice.dedupe_key.as_deref(),
                created_at: now,
                email_state,
            },
        )
        .await?;
        sent += usize::from(new);
    }
    Ok(sent)
}

/// The actor's newest notifications and how many are unread.
pub async fn list(state: &AppState, actor: &Actor) -> Result<NotificationList, AppError> {
    let mut conn = state.db.acquire().await?;
    let rows = notifications::for_user(conn.conn(), actor.user_id, 100).await?;
    let unread = notifications::unread_count(conn.conn(), actor.user_id).await?;
    Ok(NotificationList {
        unread,
        items: rows
            .into_iter()
            .map(|r| NotificationView {
                id: r.id,
                kind: r.kind,
                org_name: r.org_name,
                subject: r.subject,
                body: r.body,
                link: r.link,
                created_at: r.created_at,
                read: r.read_at.is_some(),
                emailed: r.email_state == "sent",
            })
            .collect(),
    })
}

/// How many of the actor's notifications are unread.
pub async fn unread(state: &AppState, actor: &Actor) -> Result<i64, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(notifications::unread_count(conn.conn(), actor.user_id).await?)
}

/// Marks one of the actor's notifications read, or all of them. Someone
/// else's notification id changes nothing.
pub async fn mark_read(state: &AppState, actor: &Actor, id: Option<i64>) -> Result<u64, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(notifications::mark_read(conn.conn(), actor.user_id, id, state.clock.now()).await?)
}
