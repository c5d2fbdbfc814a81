//! Members and invitations.

use crate::domain::{invitation::InvitationStatus, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One page of an organisation's members by email; the cursor is an email.
pub type MemberPage = crate::model::page::Page<MemberView, String>;

/// A member of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member's user id (`users.id`); the role and remove buttons send it back.
    pub user_id: i64,
    /// The address they sign in with, trimmed and lower-cased.
    pub email: String,
    /// Developer (their own keys) or admin (every key, the members and the policy).
    pub role: Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// Whether they sign in with a second factor: shown to admins only
    /// (`None` for other members), since it tells who is easier to attack.
    pub second_factor: Option<bool>,
    /// Whether this is the person looking.
    pub is_you: bool,
}

/// An invitation, as its organisation's admins see it (never the link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    /// The invitation's row id (`invitations.id`); the withdraw button sends it back.
    pub id: i64,
    /// The role it grants.
    pub role: Role,
    /// Where it stands.
    pub status: InvitationStatus,
    /// Who made it.
    pub created_by: String,
    /// When an admin made it (UTC).
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who used it.
    pub accepted_by: Option<String>,
    /// The address it was sent to, if any.
    pub email: Option<String>,
}

/// A newly made invitation: the link is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    /// The new invitation's row id (`invitations.id`).
    pub id: i64,
    /// The single-use link to hand to the invitee.
    pub link: String,
    /// The role it grants.
    pub role: Role,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The address it is for (only that person may use it).
    pub email: Option<String>,
    /// Whether it was emailed to them.
    pub emailed: bool,
}

/// What an invitation link offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    /// The name of the organisation the link joins.
    pub org_name: String,
    /// The role the invitee gets on joining: developer or admin.
    pub role: Role,
    /// Who sent it.
    pub invited_by: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Why it cannot be used, if it cannot.
    pub problem: Option<String>,
}
