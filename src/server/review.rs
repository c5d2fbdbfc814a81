//! The key hygiene review: the recurring check of an organisation's keys,
//! made routine. Admins read it in the portal (`/review`); operators run
//! `portico review --org SLUG`. Each finding names the key, the reason and
//! the action that fixes it.

use super::{
    authz::{authorize_org, Actor, OrgAction},
    db::{api_keys, organisations, usage},
    keys::{display_of, status_of},
    state::AppState,
};
use crate::{
    domain::{format, key_format::Environment, keys::KeyStatus},
    error::AppError,
    model::review::{Finding, FindingKind, Review},
};
use chrono::Duration;
use std::collections::BTreeSet;

/// Days without use (of a key, or of a scope) that make a finding.
pub const UNUSED_DAYS: i64 = 30;
/// Days before expiry that make a finding.
pub const EXPIRING_DAYS: i64 = 14;

/// The review of an organisation, for its admins.
pub async fn for_org(state: &AppState, actor: &Actor, org_id: i64) -> Result<Review, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewAudit)?;
    build(state, org_id).await
}

/// The review of the organisation with this slug (for the command line).
pub async fn for_slug(state: &AppState, slug: &str) -> Result<Review, AppError> {
    let org = {
        let mut conn = state.db.acquire().await?;
        organisations::find_by_slug(conn.conn(), slug).await?
    }
    .ok_or_else(|| AppError::NotFound(format!("No organisation with the slug {slug:?}.")))?;
    build(state, org.id).await
}

async fn build(state: &AppState, org_id: i64) -> Result<Review, AppError> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let policy = super::policy::load(conn.conn(), org_id).await?;
    let rows = api_keys::list_for_org(conn.conn(), org_id, None).await?;
    let mut findings = Vec::new();
    let mut checked = 0;
    for row in &rows {
        let status = status_of(row, now);
        let scopes: Vec<String> = row.scopes.split_whitespace().map(str::to_owned).collect();
        let high: Vec<String> = state
            .catalog
            .high_risk(&scopes)
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let env = Environment::parse(&row.environment).unwrap_or(Environment::Production);
        let mut add = |kind: FindingKind, reason: String| {
            findings.push(Finding {
                kind,
                key_id: row.key_id.clone(),
                display_id: String::new(),
                key_name: row.name.clone(),
                owner: row.owner_email.clone(),
                reason,
            })
        };
        // Traffic on keys that no longer work.
        if status.is_final() || status == KeyStatus::Rotating {
            let refused = usage::hourly_for_key(conn.conn(), row.id, now - Duration::days(7))
                .await?
                .iter()
                .filter(|h| h.outcome == "expired" || h.outcome == "revoked")
                .map(|h| h.requests)
                .sum::<i64>();
            if refused > 0 {
                add(
                    FindingKind::RetiredKeyTraffic,
                    format!(
                        "{refused} request{} in the last 7 days after it stopped working: something still uses it",
                        if refused == 1 { "" } else { "s" }
                    ),
                );
            }
            continue;
        }
        checked += 1;
        if !row.owner_is_member {
            add(
                FindingKind::NoOwner,
                format!("Its owner {} left the organisation", row.owner_email),
            );
        }
        let age = (now - row.created_at).num_days();
        let interval = if high.is_empty() {
            policy.rotate_low_risk_days
        } else {
            policy.rotate_high_risk_days
        };
        if age > interval {
            add(
                FindingKind::NotRotated,
                format!(
                    "Not rotated for {age} days; keys {} are rotated every {interval} days",
                    if high.is_empty() {
                        "without high-risk scopes"
                    } else {
                        "with high-risk scopes"
                    }
                ),
            );
        }
        let idle_since = row.last_used_at.unwrap_or(row.created_at);
        let idle = (now - idle_since).num_days();
        if idle >= UNUSED_DAYS {
            add(
                FindingKind::Unused,
                match row.last_used_at {
                    Some(_) => format!("Unused for {idle} days"),
                    None => format!("Never used in the {idle} days since it was made"),
                },
            );
        }
        let left = row.expires_at - now;
        if left <= Duration::days(EXPIRING_DAYS) {
            add(
                FindingKind::ExpiringSoon,
                format!("Expires {}", format::in_days(left.num_days())),
            );
        }
        if env == Environment::Production && !high.is_empty() {
            add(
                FindingKind::ProductionHighRisk,
                format!(
                    "Production key holding high-risk scopes: {}",
                    high.join(", ")
                ),
            );
        }
        if row.last_used_at.is_some() && age >= UNUSED_DAYS && idle < UNUSED_DAYS {
            let used: BTreeSet<String> =
                usage::hourly_for_key(conn.conn(), row.id, now - Duration::days(UNUSED_DAYS))
                    .await?
                    .into_iter()
                    .filter(|h| h.outcome == "ok" && !h.scope.is_empty())
                    .map(|h| h.scope)
                    .collect();
            let unused: Vec<&String> = scopes.iter().filter(|s| !used.contains(*s)).collect();
            if !unused.is_empty() && unused.len() < scopes.len() {
                add(
                    FindingKind::UnusedScopes,
                    format!(
                        "Scopes unused for {UNUSED_DAYS} days: {}",
                        unused
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    for f in &mut findings {
        if let Some(row) = rows.iter().find(|r| r.key_id == f.key_id) {
            f.display_id = display_of(state, row)?;
        }
    }
    Ok(Review {
        generated_at: now,
        keys_checked: checked,
        findings,
    })
}

/// The review as a plain-text table, for the command line.
pub fn table(review: &Review) -> String {
    let mut out = format!(
        "{} finding(s) across {} working key(s), {}\n",
        review.findings.len(),
        review.keys_checked,
        review.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    if review.findings.is_empty() {
        out.push_str("Nothing to fix.\n");
        return out;
    }
    let width = review
        .findings
        .iter()
        .map(|f| f.display_id.len())
        .max()
        .unwrap_or(10)
        .max(6);
    out.push_str(&format!(
        "{:<22} {:<width$} {:<24} {}\n",
        "FINDING", "KEY", "OWNER", "REASON"
    ));
    for f in &review.findings {
        out.push_str(&format!(
            "{:<22} {:<width$} {:<24} {} ({})\n",
            f.kind.as_str(),
            f.display_id,
            f.owner,
            f.reason,
            f.key_name
        ));
    }
    out
}
