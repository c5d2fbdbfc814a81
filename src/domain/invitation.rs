//! The life of an invitation link.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long an invitation link works.
pub const INVITATION_VALIDITY: Duration = Duration::days(7);

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Can be used.
    Open,
    /// Someone joined with it.
    Accepted,
    /// An admin withdrew it.
    Withdrawn,
    /// Past its expiry.
    Expired,
}

impl InvitationStatus {
    /// Works out the status from the invitation's timestamps.
    pub fn at(
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        accepted_at: Option<DateTime<Utc>>,
        withdrawn_at: Option<DateTime<Utc>>,
    ) -> Self {
        if accepted_at.is_some() {
            Self::Accepted
        } else if withdrawn_at.is_some() {
            Self::Withdrawn
        } else if expires_at <= now {
            Self::Expired
        } else {
            Self::Open
        }
    }

    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Accepted => "Accepted",
            Self::Withdrawn => "Withdrawn",
            Self::Expired => "Expired",
        }
    }

    /// Why a link cannot be used, as a sentence; `None` when it is open.
    pub fn problem(self) -> Option<&'static str> {
        match self {
            Self::Open => None,
            Self::Accepted => Some("This invitation link has already been used. Ask an admin of the organisation for a new one."),
            Self::Withdrawn => Some("This invitation link was withdrawn by an admin. Ask them for a new one."),
            Self::Expired => Some("This invitation link has expired (links work for 7 days). Ask an admin of the organisation for a new one."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_timestamps_with_use_winning() {
        let now = Utc::now();
        let later = now + Duration::days(1);
        let earlier = now - Duration::days(1);
        assert_eq!(
            InvitationStatus::at(now, later, None, None),
            InvitationStatus::Open
        );
        assert_eq!(
            InvitationStatus::at(now, earlier, None, None),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::at(now, now, None, None),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::at(now, earlier, Some(earlier), None),
            InvitationStatus::Accepted
        );
        assert_eq!(
            InvitationStatus::at(now, later, None, Some(now)),
            InvitationStatus::Withdrawn
        );
        assert!(InvitationStatus::Open.problem().is_none());
        assert!(InvitationStatus::Expired
            .problem()
            .unwrap()
            .contains("expired"));
    }
}
