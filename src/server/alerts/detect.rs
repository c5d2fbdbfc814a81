//! The detector: every minute, reads the usage events written since its
//! last run and turns what stands out into alerts, per key.
//!
//! One transaction per batch moves the cursor and writes the alerts, so
//! two instances never count an event twice (the second one's move of the
//! cursor fails and its work is rolled back). A new alert is notified once,
//! to the key's owner and its organisation's admins; later events only add
//! to it until someone resolves it.

use super::settings_in;
use crate::domain::audit::AuditAction;
use crate::{
    domain::format,
    domain::{
        alerts::{network_of, AlertKind, AlertSettings},
        keys::KeyStatus,
        verify::VerifyCode,
    },
    error::AppError,
    server::{
        db::{
            alerts::{self, DetectRow, NewAlert},
            api_keys::{self, KeyRow},
            audit::NewEvent,
            usage,
        },
        keys::{change::KeyChange, display_of, family, status_of, SYSTEM_ACTOR},
        notify::{self, Notice},
        state::AppState,
    },
};
use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

const CURSOR: &str = "alerts";
/// Events read per transaction.
const BATCH: i64 = 5000;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DetectReport {
    /// Usage events read.
    pub events: usize,
    /// Alerts opened.
    pub opened: usize,
    /// Keys suspended automatically.
    pub suspended: usize,
}

/// Reads every usage event written since the last run.
pub async fn run(state: &AppState) -> Result<DetectReport, AppError> {
    let mut report = DetectReport::default();
    loop {
        let batch = run_batch(state).await?;
        if batch.opened > 0 || batch.suspended > 0 {
            state.mailer.wake();
        }
        report.events += batch.events;
        report.opened += batch.opened;
        report.suspended += batch.suspended;
        if batch.events < BATCH as usize {
            return Ok(report);
        }
    }
}

/// What the batch found for one key.
#[derive(Default)]
struct KeyFindings {
    events: i64,
    last_at: Option<DateTime<Utc>>,
    scope_denied: BTreeMap<String, (i64, Option<String>)>,
    ip_denied: BTreeMap<String, (i64, String)>,
    wrong_secret: (i64, Option<String>),
    retired: (i64, Option<String>, String),
    networks: BTreeMap<String, (DateTime<Utc>, String)>,
}

async fn run_batch(state: &AppState) -> Result<DetectReport, AppError> {
    let now = state.clock.now();
    // Suspensions on spikes and retired-key use are key changes: the keys
    // they touch join the change as they are found.
    let mut tx = KeyChange::begin(state, std::iter::empty::<String>()).await?;
    let from = alerts::cursor(tx.conn(), CURSOR).await?;
    let events = alerts::events_after(tx.conn(), from.unwrap_or(0), BATCH).await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(DetectReport::default());
    };
    let mut report = DetectReport {
        events: events.len(),
        ..DetectReport::default()
    };
    let mut by_key: BTreeMap<i64, KeyFindings> = BTreeMap::new();
    // Wrong secrets carry only the public id presented: find its key once.
    let mut named: HashMap<&str, Option<i64>> = HashMap::new();
    for e in &events {
        let key_id = match (e.key_id, e.presented_key_id.as_deref()) {
            (Some(id), _) => id,
            (None, Some(presented)) if e.outcome == VerifyCode::Unknown => {
                let id = match named.get(presented) {
                    Some(id) => *id,
                    None => {
                        let id = api_keys::find_by_key_id(tx.conn(), presented)
                            .await?
                            .map(|r| r.id);
                        named.insert(presented, id);
                        id
                    }
                };
                let Some(id) = id else { continue };
                id
            }
            _ => continue,
        };
        collect(by_key.entry(key_id).or_default(), e);
    }
    let mut settings_cache: HashMap<i64, AlertSettings> = HashMap::new();
    for (key_id, found) in by_key {
        let Some(row) = api_keys::find(tx.conn(), key_id).await? else {
            continue;
        };
        let settings = match settings_cache.get(&row.org_id) {
            Some(s) => s.clone(),
            None => {
                let s = settings_in(&mut tx, row.org_id).await?;
                settings_cache.insert(row.org_id, s.clone());
                s
            }
        };
        let mut d = Detection {
            state,
            tx: &mut tx,
            row: &row,
            settings: &settings,
            now,
            report: &mut report,
        };
        d.findings(found).await?;
    }
    if !alerts::move_cursor(tx.conn(), CURSOR, from, last).await? {
        // Another instance read this batch first; its alerts stand.
        return Ok(DetectReport::default());
    }
    tx.commit().await?;
    Ok(report)
}

