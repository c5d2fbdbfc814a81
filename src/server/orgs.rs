//! Organisations: creating them, members and invitations.

use super::{
    accounts::create_org_in,
    audit::record_event,
    authz::{authorize_org, Actor, OrgAction},
    db::{audit::NewEvent, invitations, memberships},
    members::{join, JoinedBy, Joiner},
    secrets::tokens::{hash_token, NewToken},
    state::AppState,
};
use crate::domain::audit::AuditAction;
use crate::model::page::Page;
use crate::{
    domain::{
        invitation::{InvitationStatus, INVITATION_VALIDITY},
        OrgName, Role,
    },
    error::AppError,
    model::orgs::{InvitationPreview, InvitationView, MemberPage, MemberView, NewInvitation},
};
use std::net::IpAddr;

/// Creates an organisation with `actor` as its admin.
pub async fn create_org(
    state: &AppState,
    actor: &Actor,
    name: &str,
    addr: IpAddr,
) -> Result<i64, AppError> {
    let name = OrgName::parse(name).map_err(|m| AppError::field("name", m))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let org_id = create_org_in(
        &mut tx,
        &name,
        (actor.user_id, &actor.email),
        Some(addr),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, org_id, "organisation created");
    Ok(org_id)
}

/// Members shown on one page.
pub const MEMBER_PAGE_SIZE: usize = 50;

/// A page of the members of an organisation the actor belongs to, by
/// email, after (or before) the member with the email `after` (`before`).
pub async fn members(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    after: Option<&str>,
    before: Option<&str>,
) -> Result<MemberPage, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::View)?;
    let admin = membership.role == Role::Admin;
    let mut conn = state.db.acquire().await?;
    let (cursor, backwards) = match (after, before) {
        (Some(email), _) => (Some(email), false),
        (None, Some(email)) => (Some(email), true),
        (None, None) => (None, false),
    };
    let size = MEMBER_PAGE_SIZE as i64;
    let mut rows =
        memberships::members_page(conn.conn(), org_id, cursor, backwards, size + 1).await?;
    if rows.len() > MEMBER_PAGE_SIZE {
        if backwards {
            rows.remove(0);
        } else {
            rows.pop();
        }
    }
    if backwards && rows.len() < MEMBER_PAGE_SIZE {
        // Back at the top: a full first page.
        rows = memberships::members_page(conn.conn(), org_id, None, false, size).await?;
    }
    let first_email = rows.first().map(|m| m.email.clone());
    let (total, earlier) =
        memberships::count_members(conn.conn(), org_id, first_email.as_deref()).await?;
    let (total, earlier) = (
        usize::try_from(total).unwrap_or(0),
        usize::try_from(earlier).unwrap_or(0),
    );
    let shown = rows.len();
    Ok(Page {
        total,
        first: if shown == 0 { 0 } else { earlier + 1 },
        next_after: (earlier + shown < total)
            .then(|| rows.last().map(|m| m.email.clone()))
            .flatten(),
        previous_before: (earlier > 0).then_some(first_email).flatten(),
        items: rows
            .into_iter()
            .map(|m| MemberView {
                is_you: m.user_id == actor.user_id,
                user_id: m.user_id,
                email: m.email,
                role: m.role,
                joined_at: m.joined_at,
                second_factor: admin.then_some(m.second_factor),
            })
            .collect(),
    })
}

/// The invitations of an organisation, for its admins.
pub async fn invitations(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
) -> Result<Vec<InvitationView>, AppError> {
    authorize_org(actor, org_id, OrgAction::ManageMembers)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    Ok(invitations::list_for_org(conn.conn(), org_id)
        .await?
        .into_iter()
        .map(|i| InvitationView {
            id: i.id,
            role: i.role,
            status: InvitationStatus::at(now, i.expires_at, i.accepted_at, i.revoked_at),
            created_by: i.created_by_email,
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_by: i.accepted_by_email,
            email: i.email,
        })
        .collect())
}

