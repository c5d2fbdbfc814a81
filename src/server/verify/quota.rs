//! Monthly request quotas: how many accepted verifications a key may have in
//! a calendar month (UTC), besides its per-minute rate limit.
//!
//! With `PORTICO_REDIS_URL`, the month's count is one counter in Redis that
//! every instance increments in one atomic script, started from the
//! database's count when it does not exist yet (a new month, or a Redis
//! that lost its data). Without Redis, or while it does not answer, each
//! instance counts alone from the database's count, read again every
//! minute: instances may then together allow up to a minute of traffic
//! more than the quota. The owner and the organisation's admins are told
//! when the count reaches 80 % and 100 %, once a month each.

use super::cache::VerifyKey;
use super::global_limit::QuotaAnswer;
use crate::{
    domain::quota::{month_of, month_start, next_month_start, notices_reached},
    error::AppError,
    server::{
        db::{api_keys, usage},
        notify::{self, Notice},
        state::AppState,
    },
};
use chrono::{DateTime, Utc};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How often an instance counting alone reads the month's count again.
const RECOUNT_EVERY: Duration = Duration::from_secs(60);

/// What a key's quota said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOutcome {
    /// Counted: the n-th accepted request of the month.
    Accepted(i64),
    /// Used up until the month ends.
    Exceeded,
}

#[derive(Debug, Clone, Copy)]
struct LocalCount {
    month: u32,
    used: i64,
    counted_at: Instant,
}

/// Each key's count this month, as this instance keeps it when it counts
/// alone.
#[derive(Debug, Default)]
pub struct LocalQuotas {
    counts: Mutex<HashMap<i64, LocalCount>>,
}

impl LocalQuotas {
    /// Makes the next request of a key read the month's count again (its
    /// quota changed), keeping this instance's own count, which the
    /// database may not hold yet: the higher of the two is used.
    pub fn recount_soon(&self, key_row_id: i64) {
        if let Some(count) = self.counts.lock().expect("quota lock").get_mut(&key_row_id) {
            count.counted_at = Instant::now()
                .checked_sub(RECOUNT_EVERY)
                .unwrap_or(count.counted_at);
        }
    }
}

/// Counts one request of `key` (which has a quota) at `now`. Errors: the
/// database could not be read for the month's count (verification then
/// fails rather than let the request through).
pub async fn take(
    state: &AppState,
    key: &VerifyKey,
    quota: i64,
    now: DateTime<Utc>,
) -> Result<QuotaOutcome, AppError> {
    let month = month_of(now);
    let outcome = match shared(state, key, quota, month, now).await? {
        Some(outcome) => outcome,
        None => alone(state, key, quota, month, now).await?,
    };
    if let QuotaOutcome::Accepted(n) = outcome {
        let reached = notices_reached(n, quota);
        if !reached.is_empty() {
            let (state, key_id) = (state.clone(), key.key_id.clone());
            tokio::spawn(async move {
                if let Err(e) = tell(&state, &key_id, quota, month, &reached).await {
                    tracing::warn!(error = %e, "could not tell about a quota");
                }
            });
        }
    }
    Ok(outcome)
}

/// Whole seconds until a used-up quota works again (the month's end),
/// rounded up and at least 1: a client that waits that long is let through
/// (RFC 9110 §10.2.3).
pub fn seconds_to_reset(now: DateTime<Utc>) -> u64 {
    super::rate_limit::whole_seconds((next_month_start(now) - now).to_std().unwrap_or_default())
}