fn collect(f: &mut KeyFindings, e: &DetectRow) {
    let addr = e.client_addr.clone();
    f.last_at = Some(f.last_at.map_or(e.at, |t| t.max(e.at)));
    if e.outcome == VerifyCode::Unknown {
        // The key id exists but the secret was wrong: not the key's holder.
        f.wrong_secret.0 += 1;
        f.wrong_secret.1 = addr;
        return;
    }
    f.events += 1;
    match e.outcome {
        VerifyCode::ScopeDenied => {
            let entry = f
                .scope_denied
                .entry(e.scope.clone().unwrap_or_default())
                .or_default();
            entry.0 += 1;
            entry.1 = addr.clone();
        }
        VerifyCode::IpDenied => {
            if let Some(ip) = addr.as_deref().and_then(|a| a.parse().ok()) {
                let entry = f
                    .ip_denied
                    .entry(network_of(ip))
                    .or_insert((0, String::new()));
                entry.0 += 1;
                entry.1 = addr.clone().unwrap_or_default();
            }
        }
        code @ (VerifyCode::Expired | VerifyCode::Revoked) => {
            f.retired.0 += 1;
            f.retired.1 = addr.clone();
            f.retired.2 = code.as_str().to_owned();
        }
        _ => {}
    }
    // Networks count from accepted use: refusals have alerts of their own.
    let accepted = matches!(
        e.outcome,
        VerifyCode::Ok | VerifyCode::RateLimited | VerifyCode::QuotaExceeded
    );
    if let (true, Some(ip)) = (accepted, addr.as_deref().and_then(|a| a.parse().ok())) {
        f.networks
            .entry(network_of(ip))
            .or_insert((e.at, addr.unwrap_or_default()));
    }
}

struct Detection<'a, 's> {
    state: &'a AppState,
    tx: &'a mut KeyChange<'s>,
    row: &'a KeyRow,
    settings: &'a AlertSettings,
    now: DateTime<Utc>,
    report: &'a mut DetectReport,
}

impl Detection<'_, '_> {
    async fn findings(&mut self, found: KeyFindings) -> Result<(), AppError> {
        let at = found.last_at.unwrap_or(self.now);
        for (scope, (n, addr)) in &found.scope_denied {
            // A scope the key holds was refused to an access token that was
            // not granted it.
            let held = self.row.scopes.split_whitespace().any(|s| s == scope);
            self.raise(
                AlertKind::ScopeDenied,
                scope,
                *n,
                at,
                json!({"scope": scope, "last_address": addr, "held": held}),
            )
            .await?;
        }
        for (network, (n, addr)) in &found.ip_denied {
            self.raise(
                AlertKind::IpDenied,
                network,
                *n,
                at,
                json!({"network": network, "last_address": addr}),
            )
            .await?;
        }
        if found.retired.0 > 0 {
            let (n, addr, code) = &found.retired;
            self.raise(
                AlertKind::RetiredKeyUse,
                "",
                *n,
                at,
                json!({"answered": code, "last_address": addr}),
            )
            .await?;
        }
        if found.wrong_secret.0 > 0 {
            let recent = alerts::wrong_secrets_since(
                self.tx.conn(),
                &self.row.key_id,
                self.now - Duration::minutes(10),
            )
            .await?;
            if recent >= self.settings.wrong_secret_threshold {
                self.raise(
                    AlertKind::WrongSecret,
                    "",
                    found.wrong_secret.0,
                    at,
                    json!({"attempts_last_10_minutes": recent, "last_address": found.wrong_secret.1}),
                )
                .await?;
            }
        }
        self.networks(&found).await?;
        if found.events > 0 {
            self.spike(at).await?;
        }
        Ok(())
    }

    async fn networks(&mut self, found: &KeyFindings) -> Result<(), AppError> {
        if found.networks.is_empty() {
            return Ok(());
        }
        let known =
            alerts::networks_since(self.tx.conn(), self.row.id, self.now - Duration::days(30))
                .await?;
        for (network, (first, addr)) in &found.networks {
            // A key's first network is its baseline, not news.
            if !known.is_empty() && !known.contains(network) {
                self.raise(
                    AlertKind::NewNetwork,
                    network,
                    1,
                    *first,
                    json!({"network": network, "address": addr}),
                )
                .await?;
            }
            alerts::note_network(self.tx.conn(), self.row.id, network, *first).await?;
        }
        Ok(())
    }

