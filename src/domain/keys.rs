//! The rules of a key's settings and life: names, expiry, IP allowlists,
//! rotation overlaps and status.

use super::policy::{rules as policy_rules, OrgPolicy};
use super::request_path::is_invisible;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Most characters of a key name.
pub const MAX_NAME_CHARS: usize = 60;
/// Most characters of a key's purpose.
pub const MAX_PURPOSE_CHARS: usize = 500;
/// Most characters of the service a key is for.
pub const MAX_SERVICE_CHARS: usize = 80;
/// The preset lifetimes offered, in days.
pub const LIFETIME_PRESETS: [i64; 4] = [7, 30, 90, 365];
/// Most entries in an IP allowlist.
pub const MAX_ALLOWLIST_ENTRIES: usize = 50;

/// `input` without surrounding whitespace or invisible characters
/// (zero-width spaces, joiners, byte-order marks), which would make a name
/// that looks empty or differs from its look-alike only unseen.
fn trimmed(input: &str) -> &str {
    input.trim_matches(|c: char| c.is_whitespace() || is_invisible(c))
}

fn bounded_text(input: &str, what: &str, min: usize, max: usize) -> Result<String, String> {
    let text = trimmed(input);
    let n = text.chars().count();
    if n < min {
        return Err(if min == 1 {
            format!("Enter the key's {what}.")
        } else {
            format!("Use at least {min} characters for the {what}.")
        });
    }
    if n > max {
        return Err(format!(
            "Use at most {max} characters for the {what} ({n} entered)."
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("The {what} cannot contain control characters."));
    }
    // Inside the text too: an invisible character hides a difference, and a
    // direction override shows the text other than it is (`Key \u{202E}gnp.exe`).
    // The joiner and variation selectors that emoji are made of stay.
    if text
        .chars()
        .any(|c| is_invisible(c) && !matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}'))
    {
        return Err(format!(
            "The {what} cannot contain invisible or text-direction characters."
        ));
    }
    Ok(text.to_owned())
}

/// What breaks a line: a newline, or Unicode's line and paragraph separators.
const LINE_BREAKS: [char; 3] = ['\n', '\u{2028}', '\u{2029}'];

/// A key's name, as people will recognise it in lists: 1 to 60 characters.
pub fn parse_name(input: &str) -> Result<String, String> {
    let name = bounded_text(input, "name", 1, MAX_NAME_CHARS)?;
    if name.contains(LINE_BREAKS) {
        return Err("The name must fit on one line.".to_owned());
    }
    Ok(name)
}

/// What the key is for: required, up to 500 characters.
pub fn parse_purpose(input: &str) -> Result<String, String> {
    bounded_text(input, "purpose", 1, MAX_PURPOSE_CHARS)
}

/// The service or app the key is for: optional, up to 80 characters.
pub fn parse_service(input: &str) -> Result<String, String> {
    let service = bounded_text(input, "service", 0, MAX_SERVICE_CHARS)?;
    if service.contains(LINE_BREAKS) {
        return Err("The service name must fit on one line.".to_owned());
    }
    Ok(service)
}

/// When a new key expires, within the organisation's `policy`: a number of
/// days, or a chosen date.
///
/// `choice` is a number of days (the form offers
/// [`OrgPolicy::lifetime_presets`]), `date`, or empty for the policy's
/// default; with `date`, `date` is `YYYY-MM-DD` and the key works until the
/// end of that day (UTC). A lifetime past the policy's maximum is refused
/// with the rule named.
pub fn parse_expiry(
    choice: &str,
    date: Option<&str>,
    now: DateTime<Utc>,
    policy: &OrgPolicy,
) -> Result<DateTime<Utc>, String> {
    let max = policy.max_lifetime_days;
    let latest = now + Duration::days(max);
    let too_long = || {
        format!(
            "Your organisation's policy ({}) lets keys live at most {max} days: pick {} or earlier.",
            policy_rules::MAX_LIFETIME,
            latest.format("%Y-%m-%d")
        )
    };
    match choice.trim() {
        "" => Ok(now + Duration::days(policy.default_expiry_days.min(max))),
        "date" => {
            let text = date.unwrap_or("").trim();
            if text.is_empty() {
                return Err("Pick the date the key should stop working.".to_owned());
            }
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| "Enter the date as YYYY-MM-DD, for example 2027-03-31.".to_owned())?;
            let end = Utc.from_utc_datetime(&day.and_hms_opt(23, 59, 59).expect("valid time"));
            if end <= now {
                return Err("Pick a date in the future.".to_owned());
            }
            if end > latest + Duration::days(1) {
                return Err(too_long());
            }
            Ok(end.min(latest))
        }
        days => match days.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(now + Duration::days(n)),
            Ok(n) if n > max => Err(too_long()),
            _ => Err(format!(
                "Choose an expiry: a number of days from 1 to {max}, or a date."
            )),
        },
    }
}

