//! Usage dashboards: ranges, buckets and counts.

use crate::{
    domain::{key_format::Environment, verify::VerifyCode},
    model::keys::KeySummary,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The period a dashboard covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UsageRange {
    /// The last 24 hours, by hour.
    Day,
    /// The last 7 days, by 6 hours.
    Week,
    /// The last 30 days, by day.
    Month,
}

impl UsageRange {
    /// Every range, shortest first.
    pub const ALL: [UsageRange; 3] = [UsageRange::Day, UsageRange::Week, UsageRange::Month];

    /// The query form: `24h`, `7d`, `30d`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageRange::Day => "24h",
            UsageRange::Week => "7d",
            UsageRange::Month => "30d",
        }
    }

    /// Parses the query form; anything else is the last 24 hours.
    pub fn parse(input: Option<&str>) -> Self {
        match input {
            Some("7d") => UsageRange::Week,
            Some("30d") => UsageRange::Month,
            _ => UsageRange::Day,
        }
    }

    /// Words for headings.
    pub fn label(self) -> &'static str {
        match self {
            UsageRange::Day => "last 24 hours",
            UsageRange::Week => "last 7 days",
            UsageRange::Month => "last 30 days",
        }
    }

    /// The width of one bar of the chart.
    pub fn bucket(self) -> Duration {
        match self {
            UsageRange::Day => Duration::hours(1),
            UsageRange::Week => Duration::hours(6),
            UsageRange::Month => Duration::days(1),
        }
    }

    /// How many bars.
    pub fn buckets(self) -> i64 {
        match self {
            UsageRange::Day => 24,
            UsageRange::Week => 28,
            UsageRange::Month => 30,
        }
    }
}

/// One bar of a chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageBucket {
    /// Start of the bar's period (UTC); the bar covers [`UsageRange::bucket`] from here.
    pub start: DateTime<Utc>,
    /// Requests allowed.
    pub ok: i64,
    /// Requests refused.
    pub denied: i64,
}

/// A label and how many requests it had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// What was counted.
    pub label: String,
    /// How many.
    pub requests: i64,
}

/// Narrows a key's usage page to one client address, one endpoint, or
/// both: who calls what.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UsageFilter {
    /// A client address in canonical form (`203.0.113.7`).
    pub client_addr: Option<String>,
    /// An endpoint as the page labels it: the catalog's pattern
    /// (`GET /v1/records/{id}`), or the method and path of a request the
    /// catalog does not cover.
    pub endpoint: Option<String>,
}

impl UsageFilter {
    /// Whether the filter lets every request through.
    pub fn is_empty(&self) -> bool {
        self.client_addr.is_none() && self.endpoint.is_none()
    }

    /// The usage page's address for `key_id` over `range` with this filter.
    pub fn href(&self, key_id: &str, range: UsageRange) -> String {
        use crate::domain::next_path::encode_component;
        let mut href = format!("/keys/{key_id}/usage?range={}", range.as_str());
        if let Some(addr) = &self.client_addr {
            href.push_str("&addr=");
            href.push_str(&encode_component(addr));
        }
        if let Some(endpoint) = &self.endpoint {
            href.push_str("&endpoint=");
            href.push_str(&encode_component(endpoint));
        }
        href
    }

    /// This filter with the client address `addr`.
    pub fn with_addr(&self, addr: &str) -> Self {
        Self {
            client_addr: Some(addr.to_owned()),
            ..self.clone()
        }
    }

    /// This filter with the endpoint `endpoint`.
    pub fn with_endpoint(&self, endpoint: &str) -> Self {
        Self {
            endpoint: Some(endpoint.to_owned()),
            ..self.clone()
        }
    }
}

/// One verification of a key, as the usage page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRequest {
    /// When it was decided (UTC).
    pub at: DateTime<Utc>,
    /// The client's address, if the caller sent one.
    pub client_addr: Option<String>,
    /// The endpoint, labelled as in the by-endpoint table; `None` when the
    /// caller named a scope only.
    pub endpoint: Option<String>,
    /// The answer.
    pub outcome: VerifyCode,
    /// The scope checked.
    pub scope: Option<String>,
}

/// One key's usage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsage {
    /// The key the dashboard is about, as lists show it.
    pub key: KeySummary,
    /// The period.
    pub range: UsageRange,
    /// Requests over time.
    pub buckets: Vec<UsageBucket>,
    /// All requests in the period.
    pub total: i64,
    /// Refused requests in the period.
    pub denied: i64,
    /// By answer.
    pub by_outcome: Vec<Count>,
    /// Requests per scope checked, busiest first (at most 50); requests checked
    /// without a scope are left out.
    pub by_scope: Vec<Count>,
    /// By endpoint (`GET /v1/records/{id}`).
    pub by_endpoint: Vec<Count>,
    /// The busiest client addresses.
    pub top_addresses: Vec<Count>,
    /// Where the last use came from.
    pub last_used_addr: Option<String>,
    /// Days raw events are kept (endpoints and addresses come from them).
    pub raw_retention_days: i64,
    /// What the page is narrowed to. When it is not empty, every count
    /// comes from the raw events that match it and `buckets` is empty.
    pub filter: UsageFilter,
    /// The most recent requests that match the filter, newest first (at
    /// most [`RECENT_REQUESTS`]).
    pub recent: Vec<RecentRequest>,
}

/// How many recent requests a key's usage page lists.
pub const RECENT_REQUESTS: usize = 50;

/// One key's line in the organisation's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgKeyUsage {
    /// Public key id.
    pub key_id: String,
    /// Recognisable start of the key.
    pub display_id: String,
    /// The key's name (`api_keys.name`).
    pub name: String,
    /// Sandbox or production; a caller serving the other side gets `env_mismatch`.
    pub environment: Environment,
    /// Requests in the period.
    pub requests: i64,
    /// Refused requests in the period.
    pub denied: i64,
    /// Last verified.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A refused verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedRequest {
    /// When the refused verification happened (UTC).
    pub at: DateTime<Utc>,
    /// The key's public id and display id, if it exists.
    pub key: Option<(String, String)>,
    /// The key's name; `None` when no key was identified by id and secret.
    pub key_name: Option<String>,
    /// Why it was refused.
    pub outcome: VerifyCode,
    /// The scope checked.
    pub scope: Option<String>,
    /// `METHOD /path`.
    pub endpoint: Option<String>,
    /// From where.
    pub client_addr: Option<String>,
}

/// An organisation's usage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUsage {
    /// The period.
    pub range: UsageRange,
    /// Requests over time.
    pub buckets: Vec<UsageBucket>,
    /// All requests.
    pub total: i64,
    /// Refused requests.
    pub denied: i64,
    /// By answer.
    pub by_outcome: Vec<Count>,
    /// Per key, busiest first.
    pub per_key: Vec<OrgKeyUsage>,
    /// The most recent refusals.
    pub recent_denied: Vec<DeniedRequest>,
}
