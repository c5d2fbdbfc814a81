//! First-run setup through the one-time link printed by the server.

use crate::error::AppError;
use leptos::prelude::*;

/// Whether a setup link still works.
#[server(endpoint = "setup_open")]
pub async fn setup_open(token: String) -> Result<bool, AppError> {
    use crate::server::{context::request_context, setup};
    super::respond(
        async {
            let ctx = request_context().await?;
            setup::is_open(&ctx.state, &token).await
        }
        .await,
    )
}

/// Creates the platform owner's account with the setup link and signs in.
#[server(endpoint = "complete_setup")]
pub async fn complete_setup(
    token: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use crate::server::{context::request_context, setup};
    super::respond(
        async {
            let ctx = request_context().await?;
            let user_id = setup::complete(&ctx.state, &token, &email, password).await?;
            ctx.sign_in_as(user_id, None).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}
