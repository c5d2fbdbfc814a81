//! The signed-in person and their organisations.

use crate::domain::{Role, StaffRole};
use serde::{Deserialize, Serialize};

/// An organisation the signed-in user belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    /// The organisation's id (`organisations.id`), which server functions take as `org_id`.
    pub id: i64,
    /// Its display name: trimmed, 2 to 80 characters.
    pub name: String,
    /// Its name in lower-case letters, digits and hyphens (`acme-corp`), unique among
    /// organisations; export file names and `portico review --org` use it.
    pub slug: String,
    /// The user's role in it.
    pub role: Role,
    /// Whether it requires its members to sign in with a second factor.
    pub requires_second_factor: bool,
}

/// The signed-in user, as the pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The address they sign in with, trimmed and lower-cased.
    pub email: String,
    /// Their platform role, if they are staff.
    pub staff: Option<StaffRole>,
    /// Their organisations, by name.
    pub orgs: Vec<OrgSummary>,
    /// The organisation they act in now.
    pub active_org_id: Option<i64>,
    /// How many of their notifications are unread.
    pub unread_notifications: i64,
    /// Whether they have confirmed their address (a banner asks until then).
    pub email_verified: bool,
    /// Whether they sign in with a second factor.
    pub second_factor: bool,
}

impl Me {
    /// The organisation they act in now.
    pub fn active_org(&self) -> Option<&OrgSummary> {
        self.active_org_id
            .and_then(|id| self.orgs.iter().find(|o| o.id == id))
    }

    /// The organisations that require a second factor the person has not
    /// set up, by name: until they set one up, every page sends them to
    /// the Account page to do so.
    pub fn second_factor_required_by(&self) -> Vec<String> {
        if self.second_factor {
            return Vec::new();
        }
        self.orgs
            .iter()
            .filter(|o| o.requires_second_factor)
            .map(|o| o.name.clone())
            .collect()
    }

    /// Whether they are an admin of the organisation they act in.
    pub fn is_admin(&self) -> bool {
        self.active_org().is_some_and(|o| o.role == Role::Admin)
    }
}

/// What the setup page and the setup call say when a setup link no longer
/// works (used, replaced, older than an hour, or an owner exists).
pub const SETUP_LINK_CLOSED: &str = "This setup link no longer works: it was used or replaced, it expired (a link works for one hour), or the platform already has an owner. Sign in, or ask the platform's owner for access. While no account exists, restarting Portico prints a new link.";

/// One place the signed-in person is signed in, for the Account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The session's handle, for ending it (not the cookie's session id).
    pub id: String,
    /// When the person signed in there.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The last request seen from it (to the minute).
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    /// The client address of that request.
    pub client_addr: String,
    /// The browser and operating system, e.g. "Firefox on Linux", or
    /// "Unknown browser" when the `User-Agent` says nothing useful.
    pub browser: String,
    /// Whether it is the session this page was loaded in.
    pub current: bool,
}

/// What a used, expired or unknown password reset link says.
pub const RESET_LINK_CLOSED: &str = "This reset link has expired or has been used. Ask for a new one: a link works once, for 30 minutes.";

/// What a used, expired or unknown email confirmation link says.
pub const CONFIRMATION_LINK_CLOSED: &str = "This confirmation link has expired or has been used. Sign in and send a new one from the banner at the top of the page.";

/// The signed-in person's second factors, for the Account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorStatus {
    /// When their authenticator app was set up; `None` without one.
    pub totp_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Their security keys (WebAuthn), oldest first.
    pub security_keys: Vec<SecurityKeyView>,
    /// Whether this portal can register security keys: WebAuthn needs the
    /// portal's public URL to name a domain, not an IP address.
    pub security_keys_supported: bool,
    /// Recovery codes not yet used (0 to 10).
    pub recovery_codes_left: i64,
    /// Organisations whose policy requires a second factor, by name: while
    /// any does (or they are staff), it cannot be turned off.
    pub required_by: Vec<String>,
    /// Whether they are platform staff (who need a second factor for the
    /// staff pages).
    pub staff: bool,
}

impl SecondFactorStatus {
    /// Whether the account has a second factor of any kind.
    pub fn on(&self) -> bool {
        self.totp_since.is_some() || !self.security_keys.is_empty()
    }

    /// Since when the account has had a second factor: its oldest one.
    pub fn on_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.totp_since
            .into_iter()
            .chain(self.security_keys.iter().map(|k| k.created_at))
            .min()
    }
}

/// A security key (or passkey) registered as a second factor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityKeyView {
    /// Its id, for removing it.
    pub id: i64,
    /// The name its owner gave it.
    pub name: String,
    /// When it was registered.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it last signed in; `None` if never.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A security notice the account was sent, for its Account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityNoticeView {
    /// One line ("Your password was changed").
    pub subject: String,
    /// What happened, from where, and what to do if it was not them.
    pub body: String,
    /// When it was sent.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The second factors a waiting sign-in can finish with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorChoice {
    /// A code from an authenticator app.
    pub totp: bool,
    /// A security key.
    pub security_key: bool,
}

/// An authenticator app being set up: what the app needs, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// The shared secret in base 32 (RFC 4648), in groups of four for typing.
    pub secret: String,
    /// The `otpauth://totp/…` URI (Key Uri Format) the QR code holds.
    pub otpauth_uri: String,
    /// The QR code, an `<svg>` element drawn on the server.
    pub qr_svg: String,
}

/// Recovery codes, shown once: each stands in for the second factor once
/// (`xxxxx-xxxxx`). Empty when a second factor was added to an account that
/// had one (its codes stay as they were).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// The codes, ten of them.
    pub codes: Vec<String>,
    /// Other sessions of the account that were signed out.
    pub sessions_ended: u64,
}

/// What the code step of signing in says when no sign-in waits for a code
/// on this browser: none was started, it is over five minutes old, or the
/// password changed meanwhile.
pub const SIGN_IN_AGAIN: &str = "No sign-in is waiting for a code here: it took more than 5 minutes, or the password changed meanwhile. Enter your email and password again, then the code.";
