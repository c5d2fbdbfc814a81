//! Traffic-aware rotation: a rotation overlap that ends "when the old key
//! goes quiet". The old key retires itself once it has seen no traffic for
//! its quiet period (and never later than the overlap chosen), and its
//! owner is told.

use super::{change::KeyChange, display_of};
use crate::domain::audit::AuditAction;
use crate::{
    error::AppError,
    server::{
        db::{api_keys, audit::NewEvent},
        notify::Notice,
        state::AppState,
    },
};
use chrono::Duration;
use serde_json::json;

/// The quiet periods offered, in minutes.
pub const QUIET_CHOICES: [i32; 3] = [15, 60, 240];

/// Parses the form's choice: empty for none, else one of [`QUIET_CHOICES`].
pub fn parse_quiet(input: &str) -> Result<Option<i32>, String> {
    match input.trim() {
        "" | "none" => Ok(None),
        text => match text.parse::<i32>() {
            Ok(n) if QUIET_CHOICES.contains(&n) => Ok(Some(n)),
            _ => Err("Choose 15 minutes, 1 hour or 4 hours of quiet, or none.".to_owned()),
        },
    }
}

/// Retires every rotating key that has been quiet long enough. Safe on
/// several instances at once. Returns how many retired.
pub async fn retire_quiet(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let candidates = {
        let mut conn = state.db.acquire().await?;
        api_keys::quiet_candidates(conn.conn(), now).await?
    };
    let mut retired = 0;
    for (id, minutes, last_used, rotated_at) in candidates {
        let quiet = Duration::minutes(minutes.into());
        let last_traffic = last_used.map_or(rotated_at, |t| t.max(rotated_at));
        if now - last_traffic < quiet {
            continue;
        }
        let Some(row) = ({
            let mut conn = state.db.acquire().await?;
            api_keys::find(conn.conn(), id).await?
        }) else {
            continue;
        };
        let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
        if !api_keys::end_overlap(tx.conn(), id, now).await? {
            continue;
        }
        api_keys::mark_expiry_recorded(tx.conn(), id, now).await?;
        let reason = format!(
            "No traffic for {minutes} minutes since {}",
            crate::domain::format::date_time(last_traffic)
        );
        tx.audit(NewEvent {
            org_id: row.org_id,
            key_id: Some(row.id),
            actor_id: None,
            actor_email: super::SYSTEM_ACTOR,
            action: AuditAction::Retired,
            reason: Some(&reason),
            details: Some(json!({"quiet_minutes": minutes}).to_string()),
            client_addr: None,
            at: now,
        })
        .await?;
        let shown = display_of(state, &row);
        let notice = Notice {
            kind: "retired",
            org_id: row.org_id,
            key_row_id: Some(row.id),
            subject: format!("Key {shown} ({}) retired itself", row.name),
            body: format!(
                "The old key {shown} ({}) saw no traffic for {minutes} minutes, so it stopped working as its rotation asked. Its successor carries on.",
                row.name
            ),
            link: format!("/keys/{}", row.key_id),
            dedupe_key: None,
        };
        let owner: Vec<i64> = vec![row.owner_id];
        tx.notify(&owner, &notice).await?;
        tx.commit().await?;
        retired += 1;
    }
    Ok(retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_periods_are_a_fixed_choice() {
        assert_eq!(parse_quiet(""), Ok(None));
        assert_eq!(parse_quiet("60"), Ok(Some(60)));
        assert!(parse_quiet("7").is_err());
    }
}