    async fn spike(&mut self, at: DateTime<Utc>) -> Result<(), AppError> {
        let last5 = alerts::count_since(
            self.tx.conn(),
            self.row.id,
            self.now - Duration::minutes(5),
            None,
        )
        .await?;
        if last5 < self.settings.spike_floor {
            return Ok(());
        }
        // The 7-day baseline for this hour of the day, per 5 minutes.
        let since = self.now - Duration::days(7);
        let today = self.now - Duration::hours(1);
        let hour = self.now.hour();
        let total: i64 = usage::hourly_for_key(self.tx.conn(), self.row.id, since)
            .await?
            .iter()
            .filter(|h| h.hour.hour() == hour && h.hour < today)
            .map(|h| h.requests)
            .sum();
        let baseline = total as f64 / (7.0 * 12.0);
        if self.settings.is_spike(last5, baseline) {
            let opened = self
                .raise(
                    AlertKind::Spike,
                    "",
                    1,
                    at,
                    json!({"last_5_minutes": last5, "baseline_per_5_minutes": (baseline * 10.0).round() / 10.0, "factor": self.settings.spike_factor}),
                )
                .await?;
            if opened && self.settings.auto_suspend_on_spike {
                let reason = format!(
                    "Automatic: {last5} requests in 5 minutes against a usual {:.1} (organisation policy: suspend on spike)",
                    baseline
                );
                let row = self.row.clone();
                self.suspend(&row, &reason).await?;
            }
        }
        Ok(())
    }

    /// Adds to the live alert of this kind and fingerprint, or opens one
    /// (and tells people). Returns whether it opened one.
    async fn raise(
        &mut self,
        kind: AlertKind,
        fingerprint: &str,
        count: i64,
        at: DateTime<Utc>,
        evidence: Value,
    ) -> Result<bool, AppError> {
        if !raise_alert(
            self.state,
            self.tx,
            self.row,
            kind,
            fingerprint,
            count,
            at,
            &evidence,
        )
        .await?
        {
            return Ok(false);
        }
        self.report.opened += 1;
        let shown = display_of(self.state, self.row);
        if kind == AlertKind::RetiredKeyUse && self.settings.auto_suspend_on_retired_use {
            if let Some(successor) = self.row.successor_id {
                if let Some(next) = api_keys::find(self.tx.conn(), successor).await? {
                    if status_of(&next, self.now).is_usable() {
                        let reason = format!(
                            "Automatic: its predecessor {shown} was used after it was retired, so an old copy is in someone's hands (organisation policy)"
                        );
                        self.suspend(&next, &reason).await?;
                    }
                }
            }
        }
        Ok(true)
    }

    async fn suspend(&mut self, row: &KeyRow, reason: &str) -> Result<(), AppError> {
        if suspend_automatically(self.state, self.tx, row, reason, self.now).await? {
            self.report.suspended += 1;
        }
        Ok(())
    }
}

/// Adds `count` events at `at` to the live alert of `kind` and
/// `fingerprint` on the key `row`, or opens one and tells the key's owner
/// and its organisation's admins. Returns whether it opened one.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn raise_alert(
    state: &AppState,
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    kind: AlertKind,
    fingerprint: &str,
    count: i64,
    at: DateTime<Utc>,
    evidence: &Value,
) -> Result<bool, AppError> {
    let evidence_text = evidence.to_string();
    if let Some((id, _)) = alerts::find_live(tx.conn(), row.id, kind.as_str(), fingerprint).await? {
        alerts::add_to(tx.conn(), id, count, at, &evidence_text).await?;
        return Ok(false);
    }
    alerts::insert(
        tx.conn(),
        &NewAlert {
            org_id: row.org_id,
            key_id: row.id,
            kind: kind.as_str(),
            fingerprint,
            at,
            count,
            evidence: &evidence_text,
        },
    )
    .await?;
    let shown = display_of(state, row);
    let what = describe(kind, evidence);
    let notice = Notice {
        kind: "alert",
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("Alert on key {shown} ({}): {}", row.name, kind.label()),
        body: format!(
            "{what} First seen {}. Review it on the key's page and acknowledge or resolve it.",
            format::date_time(at)
        ),
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    notify::tell_about_key(state, tx, row.owner_id, None, &notice).await?;
    Ok(true)
}

/// Suspends the key `row` on Portico's own decision (a policy, a leak),
/// with `reason`, in the change `tx`: audited with the system as the actor,
/// the older keys in its overlap retired with it, its owner and admins
/// told. Returns `false`, changing nothing, when it was suspended already
/// or is no longer usable.
pub(crate) async fn suspend_automatically(
    state: &AppState,
    tx: &mut KeyChange<'_>,
    row: &KeyRow,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if status_of(row, now) == KeyStatus::Suspended {
        return Ok(false);
    }
    if !api_keys::suspend(tx.conn(), row.id, None, reason, None, now).await? {
        return Ok(false);
    }
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: None,
        actor_email: SYSTEM_ACTOR,
        action: AuditAction::Suspended,
        reason: Some(reason),
        details: Some(json!({"until": null, "automatic": true}).to_string()),
        client_addr: None,
        at: now,
    })
    .await?;
    let shown = display_of(state, row);
    family::retire_predecessors(tx, row, &shown, &family::Decider::system(), now).await?;
    let notice = Notice {
        kind: "suspended",
        org_id: row.org_id,
        key_row_id: Some(row.id),
        subject: format!("Key {shown} ({}) was suspended automatically", row.name),
        body: format!("Portico suspended the key {shown} ({}). Reason: {reason}. Reinstate it from its page once you have checked. Suspension is reversible; revocation is not.", row.name),
        link: format!("/keys/{}", row.key_id),
        dedupe_key: None,
    };
    notify::tell_about_key(state, tx, row.owner_id, None, &notice).await?;
    tx.touch(row.key_id.clone());
    Ok(true)
}