/// Through Redis; `None` when it is not configured or does not answer.
async fn shared(
    state: &AppState,
    key: &VerifyKey,
    quota: i64,
    month: u32,
    now: DateTime<Utc>,
) -> Result<Option<QuotaOutcome>, AppError> {
    let Some(global) = &state.global_limiter else {
        return Ok(None);
    };
    // The counter outlives its month by a day, for clocks a little apart.
    let ttl = (next_month_start(now) - now + chrono::Duration::days(1))
        .to_std()
        .unwrap_or(Duration::from_secs(86_400));
    let mut count = None;
    for _ in 0..2 {
        match global
            .take_quota(&key.key_id, month, quota, count, ttl)
            .await
        {
            QuotaAnswer::Accepted(n) => return Ok(Some(QuotaOutcome::Accepted(n))),
            QuotaAnswer::Exceeded(_) => return Ok(Some(QuotaOutcome::Exceeded)),
            QuotaAnswer::Unavailable => return Ok(None),
            QuotaAnswer::NeedsCount => count = Some(count_this_month(state, key.id, now).await?),
        }
    }
    Ok(None)
}

/// By this instance alone, from the database's count.
async fn alone(
    state: &AppState,
    key: &VerifyKey,
    quota: i64,
    month: u32,
    now: DateTime<Utc>,
) -> Result<QuotaOutcome, AppError> {
    let fresh = {
        let counts = state.local_quotas.counts.lock().expect("quota lock");
        counts
            .get(&key.id)
            .is_some_and(|c| c.month == month && c.counted_at.elapsed() < RECOUNT_EVERY)
    };
    let recount = if fresh {
        None
    } else {
        Some(count_this_month(state, key.id, now).await?)
    };
    let mut counts = state.local_quotas.counts.lock().expect("quota lock");
    let entry = counts.entry(key.id).or_insert(LocalCount {
        month,
        used: 0,
        counted_at: Instant::now(),
    });
    if entry.month != month {
        *entry = LocalCount {
            month,
            used: 0,
            counted_at: Instant::now(),
        };
    }
    if let Some(stored) = recount {
        // The database may not hold this instance's latest requests yet.
        entry.used = entry.used.max(stored);
        entry.counted_at = Instant::now();
    }
    if entry.used >= quota {
        return Ok(QuotaOutcome::Exceeded);
    }
    entry.used += 1;
    Ok(QuotaOutcome::Accepted(entry.used))
}

async fn count_this_month(
    state: &AppState,
    key_row_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(usage::accepted_since(conn.conn(), key_row_id, month_start(now)).await?)
}

/// Tells the key's owner and its organisation's admins that it reached
/// `percents` of its quota, once per person and month.
async fn tell(
    state: &AppState,
    key_id: &str,
    quota: i64,
    month: u32,
    percents: &[i64],
) -> Result<(), AppError> {
    let row = {
        let mut conn = state.db.acquire().await?;
        api_keys::find_by_key_id(conn.conn(), key_id).await?
    };
    let Some(row) = row else { return Ok(()) };
    let mut tx = state.db.begin().await?;
    for &percent in percents {
        let (subject, body) = if percent >= 100 {
            (
                format!("{} has used its monthly quota", row.name),
                format!(
                    "The key {} ({key_id}) has had the {} its quota allows this month. Until the month ends (UTC), verification refuses it with quota_exceeded; an admin can raise the quota on its page.",
                    row.name,
                    crate::domain::format::count(quota as usize, "request", "requests"),
                ),
            )
        } else {
            (
                format!("{} has used {percent} % of its monthly quota", row.name),
                format!(
                    "The key {} ({key_id}) has had {percent} % of the {} its quota allows this month. At 100 % verification refuses it until the month ends (UTC).",
                    row.name,
                    crate::domain::format::count(quota as usize, "request", "requests"),
                ),
            )
        };
        let notice = Notice {
            kind: "quota",
            org_id: row.org_id,
            key_row_id: Some(row.id),
            subject,
            body,
            link: format!("/keys/{key_id}"),
            dedupe_key: Some(format!("quota:{}:{month}:{percent}", row.id)),
        };
        notify::tell_about_key(state, &mut tx, row.owner_id, None, &notice).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::seconds_to_reset;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_wait_to_the_month_end_rounds_up() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 56).unwrap()
            + chrono::Duration::milliseconds(200);
        assert_eq!(seconds_to_reset(t), 4);
        let exact = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 57).unwrap();
        assert_eq!(seconds_to_reset(exact), 3);
    }
}
