//! Memberships: joining (the one way anyone becomes a member), and the
//! changes an organisation's admins make: roles, removals, and giving a
//! departed member's keys a new owner. Every change is in the audit trail;
//! an organisation always keeps at least one admin.

use super::{
    audit::record_event,
    authz::{authorize_org, key_not_found, Actor, OrgAction},
    db::{api_keys, audit::NewEvent, memberships, Tx},
    keys::{change::KeyChange, display_of, find_row},
    notify::Notice,
    state::AppState,
};
use crate::domain::audit::AuditAction;
use crate::{domain::Role, error::AppError};
use serde_json::json;
use std::net::IpAddr;

/// How someone came to join an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinedBy {
    /// They created it (and became its first admin).
    CreatingIt,
    /// They accepted an invitation.
    Invitation,
}

/// Who joins, for [`join`].
#[derive(Debug)]
pub struct Joiner<'a> {
    /// Their user id (`users.id`).
    pub user_id: i64,
    /// Their address (the audit trail's actor).
    pub email: &'a str,
    /// `developer` or `admin`.
    pub role: Role,
    /// How.
    pub by: JoinedBy,
    /// The client address of the request, when a person's request did it.
    pub addr: Option<IpAddr>,
}

/// Makes `joiner` a member of `org_id` and records it in the audit trail,
/// in the caller's transaction: every way into an organisation (creating
/// it, an invitation at sign-up, accepting one signed in, confirming the
/// address an invitation was bound to) goes through here.
pub(crate) async fn join(
    tx: &mut Tx,
    org_id: i64,
    joiner: Joiner<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    memberships::insert(tx.conn(), org_id, joiner.user_id, joiner.role.as_str(), now).await?;
    record_event(
        tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(joiner.user_id),
            actor_email: joiner.email,
            action: AuditAction::MemberJoined,
            reason: None,
            details: Some(
                json!({
                    "member": joiner.email,
                    "role": joiner.role.as_str(),
                    "via": match joiner.by {
                        JoinedBy::CreatingIt => "created",
                        JoinedBy::Invitation => "invitation",
                    },
                })
                .to_string(),
            ),
            client_addr: joiner.addr.map(|a| a.to_string()),
            at: now,
        },
    )
    .await
}

/// A member of the organisation, with their email.
async fn member(tx: &mut Tx, org_id: i64, user_id: i64) -> Result<(String, Role), AppError> {
    memberships::members_of(tx.conn(), org_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .map(|m| (m.email, m.role))
        .ok_or_else(|| {
            AppError::NotFound("That person is not a member of this organisation.".to_owned())
        })
}

async fn refuse_last_admin(
    tx: &mut Tx,
    org_id: i64,
    user_id: i64,
    doing: &str,
) -> Result<(), AppError> {
    let admins = memberships::admin_ids(tx.conn(), org_id).await?;
    if admins == [user_id] {
        return Err(AppError::Conflict(format!(
            "An organisation needs at least one admin. Make someone else an admin before {doing}."
        )));
    }
    Ok(())
}

fn event<'a>(
    actor: &'a Actor,
    org_id: i64,
    action: AuditAction,
    details: serde_json::Value,
    addr: IpAddr,
    at: chrono::DateTime<chrono::Utc>,
) -> NewEvent<'a> {
    NewEvent {
        org_id,
        key_id: None,
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action,
        reason: None,
        details: Some(details.to_string()),
        client_addr: Some(addr.to_string()),
        at,
    }
}

/// Changes a member's role.
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    user_id: i64,
    role: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    authorize_org(actor, org_id, OrgAction::ManageMembers)?;
    let role = Role::parse(role).map_err(|m| AppError::field("role", m))?;
    let mut tx = state.db.begin().await?;
    let (email, current) = member(&mut tx, org_id, user_id).await?;
    if current == role {
        return Ok(());
    }
    if current == Role::Admin {
        refuse_last_admin(&mut tx, org_id, user_id, "changing this role").await?;
    }
    memberships::set_role(tx.conn(), org_id, user_id, role.as_str()).await?;
    let now = state.clock.now();
    record_event(
        &mut tx,
        event(
            actor,
            org_id,
            AuditAction::MemberRoleChanged,
            json!({"member": email, "role": role.label()}),
            addr,
            now,
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        member = user_id,
        role = role.as_str(),
        "member role changed"
    );
    Ok(())
}

/// Removes a member; returns how many keys they still own here (those keep
/// working, flagged "owner left", until given a new owner).
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    user_id: i64,
    addr: IpAddr,
) -> Result<usize, AppError> {
    authorize_org(actor, org_id, OrgAction::ManageMembers)?;
    let mut tx = state.db.begin().await?;
    let (email, role) = member(&mut tx, org_id, user_id).await?;
    if role == Role::Admin {
        refuse_last_admin(&mut tx, org_id, user_id, "removing this admin").await?;
    }
    memberships::remove(tx.conn(), org_id, user_id).await?;
    let owned = api_keys::list_for_org(tx.conn(), org_id, Some(user_id))
        .await?
        .len();
    let now = state.clock.now();
    record_event(
        &mut tx,
        event(
            actor,
            org_id,
            AuditAction::MemberRemoved,
            json!({"member": email, "keys_left_without_owner": owned}),
            addr,
            now,
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        member = user_id,
        owned,
        "member removed"
    );
    Ok(owned)
}

/// Gives a key a new owner, who must be a member of its organisation.
pub async fn give_key(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    owner_id: i64,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = find_row(state, key_id).await?;
    if actor.membership(row.org_id).is_none() {
        return Err(key_not_found());
    }
    authorize_org(actor, row.org_id, OrgAction::ManageMembers)?;
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    let (email, _) = member(&mut tx, row.org_id, owner_id)
        .await
        .map_err(|_| AppError::field("owner_id", "Choose a current member of the organisation."))?;
    if owner_id == row.owner_id {
        return Ok(());
    }
    api_keys::set_owner(tx.conn(), row.id, owner_id).await?;
    let now = state.clock.now();
    tx.audit(NewEvent {
        key_id: Some(row.id),
        ..event(
            actor,
            row.org_id,
            AuditAction::OwnerChanged,
            json!({"from": row.owner_email, "to": email}),
            addr,
            now,
        )
    })
    .await?;
    let shown = display_of(state, &row);
    let notice = Notice {
        kind: "owner_changed",
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("You now own key {shown} ({})", row.name),
        body: format!(
            "{} made you the owner of the key {shown} ({}), previously owned by {}. You will be told about its suspensions, approvals and expiry.",
            actor.email, row.name, row.owner_email
        ),
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    let audience: Vec<i64> = [owner_id]
        .into_iter()
        .filter(|o| *o != actor.user_id)
        .collect();
    tx.notify(&audience, &notice).await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, owner = owner_id, "key given a new owner");
    Ok(())
}
