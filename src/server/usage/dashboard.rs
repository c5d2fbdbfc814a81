//! The numbers behind the usage pages.

use crate::{
    domain::{key_format::display_id, key_format::Environment, verify::VerifyCode},
    error::AppError,
    model::usage::{
        Count, DeniedRequest, KeyUsage, OrgKeyUsage, OrgUsage, RecentRequest, UsageBucket,
        UsageFilter, UsageRange, RECENT_REQUESTS,
    },
    server::{
        authz::{authorize_org, Actor, KeyAction, OrgAction},
        db::{api_keys, usage},
        keys::{load_for, summary},
        state::AppState,
    },
};
use chrono::{DateTime, DurationRound, Utc};
use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
};

/// The start of the first bar, so that the last bar holds `now`.
fn first_bucket(range: UsageRange, now: DateTime<Utc>) -> DateTime<Utc> {
    let current = now.duration_trunc(range.bucket()).unwrap_or(now);
    current - range.bucket() * (range.buckets() as i32 - 1)
}

/// Sorts counts, busiest first, and keeps the top `limit`.
fn top(counts: HashMap<String, i64>, limit: usize) -> Vec<Count> {
    let mut list: Vec<Count> = counts
        .into_iter()
        .map(|(label, requests)| Count { label, requests })
        .collect();
    list.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.label.cmp(&b.label))
    });
    list.truncate(limit);
    list
}

/// Folds hourly counts into chart bars and totals.
struct Tally {
    buckets: Vec<UsageBucket>,
    total: i64,
    denied: i64,
    by_outcome: HashMap<String, i64>,
    by_scope: HashMap<String, i64>,
}

impl Tally {
    fn new(range: UsageRange, now: DateTime<Utc>) -> (Self, DateTime<Utc>) {
        let start = first_bucket(range, now);
        let buckets = (0..range.buckets())
            .map(|i| UsageBucket {
                start: start + range.bucket() * i as i32,
                ok: 0,
                denied: 0,
            })
            .collect();
        (
            Self {
                buckets,
                total: 0,
                denied: 0,
                by_outcome: HashMap::new(),
                by_scope: HashMap::new(),
            },
            start,
        )
    }

    fn add(&mut self, range: UsageRange, start: DateTime<Utc>, row: &usage::HourlyRow) {
        let index = (row.hour - start).num_seconds() / range.bucket().num_seconds();
        let Some(bucket) = usize::try_from(index)
            .ok()
            .and_then(|i| self.buckets.get_mut(i))
        else {
            return;
        };
        if row.outcome == VerifyCode::Ok {
            bucket.ok += row.requests;
        } else {
            bucket.denied += row.requests;
        }
        self.count(row.outcome, &row.scope, row.requests);
    }

    /// Counts `requests` answered `outcome` for `scope` ("" for none) in the
    /// totals, without a bar.
    fn count(&mut self, outcome: VerifyCode, scope: &str, requests: i64) {
        if outcome != VerifyCode::Ok {
            self.denied += requests;
        }
        self.total += requests;
        *self
            .by_outcome
            .entry(outcome.as_str().to_owned())
            .or_default() += requests;
        // A request that needed two scopes counts for each.
        for scope in scope.split_whitespace() {
            *self.by_scope.entry(scope.to_owned()).or_default() += requests;
        }
    }
}

/// Events read per page when looking for recent requests to one endpoint.
const RECENT_SCAN_PAGE: usize = 2_000;
/// Most events read looking for them.
const RECENT_SCAN_LIMIT: usize = 200_000;

/// Longest endpoint label a filter may name, in bytes: a method, a stored
/// path (512 characters of up to 4 bytes) and the "not in the catalog" note.
const MAX_ENDPOINT_FILTER: usize = 2200;

/// The filter as asked, checked: a canonical client address, an endpoint
/// label of sensible length. Blank parts mean "any".
fn checked_filter(filter: UsageFilter) -> Result<UsageFilter, AppError> {
    let client_addr = match filter.client_addr.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip.to_canonical().to_string()),
            Err(_) => {
                return Err(AppError::field(
                    "addr",
                    format!("{text} is not an IP address. Pick an address from the table of client addresses."),
                ))
            }
        },
    };
    let endpoint = match filter.endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) if text.len() > MAX_ENDPOINT_FILTER => {
            return Err(AppError::field(
                "endpoint",
                "That endpoint is too long. Pick one from the table of endpoints.",
            ))
        }
        Some(text) => Some(text.to_owned()),
    };
    Ok(UsageFilter {
        client_addr,
        endpoint,
    })
}