/// A reason for a governance action (suspend, reinstate, reject…): kept
/// in the audit trail and sent to the key's owner, 3 to 500 characters.
pub fn parse_reason(input: &str, doing: &str) -> Result<String, String> {
    let text = trimmed(input);
    let n = text.chars().count();
    if !(3..=500).contains(&n) {
        return Err(format!(
            "Say why you are {doing}, in 3 to 500 characters. It is kept in the audit trail and sent to the key's owner."
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("The reason cannot contain control characters.".to_owned());
    }
    Ok(text.to_owned())
}

/// An optional reason (rotating, retiring): empty means none; otherwise up
/// to 500 characters without control characters, kept in the audit trail.
pub fn parse_optional_reason(input: &str) -> Result<Option<String>, String> {
    let text = trimmed(input);
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > 500 {
        return Err("Keep the reason to 500 characters.".to_owned());
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("The reason cannot contain control characters.".to_owned());
    }
    Ok(Some(text.to_owned()))
}

/// Longest a suspension may be set to last before it lifts itself.
pub const MAX_SUSPENSION_DAYS: i64 = 365;

/// When a suspension lifts by itself: empty for "until reinstated", a date
/// `YYYY-MM-DD` (the key works again from the start of the next day, UTC),
/// or a date and time `YYYY-MM-DDTHH:MM` in UTC.
pub fn parse_suspension_end(
    input: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, String> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let end = if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("valid time")) + Duration::days(1)
    } else if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        Utc.from_utc_datetime(&at)
    } else {
        return Err(
            "Enter the end as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC), or leave it empty to suspend until someone reinstates the key."
                .to_owned(),
        );
    };
    if end <= now {
        return Err("Pick an end in the future, or leave it empty.".to_owned());
    }
    if end > now + Duration::days(MAX_SUSPENSION_DAYS) {
        return Err(format!(
            "A suspension can end by itself at most {MAX_SUSPENSION_DAYS} days from now; leave the end empty to suspend until someone reinstates the key."
        ));
    }
    Ok(Some(end))
}

/// Most requests per minute a key may be given.
pub const MAX_RATE_LIMIT: u32 = 100_000;

/// A key's rate limit in requests per minute; empty means `default`.
pub fn parse_rate_limit(input: &str, default: u32) -> Result<u32, String> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(default);
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_RATE_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "Enter a whole number of requests per minute from 1 to {MAX_RATE_LIMIT}."
        )),
    }
}

/// An IPv4-mapped IPv6 block (`::ffff:203.0.113.0/120`) as the IPv4 block it
/// covers (`203.0.113.0/24`); any other block as it is.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// The addresses a key may be used from. Empty means anywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// Parses entries separated by commas, spaces or new lines. Each is an
    /// IPv4 or IPv6 address or CIDR block; every bad entry is named.
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        let mut problems = Vec::new();
        for entry in input
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match entry.parse::<IpNet>() {
                Ok(net) if net.trunc() != net => problems.push(format!(
                    "{entry} has host bits set (did you mean {}?)",
                    net.trunc()
                )),
                Ok(net) => nets.push(canonical_net(net)),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(addr) => nets.push(IpNet::from(addr.to_canonical())),
                    Err(_) => problems.push(format!("{entry} is not an IP address or CIDR block")),
                },
            }
        }
        if !problems.is_empty() {
            return Err(format!(
                "{}. Use addresses like 203.0.113.7 or blocks like 203.0.113.0/24 and 2001:db8::/32.",
                problems.join("; ")
            ));
        }
        nets.sort();
        nets.dedup();
        if nets.len() > MAX_ALLOWLIST_ENTRIES {
            return Err(format!(
                "An allowlist can hold at most {MAX_ALLOWLIST_ENTRIES} entries."
            ));
        }
        Ok(Self(nets))
    }

    /// Whether the list is empty (the key works from anywhere).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `addr` may use the key. An IPv4-mapped IPv6 address
    /// (`::ffff:203.0.113.7`) is the IPv4 address it carries.
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.is_empty() || self.0.iter().any(|net| net.contains(&addr))
    }

    /// The entries, for display and storage.
    pub fn entries(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// The stored form: entries separated by spaces.
    pub fn to_stored(&self) -> String {
        self.entries().join(" ")
    }
}

