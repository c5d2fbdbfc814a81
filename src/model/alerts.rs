//! Alerts as the pages show them.

use crate::domain::alerts::{AlertKind, AlertState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One page of alerts, newest activity first; the cursor is an alert's id.
pub type AlertPage = crate::model::page::Page<AlertView, i64>;

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    /// The alert's row id (`alerts.id`); the acknowledge and resolve buttons send it back.
    pub id: i64,
    /// What the detector saw; the page titles the alert with [`AlertKind::label`].
    pub kind: AlertKind,
    /// Open, acknowledged or resolved; resolved alerts are closed and show no buttons.
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
    /// The key's current name (`api_keys.name`).
    pub key_name: String,
    /// The name of the key's organisation (the staff view shows it).
    pub org_name: String,
    /// Who acknowledged or resolved it.
    pub state_changed_by: Option<String>,
}
