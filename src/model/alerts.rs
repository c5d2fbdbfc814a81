//! Alerts as the pages show them.

use crate::domain::alerts::{AlertKind, AlertState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: AlertKind,
    /// State.
    pub state: AlertState,
    /// One sentence, from the evidence.
    pub summary: String,
    /// The evidence, as JSON.
    pub evidence: String,
    /// First event.
    pub first_seen: DateTime<Utc>,
    /// Latest event.
    pub last_seen: DateTime<Utc>,
    /// Events counted.
    pub count: i64,
    /// The key's public id.
    pub key_id: String,
    /// Its recognisable start.
    pub key_display_id: String,
    /// Its name.
    pub key_name: String,
    /// Its organisation.
    pub org_name: String,
    /// Who acknowledged or resolved it.
    pub state_changed_by: Option<String>,
}