/// One sentence about an alert, from its evidence. A fact the evidence
/// lacks is said in words (an unknown address, an endpoint not in the
/// catalog), never as `null` or an empty name.
pub fn describe(kind: AlertKind, e: &Value) -> String {
    let fact = |k: &str| -> Option<String> {
        match &e[k] {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let or = |k: &str, missing: &str| fact(k).unwrap_or_else(|| missing.to_owned());
    let from = || match fact("last_address") {
        Some(addr) => format!("last from {addr}"),
        None => "from an unknown address".to_owned(),
    };
    match kind {
        AlertKind::Spike => format!(
            "{} requests in the last 5 minutes, against a usual {} for this hour.",
            or("last_5_minutes", "many"),
            or("baseline_per_5_minutes", "few")
        ),
        AlertKind::NewNetwork => match fact("address") {
            Some(addr) => format!(
                "First use from {} (address {addr}) in 30 days.",
                or("network", "a new network")
            ),
            None => format!("First use from {} in 30 days.", or("network", "a new network")),
        },
        AlertKind::ScopeDenied => match fact("scope") {
            Some(scope) if e["held"] == true => format!(
                "Requests for {scope} with access tokens that were not granted it ({}).",
                from()
            ),
            Some(scope) => format!("Requests for {scope}, a scope the key does not hold ({}).", from()),
            None => format!(
                "Requests for an endpoint not in the catalog, which no key may call ({}).",
                from()
            ),
        },
        AlertKind::IpDenied => match fact("last_address") {
            Some(addr) => format!(
                "Requests from {} (last {addr}), outside the key's IP allowlist.",
                or("network", "an unknown network")
            ),
            None => "Requests from outside the key's IP allowlist.".to_owned(),
        },
        AlertKind::WrongSecret => format!(
            "{} attempts in 10 minutes named this key id with a wrong secret ({}). Someone may be guessing.",
            or("attempts_last_10_minutes", "Several"),
            from()
        ),
        AlertKind::RetiredKeyUse => format!(
            "The key was used after it stopped working (answered {}; {}). Whoever holds it has an old copy.",
            fact("answered").map_or_else(|| "a refusal".to_owned(), |code| {
                crate::domain::verify::VerifyCode::parse(&code)
                    .map_or(code, |c| c.as_str().replace('_', " "))
            }),
            from()
        ),
        AlertKind::Leaked => format!(
            "The key's secret was found in public{} and reported by {}. It no longer protects anything: replace it.",
            fact("url").map(|u| format!(" at {u}")).unwrap_or_default(),
            or("reporter", "a secret scanner")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_sentences_never_say_null_or_leave_a_blank() {
        let empty = json!({"scope": "", "last_address": null, "network": null, "address": null,
                           "answered": null, "attempts_last_10_minutes": null,
                           "last_5_minutes": null, "baseline_per_5_minutes": null});
        for kind in AlertKind::ALL {
            for evidence in [&empty, &json!({})] {
                let text = describe(kind, evidence);
                assert!(!text.contains("null"), "{kind:?}: {text}");
                assert!(
                    !text.contains("for ,") && !text.contains("()") && !text.contains("  "),
                    "{kind:?}: {text}"
                );
            }
        }
        assert_eq!(
            describe(AlertKind::ScopeDenied, &json!({"scope": "", "last_address": null})),
            "Requests for an endpoint not in the catalog, which no key may call (from an unknown address)."
        );
        assert_eq!(
            describe(
                AlertKind::ScopeDenied,
                &json!({"scope": "payments:refund", "last_address": "203.0.113.7"})
            ),
            "Requests for payments:refund, a scope the key does not hold (last from 203.0.113.7)."
        );
        assert_eq!(
            describe(
                AlertKind::ScopeDenied,
                &json!({"scope": "customers:read", "last_address": "203.0.113.7", "held": true})
            ),
            "Requests for customers:read with access tokens that were not granted it (last from 203.0.113.7)."
        );
    }
}
