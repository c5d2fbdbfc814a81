//! The answers verification gives, shared by the API, the tower layer, the
//! usage records and the docs page.

use super::keys::KeyStatus;
use serde::{Deserialize, Serialize};

/// Why a key was accepted or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyCode {
    /// Valid for what was asked.
    Ok,
    /// Not shaped like a key, or the checksum fails: no lookup was made.
    Malformed,
    /// Well formed, but no such key, or the secret is wrong.
    Unknown,
    /// Past its expiry or the end of its rotation overlap.
    Expired,
    /// Revoked, for good.
    Revoked,
    /// Suspended by staff or an admin (reversible).
    Suspended,
    /// Waiting for an admin to approve it.
    PendingApproval,
    /// The key lacks the scope the request needs.
    ScopeDenied,
    /// The client address is not on the key's allowlist.
    IpDenied,
    /// A sandbox key used against production, or the other way round.
    EnvMismatch,
    /// Over the key's requests-per-minute limit.
    RateLimited,
    /// The key's monthly request quota is used up (until the month ends).
    QuotaExceeded,
}

impl VerifyCode {
    /// The refusal a key's standing calls for, or `None` for a key that
    /// works (active or rotating). Verification and the pages derive a key's
    /// standing from the one rule, [`KeyStatus::of`], so they never disagree.
    pub fn for_status(status: KeyStatus) -> Option<Self> {
        match status {
            KeyStatus::Active | KeyStatus::Rotating => None,
            KeyStatus::PendingApproval => Some(VerifyCode::PendingApproval),
            KeyStatus::Suspended => Some(VerifyCode::Suspended),
            KeyStatus::Expired => Some(VerifyCode::Expired),
            KeyStatus::Rejected | KeyStatus::Revoked => Some(VerifyCode::Revoked),
        }
    }

    /// Every code, in the order checks are made.
    pub const ALL: [VerifyCode; 12] = [
        VerifyCode::Ok,
        VerifyCode::Malformed,
        VerifyCode::Unknown,
        VerifyCode::Revoked,
        VerifyCode::Suspended,
        VerifyCode::PendingApproval,
        VerifyCode::Expired,
        VerifyCode::EnvMismatch,
        VerifyCode::IpDenied,
        VerifyCode::ScopeDenied,
        VerifyCode::RateLimited,
        VerifyCode::QuotaExceeded,
    ];

    /// The wire and stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyCode::Ok => "ok",
            VerifyCode::Malformed => "malformed",
            VerifyCode::Unknown => "unknown",
            VerifyCode::Expired => "expired",
            VerifyCode::Revoked => "revoked",
            VerifyCode::Suspended => "suspended",
            VerifyCode::PendingApproval => "pending_approval",
            VerifyCode::ScopeDenied => "scope_denied",
            VerifyCode::IpDenied => "ip_denied",
            VerifyCode::EnvMismatch => "env_mismatch",
            VerifyCode::RateLimited => "rate_limited",
            VerifyCode::QuotaExceeded => "quota_exceeded",
        }
    }

    /// Parses the stored form.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input)
    }

    /// A few words for people, where the code would be jargon: "Wrong
    /// environment", "Over the rate limit".
    pub fn label(self) -> &'static str {
        match self {
            VerifyCode::Ok => "Accepted",
            VerifyCode::Malformed => "Not a key (malformed)",
            VerifyCode::Unknown => "Unknown key or wrong secret",
            VerifyCode::Expired => "Expired",
            VerifyCode::Revoked => "Revoked",
            VerifyCode::Suspended => "Suspended",
            VerifyCode::PendingApproval => "Waiting for approval",
            VerifyCode::ScopeDenied => "Scope not held",
            VerifyCode::IpDenied => "Address not allowed",
            VerifyCode::EnvMismatch => "Wrong environment",
            VerifyCode::RateLimited => "Over the rate limit",
            VerifyCode::QuotaExceeded => "Monthly quota used up",
        }
    }

    /// A stored outcome as pages show it: its label with the code that
    /// gateways and logs use, "Wrong environment (env_mismatch)"; the stored
    /// text when it is not a code this version knows.
    pub fn words_for(stored: &str) -> String {
        Self::parse(stored).map_or_else(
            || stored.to_owned(),
            |c| format!("{} ({})", c.label(), c.as_str()),
        )
    }

    /// What it means, for people reading dashboards and docs.
    pub fn describe(self) -> &'static str {
        match self {
            VerifyCode::Ok => "Valid for what was asked.",
            VerifyCode::Malformed => {
                "Not shaped like a key, or its checksum fails (a typo). Rejected without a lookup."
            }
            VerifyCode::Unknown => "No such key, or the secret part is wrong.",
            VerifyCode::Expired => "Past its expiry date, or its rotation overlap has ended.",
            VerifyCode::Revoked => {
                "Revoked, or rejected by an admin. Permanent (unlike a suspension)."
            }
            VerifyCode::Suspended => "Suspended by platform support or an admin. Reversible.",
            VerifyCode::PendingApproval => "Created, but waiting for an admin's approval.",
            VerifyCode::ScopeDenied => "The key does not hold the scope this request needs.",
            VerifyCode::IpDenied => "The client address is not on the key's IP allowlist.",
            VerifyCode::EnvMismatch => {
                "A sandbox key used against production, or the other way round."
            }
            VerifyCode::RateLimited => "Over the key's requests-per-minute limit.",
            VerifyCode::QuotaExceeded => {
                "The key's monthly request quota is used up; it works again when the month ends (UTC) or an admin raises the quota."
            }
        }
    }

    /// Whether the request may go ahead.
    pub fn is_valid(self) -> bool {
        self == VerifyCode::Ok
    }

    /// The HTTP status a gateway (or Portico's tower layer) answers with.
    pub fn http_status(self) -> u16 {
        match self {
            VerifyCode::Ok => 200,
            VerifyCode::Malformed
            | VerifyCode::Unknown
            | VerifyCode::Expired
            | VerifyCode::Revoked
            | VerifyCode::Suspended
            | VerifyCode::PendingApproval => 401,
            VerifyCode::ScopeDenied | VerifyCode::IpDenied | VerifyCode::EnvMismatch => 403,
            VerifyCode::RateLimited | VerifyCode::QuotaExceeded => 429,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_statuses() {
        for code in VerifyCode::ALL {
            assert_eq!(VerifyCode::parse(code.as_str()), Some(code));
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
        assert_eq!(VerifyCode::Ok.http_status(), 200);
        assert_eq!(VerifyCode::Revoked.http_status(), 401);
        assert_eq!(VerifyCode::ScopeDenied.http_status(), 403);
        assert_eq!(VerifyCode::RateLimited.http_status(), 429);
        assert!(!VerifyCode::Suspended.is_valid());
    }

    #[test]
    fn every_code_has_words_for_people() {
        for code in VerifyCode::ALL {
            assert!(!code.label().contains('_'), "{}", code.label());
            assert!(code.label().starts_with(char::is_uppercase));
        }
        assert_eq!(
            VerifyCode::words_for("env_mismatch"),
            "Wrong environment (env_mismatch)"
        );
        assert_eq!(VerifyCode::words_for("something_new"), "something_new");
    }
}