/// How long a rotated key keeps working beside its successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The old key stops at once (it may be compromised).
    Immediate,
    /// One hour.
    OneHour,
    /// One day: enough for most deploys.
    OneDay,
    /// Seven days: for slow-moving consumers.
    SevenDays,
}

impl Overlap {
    /// Every choice, shortest first.
    pub const ALL: [Overlap; 4] = [
        Overlap::Immediate,
        Overlap::OneHour,
        Overlap::OneDay,
        Overlap::SevenDays,
    ];

    /// The submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Immediate => "immediate",
            Overlap::OneHour => "1h",
            Overlap::OneDay => "24h",
            Overlap::SevenDays => "7d",
        }
    }

    /// Parses the submitted form; empty means the default (24 hours).
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "" | "24h" => Ok(Overlap::OneDay),
            "immediate" => Ok(Overlap::Immediate),
            "1h" => Ok(Overlap::OneHour),
            "7d" => Ok(Overlap::SevenDays),
            _ => Err("Choose how long the old key keeps working: immediately, 1 hour, 24 hours or 7 days.".to_owned()),
        }
    }

    /// How long.
    pub fn duration(self) -> Duration {
        match self {
            Overlap::Immediate => Duration::zero(),
            Overlap::OneHour => Duration::hours(1),
            Overlap::OneDay => Duration::hours(24),
            Overlap::SevenDays => Duration::days(7),
        }
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Overlap::Immediate => "Immediately (emergency: the old key stops now)",
            Overlap::OneHour => "1 hour",
            Overlap::OneDay => "24 hours",
            Overlap::SevenDays => "7 days",
        }
    }
}

/// Whether a key needed an admin's approval, and what they decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// The organisation's policy did not ask for one.
    NotRequired,
    /// Waiting for an admin.
    Pending,
    /// An admin approved it.
    Approved,
    /// An admin rejected it: the key never works.
    Rejected,
}

impl Approval {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::NotRequired => "not_required",
            Approval::Pending => "pending",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
        }
    }
}

/// The timestamps and decisions a key's status is worked out from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The expiry set when the key was issued (UTC); [`KeyState::ends_at`] is
    /// when it actually stops.
    pub expires_at: DateTime<Utc>,
    /// End of the rotation overlap.
    pub rotating_until: Option<DateTime<Utc>>,
    /// When it was revoked (UTC); any value means refused for good.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was suspended (UTC); cleared on reinstatement.
    pub suspended_at: Option<DateTime<Utc>>,
    /// The suspension ends by itself at.
    pub suspended_until: Option<DateTime<Utc>>,
    /// Whether it needed an admin's approval and how that stands; `Pending` and
    /// `Rejected` refuse the key.
    pub approval: Approval,
}

impl KeyState {
    /// When the key stops working by time: its expiry, or the end of its
    /// rotation overlap if sooner. The one effective expiry that pages,
    /// exports and verification answers all show.
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.rotating_until
            .map_or(self.expires_at, |r| r.min(self.expires_at))
    }

    /// Whether the key is suspended at `now` (a suspension past its end date
    /// no longer counts, even before the reinstatement is recorded).
    pub fn is_suspended(&self, now: DateTime<Utc>) -> bool {
        self.suspended_at.is_some() && self.suspended_until.is_none_or(|until| now < until)
    }
}

/// Where a key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Works: verification accepts it (the only other usable status is `Rotating`).
    Active,
    /// Replaced by a successor, and still working until the overlap ends.
    Rotating,
    /// Waiting for an admin's approval: refused until approved.
    PendingApproval,
    /// Paused by an admin or support: refused until reinstated.
    Suspended,
    /// Past its expiry (or its rotation overlap): refused.
    Expired,
    /// An admin rejected its approval request: refused, for good.
    Rejected,
    /// Revoked: refused, for good.
    Revoked,
}

impl KeyStatus {
    /// Every status, for filters.
    pub const ALL: [KeyStatus; 7] = [
        KeyStatus::Active,
        KeyStatus::Rotating,
        KeyStatus::PendingApproval,
        KeyStatus::Suspended,
        KeyStatus::Expired,
        KeyStatus::Rejected,
        KeyStatus::Revoked,
    ];

