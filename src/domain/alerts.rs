//! Anomaly alerts: their kinds, states and thresholds, and the pure rules
//! the detector applies (client networks, volume spikes).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The last 5 minutes far above the key's usual volume for that hour.
    Spike,
    /// First use from a network not seen for this key in 30 days.
    NewNetwork,
    /// Requests for a scope the key does not hold.
    ScopeDenied,
    /// Requests from outside the key's IP allowlist.
    IpDenied,
    /// Repeated attempts naming this key id with a wrong secret.
    WrongSecret,
    /// Use of the key after it was revoked, expired or rotated out.
    RetiredKeyUse,
    /// The key's secret was found in public (reported by a secret scanner
    /// or by platform staff).
    Leaked,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 7] = [
        AlertKind::Spike,
        AlertKind::NewNetwork,
        AlertKind::ScopeDenied,
        AlertKind::IpDenied,
        AlertKind::WrongSecret,
        AlertKind::RetiredKeyUse,
        AlertKind::Leaked,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Spike => "spike",
            AlertKind::NewNetwork => "new_network",
            AlertKind::ScopeDenied => "scope_denied",
            AlertKind::IpDenied => "ip_denied",
            AlertKind::WrongSecret => "wrong_secret",
            AlertKind::RetiredKeyUse => "retired_key_use",
            AlertKind::Leaked => "leaked",
        }
    }

    /// Parses the stored form.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Spike => "Traffic spike",
            AlertKind::NewNetwork => "New client network",
            AlertKind::ScopeDenied => "Out-of-scope requests",
            AlertKind::IpDenied => "Requests from outside the allowlist",
            AlertKind::WrongSecret => "Wrong secret for this key id",
            AlertKind::RetiredKeyUse => "Use of a retired key",
            AlertKind::Leaked => "Secret found in public",
        }
    }
}

/// Where an alert stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// New: someone should look.
    Open,
    /// Someone is looking; new events still add to it.
    Acknowledged,
    /// Closed; a new event opens a new alert.
    Resolved,
}

impl AlertState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses the stored form.
    pub fn parse(input: &str) -> Option<Self> {
        [
            AlertState::Open,
            AlertState::Acknowledged,
            AlertState::Resolved,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            AlertState::Open => "Open",
            AlertState::Acknowledged => "Acknowledged",
            AlertState::Resolved => "Resolved",
        }
    }
}

/// An organisation's alert thresholds and automatic responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// A spike is the last 5 minutes above this many times the baseline.
    pub spike_factor: i64,
    /// ...and at least this many requests (so quiet keys page nobody).
    pub spike_floor: i64,
    /// Wrong-secret attempts within 10 minutes that make an alert.
    pub wrong_secret_threshold: i64,
    /// Suspend a key automatically when it spikes.
    pub auto_suspend_on_spike: bool,
    /// Suspend a retired key's live successor automatically when the
    /// retired key is used (someone holds an old copy).
    pub auto_suspend_on_retired_use: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            spike_factor: 5,
            spike_floor: 100,
            wrong_secret_threshold: 3,
            auto_suspend_on_spike: false,
            auto_suspend_on_retired_use: false,
        }
    }
}

impl AlertSettings {
    /// Checks settings an admin submits; each problem is named with its field.
    pub fn validate(
        spike_factor: &str,
        spike_floor: &str,
        wrong_secret_threshold: &str,
        auto_suspend_on_spike: bool,
        auto_suspend_on_retired_use: bool,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut number =
            |field: &'static str, text: &str, range: std::ops::RangeInclusive<i64>| match text
                .trim()
                .parse::<i64>()
            {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    errors.push((
                        field,
                        format!(
                            "Enter a whole number from {} to {}.",
                            range.start(),
                            range.end()
                        ),
                    ));
                    0
                }
            };
        let settings = Self {
            spike_factor: number("spike_factor", spike_factor, 2..=1000),
            spike_floor: number("spike_floor", spike_floor, 1..=10_000_000),
            wrong_secret_threshold: number(
                "wrong_secret_threshold",
                wrong_secret_threshold,
                1..=10_000,
            ),
            auto_suspend_on_spike,
            auto_suspend_on_retired_use,
        };
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }

    /// Whether `last_5_minutes` requests are a spike over a baseline of
    /// `baseline_per_5_minutes` (the key's 7-day average for this hour).
    pub fn is_spike(&self, last_5_minutes: i64, baseline_per_5_minutes: f64) -> bool {
        last_5_minutes >= self.spike_floor
            && (last_5_minutes as f64) > self.spike_factor as f64 * baseline_per_5_minutes
    }
}

/// The client network an address belongs to, for "new network" alerts: its
/// IPv4 /24 or IPv6 /48, written as a CIDR block.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return network_of(IpAddr::V4(v4));
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_ipv4_24s_and_ipv6_48s() {
        assert_eq!(network_of("203.0.113.7".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            network_of("203.0.113.250".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:abcd:12::1".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            network_of("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn a_spike_needs_the_factor_and_the_floor() {
        let s = AlertSettings::default();
        assert!(s.is_spike(600, 10.0));
        assert!(
            !s.is_spike(40, 0.0),
            "below the floor: quiet keys page nobody"
        );
        assert!(!s.is_spike(400, 100.0), "steady heavy traffic is normal");
        assert!(s.is_spike(100, 0.0), "a first burst on a silent key");
    }

    #[test]
    fn settings_are_validated_field_by_field() {
        let errors = AlertSettings::validate("1", "x", "3", false, false).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["spike_factor", "spike_floor"]);
        let ok = AlertSettings::validate("10", "50", "5", true, false).unwrap();
        assert_eq!(ok.spike_factor, 10);
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
    }
}
