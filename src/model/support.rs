//! The support console's search hits.

use crate::model::keys::KeySummary;
use serde::{Deserialize, Serialize};

/// A key found by the support console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportHit {
    /// The key (status, owner, last use…).
    pub key: KeySummary,
    /// The name of the organisation the key belongs to.
    pub org_name: String,
}

/// What a staff report of a leaked secret did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakOutcome {
    /// The live key it was (now suspended): its public id, display id and
    /// name; `None` when the secret is no live key of this portal (nothing
    /// changed).
    pub key: Option<LeakedKey>,
}

/// A live key reported as leaked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakedKey {
    /// Its public id (for links).
    pub key_id: String,
    /// As people see it (`prt_live_AbCd…`).
    pub display_id: String,
    /// Its name.
    pub name: String,
}
