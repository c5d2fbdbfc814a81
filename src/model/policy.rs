//! An organisation's key policy as its page shows it.

use crate::domain::policy::OrgPolicy;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The policy and who last changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// The policy in force.
    pub policy: OrgPolicy,
    /// When and by whom it was last changed (`None`: the defaults).
    pub updated: Option<(DateTime<Utc>, String)>,
    /// Whether the viewer may change it (admins).
    pub can_edit: bool,
}
