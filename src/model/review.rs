//! The key hygiene review's findings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The owner left the organisation.
    NoOwner,
    /// Not rotated within the interval for its risk.
    NotRotated,
    /// Unused for 30 days or more.
    Unused,
    /// Expires within 14 days.
    ExpiringSoon,
    /// A production key holding high-risk scopes.
    ProductionHighRisk,
    /// Scopes granted but unused for 30 days.
    UnusedScopes,
    /// Traffic on a key that no longer works.
    RetiredKeyTraffic,
    /// Used from several client addresses: one key shared by several
    /// systems, each of which could hold its own, narrower key.
    SharedByClients,
}

impl FindingKind {
    /// Every kind, in the order the review checks them.
    pub const ALL: [FindingKind; 8] = [
        FindingKind::NoOwner,
        FindingKind::NotRotated,
        FindingKind::Unused,
        FindingKind::ExpiringSoon,
        FindingKind::ProductionHighRisk,
        FindingKind::UnusedScopes,
        FindingKind::RetiredKeyTraffic,
        FindingKind::SharedByClients,
    ];

    /// Parses the machine form.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }

    /// A few words for people: "Not rotated".
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::NoOwner => "Owner left",
            FindingKind::NotRotated => "Not rotated",
            FindingKind::Unused => "Unused",
            FindingKind::ExpiringSoon => "Expiring soon",
            FindingKind::ProductionHighRisk => "Production key with high-risk scopes",
            FindingKind::UnusedScopes => "Unused scopes",
            FindingKind::RetiredKeyTraffic => "Traffic on a key that no longer works",
            FindingKind::SharedByClients => "Shared by several clients",
        }
    }

    /// The machine form (JSON and the command line).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::NoOwner => "no_owner",
            FindingKind::NotRotated => "not_rotated",
            FindingKind::Unused => "unused",
            FindingKind::ExpiringSoon => "expiring_soon",
            FindingKind::ProductionHighRisk => "production_high_risk",
            FindingKind::UnusedScopes => "unused_scopes",
            FindingKind::RetiredKeyTraffic => "retired_key_traffic",
            FindingKind::SharedByClients => "shared_by_clients",
        }
    }

    /// Where the fix is: the control on the key's page that does it,
    /// opened (`?do=`) and scrolled to (`#…`); for traffic on a retired key,
    /// its usage page, whose recent requests name the caller; for a shared
    /// key, its usage page too, which says who calls what.
    pub fn fix_href(self, key_id: &str) -> String {
        match self {
            FindingKind::NoOwner => format!("/keys/{key_id}?do=owner#owner"),
            FindingKind::NotRotated | FindingKind::ExpiringSoon => {
                format!("/keys/{key_id}?do=rotate#rotate")
            }
            FindingKind::Unused => format!("/keys/{key_id}?do=revoke#revoke"),
            FindingKind::ProductionHighRisk | FindingKind::UnusedScopes => {
                format!("/keys/{key_id}?do=edit#edit")
            }
            FindingKind::RetiredKeyTraffic | FindingKind::SharedByClients => {
                format!("/keys/{key_id}/usage")
            }
        }
    }

    /// What fixes it, as the review's action says it.
    pub fn action(self) -> &'static str {
        match self {
            FindingKind::NoOwner => "Give it a new owner",
            FindingKind::NotRotated | FindingKind::ExpiringSoon => "Rotate it",
            FindingKind::Unused => "Revoke it if nothing needs it",
            FindingKind::ProductionHighRisk => "Remove the scopes it does not need",
            FindingKind::UnusedScopes => "Narrow to the scopes in use",
            FindingKind::RetiredKeyTraffic => "Find the caller and move it to the current key",
            FindingKind::SharedByClients => "Give each client its own key",
        }
    }
}

/// One problem with one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which problem this is; [`FindingKind::action`] says what fixes it.
    pub kind: FindingKind,
    /// The key's public id (its page is `/keys/{key_id}`).
    pub key_id: String,
    /// Its recognisable start.
    pub display_id: String,
    /// The key's name (`api_keys.name`).
    pub key_name: String,
    /// The email of the key's owner.
    pub owner: String,
    /// Why, in words.
    pub reason: String,
    /// For unused scopes: what narrowing the key would keep and remove,
    /// shown before it is done.
    pub narrow: Option<NarrowPreview>,
    /// For a key shared by several clients: each client, busiest first,
    /// with the key proposed for it (at most 20); empty for other findings.
    pub clients: Vec<ClientProposal>,
    /// Clients of a shared key beyond those listed in `clients`.
    #[serde(default)]
    pub unlisted_clients: usize,
    /// Set when an admin accepted the finding: it is listed apart.
    pub accepted: Option<Acceptance>,
    /// What this occurrence of the finding is about (the owner who left,
    /// the scopes held, the last use…): an acceptance holds while it is the
    /// same, so that a finding that comes back about something else is open.
    pub subject: String,
}

/// An admin's acceptance of a finding, with their reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// Why it is acceptable, in the admin's words.
    pub note: String,
    /// Who accepted it (their email).
    pub by: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

