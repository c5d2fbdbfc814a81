//! API keys as lists, pages and forms show them, and the audit trail.

use crate::domain::{
    key_format::Environment,
    keys::{Approval, KeyStatus},
    policy::OrgPolicy,
    scopes::Catalog,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A key as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySummary {
    /// Public key id, used in URLs.
    pub key_id: String,
    /// `prt_live_AbCdEfGhIj`: the recognisable start of the key.
    pub display_id: String,
    /// The name people know the key by: one line, 1 to 60 characters, trimmed.
    pub name: String,
    /// Sandbox or production.
    pub environment: Environment,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
    /// Owner's email.
    pub owner: String,
    /// Service or app.
    pub service: String,
    /// When the key was issued (UTC); for a successor, when the rotation made it.
    pub created_at: DateTime<Utc>,
    /// Last verified (`None`: never).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the key stops working by time (UTC): the expiry set when it was
    /// issued, or the end of its rotation overlap if that is sooner. The one
    /// expiry that pages, exports and verification answers all show.
    pub expires_at: DateTime<Utc>,
    /// Where it stands now.
    pub status: KeyStatus,
    /// End of the rotation overlap, while rotating.
    pub rotating_until: Option<DateTime<Utc>>,
    /// The owner left the organisation: an admin should give the key a new owner.
    pub owner_left: bool,
}

/// One page of the key inventory; the cursor is a key's public id.
pub type KeyPage = crate::model::page::Page<KeySummary, String>;

/// How an organisation's keys stand, for the dashboard: counted over every
/// key the person may see, not one page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// Every key, whatever its status.
    pub total: usize,
    /// Working sandbox keys.
    pub sandbox: usize,
    /// Working production keys.
    pub production: usize,
    /// Keys in their rotation overlap.
    pub rotating: usize,
    /// Working keys that stop within 14 days.
    pub expiring_soon: usize,
    /// Working keys never used.
    pub never_used: usize,
}

/// A key's suspension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionView {
    /// When the key was suspended (UTC).
    pub at: DateTime<Utc>,
    /// The email of who suspended it, or `Portico (automatically)` for the alert detector.
    pub by: String,
    /// The reason given when suspending; the detector's own start with `Automatic:`.
    pub reason: String,
    /// When it lifts by itself (`None`: until someone reinstates it).
    pub until: Option<DateTime<Utc>>,
}

/// An admin's decision on a key that needed approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// Who decided.
    pub by: String,
    /// When the admin approved or rejected the key (UTC).
    pub at: DateTime<Utc>,
    /// The admin's comment: the reason for a rejection (3 to 500 characters); may be
    /// empty for an approval.
    pub comment: String,
}

/// What the person looking at a key may do to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPermissions {
    /// Rotate, retire, revoke, edit (the owner and the organisation's admins).
    pub manage: bool,
    /// Suspend and reinstate (the organisation's admins and platform staff).
    pub suspend: bool,
    /// Approve or reject, and give a new owner (the organisation's admins).
    pub administer: bool,
}

/// A key's monthly quota as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaView {
    /// Accepted requests allowed a calendar month (UTC).
    pub monthly: i64,
    /// Accepted requests so far this month (from the hourly counts: the
    /// last few seconds may be missing).
    pub used: i64,
    /// When the count starts again (the next month's first instant, UTC).
    pub resets_at: DateTime<Utc>,
}

impl QuotaView {
    /// What is left this month (never below zero).
    pub fn left(&self) -> i64 {
        (self.monthly - self.used).max(0)
    }

    /// The share used, in whole percent (at most 100).
    pub fn percent_used(&self) -> i64 {
        (self.used * 100 / self.monthly.max(1)).min(100)
    }
}

/// A link in a key's rotation chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// Public key id.
    pub key_id: String,
    /// Recognisable start of the key.
    pub display_id: String,
    /// Where it stands.
    pub status: KeyStatus,
    /// When this key of the chain was issued (UTC).
    pub created_at: DateTime<Utc>,
}

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Event id (for paging).
    pub id: i64,
    /// When the event was recorded (UTC).
    pub at: DateTime<Utc>,
    /// Who (an email, or `system`).
    pub actor: String,
    /// What (`created`, `rotated`, …).
    pub action: String,
    /// The key's public id and display id, if the event is about a key.
    pub key: Option<(String, String)>,
    /// The key's name.
    pub key_name: Option<String>,
    /// The reason or comment the actor gave (revocation, suspension, rejection…);
    /// `None` when there was none.
    pub reason: Option<String>,
    /// Other facts, in words.
    pub details: Option<String>,
    /// The client address of the request that caused it; `None` for what the server did
    /// by itself (expiry, alerts).
    pub client_addr: Option<String>,
}

/// A refused verification of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// When (to the hour once the raw event is pruned).
    pub at: DateTime<Utc>,
    /// The client address, while the raw event is kept.
    pub client_addr: Option<String>,
    /// Why it was refused.
    pub code: crate::domain::verify::VerifyCode,
}

