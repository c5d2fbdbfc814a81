//! Signing up, in and out, and who is signed in.

use crate::error::AppError;
pub use crate::model::account::{Me, OrgSummary};
use leptos::prelude::*;

/// Who is signed in, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::server::context::request_context;
    super::respond(
        async {
            let ctx = request_context().await?;
            let Some(actor) = ctx.maybe_actor().await? else {
                return Ok(None);
            };
            let active_org_id = ctx.active_membership(&actor).await?.map(|m| m.org_id);
            let unread_notifications = crate::server::notify::unread(&ctx.state, &actor).await?;
            Ok(Some(Me {
                unread_notifications,
                email: actor.email,
                staff: actor.staff,
                orgs: actor
                    .memberships
                    .into_iter()
                    .map(|m| OrgSummary {
                        id: m.org_id,
                        name: m.org_name,
                        slug: m.org_slug,
                        role: m.role,
                    })
                    .collect(),
                active_org_id,
            }))
        }
        .await,
    )
}

/// Creates an account and either a new organisation or a membership through
/// an invitation, signs the new user in and goes to the dashboard.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    org_name: Option<String>,
    invitation: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{accounts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let form = accounts::SignUpForm {
                email,
                password,
                org_name,
                invitation,
            };
            let account = accounts::sign_up(&ctx.state, form).await?;
            ctx.session
                .begin(account.user_id, account.org_id, ctx.state.clock.now())
                .await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Signs in and goes to `next` (a local path) or the dashboard.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        domain::next_path::safe_next_path,
        server::{accounts, context::request_context},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let signed_in =
                accounts::sign_in(&ctx.state, &email, password, ctx.client_addr).await?;
            ctx.session
                .begin(signed_in.user_id, signed_in.org_id, ctx.state.clock.now())
                .await?;
            leptos_axum::redirect(&safe_next_path(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Signs out: the session is deleted on the server.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::context::request_context;
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.session.end().await?;
            leptos_axum::redirect("/signin");
            Ok(())
        }
        .await,
    )
}