/// Makes a single-use invitation link; the link is returned once and only
/// its hash is kept. With an email address, only that person may use it,
/// and the link is emailed to them when SMTP is configured (sent directly,
/// never stored: the link is a secret).
pub async fn create_invitation(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    role: &str,
    email: &str,
    addr: std::net::IpAddr,
) -> Result<NewInvitation, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::ManageMembers)?;
    let role = Role::parse(role).map_err(|m| AppError::field("role", m))?;
    let email = match email.trim() {
        "" => None,
        text => Some(crate::domain::Email::parse(text).map_err(|m| AppError::field("email", m))?),
    };
    let now = state.clock.now();
    let expires_at = now + INVITATION_VALIDITY;
    let token = NewToken::generate();
    let mut tx = state.db.begin().await?;
    let id = invitations::insert(
        tx.conn(),
        &invitations::NewInvitationRow {
            org_id,
            token_hash: token.hash(),
            role: role.as_str(),
            created_by: actor.user_id,
            created_at: now,
            expires_at,
            email: email.as_ref().map(|e| e.as_str()),
        },
    )
    .await?;
    super::audit::record_event(
        &mut tx,
        crate::server::db::audit::NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::MemberInvited,
            reason: None,
            details: Some(serde_json::json!({"email": email.as_ref().map(|e| e.as_str()), "role": role.label()}).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        invitation_id = id,
        role = role.as_str(),
        "invitation created"
    );
    let link = format!("{}/join?token={}", state.config.public_url, token.reveal());
    let emailed = match &email {
        Some(to) if state.config.smtp.is_some() => {
            let body = format!(
                "{} invited you to join {} on Portico as {}.\n\nAccept the invitation: {link}\n\nThe link works once, until {}. If you did not expect it, ignore this email.\n",
                actor.email,
                membership.org_name,
                role.label().to_lowercase(),
                crate::domain::format::date_time(expires_at)
            );
            let subject = format!("Join {} on Portico", membership.org_name);
            super::notify::mailer::send_now(state, to.as_str(), &subject, &body).await
        }
        _ => false,
    };
    Ok(NewInvitation {
        id,
        link,
        role,
        expires_at,
        email: email.map(|e| e.as_str().to_owned()),
        emailed,
    })
}

/// Withdraws an open invitation.
pub async fn withdraw_invitation(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    id: i64,
    addr: Option<IpAddr>,
) -> Result<(), AppError> {
    authorize_org(actor, org_id, OrgAction::ManageMembers)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let invitation = invitations::find(tx.conn(), id)
        .await?
        .filter(|i| i.org_id == org_id);
    let withdrawn = match &invitation {
        Some(_) => invitations::revoke(tx.conn(), org_id, id, now).await?,
        None => false,
    };
    let Some(invitation) = invitation.filter(|_| withdrawn) else {
        return Err(AppError::Conflict(
            "That invitation is no longer open: it was used, withdrawn or not found.".to_owned(),
        ));
    };
    record_event(
        &mut tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::InvitationWithdrawn,
            reason: None,
            details: Some(
                serde_json::json!({"email": invitation.email, "role": invitation.role}).to_string(),
            ),
            client_addr: addr.map(|a| a.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        invitation_id = id,
        "invitation withdrawn"
    );
    Ok(())
}

/// What an invitation link offers, for the page it leads to.
pub async fn preview_invitation(
    state: &AppState,
    token: &str,
) -> Result<InvitationPreview, AppError> {
    let mut conn = state.db.acquire().await?;
    let invitation = invitations::find_by_token_hash(conn.conn(), &hash_token(token))
        .await?
        .ok_or_else(|| {
            AppError::NotFound(
                "This invitation link is not valid. Check that you copied all of it, or ask an admin for a new one."
                    .to_owned(),
            )
        })?;
    let status = InvitationStatus::at(
        state.clock.now(),
        invitation.expires_at,
        invitation.accepted_at,
        invitation.revoked_at,
    );
    Ok(InvitationPreview {
        org_name: invitation.org_name,
        role: invitation.role,
        invited_by: invitation.created_by_email,
        expires_at: invitation.expires_at,
        problem: status.problem().map(str::to_owned),
    })
}

/// Joins the invitation's organisation as a signed-in user.
pub async fn accept_invitation(
    state: &AppState,
    actor: &Actor,
    token: &str,
    addr: Option<IpAddr>,
) -> Result<i64, AppError> {
    let preview_problem = |m: &str| AppError::Conflict(m.to_owned());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let invitation = invitations::find_by_token_hash(tx.conn(), &hash_token(token))
        .await?
        .ok_or_else(|| AppError::NotFound("This invitation link is not valid.".to_owned()))?;
    if let Some(problem) = InvitationStatus::at(
        now,
        invitation.expires_at,
        invitation.accepted_at,
        invitation.revoked_at,
    )
    .problem()
    {
        return Err(preview_problem(problem));
    }
    if let Some(invited) = &invitation.email {
        if invited != &actor.email {
            return Err(AppError::Conflict(super::accounts::invitation_for(invited)));
        }
        if !actor.email_verified {
            return Err(AppError::Conflict(
                "This invitation is for your address, which you have not confirmed yet. Open the link we emailed you (or send it again from the banner), then accept the invitation.".to_owned(),
            ));
        }
    }
    if actor.membership(invitation.org_id).is_some() {
        return Err(AppError::Conflict(format!(
            "You are already a member of {}. The link is still open for someone else.",
            invitation.org_name
        )));
    }
    if !invitations::accept(tx.conn(), invitation.id, actor.user_id, now).await? {
        return Err(preview_problem(
            "This invitation link was used a moment ago. Ask an admin for a new one.",
        ));
    }
    join(
        &mut tx,
        invitation.org_id,
        Joiner {
            user_id: actor.user_id,
            email: &actor.email,
            role: invitation.role,
            by: JoinedBy::Invitation,
            addr,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id = invitation.org_id,
        "joined through invitation"
    );
    Ok(invitation.org_id)
}
