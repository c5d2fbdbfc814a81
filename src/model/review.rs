//! The key hygiene review's findings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The owner left the organisation.
    NoOwner,
    /// Not rotated within the interval for its risk.
    NotRotated,
    /// Unused for 30 days or more.
    Unused,
    /// Expires within 14 days.
    ExpiringSoon,
    /// A production key holding high-risk scopes.
    ProductionHighRisk,
    /// Scopes granted but unused for 30 days.
    UnusedScopes,
    /// Traffic on a key that no longer works.
    RetiredKeyTraffic,
}

impl FindingKind {
    /// The machine form (JSON and the command line).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::NoOwner => "no_owner",
            FindingKind::NotRotated => "not_rotated",
            FindingKind::Unused => "unused",
            FindingKind::ExpiringSoon => "expiring_soon",
            FindingKind::ProductionHighRisk => "production_high_risk",
            FindingKind::UnusedScopes => "unused_scopes",
            FindingKind::RetiredKeyTraffic => "retired_key_traffic",
        }
    }

    /// What fixes it, as the review's action says it.
    pub fn action(self) -> &'static str {
        match self {
            FindingKind::NoOwner => "Give it a new owner",
            FindingKind::NotRotated | FindingKind::ExpiringSoon => "Rotate it",
            FindingKind::Unused => "Revoke it if nothing needs it",
            FindingKind::ProductionHighRisk => "Remove the scopes it does not need",
            FindingKind::UnusedScopes => "Narrow to the scopes in use",
            FindingKind::RetiredKeyTraffic => "Find the caller and move it to the current key",
        }
    }
}

/// One problem with one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which problem this is; [`FindingKind::action`] says what fixes it.
    pub kind: FindingKind,
    /// The key's public id (its page is `/keys/{key_id}`).
    pub key_id: String,
    /// Its recognisable start.
    pub display_id: String,
    /// The key's name (`api_keys.name`).
    pub key_name: String,
    /// The email of the key's owner.
    pub owner: String,
    /// Why, in words.
    pub reason: String,
}

/// The review of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// When the review was worked out (UTC); it is computed on request, not stored.
    pub generated_at: DateTime<Utc>,
    /// Working keys looked at.
    pub keys_checked: usize,
    /// What needs doing.
    pub findings: Vec<Finding>,
}