/// How the usage page names the endpoint of a request: the catalog's
/// pattern, or its method and path when the catalog does not cover it;
/// `None` when the caller named a scope only.
fn endpoint_label(state: &AppState, method: Option<&str>, path: Option<&str>) -> Option<String> {
    let (method, path) = (method?, path?);
    Some(
        state
            .catalog
            .endpoint_for_raw(method, path)
            .map(|e| e.pattern.to_owned())
            .unwrap_or_else(|| format!("{method} {path} (not in the catalog)")),
    )
}

/// One key's usage, for whoever may see the key, narrowed by `filter`.
///
/// Unfiltered, the chart and totals come from the hourly counts. Filtered,
/// everything comes from the raw events that match (kept
/// `PORTICO_USAGE_RETENTION_DAYS`) and there is no chart. Errors: the key's
/// usual not-found, or a field error for a malformed filter.
pub async fn key_usage(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    range: UsageRange,
    filter: UsageFilter,
) -> Result<KeyUsage, AppError> {
    let filter = checked_filter(filter)?;
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    let now = state.clock.now();
    let (mut tally, start) = Tally::new(range, now);
    let mut conn = state.db.acquire().await?;
    let addr = filter.client_addr.as_deref();
    let wanted = |label: &Option<String>| {
        filter
            .endpoint
            .as_ref()
            .is_none_or(|e| label.as_ref() == Some(e))
    };
    let mut endpoints: HashMap<String, i64> = HashMap::new();
    let mut addresses: HashMap<String, i64> = HashMap::new();
    let mut filtered = Tally {
        buckets: Vec::new(),
        ..Tally::new(range, now).0
    };
    for group in usage::groups_for_key(conn.conn(), row.id, start, addr).await? {
        let label = endpoint_label(state, group.method.as_deref(), group.path.as_deref());
        if !wanted(&label) {
            continue;
        }
        let endpoint = label.unwrap_or_else(|| "(scope checked directly)".to_owned());
        *endpoints.entry(endpoint).or_default() += group.requests;
        let address = group
            .client_addr
            .clone()
            .unwrap_or_else(|| "(not given)".to_owned());
        *addresses.entry(address).or_default() += group.requests;
        filtered.count(
            group.outcome,
            group.scope.as_deref().unwrap_or(""),
            group.requests,
        );
    }
    if filter.is_empty() {
        for hourly in usage::hourly_for_key(conn.conn(), row.id, start).await? {
            tally.add(range, start, &hourly);
        }
    } else {
        tally = filtered;
    }
    // The address is filtered in SQL; the endpoint (a catalog pattern) here,
    // paging back until enough match, all that match are found, or the
    // scan limit is reached.
    let matching = usize::try_from(tally.total).unwrap_or(usize::MAX);
    let page = if filter.endpoint.is_some() {
        RECENT_SCAN_PAGE
    } else {
        RECENT_REQUESTS
    };
    let mut recent = Vec::new();
    let (mut before, mut scanned) = (None, 0);
    loop {
        let rows =
            usage::recent_for_key(conn.conn(), row.id, start, addr, before, page as i64).await?;
        let fetched = rows.len();
        scanned += fetched;
        for e in rows {
            before = Some((e.at, e.id));
            let request = RecentRequest {
                endpoint: endpoint_label(state, e.method.as_deref(), e.path.as_deref()),
                at: e.at,
                client_addr: e.client_addr,
                outcome: e.outcome,
                scope: e.scope,
            };
            if wanted(&request.endpoint) && recent.len() < RECENT_REQUESTS {
                recent.push(request);
            }
        }
        if filter.endpoint.is_none()
            || recent.len() >= RECENT_REQUESTS.min(matching)
            || fetched < page
            || scanned >= RECENT_SCAN_LIMIT
        {
            break;
        }
    }
    Ok(KeyUsage {
        key: summary(state, &row, now)?,
        range,
        total: tally.total,
        denied: tally.denied,
        by_outcome: top(tally.by_outcome, 20),
        by_scope: top(tally.by_scope, 50),
        by_endpoint: top(endpoints, 20),
        top_addresses: top(addresses, 10),
        buckets: tally.buckets,
        last_used_addr: row.last_used_addr.clone(),
        raw_retention_days: state.config.usage_retention_days,
        filter,
        recent,
    })
}

