//! Authorisation, decided in one place.
//!
//! Every server function and REST handler asks here whether the [`Actor`]
//! may do what it asks to a target. Pages only reflect the answer. An
//! organisation the actor does not belong to answers "not found", never
//! "forbidden", so that ids of other organisations reveal nothing.

use crate::{
    domain::{key_format::Environment, Role, StaffRole},
    error::AppError,
    model::keys::KeyPermissions,
    server::db::{memberships, staff, users, PooledConn},
};

/// A membership of the actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The organisation's id (`organisations.id`).
    pub org_id: i64,
    /// Its display name.
    pub org_name: String,
    /// Its unique lower-case, hyphenated name (`acme-corp`), used in export file names
    /// and by `portico review --org`.
    pub org_slug: String,
    /// The actor's role in it.
    pub role: Role,
    /// Whether the organisation requires its members to sign in with a
    /// second factor.
    pub requires_second_factor: bool,
}

/// The signed-in person making a request, loaded fresh for each request so
/// that a removed membership or staff role takes effect at once.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The signed-in user's id (`users.id`).
    pub user_id: i64,
    /// The address they sign in with, lower-case; audit events record it.
    pub email: String,
    /// Their organisations, by name.
    pub memberships: Vec<Membership>,
    /// Their platform role, if they are staff.
    pub staff: Option<StaffRole>,
    /// Whether they proved they receive mail at `email`. Until they have,
    /// they may sign in and read, but not mint production keys, accept an
    /// invitation bound to an address, or be made staff.
    pub email_verified: bool,
    /// Whether they sign in with a second factor. Organisations may require
    /// one, and the staff pages do.
    pub second_factor: bool,
}

impl Actor {
    /// Loads the actor for `user_id`; `None` if the account no longer exists.
    pub async fn load(mut conn: PooledConn, user_id: i64) -> Result<Option<Self>, AppError> {
        let Some(user) = users::find(conn.conn(), user_id).await? else {
            return Ok(None);
        };
        let memberships = memberships::for_user(conn.conn(), user_id)
            .await?
            .into_iter()
            .map(|m| Membership {
                role: m.role,
                org_id: m.org_id,
                org_name: m.org_name,
                org_slug: m.org_slug,
                requires_second_factor: m.requires_second_factor,
            })
            .collect();
        let staff = staff::role_of(conn.conn(), user_id)
            .await?
            .and_then(|r| StaffRole::parse(&r).ok());

        Ok(Some(Self {
            user_id,
            email: user.email,
            memberships,
            staff,
            email_verified: user.email_verified_at.is_some(),
            second_factor: user.second_factor,
        }))
    }

    /// The actor's membership of `org_id`.
    pub fn membership(&self, org_id: i64) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.org_id == org_id)
    }
}

/// Things done within an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgAction {
    /// See the organisation and its members.
    View,
    /// Invite people and withdraw invitations.
    ManageMembers,
    /// Create API keys (owned by the actor).
    CreateKey,
    /// Read the organisation-wide audit trail.
    ViewAudit,
    /// Read the organisation-wide usage.
    ViewUsage,
    /// Set the organisation's key policy.
    SetPolicy,
    /// Approve or reject keys, and give keys a new owner.
    ApproveKeys,
    /// Export the inventory and the audit trail.
    Export,
    /// Read the key review of every key.
    ViewReview,
    /// Set, change or remove a key's monthly request quota.
    SetQuota,
    /// Accept and reopen findings of the key review.
    AcceptFindings,
}

/// What an organisation that requires a second factor tells a member
/// without one, whatever they asked to do.
pub fn second_factor_required(org_name: &str) -> String {
    format!(
        "{org_name} requires two-factor authentication. Set up an authenticator app on your Account page to go on."
    )
}

/// What the staff pages tell staff without a second factor.
pub const STAFF_NEED_SECOND_FACTOR: &str = "The staff pages need two-factor authentication. Set up an authenticator app on your Account page, then come back.";

/// The actor's membership of `org_id`, through which every decision about
/// the organisation's data goes: `not_found` when they are not a member,
/// and a refusal when the organisation requires a second factor they have
/// not set up.
fn member_of(
    actor: &Actor,
    org_id: i64,
    not_found: impl FnOnce() -> AppError,
) -> Result<&Membership, AppError> {
    let membership = actor.membership(org_id).ok_or_else(not_found)?;
    if membership.requires_second_factor && !actor.second_factor {
        return Err(AppError::Forbidden(second_factor_required(
            &membership.org_name,
        )));
    }
    Ok(membership)
}

