//! Server functions for security keys (WebAuthn) as a second factor: adding
//! and removing them on the Account page, and signing in with one.
//!
//! Each ceremony is two calls: `begin_*` answers the options for the
//! browser's `navigator.credentials` as JSON, and `finish_*` takes the
//! browser's answer (`PublicKeyCredential.toJSON()`) as JSON.

use crate::{error::AppError, model::account::RecoveryCodes};
use leptos::prelude::*;

/// Starts adding a security key (the current password is needed): the
/// options for `navigator.credentials.create()`, as JSON.
#[server(endpoint = "begin_security_key")]
pub async fn begin_security_key(password: String) -> Result<String, AppError> {
    use crate::server::{context::request_context, second_factor::security_keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Adding a security key")?;
            let actor = ctx.actor().await?;
            security_keys::begin_registration(
                &ctx.state,
                &ctx.session,
                &actor,
                password,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Finishes adding a security key under `name` with the browser's answer.
/// Returns the recovery codes (shown once) when it is the account's first
/// second factor, else none.
#[server(endpoint = "finish_security_key")]
pub async fn finish_security_key(
    name: String,
    credential: String,
) -> Result<RecoveryCodes, AppError> {
    use crate::server::{context::request_context, second_factor::security_keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Adding a security key")?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            security_keys::finish_registration(
                &ctx.state,
                &ctx.session,
                &actor,
                &name,
                &credential,
                current.as_deref(),
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Removes one of the signed-in person's security keys (the current
/// password is needed).
#[server(endpoint = "remove_security_key")]
pub async fn remove_security_key(id: i64, password: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, second_factor::security_keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            security_keys::remove(&ctx.state, &actor, id, password, ctx.client_addr).await
        }
        .await,
    )
}

/// Starts the second step of a sign-in with a security key: the options for
/// `navigator.credentials.get()`, as JSON.
#[server(endpoint = "begin_security_key_sign_in")]
pub async fn begin_security_key_sign_in() -> Result<String, AppError> {
    use crate::server::{context::request_context, second_factor::security_keys};
    super::respond(
        async {
            let ctx = request_context().await?;
            let due = ctx.second_factor_due().await?;
            security_keys::begin_sign_in(&ctx.state, &ctx.session, due.user_id).await
        }
        .await,
    )
}

/// Finishes a sign-in with the security key's answer, then goes to `next`
/// (a local path) or the dashboard.
#[server(endpoint = "finish_security_key_sign_in")]
pub async fn finish_security_key_sign_in(
    credential: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        domain::next_path::safe_next_path,
        server::{context::request_context, second_factor::security_keys},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let due = ctx.second_factor_due().await?;
            security_keys::check_at_sign_in(
                &ctx.state,
                &ctx.session,
                due.user_id,
                &due.credential_tag,
                &credential,
                ctx.client_addr,
            )
            .await?;
            ctx.sign_in_as(due.user_id, due.active_org).await?;
            leptos_axum::redirect(&safe_next_path(next.as_deref()));
            Ok(())
        }
        .await,
    )
}
