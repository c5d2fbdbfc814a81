//! Notifications in the portal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    /// The notification's row id (`notifications.id`); "Mark as read" sends it back.
    pub id: i64,
    /// Kind (`suspended`, `expiry_reminder`, …).
    pub kind: String,
    /// The organisation it concerns.
    pub org_name: String,
    /// One line.
    pub subject: String,
    /// A few sentences.
    pub body: String,
    /// Where to look or act.
    pub link: String,
    /// When it was stored (UTC), in the same transaction as the change it reports.
    pub created_at: DateTime<Utc>,
    /// Whether it was read.
    pub read: bool,
    /// Whether it also went by email.
    pub emailed: bool,
}

/// The signed-in person's notifications, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationList {
    /// How many are unread.
    pub unread: i64,
    /// The newest 100.
    pub items: Vec<NotificationView>,
}
