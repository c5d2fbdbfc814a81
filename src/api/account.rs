//! Signing up, in and out, and who is signed in.

use crate::{
    domain::{Role, StaffRole},
    error::AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An organisation the signed-in user belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its slug.
    pub slug: String,
    /// The user's role in it.
    pub role: Role,
}

/// The signed-in user, as the pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Their email.
    pub email: String,
    /// Their platform role, if they are staff.
    pub staff: Option<StaffRole>,
    /// Their organisations, by name.
    pub orgs: Vec<OrgSummary>,
    /// The organisation they act in now.
    pub active_org_id: Option<i64>,
    /// How many of their notifications are unread.
    pub unread_notifications: i64,
}

impl Me {
    /// The organisation they act in now.
    pub fn active_org(&self) -> Option<&OrgSummary> {
        self.active_org_id
            .and_then(|id| self.orgs.iter().find(|o| o.id == id))
    }

    /// Whether they are an admin of the organisation they act in.
    pub fn is_admin(&self) -> bool {
        self.active_org().is_some_and(|o| o.role == Role::Admin)
    }
}

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
