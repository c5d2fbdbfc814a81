//! The key hygiene review: the recurring check of an organisation's keys,
//! made routine. Admins read it in the portal (`/review`); operators run
//! `portico review --org SLUG`. Each finding names the key, the reason and
//! the action that fixes it.

use super::{
    audit::record_event,
    authz::{authorize_org, Actor, KeyAction, OrgAction},
    db::{api_keys, audit::NewEvent, organisations, review_acceptances, usage},
    keys::{display_of, load_for, status_of},
    state::AppState,
    usage::clients,
};
use crate::domain::verify::VerifyCode;
use crate::{
    domain::{
        audit::AuditAction,
        format,
        key_format::Environment,
        keys::{parse_optional_reason, KeyStatus},
    },
    error::AppError,
    model::review::{Acceptance, ClientProposal, Finding, FindingKind, NarrowPreview, Review},
};
use chrono::Duration;
use serde_json::json;
use std::net::IpAddr;

/// Days without use (of a key, or of a scope) that make a finding.
pub const UNUSED_DAYS: i64 = 30;
/// Days before expiry that make a finding.
pub const EXPIRING_DAYS: i64 = 14;

/// What an occurrence of a finding is about, for acceptances to hold to.
fn subject_of(kind: FindingKind, row: &api_keys::KeyRow) -> String {
    match kind {
        FindingKind::NoOwner => row.owner_email.clone(),
        FindingKind::NotRotated => row.created_at.to_rfc3339(),
        FindingKind::Unused => row
            .last_used_at
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
        FindingKind::ExpiringSoon => row.standing.expires_at.to_rfc3339(),
        FindingKind::ProductionHighRisk | FindingKind::UnusedScopes => row.scopes.clone(),
        FindingKind::RetiredKeyTraffic | FindingKind::SharedByClients => String::new(),
    }
}

/// Most clients a shared-key finding lists, busiest first.
pub const MAX_CLIENTS_LISTED: usize = 20;

/// The review of an organisation, for its admins.
pub async fn for_org(state: &AppState, actor: &Actor, org_id: i64) -> Result<Review, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewReview)?;
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
    let accepted = review_acceptances::for_org(conn.conn(), org_id).await?;
    let mut findings = Vec::new();
    let mut previews: Vec<(String, NarrowPreview)> = Vec::new();
    let mut shared: Vec<(String, Vec<ClientProposal>)> = Vec::new();
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
        let env = row.environment;
        let mut add = |kind: FindingKind, reason: String| {
            findings.push(Finding {
                kind,
                key_id: row.key_id.clone(),
                display_id: String::new(),
                key_name: row.name.clone(),
                owner: row.owner_email.clone(),
                reason,
                narrow: None,
                clients: Vec::new(),
                unlisted_clients: 0,
                accepted: None,
                subject: subject_of(kind, row),
            })
        };
        // Traffic on keys that no longer work.
        if status.is_final() || status == KeyStatus::Rotating {
            let refused = usage::hourly_for_key(conn.conn(), row.id, now - Duration::days(7))
                .await?
                .iter()
                .filter(|h| matches!(h.outcome, VerifyCode::Expired | VerifyCode::Revoked))
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
        let left = row.standing.expires_at - now;
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
            let used =
                usage::scopes_used_since(conn.conn(), row.id, now - Duration::days(UNUSED_DAYS))
                    .await?;
            let preview = NarrowPreview::split(&scopes, &used);
            if preview.narrows() {
                add(
                    FindingKind::UnusedScopes,
                    format!(
                        "Scopes unused for {UNUSED_DAYS} days: {}",
                        preview.remove.join(", ")
                    ),
                );
                previews.push((row.key_id.clone(), preview));
            }
        }
        let mut clients = clients::clients_of(
            conn.conn(),
            row.id,
            &scopes,
            now - Duration::days(clients::WINDOW_DAYS),
            None,
        )
        .await?;
        let mut proposed: Vec<&str> = clients
            .iter()
            .filter(|c| c.proposed())
            .map(|c| c.client_addr.as_str())
            .collect();
        if proposed.len() >= 2 {
            add(
                FindingKind::SharedByClients,
                format!(
                    "Used from {} client addresses in the last {} days: one key shared by several systems cannot be revoked for one of them, and holds every scope any of them needs",
                    proposed.len(),
                    clients::WINDOW_DAYS
                ),
            );
            // The same clients, in any order of business, are the same
            // finding; a new one makes it a new finding.
            proposed.sort_unstable();
            let subject = proposed.join(" ");
            if let Some(f) = findings.last_mut() {
                f.subject = subject;
                f.unlisted_clients = clients.len().saturating_sub(MAX_CLIENTS_LISTED);
            }
            clients.truncate(MAX_CLIENTS_LISTED);
            shared.push((row.key_id.clone(), clients));
        }
    }
    for f in &mut findings {
        if let Some(row) = rows.iter().find(|r| r.key_id == f.key_id) {
            f.display_id = display_of(state, row);
        }
        if f.kind == FindingKind::SharedByClients {
            f.clients = shared
                .iter()
                .find(|(key_id, _)| *key_id == f.key_id)
                .map(|(_, clients)| clients.clone())
                .unwrap_or_default();
        }
        if f.kind == FindingKind::UnusedScopes {
            f.narrow = previews
                .iter()
                .find(|(key_id, _)| *key_id == f.key_id)
                .map(|(_, preview)| preview.clone());
        }
        f.accepted = accepted
            .iter()
            .find(|a| {
                a.key_public_id == f.key_id && a.kind == f.kind.as_str() && a.subject == f.subject
            })
            .map(|a| Acceptance {
                note: a.note.clone(),
                by: a.accepted_by_email.clone(),
                at: a.accepted_at,
            });
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
        for c in &f.clients {
            out.push_str(&format!(
                "{:<22} {:<width$}   {}: {} accepted, {} refused; {}\n",
                "",
                "",
                c.client_addr,
                c.accepted,
                c.refused,
                if !c.proposed() && c.accepted == 0 {
                    "only refused: no key proposed".to_owned()
                } else if !c.proposed() {
                    format!(
                        "it used only scopes the key no longer holds ({}): no key proposed",
                        c.no_longer_held.join(" ")
                    )
                } else if c.scopes.is_empty() {
                    "a key of its own (its requests named no scope)".to_owned()
                } else {
                    format!("a key of its own with {}", c.scopes.join(" "))
                }
            ));
        }
    }
    out
}