/// Whether `actor` may do `action` in `org_id`; returns their membership.
/// An organisation that requires a second factor refuses every action of a
/// member without one.
pub fn authorize_org(
    actor: &Actor,
    org_id: i64,
    action: OrgAction,
) -> Result<&Membership, AppError> {
    let membership = member_of(actor, org_id, || {
        AppError::NotFound("That organisation was not found.".to_owned())
    })?;
    match action {
        OrgAction::View | OrgAction::CreateKey => Ok(membership),
        OrgAction::ManageMembers
        | OrgAction::ViewAudit
        | OrgAction::ViewUsage
        | OrgAction::SetPolicy
        | OrgAction::ApproveKeys
        | OrgAction::Export
        | OrgAction::AcceptFindings
        | OrgAction::ViewReview
        | OrgAction::SetQuota
            if membership.role == Role::Admin =>
        {
            Ok(membership)
        }
        OrgAction::SetPolicy => Err(AppError::Forbidden(
            "Only an admin of this organisation can change its key policy.".to_owned(),
        )),
        OrgAction::ApproveKeys => Err(AppError::Forbidden(
            "Only an admin of this organisation can approve or reject keys.".to_owned(),
        )),
        OrgAction::SetQuota => Err(AppError::Forbidden(
            "Only an admin of this organisation can change a key's monthly quota.".to_owned(),
        )),
        OrgAction::ViewReview => Err(AppError::Forbidden(
            "Only an admin of this organisation can read the review of all its keys. Ask one of its admins."
                .to_owned(),
        )),
        OrgAction::AcceptFindings => Err(AppError::Forbidden(
            "Only an admin of this organisation can accept or reopen findings of the key review."
                .to_owned(),
        )),
        OrgAction::Export => Err(AppError::Forbidden(
            "Only an admin of this organisation can export its keys and audit trail.".to_owned(),
        )),
        OrgAction::ManageMembers => Err(AppError::Forbidden(
            "Only an admin of this organisation can invite people. Ask one of its admins."
                .to_owned(),
        )),
        OrgAction::ViewAudit => Err(AppError::Forbidden(
            "Only an admin of this organisation can read its audit trail.".to_owned(),
        )),
        OrgAction::ViewUsage => Err(AppError::Forbidden(
            "Only an admin of this organisation can see its usage. Your own keys' usage is on each key's page.".to_owned(),
        )),
    }
}

/// Things only the platform's staff do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffAction {
    /// See the platform's status (usage pipeline counters).
    ViewStatus,
    /// Create and revoke gateway tokens.
    ManageGateways,
    /// Search every organisation's keys and open any key (never its secret).
    SupportConsole,
}

/// Whether `actor` is staff allowed to do `action`. Anyone else is told the
/// page is for staff; staff without a second factor are told to set one up.
pub fn authorize_staff(actor: &Actor, action: StaffAction) -> Result<StaffRole, AppError> {
    if actor.staff.is_some() && !actor.second_factor {
        return Err(AppError::Forbidden(STAFF_NEED_SECOND_FACTOR.to_owned()));
    }
    match (actor.staff, action) {
        (
            Some(role),
            StaffAction::ViewStatus | StaffAction::ManageGateways | StaffAction::SupportConsole,
        ) => Ok(role),
        (None, _) => Err(AppError::Forbidden(
            "This is for the platform's staff only.".to_owned(),
        )),
    }
}

/// Things done to one API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// See the key, its history and usage.
    View,
    /// Rotate, retire, revoke or edit it.
    Manage,
}

/// Whether the actor may mint a key (create or rotate) in `environment`:
/// a production secret needs an address the account has proven.
pub fn authorize_environment(actor: &Actor, environment: Environment) -> Result<(), AppError> {
    if environment == Environment::Production && !actor.email_verified {
        return Err(AppError::field(
            "environment",
            "Confirm your email address before making production keys: open the link we emailed you, or send it again from the banner at the top. Sandbox keys work meanwhile.",
        ));
    }
    Ok(())
}

/// The answer for any key the actor may not know about: the same whether it
/// belongs to another organisation, to a colleague, or does not exist.
pub fn key_not_found() -> AppError {
    AppError::NotFound("No key with that id was found in your organisations.".to_owned())
}

