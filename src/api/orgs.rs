//! Organisations: switching, creating, members and invitations.

use crate::error::AppError;
pub use crate::model::orgs::{
    InvitationPreview, InvitationView, MemberPage, MemberView, NewInvitation,
};
use leptos::prelude::*;

/// Acts in another of the user's organisations.
#[server(endpoint = "switch_org")]
pub async fn switch_org(org_id: i64) -> Result<(), AppError> {
    use crate::server::{
        authz::{authorize_org, OrgAction},
        context::request_context,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            authorize_org(&actor, org_id, OrgAction::View)?;
            ctx.session.set_active_org(org_id).await?;
            Ok(())
        }
        .await,
    )
}

/// Creates an organisation, makes the user its admin, and acts in it.
#[server(endpoint = "create_org")]
pub async fn create_org(name: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let org_id = orgs::create_org(&ctx.state, &actor, &name, ctx.client_addr).await?;
            ctx.session.set_active_org(org_id).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// A page of the members of an organisation, by email, after or before a
/// member of another page (their email).
#[server(endpoint = "members")]
pub async fn list_members(
    org_id: i64,
    #[server(default)] after: Option<String>,
    #[server(default)] before: Option<String>,
) -> Result<MemberPage, AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
            let (after, before) = (given(after), given(before));
            orgs::members(
                &ctx.state,
                &actor,
                org_id,
                after.as_deref(),
                before.as_deref(),
            )
            .await
        }
        .await,
    )
}

/// The invitations of an organisation (admins only).
#[server(endpoint = "invitations")]
pub async fn list_invitations(org_id: i64) -> Result<Vec<InvitationView>, AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            orgs::invitations(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Makes a single-use invitation link (admins only).
#[server(endpoint = "create_invitation")]
pub async fn create_invitation(
    org_id: i64,
    role: String,
    #[server(default)] email: String,
) -> Result<NewInvitation, AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            orgs::create_invitation(&ctx.state, &actor, org_id, &role, &email, ctx.client_addr)
                .await
        }
        .await,
    )
}

/// Withdraws an open invitation (admins only).
#[server(endpoint = "withdraw_invitation")]
pub async fn withdraw_invitation(org_id: i64, invitation_id: i64) -> Result<(), AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            orgs::withdraw_invitation(
                &ctx.state,
                &actor,
                org_id,
                invitation_id,
                Some(ctx.client_addr),
            )
            .await
        }
        .await,
    )
}

/// What an invitation link offers; anyone holding the link may ask.
#[server(endpoint = "preview_invitation")]
pub async fn preview_invitation(token: String) -> Result<InvitationPreview, AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            orgs::preview_invitation(&ctx.state, &token).await
        }
        .await,
    )
}

/// Joins an organisation through an invitation, as the signed-in user.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, orgs};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let org_id =
                orgs::accept_invitation(&ctx.state, &actor, &token, Some(ctx.client_addr)).await?;
            ctx.session.set_active_org(org_id).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Changes a member's role (admins only; an organisation keeps at least one admin).
#[server(endpoint = "change_member_role")]
pub async fn change_member_role(org_id: i64, user_id: i64, role: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, members};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            members::change_role(&ctx.state, &actor, org_id, user_id, &role, ctx.client_addr).await
        }
        .await,
    )
}

/// Removes a member (admins only). Their keys keep working, flagged
/// "owner left" until an admin gives them a new owner.
#[server(endpoint = "remove_member")]
pub async fn remove_member(org_id: i64, user_id: i64) -> Result<usize, AppError> {
    use crate::server::{context::request_context, members};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            members::remove(&ctx.state, &actor, org_id, user_id, ctx.client_addr).await
        }
        .await,
    )
}

/// Gives a key a new owner, a current member (admins only).
#[server(endpoint = "give_key")]
pub async fn give_key(key_id: String, owner_id: i64) -> Result<(), AppError> {
    use crate::server::{context::request_context, members};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            members::give_key(&ctx.state, &actor, &key_id, owner_id, ctx.client_addr).await
        }
        .await,
    )
}