/// Accepts a finding the review makes now about a key, with a note saying
/// why it is acceptable (an organisation's admins). The review lists it
/// apart until it is reopened; audited. Errors: a field error for an
/// unknown kind or a missing or long note, not found for a key the actor
/// may not see, forbidden for a developer, a conflict when the review does
/// not make that finding.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    kind: &str,
    note: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let kind = FindingKind::parse(kind)
        .ok_or_else(|| AppError::field("kind", "Choose one of the review's findings."))?;
    let note = match parse_optional_reason(note) {
        Ok(Some(note)) if note.chars().count() >= 3 => note,
        Ok(_) => {
            return Err(AppError::field(
                "note",
                "Say why this is acceptable, in 3 to 500 characters, e.g. “High-risk scopes approved by security for the nightly export”.",
            ))
        }
        Err(message) => return Err(AppError::field("note", message)),
    };
    let note = note.as_str();
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    authorize_org(actor, row.org_id, OrgAction::AcceptFindings)?;
    let review = build(state, row.org_id).await?;
    let Some(finding) = review
        .findings
        .iter()
        .find(|f| f.key_id == key_id && f.kind == kind)
    else {
        return Err(AppError::Conflict(format!(
            "The review does not find “{}” for this key now; there is nothing to accept.",
            kind.label()
        )));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    review_acceptances::accept(
        tx.conn(),
        &review_acceptances::NewAcceptance {
            key_row_id: row.id,
            kind: kind.as_str(),
            subject: &finding.subject,
            note,
            user_id: actor.user_id,
            email: &actor.email,
            at: now,
        },
    )
    .await?;
    record_event(
        &mut tx,
        NewEvent {
            org_id: row.org_id,
            key_id: Some(row.id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::FindingAccepted,
            reason: Some(note),
            details: Some(json!({ "kind": kind.as_str(), "note": note }).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reopens an accepted finding (an organisation's admins); audited.
/// Errors: not found for a key the actor may not see, forbidden for a
/// developer, a conflict when the finding was not accepted.
pub async fn reopen(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    kind: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let kind = FindingKind::parse(kind)
        .ok_or_else(|| AppError::field("kind", "Choose one of the review's findings."))?;
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    authorize_org(actor, row.org_id, OrgAction::AcceptFindings)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !review_acceptances::reopen(tx.conn(), row.id, kind.as_str()).await? {
        return Err(AppError::Conflict(
            "That finding is not accepted; it is already open.".to_owned(),
        ));
    }
    record_event(
        &mut tx,
        NewEvent {
            org_id: row.org_id,
            key_id: Some(row.id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::FindingReopened,
            reason: None,
            details: Some(json!({ "kind": kind.as_str() }).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