/// Everything about one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDetail {
    /// The list fields.
    pub summary: KeySummary,
    /// What it is for.
    pub purpose: String,
    /// Addresses it may be used from (empty: anywhere).
    pub ip_allowlist: Vec<String>,
    /// Who made it.
    pub created_by: String,
    /// Address of the last verification.
    pub last_used_addr: Option<String>,
    /// Verifications in the last 7 days, accepted and refused.
    pub requests_7d: i64,
    /// Refused verifications in the last 7 days.
    pub refused_7d: i64,
    /// The last refused verification, if any is recorded ("last used"
    /// counts only accepted ones).
    pub last_refused: Option<Refusal>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The email of who revoked it; `None` unless revoked.
    pub revoked_by: Option<String>,
    /// The reason the revoker gave, 3 to 500 characters; `None` unless revoked.
    pub revoked_reason: Option<String>,
    /// Requests per minute allowed.
    pub rate_limit_per_minute: i64,
    /// Its monthly request quota and this month's use; `None`: no quota.
    pub quota: Option<QuotaView>,
    /// The rotation chain, oldest first (this key included).
    pub chain: Vec<ChainLink>,
    /// Its audit history, newest first.
    pub audit: Vec<AuditEntry>,
    /// Which of its scopes are high risk.
    pub high_risk_scopes: Vec<String>,
    /// A ready `curl` line against the sample API, the secret as
    /// `$PORTICO_KEY`.
    pub try_it: Option<String>,
    /// Exchanging the key for short-lived access tokens.
    pub access_tokens: AccessTokensView,
    /// The organisation's id.
    pub org_id: i64,
    /// The organisation's name.
    pub org_name: String,
    /// The suspension, while suspended.
    pub suspension: Option<SuspensionView>,
    /// Whether it needed approval, and the state of that.
    pub approval: Approval,
    /// The admin's decision, once made.
    pub approval_decision: Option<ApprovalDecision>,
    /// What the viewer may do.
    pub permissions: KeyPermissions,
    /// When the owner left and the viewer is an admin: the members who
    /// could own the key, `(user id, email)`.
    pub new_owner_choices: Vec<(i64, String)>,
}

/// A key's short-lived access tokens, as its page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokensView {
    /// Tokens minted from the key in the last 24 hours.
    pub minted_24h: i64,
    /// How long a token lives under the organisation's policy, in seconds.
    pub lifetime_secs: i64,
    /// A ready `curl` line that asks `/oauth/token` for one, the secret as
    /// `$PORTICO_KEY`.
    pub request_line: String,
}

/// What the create form needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFormData {
    /// The scope catalog.
    pub catalog: Catalog,
    /// Scopes ticked to begin with (least privilege).
    pub default_scopes: Vec<String>,
    /// One-time token that makes a double submit create one key.
    pub request_token: String,
    /// The product prefix of keys.
    pub prefix: String,
    /// Environments the user may create keys in.
    pub environments: Vec<Environment>,
    /// Requests per minute offered by default.
    pub default_rate_limit: u32,
    /// Lifetimes offered, in days.
    pub lifetime_presets: Vec<i64>,
    /// Whether a production key with a high-risk scope waits for an admin.
    pub approval_applies: bool,
    /// The organisation's policy.
    pub policy: OrgPolicy,
    /// The form filled in to replace a shared key for one of its clients
    /// (`/keys/new?replace=…&client=…`); `None` for a blank form.
    pub prefill: Option<KeyPrefill>,
}

/// A create form filled in for one client of a shared key: the scopes that
/// client used, its address as the allowlist, the rest from the shared key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPrefill {
    /// The shared key's public id (its page is `/keys/{key_id}`).
    pub replaces_key_id: String,
    /// The shared key's display id.
    pub replaces_display_id: String,
    /// The client the new key is for.
    pub client_addr: String,
    /// Name: the shared key's, with the client's address.
    pub name: String,
    /// Purpose: what the key replaces, and the shared key's purpose.
    pub purpose: String,
    /// The shared key's service, if any.
    pub service: Option<String>,
    /// The shared key's environment, when the actor may create keys there.
    pub environment: Environment,
    /// The scopes the client's accepted requests used in the last 30 days.
    pub scopes: Vec<String>,
    /// The client's address, the new key's allowlist.
    pub ip_allowlist: String,
    /// The shared key's rate limit (requests per minute).
    pub rate_limit: u32,
    /// The shared key's monthly quota, if it has one.
    pub monthly_quota: Option<i64>,
}

/// A key just made: its secret, shown once and never again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The new key as lists show it; the secret is only in `secret`.
    pub key: KeySummary,
    /// The whole secret.
    pub secret: String,
    /// Who may approve it, by email, when it waits for approval (the
    /// organisation's admins); empty otherwise.
    pub approvers: Vec<String>,
    /// The key it replaces (display id) and when that one stops working,
    /// for a successor made by rotation; `None` otherwise.
    pub replaces: Option<(String, DateTime<Utc>)>,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"(redacted)")
            .finish()
    }
}

/// A page of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page, if there is one.
    pub next_before: Option<i64>,
}
