//! The staff console: platform status and gateway tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The usage pipeline's counters since start-up (of this instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageStats {
    /// Events taken into the buffer.
    pub accepted: u64,
    /// Events written to the database.
    pub written: u64,
    /// Events dropped because the buffer was full or the database failed.
    pub dropped: u64,
    /// Batches that could not be written (after retries).
    pub failed_batches: u64,
    /// Events waiting in the buffer now.
    pub queued: u64,
    /// The buffer's size.
    pub capacity: u64,
    /// Of `dropped`: events of requests whose key was not identified
    /// (malformed, unknown, wrong secret) dropped because such events used up
    /// their share of the buffer, so that forged traffic cannot push real
    /// usage out.
    pub unidentified_dropped: u64,
    /// The most buffer places such events may hold at once.
    pub unidentified_budget: u64,
}

/// A gateway token as staff see it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayTokenView {
    /// Its unique name: 1 to 60 letters, digits, `-`, `_` or `.`. Staff and the
    /// command line revoke tokens by name.
    pub name: String,
    /// `gwt_` and the public id.
    pub display_id: String,
    /// Who made it (`None`: the command line).
    pub created_by: Option<String>,
    /// When it was made (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just made, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGatewayToken {
    /// The unique name it was given, by which it can be revoked.
    pub name: String,
    /// The whole token.
    pub token: String,
}

impl std::fmt::Debug for NewGatewayToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewGatewayToken")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The status of this Portico instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformStatus {
    /// The usage pipeline.
    pub usage: UsageStats,
    /// The database in use (`SQLite` or `Postgres`).
    pub database: String,
    /// Days raw usage events are kept.
    pub usage_retention_days: i64,
    /// Days hourly counts are kept.
    pub rollup_retention_days: i64,
    /// The rate limits shared through Redis; `None`: each instance limits
    /// alone (no `PORTICO_REDIS_URL`).
    pub shared_limits: Option<SharedLimitHealth>,
}

/// Whether the Redis behind shared rate limits answers, as the staff page
/// and `/metrics` show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLimitHealth {
    /// Redis answered the last decision (or none was asked yet).
    pub up: bool,
    /// Decisions this instance made alone because Redis did not answer.
    pub fallbacks: u64,
    /// Outages seen since start-up (each a change from up to down).
    pub outages: u64,
    /// What went wrong last, without addresses or passwords.
    pub last_error: Option<String>,
}
