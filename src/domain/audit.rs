//! What the audit trail records: one typed action per kind of event.

use serde::{Deserialize, Serialize};

/// An event in the audit trail. Stored as its [`AuditAction::as_str`] form;
/// the trail is append-only, so the stored names never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A key was created (or a successor, by rotation).
    Created,
    /// A key was rotated: a successor replaces it after an overlap.
    Rotated,
    /// A rotating key stopped working before its overlap ended.
    Retired,
    /// A key stopped working by time.
    Expired,
    /// A key was revoked.
    Revoked,
    /// A key was renamed.
    Renamed,
    /// Scopes were removed from a key.
    ScopesChanged,
    /// A key's purpose or service changed.
    DetailsChanged,
    /// A key's monthly quota was set, changed or removed.
    QuotaChanged,
    /// A key was suspended.
    Suspended,
    /// A key's suspension was lifted.
    Reinstated,
    /// A pending key was approved.
    Approved,
    /// A pending key was rejected.
    Rejected,
    /// A key was given a new owner.
    OwnerChanged,
    /// The organisation's key policy changed.
    PolicyChanged,
    /// The organisation started or stopped requiring members to sign in
    /// with a second factor.
    SecondFactorRequirementChanged,
    /// Someone was invited to the organisation.
    MemberInvited,
    /// An open invitation was withdrawn.
    InvitationWithdrawn,
    /// Someone joined the organisation (through an invitation, or by
    /// creating it).
    MemberJoined,
    /// A member's role changed.
    MemberRoleChanged,
    /// A member was removed.
    MemberRemoved,
    /// An alert was acknowledged.
    AlertAcknowledged,
    /// An alert was resolved.
    AlertResolved,
    /// The organisation's alert thresholds changed.
    AlertSettingsChanged,
    /// Keys or the audit trail were exported.
    Exported,
    /// A finding of the key review was accepted, with a note.
    FindingAccepted,
    /// An accepted finding of the key review was reopened.
    FindingReopened,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 27] = [
        AuditAction::Created,
        AuditAction::Rotated,
        AuditAction::Retired,
        AuditAction::Expired,
        AuditAction::Revoked,
        AuditAction::Renamed,
        AuditAction::ScopesChanged,
        AuditAction::QuotaChanged,
        AuditAction::DetailsChanged,
        AuditAction::Suspended,
        AuditAction::Reinstated,
        AuditAction::Approved,
        AuditAction::Rejected,
        AuditAction::OwnerChanged,
        AuditAction::PolicyChanged,
        AuditAction::SecondFactorRequirementChanged,
        AuditAction::MemberInvited,
        AuditAction::InvitationWithdrawn,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberRemoved,
        AuditAction::AlertAcknowledged,
        AuditAction::AlertResolved,
        AuditAction::AlertSettingsChanged,
        AuditAction::Exported,
        AuditAction::FindingAccepted,
        AuditAction::FindingReopened,
    ];

    /// The stored form, e.g. `scopes_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Created => "created",
            AuditAction::Rotated => "rotated",
            AuditAction::Retired => "retired",
            AuditAction::Expired => "expired",
            AuditAction::Revoked => "revoked",
            AuditAction::Renamed => "renamed",
            AuditAction::ScopesChanged => "scopes_changed",
            AuditAction::QuotaChanged => "quota_changed",
            AuditAction::DetailsChanged => "details_changed",
            AuditAction::Suspended => "suspended",
            AuditAction::Reinstated => "reinstated",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::OwnerChanged => "owner_changed",
            AuditAction::PolicyChanged => "policy_changed",
            AuditAction::SecondFactorRequirementChanged => "second_factor_requirement_changed",
            AuditAction::MemberInvited => "member_invited",
            AuditAction::InvitationWithdrawn => "invitation_withdrawn",
            AuditAction::MemberJoined => "member_joined",
            AuditAction::MemberRoleChanged => "member_role_changed",
            AuditAction::MemberRemoved => "member_removed",
            AuditAction::AlertAcknowledged => "alert_acknowledged",
            AuditAction::AlertResolved => "alert_resolved",
            AuditAction::AlertSettingsChanged => "alert_settings_changed",
            AuditAction::Exported => "exported",
            AuditAction::FindingAccepted => "finding_accepted",
            AuditAction::FindingReopened => "finding_reopened",
        }
    }

    /// Parses the stored form.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == input)
    }

    /// The words for people, e.g. `Scopes changed`.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Created => "Created",
            AuditAction::Rotated => "Rotated",
            AuditAction::Retired => "Retired",
            AuditAction::Expired => "Expired",
            AuditAction::Revoked => "Revoked",
            AuditAction::Renamed => "Renamed",
            AuditAction::ScopesChanged => "Scopes changed",
            AuditAction::QuotaChanged => "Quota changed",
            AuditAction::DetailsChanged => "Details changed",
            AuditAction::Suspended => "Suspended",
            AuditAction::Reinstated => "Reinstated",
            AuditAction::Approved => "Approved",
            AuditAction::Rejected => "Rejected",
            AuditAction::OwnerChanged => "Owner changed",
            AuditAction::PolicyChanged => "Policy changed",
            AuditAction::SecondFactorRequirementChanged => "Two-factor requirement changed",
            AuditAction::MemberInvited => "Member invited",
            AuditAction::InvitationWithdrawn => "Invitation withdrawn",
            AuditAction::MemberJoined => "Member joined",
            AuditAction::MemberRoleChanged => "Role changed",
            AuditAction::MemberRemoved => "Member removed",
            AuditAction::AlertAcknowledged => "Alert acknowledged",
            AuditAction::AlertResolved => "Alert resolved",
            AuditAction::AlertSettingsChanged => "Alert thresholds changed",
            AuditAction::Exported => "Exported",
            AuditAction::FindingAccepted => "Review finding accepted",
            AuditAction::FindingReopened => "Review finding reopened",
        }
    }

    /// The words for a stored action name; an unknown one is spelt out.
    pub fn label_of(stored: &str) -> String {
        Self::parse(stored).map_or_else(|| stored.replace('_', " "), |a| a.label().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back_and_have_words() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert!(!action.label().is_empty() && !action.label().contains('_'));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        assert_eq!(AuditAction::parse("nonsense"), None);
        assert_eq!(AuditAction::label_of("scopes_changed"), "Scopes changed");
        assert_eq!(AuditAction::label_of("future_thing"), "future thing");
    }
}