/// What "narrow to the scopes in use" would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrowPreview {
    /// Scopes used in the last 30 days, which the narrowed key keeps.
    pub keep: Vec<String>,
    /// Scopes unused for 30 days, which it loses.
    pub remove: Vec<String>,
}

impl NarrowPreview {
    /// Splits the scopes a key `held` into those it `used` and the rest,
    /// each in the order held.
    pub fn split(held: &[String], used: &[String]) -> Self {
        let (keep, remove) = held.iter().cloned().partition(|s| used.contains(s));
        Self { keep, remove }
    }

    /// Whether narrowing changes anything and leaves a working key: some
    /// scopes used, some not.
    pub fn narrows(&self) -> bool {
        !self.keep.is_empty() && !self.remove.is_empty()
    }
}

/// One client of a shared key, and the key the review proposes for it:
/// the scopes its accepted requests used, allowed from its address only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientProposal {
    /// The client's address, as verification saw it (IPv4-mapped IPv6
    /// addresses in their IPv4 form).
    pub client_addr: String,
    /// Its accepted requests in the last 30 days.
    pub accepted: i64,
    /// Its refused requests in the same days.
    pub refused: i64,
    /// The scopes its accepted requests used that the key still holds, in
    /// name order: what the key proposed for it holds. Empty when its
    /// requests named no scope (its key then starts from the default).
    pub scopes: Vec<String>,
    /// Scopes its accepted requests used that the key no longer holds.
    pub no_longer_held: Vec<String>,
}

impl ClientProposal {
    /// The create-key form filled in for this client: its scopes, its
    /// address as the allowlist, the rest from the shared key `key_id`.
    pub fn create_href(&self, key_id: &str) -> String {
        format!(
            "/keys/new?replace={key_id}&client={}",
            self.client_addr.replace(':', "%3A")
        )
    }

    /// Whether a key is proposed: for a client with accepted requests,
    /// unless every scope it used was since removed from the shared key
    /// (the key no longer lets it do what it did).
    pub fn proposed(&self) -> bool {
        self.accepted > 0 && (!self.scopes.is_empty() || self.no_longer_held.is_empty())
    }
}

/// The review of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// When the review was worked out (UTC); it is computed on request, not stored.
    pub generated_at: DateTime<Utc>,
    /// Working keys looked at.
    pub keys_checked: usize,
    /// What needs doing.
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_and_links_to_its_control() {
        for kind in FindingKind::ALL {
            assert_eq!(FindingKind::parse(kind.as_str()), Some(kind));
            let href = kind.fix_href("AbCdEfGhIj");
            assert!(href.starts_with("/keys/AbCdEfGhIj"), "{href}");
        }
        assert_eq!(
            FindingKind::NotRotated.fix_href("K"),
            "/keys/K?do=rotate#rotate"
        );
        assert_eq!(FindingKind::NoOwner.fix_href("K"), "/keys/K?do=owner#owner");
        assert_eq!(
            FindingKind::Unused.fix_href("K"),
            "/keys/K?do=revoke#revoke"
        );
        assert_eq!(
            FindingKind::RetiredKeyTraffic.fix_href("K"),
            "/keys/K/usage"
        );
        assert_eq!(FindingKind::SharedByClients.fix_href("K"), "/keys/K/usage");
    }

    #[test]
    fn a_client_proposal_links_to_the_form_filled_in_for_it() {
        let client = |addr: &str, accepted: i64, scopes: &[&str], gone: &[&str]| ClientProposal {
            client_addr: addr.to_owned(),
            accepted,
            refused: 1,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            no_longer_held: gone.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            client("203.0.113.10", 3, &["records:read"], &[]).create_href("K"),
            "/keys/new?replace=K&client=203.0.113.10"
        );
        assert_eq!(
            client("2001:db8::1", 3, &["records:read"], &[]).create_href("K"),
            "/keys/new?replace=K&client=2001%3Adb8%3A%3A1"
        );
        assert!(client("203.0.113.10", 3, &["records:read"], &[]).proposed());
        // Accepted without naming a scope: a key of its own all the same.
        assert!(client("203.0.113.50", 2, &[], &[]).proposed());
        // Only refused, or everything it used since removed: none.
        assert!(!client("203.0.113.30", 0, &[], &[]).proposed());
        assert!(!client("203.0.113.22", 4, &[], &["customers:read"]).proposed());
        assert!(client("203.0.113.23", 4, &["records:read"], &["customers:read"]).proposed());
    }

    #[test]
    fn a_preview_keeps_what_was_used_in_the_order_held() {
        let held: Vec<String> = ["records:read", "customers:read", "payments:read"]
            .map(String::from)
            .to_vec();
        let p = NarrowPreview::split(&held, &["payments:read".into(), "records:read".into()]);
        assert_eq!(p.keep, ["records:read", "payments:read"]);
        assert_eq!(p.remove, ["customers:read"]);
        assert!(p.narrows());
        assert!(!NarrowPreview::split(&held, &[]).narrows());
        assert!(!NarrowPreview::split(&held, &held).narrows());
    }
}
