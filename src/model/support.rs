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