/// Whether `actor` may do `action` to a key of `org_id` owned by `owner_id`.
/// Developers may act on their own keys; admins on every key of their
/// organisation; nobody on another organisation's keys.
pub fn authorize_key(
    actor: &Actor,
    org_id: i64,
    owner_id: i64,
    action: KeyAction,
) -> Result<&Membership, AppError> {
    let membership = member_of(actor, org_id, key_not_found)?;
    let allowed = match action {
        KeyAction::View | KeyAction::Manage => {
            membership.role == Role::Admin || owner_id == actor.user_id
        }
    };
    if allowed {
        Ok(membership)
    } else {
        Err(key_not_found())
    }
}

/// What `actor` may do to a key of `org_id` owned by `owner_id`.
pub fn key_permissions(actor: &Actor, org_id: i64, owner_id: i64) -> KeyPermissions {
    let admin = actor
        .membership(org_id)
        .is_some_and(|m| m.role == Role::Admin);
    let owner = actor.membership(org_id).is_some() && owner_id == actor.user_id;
    KeyPermissions {
        manage: admin || owner,
        suspend: admin || (actor.staff.is_some() && actor.second_factor),
        administer: admin,
    }
}

/// Whether `actor` may suspend or reinstate a key of `org_id` owned by
/// `owner_id`: platform staff for any key, admins for their organisation's.
/// An owner who is a developer is told who can; anyone else hears "not found".
pub fn authorize_suspend(actor: &Actor, org_id: i64, owner_id: i64) -> Result<(), AppError> {
    if actor.staff.is_some() {
        if actor.second_factor {
            return Ok(());
        }
        if actor.membership(org_id).is_none() {
            return Err(AppError::Forbidden(STAFF_NEED_SECOND_FACTOR.to_owned()));
        }
    }
    let membership = member_of(actor, org_id, key_not_found)?;
    match membership.role {
        Role::Admin => Ok(()),
        Role::Developer if owner_id == actor.user_id => Err(AppError::Forbidden(
            "Only an admin of this organisation or platform support can suspend or reinstate keys. To stop this key for good, revoke it.".to_owned(),
        )),
        Role::Developer => Err(key_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(memberships: Vec<(i64, Role)>) -> Actor {
        Actor {
            user_id: 1,
            email: "a@example.com".into(),
            memberships: memberships
                .into_iter()
                .map(|(org_id, role)| Membership {
                    org_id,
                    org_name: format!("Org {org_id}"),
                    org_slug: format!("org-{org_id}"),
                    role,
                    requires_second_factor: false,
                })
                .collect(),
            staff: None,
            email_verified: true,
            second_factor: false,
        }
    }

    #[test]
    fn only_a_verified_address_mints_production_keys() {
        let mut dev = actor(vec![(7, Role::Admin)]);
        assert!(authorize_environment(&dev, Environment::Production).is_ok());
        dev.email_verified = false;
        assert!(authorize_environment(&dev, Environment::Sandbox).is_ok());
        let err = authorize_environment(&dev, Environment::Production).unwrap_err();
        assert!(err.to_string().contains("Confirm your email"), "{err}");
    }

    #[test]
    fn members_may_view_and_only_admins_may_manage_members() {
        let dev = actor(vec![(7, Role::Developer)]);
        assert!(authorize_org(&dev, 7, OrgAction::View).is_ok());
        assert!(matches!(
            authorize_org(&dev, 7, OrgAction::ManageMembers),
            Err(AppError::Forbidden(_))
        ));
        let admin = actor(vec![(7, Role::Admin)]);
        assert!(authorize_org(&admin, 7, OrgAction::ManageMembers).is_ok());
    }

    #[test]
    fn developers_act_on_their_own_keys_and_admins_on_all() {
        let dev = actor(vec![(7, Role::Developer)]);
        assert!(authorize_key(&dev, 7, dev.user_id, KeyAction::Manage).is_ok());
        assert!(matches!(
            authorize_key(&dev, 7, 99, KeyAction::View),
            Err(AppError::NotFound(_))
        ));
        let admin = actor(vec![(7, Role::Admin)]);
        assert!(authorize_key(&admin, 7, 99, KeyAction::Manage).is_ok());
        assert!(matches!(
            authorize_key(&admin, 8, 99, KeyAction::View),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            authorize_org(&dev, 7, OrgAction::ViewAudit),
            Err(AppError::Forbidden(_))
        ));
        assert!(authorize_org(&dev, 7, OrgAction::CreateKey).is_ok());
        let Err(AppError::Forbidden(why)) = authorize_org(&dev, 7, OrgAction::ViewReview) else {
            panic!("a developer does not read the review")
        };
        assert!(why.contains("review"), "{why}");
        assert!(matches!(
            authorize_org(&dev, 7, OrgAction::SetQuota),
            Err(AppError::Forbidden(_))
        ));
    }

    #[test]
    fn another_organisation_is_not_found_whatever_the_role() {
        let admin = actor(vec![(7, Role::Admin)]);
        for action in [
            OrgAction::View,
            OrgAction::ManageMembers,
            OrgAction::CreateKey,
            OrgAction::ViewAudit,
        ] {
            assert!(matches!(
                authorize_org(&admin, 8, action),
                Err(AppError::NotFound(_))
            ));
        }
    }

    #[test]
    fn staff_and_admins_suspend_and_developers_do_not() {
        let dev = actor(vec![(7, Role::Developer)]);
        assert!(matches!(
            authorize_suspend(&dev, 7, dev.user_id),
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            authorize_suspend(&dev, 7, 99),
            Err(AppError::NotFound(_))
        ));
        let admin = actor(vec![(7, Role::Admin)]);
        assert!(authorize_suspend(&admin, 7, 99).is_ok());
        assert!(matches!(
            authorize_suspend(&admin, 8, 99),
            Err(AppError::NotFound(_))
        ));
        let staff = Actor {
            staff: Some(StaffRole::Support),
            second_factor: true,
            ..actor(vec![])
        };
        assert!(authorize_suspend(&staff, 8, 99).is_ok());
        let p = key_permissions(&staff, 8, 99);
        assert!(p.suspend && !p.manage && !p.administer);
        assert!(matches!(
            authorize_org(&dev, 7, OrgAction::Export),
            Err(AppError::Forbidden(_))
        ));
        assert!(authorize_staff(&dev, StaffAction::SupportConsole).is_err());
    }

    #[test]
    fn an_organisation_that_requires_a_second_factor_refuses_members_without_one() {
        let mut dev = actor(vec![(7, Role::Admin), (8, Role::Developer)]);
        dev.memberships[0].requires_second_factor = true;
        let refused = |r: Result<&Membership, AppError>| matches!(r, Err(AppError::Forbidden(m)) if m.contains("Org 7 requires two-factor"));
        assert!(refused(authorize_org(&dev, 7, OrgAction::View)));
        assert!(refused(authorize_key(
            &dev,
            7,
            dev.user_id,
            KeyAction::View
        )));
        assert!(matches!(
            authorize_suspend(&dev, 7, 99),
            Err(AppError::Forbidden(m)) if m.contains("requires two-factor")
        ));
        assert!(
            authorize_org(&dev, 8, OrgAction::View).is_ok(),
            "other organisations are unaffected"
        );
        assert!(matches!(
            authorize_org(&dev, 9, OrgAction::View),
            Err(AppError::NotFound(_))
        ));
        dev.second_factor = true;
        assert!(authorize_org(&dev, 7, OrgAction::Export).is_ok());
        assert!(authorize_key(&dev, 7, 99, KeyAction::Manage).is_ok());
    }

    #[test]
    fn staff_without_a_second_factor_cannot_act_as_staff() {
        let mut staff = Actor {
            staff: Some(StaffRole::Owner),
            ..actor(vec![(7, Role::Developer)])
        };
        assert!(matches!(
            authorize_staff(&staff, StaffAction::ViewStatus),
            Err(AppError::Forbidden(m)) if m == STAFF_NEED_SECOND_FACTOR
        ));
        assert!(matches!(
            authorize_suspend(&staff, 8, 99),
            Err(AppError::Forbidden(m)) if m == STAFF_NEED_SECOND_FACTOR
        ));
        assert!(!key_permissions(&staff, 8, 99).suspend);
        staff.second_factor = true;
        assert_eq!(
            authorize_staff(&staff, StaffAction::ViewStatus).ok(),
            Some(StaffRole::Owner)
        );
        assert!(authorize_suspend(&staff, 8, 99).is_ok());
    }
}