    /// Works out a key's status at `now`. Permanent ends come first, then
    /// expiry, then the reversible stops.
    pub fn of(state: &KeyState, now: DateTime<Utc>) -> Self {
        if state.revoked_at.is_some() {
            return KeyStatus::Revoked;
        }
        if state.approval == Approval::Rejected {
            return KeyStatus::Rejected;
        }
        if state.ends_at() <= now {
            KeyStatus::Expired
        } else if state.is_suspended(now) {
            KeyStatus::Suspended
        } else if state.approval == Approval::Pending {
            KeyStatus::PendingApproval
        } else if state.rotating_until.is_some() {
            KeyStatus::Rotating
        } else {
            KeyStatus::Active
        }
    }

    /// The stored and filter form.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Rotating => "rotating",
            KeyStatus::PendingApproval => "pending_approval",
            KeyStatus::Suspended => "suspended",
            KeyStatus::Expired => "expired",
            KeyStatus::Rejected => "rejected",
            KeyStatus::Revoked => "revoked",
        }
    }

    /// Parses the filter form.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Rotating => "Rotating",
            KeyStatus::PendingApproval => "Pending approval",
            KeyStatus::Suspended => "Suspended",
            KeyStatus::Expired => "Expired",
            KeyStatus::Rejected => "Rejected",
            KeyStatus::Revoked => "Revoked",
        }
    }

    /// Whether the key is accepted by verification.
    pub fn is_usable(self) -> bool {
        matches!(self, KeyStatus::Active | KeyStatus::Rotating)
    }

    /// Whether the key can never work again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            KeyStatus::Expired | KeyStatus::Rejected | KeyStatus::Revoked
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn names_refuse_hidden_text_line_separators_and_direction_overrides() {
        for bad in [
            "\u{200B}\u{200B}",
            "Yubi\u{2028}second line",
            "Key \u{202E}gnp.exe",
            "a\u{2066}b",
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_name("Dev 👩\u{200D}💻").unwrap(), "Dev 👩\u{200D}💻");
        assert!(parse_service("ci\u{2029}cd").is_err());
    }

    #[test]
    fn names_and_purposes_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  CI deploy  ").unwrap(), "CI deploy");
        assert!(parse_name("").unwrap_err().contains("Enter the key's name"));
        // A name that looks empty is empty.
        for invisible in ["\u{200B}", " \u{FEFF} ", "\u{200B}\u{200C}\u{00AD}"] {
            assert!(
                parse_name(invisible)
                    .unwrap_err()
                    .contains("Enter the key's name"),
                "{invisible:?}"
            );
        }
        assert_eq!(parse_name("\u{200B}CI\u{200B}").unwrap(), "CI");
        assert!(parse_reason("\u{200B}\u{200B}\u{200B}\u{200B}", "revoking this key").is_err());
        assert!(parse_name(&"x".repeat(61))
            .unwrap_err()
            .contains("at most 60"));
        assert!(parse_name("two\nlines").is_err());
        assert!(parse_purpose(" ").is_err());
        assert_eq!(
            parse_purpose("Nightly export\nto the warehouse").unwrap(),
            "Nightly export\nto the warehouse"
        );
        assert_eq!(parse_service("").unwrap(), "");
    }

    #[test]
    fn expiry_presets_and_dates_are_bounded_to_a_year() {
        assert_eq!(
            parse_expiry("", None, now(), &OrgPolicy::default()).unwrap(),
            now() + Duration::days(90)
        );
        assert_eq!(
            parse_expiry("7", None, now(), &OrgPolicy::default()).unwrap(),
            now() + Duration::days(7)
        );
        assert_eq!(
            parse_expiry("365", None, now(), &OrgPolicy::default()).unwrap(),
            now() + Duration::days(365)
        );
        assert!(parse_expiry("400", None, now(), &OrgPolicy::default()).is_err());
        assert!(parse_expiry("abc", None, now(), &OrgPolicy::default()).is_err());
        let d = parse_expiry("date", Some("2027-01-15"), now(), &OrgPolicy::default()).unwrap();
        assert_eq!(d, Utc.with_ymd_and_hms(2027, 1, 15, 23, 59, 59).unwrap());
        assert!(
            parse_expiry("date", Some("2026-11-26"), now(), &OrgPolicy::default())
                .unwrap_err()
                .contains("future")
        );
        assert!(
            parse_expiry("date", Some("2028-01-01"), now(), &OrgPolicy::default())
                .unwrap_err()
                .contains("at most 365")
        );
        assert!(
            parse_expiry("date", Some("15/01/2027"), now(), &OrgPolicy::default())
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(parse_expiry("date", None, now(), &OrgPolicy::default()).is_err());
        // The last allowed day is accepted but never beyond 365 days.
        let last = parse_expiry("date", Some("2027-11-27"), now(), &OrgPolicy::default()).unwrap();
        assert_eq!(last, now() + Duration::days(365));
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        let list = IpAllowlist::parse("203.0.113.0/24").unwrap();
        assert!(list.allows("::ffff:203.0.113.7".parse().unwrap()));
        assert!(!list.allows("::ffff:192.0.2.1".parse().unwrap()));
        let mapped = IpAllowlist::parse("::ffff:198.51.100.0/120, ::ffff:192.0.2.9").unwrap();
        assert_eq!(mapped.entries(), vec!["192.0.2.9/32", "198.51.100.0/24"]);
        assert!(mapped.allows("198.51.100.20".parse().unwrap()));
        assert!(mapped.allows("::ffff:192.0.2.9".parse().unwrap()));
        // Other IPv6 blocks stay IPv6.
        let v6 = IpAllowlist::parse("2001:db8::/32").unwrap();
        assert_eq!(v6.entries(), vec!["2001:db8::/32"]);
    }

    #[test]
    fn allowlists_accept_addresses_and_blocks_and_name_bad_entries() {
        let list =
            IpAllowlist::parse("203.0.113.7, 198.51.100.0/24\n2001:db8::/32 203.0.113.7").unwrap();
        assert_eq!(
            list.entries(),
            vec!["198.51.100.0/24", "203.0.113.7/32", "2001:db8::/32"]
        );
        assert!(list.allows("198.51.100.20".parse().unwrap()));
        assert!(list.allows("2001:db8::1".parse().unwrap()));
        assert!(!list.allows("192.0.2.1".parse().unwrap()));
        assert!(IpAllowlist::parse("")
            .unwrap()
            .allows("192.0.2.1".parse().unwrap()));
        let err = IpAllowlist::parse("10.0.0.5/24, banana").unwrap_err();
        assert!(
            err.contains("10.0.0.5/24 has host bits set (did you mean 10.0.0.0/24?)"),
            "{err}"
        );
        assert!(err.contains("banana is not an IP address"), "{err}");
        let many: Vec<String> = (0..51).map(|i| format!("10.0.{i}.1")).collect();
        assert!(IpAllowlist::parse(&many.join(","))
            .unwrap_err()
            .contains("at most 50"));
    }

    #[test]
    fn rate_limits_are_whole_positive_numbers() {
        assert_eq!(parse_rate_limit("", 600), Ok(600));
        assert_eq!(parse_rate_limit(" 120 ", 600), Ok(120));
        assert!(parse_rate_limit("0", 600).is_err());
        assert!(parse_rate_limit("1.5", 600).is_err());
        assert!(parse_rate_limit("100001", 600).is_err());
    }

    #[test]
    fn overlaps_default_to_a_day() {
        assert_eq!(Overlap::parse("").unwrap(), Overlap::OneDay);
        for o in Overlap::ALL {
            assert_eq!(Overlap::parse(o.as_str()).unwrap(), o);
        }
        assert!(Overlap::parse("2d").is_err());
        assert_eq!(Overlap::SevenDays.duration(), Duration::days(7));
    }

    fn state(expires_at: DateTime<Utc>) -> KeyState {
        KeyState {
            expires_at,
            rotating_until: None,
            revoked_at: None,
            suspended_at: None,
            suspended_until: None,
            approval: Approval::NotRequired,
        }
    }

    #[test]
    fn the_effective_expiry_is_the_sooner_of_expiry_and_overlap_end() {
        let expires = now() + Duration::days(90);
        let state = |rotating_until| KeyState {
            expires_at: expires,
            rotating_until,
            revoked_at: None,
            suspended_at: None,
            suspended_until: None,
            approval: Approval::NotRequired,
        };
        let sooner = now() + Duration::days(1);
        assert_eq!(state(None).ends_at(), expires);
        assert_eq!(state(Some(sooner)).ends_at(), sooner);
        assert_eq!(state(Some(expires + Duration::hours(1))).ends_at(), expires);
    }

    #[test]
    fn status_follows_revocation_expiry_and_rotation() {
        let later = now() + Duration::days(1);
        let earlier = now() - Duration::seconds(1);
        let at = |s: KeyState| KeyStatus::of(&s, now());
        assert_eq!(at(state(later)), KeyStatus::Active);
        assert_eq!(at(state(earlier)), KeyStatus::Expired);
        assert_eq!(at(state(now())), KeyStatus::Expired);
        let rotating = |until, expires| KeyState {
            rotating_until: Some(until),
            ..state(expires)
        };
        assert_eq!(at(rotating(later, later)), KeyStatus::Rotating);
        assert_eq!(at(rotating(earlier, later)), KeyStatus::Expired);
        // A key that expires during its overlap expires then.
        assert_eq!(at(rotating(later, earlier)), KeyStatus::Expired);
        assert_eq!(
            at(KeyState {
                revoked_at: Some(earlier),
                ..rotating(later, later)
            }),
            KeyStatus::Revoked
        );
        assert!(KeyStatus::Rotating.is_usable());
        assert!(!KeyStatus::Expired.is_usable());
        assert_eq!(KeyStatus::parse("revoked"), Some(KeyStatus::Revoked));
    }

    #[test]
    fn suspension_and_approval_stop_a_key_until_lifted() {
        let later = now() + Duration::days(1);
        let at = |s: KeyState| KeyStatus::of(&s, now());
        let suspended = |until| KeyState {
            suspended_at: Some(now() - Duration::hours(1)),
            suspended_until: until,
            ..state(later)
        };
        assert_eq!(at(suspended(None)), KeyStatus::Suspended);
        assert_eq!(at(suspended(Some(later))), KeyStatus::Suspended);
        // Past its end date, a suspension no longer counts.
        assert_eq!(at(suspended(Some(now()))), KeyStatus::Active);
        // Revocation and expiry outrank suspension.
        assert_eq!(
            at(KeyState {
                revoked_at: Some(now()),
                ..suspended(None)
            }),
            KeyStatus::Revoked
        );
        let approval = |approval| KeyState {
            approval,
            ..state(later)
        };
        assert_eq!(at(approval(Approval::Pending)), KeyStatus::PendingApproval);
        assert_eq!(at(approval(Approval::Approved)), KeyStatus::Active);
        assert_eq!(at(approval(Approval::Rejected)), KeyStatus::Rejected);
        assert!(KeyStatus::Rejected.is_final() && !KeyStatus::Suspended.is_final());
        assert!(Approval::try_from("bogus".to_owned()).is_err());
        for s in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn optional_reasons_may_be_empty_but_not_too_long() {
        assert_eq!(parse_optional_reason("  \u{200B} "), Ok(None));
        assert_eq!(
            parse_optional_reason(" moving to the new vault ")
                .unwrap()
                .as_deref(),
            Some("moving to the new vault")
        );
        assert!(parse_optional_reason(&"x".repeat(501)).is_err());
        assert!(parse_optional_reason("bad\u{7}bell").is_err());
    }

    #[test]
    fn suspension_ends_and_reasons_are_checked() {
        assert_eq!(parse_suspension_end("", now()), Ok(None));
        assert_eq!(
            parse_suspension_end("2026-11-30", now()),
            Ok(Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()))
        );
        assert_eq!(
            parse_suspension_end("2026-11-27T18:30", now()),
            Ok(Some(Utc.with_ymd_and_hms(2026, 11, 27, 18, 30, 0).unwrap()))
        );
        assert!(parse_suspension_end("2026-11-27T08:00", now())
            .unwrap_err()
            .contains("future"));
        assert!(parse_suspension_end("tomorrow", now()).is_err());
        assert!(parse_suspension_end("2028-01-01", now())
            .unwrap_err()
            .contains("365 days"));
        assert!(parse_reason("  ", "suspending this key")
            .unwrap_err()
            .contains("Say why you are suspending this key"));
        assert_eq!(
            parse_reason(" leaked in CI logs ", "x").unwrap(),
            "leaked in CI logs"
        );
    }

    #[test]
    fn the_policy_caps_expiry_and_names_the_rule() {
        let policy = OrgPolicy {
            max_lifetime_days: 30,
            default_expiry_days: 14,
            ..OrgPolicy::default()
        };
        assert_eq!(
            parse_expiry("", None, now(), &policy).unwrap(),
            now() + Duration::days(14)
        );
        let refusal = parse_expiry("90", None, now(), &policy).unwrap_err();
        assert!(refusal.contains(policy_rules::MAX_LIFETIME), "{refusal}");
        assert!(refusal.contains("at most 30 days"), "{refusal}");
        assert!(parse_expiry("date", Some("2027-06-01"), now(), &policy)
            .unwrap_err()
            .contains(policy_rules::MAX_LIFETIME));
        assert!(parse_expiry("30", None, now(), &policy).is_ok());
    }
}
