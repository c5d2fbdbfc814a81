//! Notifications: the list, the unread count in the header, marking read.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    /// Id.
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
    /// When.
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

/// The signed-in person's notifications.
#[server(endpoint = "notifications")]
pub async fn get_notifications() -> Result<NotificationList, AppError> {
    use crate::server::{context::request_context, notify};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            notify::list(&ctx.state, &actor).await
        }
        .await,
    )
}

/// How many notifications are unread (the header's badge); 0 when signed out.
#[server(endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    use crate::server::{context::request_context, notify};
    super::respond(
        async {
            let ctx = request_context().await?;
            match ctx.maybe_actor().await? {
                Some(actor) => notify::unread(&ctx.state, &actor).await,
                None => Ok(0),
            }
        }
        .await,
    )
}

/// Marks one notification read, or all of them when `id` is empty.
#[server(endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read(id: Option<i64>) -> Result<u64, AppError> {
    use crate::server::{context::request_context, notify};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            notify::mark_read(&ctx.state, &actor, id).await
        }
        .await,
    )
}
