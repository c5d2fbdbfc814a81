//! Expiry reminders: 14, 3 and 1 days before a key stops working, each once.
//!
//! Run every minute by the housekeeping task, on every instance: the dedupe
//! key in `notifications` makes each reminder go out once whoever runs it.
//! A key gets a reminder only if it was alive when that reminder fell due,
//! so a 7-day key hears at 3 days and 1 day, not "14 days" at birth.

use super::{tell_about_key, Notice};
use crate::{
    domain::format,
    domain::key_format::display_id,
    error::AppError,
    server::{db::api_keys, state::AppState},
};
use chrono::Duration;

/// Days before expiry at which reminders go out, widest first.
pub const REMINDER_DAYS: [i64; 3] = [14, 3, 1];

/// Sends the reminders that are due; returns how many notifications were
/// written (0 when every due reminder went out before).
pub async fn send_due(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let rows = {
        let mut conn = state.db.acquire().await?;
        api_keys::expiring_between(conn.conn(), now, now + Duration::days(REMINDER_DAYS[0])).await?
    };
    let mut written = 0;
    for row in rows {
        let left = row.standing.expires_at - now;
        // The tightest reminder this key is within.
        let Some(days) = REMINDER_DAYS
            .iter()
            .rev()
            .copied()
            .find(|d| left <= Duration::days(*d))
        else {
            continue;
        };
        if row.created_at > row.standing.expires_at - Duration::days(days) {
            continue;
        }
        let environment = row.environment;
        let shown = display_id(state.config.key_prefix.as_str(), environment, &row.key_id);
        let when = if days == 1 {
            "within a day".to_owned()
        } else {
            format!("within {days} days")
        };
        let notice = Notice {
            kind: "expiry_reminder",
            org_id: row.org_id,
            key_row_id: Some(row.id),
            subject: format!("Key {shown} ({}) expires {when}", row.name),
            body: format!(
                "The key {shown} ({}) stops working on {}. Rotate it before then so its users can move to the new key during the overlap.",
                row.name,
                format::date_time(row.standing.expires_at)
            ),
            link: format!("/keys/{}", row.key_id),
            dedupe_key: Some(format!("expiry-{days}:{}", row.key_id)),
        };
        let mut tx = state.db.begin().await?;
        written += tell_about_key(state, &mut tx, row.owner_id, None, &notice).await?;
        tx.commit().await?;
    }
    if written > 0 {
        state.mailer.wake();
    }
    Ok(written)
}
