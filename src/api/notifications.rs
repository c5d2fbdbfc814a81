//! Notifications: the list, the unread count in the header, marking read.

use crate::error::AppError;
pub use crate::model::notifications::{NotificationList, NotificationView};
use leptos::prelude::*;

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