/// An organisation's usage, for its admins.
pub async fn org_usage(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    range: UsageRange,
) -> Result<OrgUsage, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewUsage)?;
    let now = state.clock.now();
    let (mut tally, start) = Tally::new(range, now);
    let mut conn = state.db.acquire().await?;
    let mut per_key: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for hourly in usage::hourly_for_org(conn.conn(), org_id, start).await? {
        tally.add(range, start, &hourly);
        if hourly.hour >= start {
            let entry = per_key.entry(hourly.key_id).or_default();
            entry.0 += hourly.requests;
            if hourly.outcome != VerifyCode::Ok {
                entry.1 += hourly.requests;
            }
        }
    }
    let prefix = state.config.key_prefix.as_str();
    let keys = api_keys::list_for_org(conn.conn(), org_id, None).await?;
    let mut rows: Vec<OrgKeyUsage> = keys
        .iter()
        .map(|k| {
            let environment = k.environment;
            let (requests, denied) = per_key.get(&k.id).copied().unwrap_or_default();
            OrgKeyUsage {
                display_id: display_id(prefix, environment, &k.key_id),
                key_id: k.key_id.clone(),
                name: k.name.clone(),
                environment,
                requests,
                denied,
                last_used_at: k.last_used_at,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| b.last_used_at.cmp(&a.last_used_at))
    });
    let recent_denied = usage::recent_denied_for_org(conn.conn(), org_id, start, 50)
        .await?
        .into_iter()
        .map(|e| {
            let env = e
                .key_environment
                .as_deref()
                .and_then(|v| Environment::parse(v).ok())
                .unwrap_or(Environment::Sandbox);
            DeniedRequest {
                at: e.at,
                key: e
                    .key_public_id
                    .as_ref()
                    .map(|id| (id.clone(), display_id(prefix, env, id))),
                key_name: e.key_name,
                outcome: e.outcome,
                scope: e.scope,
                endpoint: match (e.method, e.path) {
                    (Some(m), Some(p)) => Some(format!("{m} {p}")),
                    _ => None,
                },
                client_addr: e.client_addr,
            }
        })
        .collect();
    Ok(OrgUsage {
        range,
        total: tally.total,
        denied: tally.denied,
        by_outcome: top(tally.by_outcome, 20),
        per_key: rows,
        recent_denied,
        buckets: tally.buckets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_last_bar_holds_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 15, 40, 0).unwrap();
        assert_eq!(
            first_bucket(UsageRange::Day, now),
            Utc.with_ymd_and_hms(2026, 11, 26, 16, 0, 0).unwrap()
        );
        assert_eq!(
            first_bucket(UsageRange::Week, now),
            Utc.with_ymd_and_hms(2026, 11, 20, 18, 0, 0).unwrap()
        );
        assert_eq!(
            first_bucket(UsageRange::Month, now),
            Utc.with_ymd_and_hms(2026, 10, 29, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn hourly_counts_fall_into_their_bars() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 15, 40, 0).unwrap();
        let (mut tally, start) = Tally::new(UsageRange::Week, now);
        let row = |hour: DateTime<Utc>, outcome: &str, n| usage::HourlyRow {
            key_id: 1,
            hour,
            scope: "records:read".into(),
            outcome: VerifyCode::parse(outcome).unwrap(),
            requests: n,
        };
        tally.add(
            UsageRange::Week,
            start,
            &row(
                Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).unwrap(),
                "ok",
                5,
            ),
        );
        tally.add(
            UsageRange::Week,
            start,
            &row(
                Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap(),
                "scope_denied",
                2,
            ),
        );
        tally.add(
            UsageRange::Week,
            start,
            &row(
                Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
                "ok",
                99,
            ),
        );
        assert_eq!(tally.total, 7);
        assert_eq!(tally.denied, 2);
        let last = tally.buckets.last().unwrap();
        assert_eq!((last.ok, last.denied), (5, 2));
        assert_eq!(tally.by_scope["records:read"], 7);
    }
}
