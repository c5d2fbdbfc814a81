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
    /// Whether every member must sign in with a second factor.
    pub requires_second_factor: bool,
    /// Members without a second factor, by email (for admins; empty for
    /// others).
    pub members_without_second_factor: Vec<String>,
}
