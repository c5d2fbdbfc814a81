//! Keys waiting for an admin's approval.

use crate::model::keys::KeySummary;
use serde::{Deserialize, Serialize};

/// A key waiting for an admin's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingKey {
    /// The key as lists show it (name, environment, scopes, owner, status).
    pub key: KeySummary,
    /// What it is for.
    pub purpose: String,
    /// Who asked.
    pub requested_by: String,
    /// Its high-risk scopes (the reason it waits).
    pub high_risk_scopes: Vec<String>,
    /// Where it may be used from (empty: anywhere).
    pub ip_allowlist: Vec<String>,
}
