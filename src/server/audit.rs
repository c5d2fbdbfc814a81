//! The audit trail: recording events, in the transaction of the change they
//! describe, and describing them in sentences for its pages and exports.

use crate::domain::audit::AuditAction;
use crate::server::{
    authz::{authorize_org, Actor, OrgAction},
    db::{
        audit::{self, EventFilter, EventRow, NewEvent},
        Tx,
    },
    state::AppState,
};
use crate::{
    domain::format,
    domain::key_format::{display_id, Environment},
    error::{AppError, FieldError},
    model::keys::{AuditEntry, AuditPage},
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

pub(crate) async fn record(tx: &mut Tx, event: NewEvent<'_>) -> Result<(), AppError> {
    audit::insert(tx.conn(), &event).await?;
    Ok(())
}

pub(crate) fn describe(action: AuditAction, details: Option<&str>) -> Option<String> {
    let d: serde_json::Value = serde_json::from_str(details?).ok()?;
    // Roles read the same in every sentence, whichever form was stored
    // ("Admin" or "admin").
    let role = |v: &serde_json::Value| {
        v.as_str().map(|r| match r.to_lowercase().as_str() {
            "admin" => "an admin".to_owned(),
            "developer" => "a developer".to_owned(),
            other => other.to_owned(),
        })
    };
    let finding = |v: &serde_json::Value| {
        v.as_str()
            .and_then(crate::model::review::FindingKind::parse)
            .map_or_else(|| "a finding".to_owned(), |k| k.label().to_owned())
    };
    let days = |v: &serde_json::Value| match v.as_i64() {
        Some(n) => format::count(n.max(0) as usize, "day", "days"),
        None => "an unrecorded number of days".to_owned(),
    };
    let date = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| format::date_time(t.with_timezone(&Utc)))
            .unwrap_or_else(|| "an unrecorded time".to_owned())
    };
    let list = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    Some(match action {
        AuditAction::Created => {
            let env = if d["environment"] == "production" {
                "Production"
            } else {
                "Sandbox"
            };
            let mut text = format!(
                "{env} key with {}; expires {}",
                Some(list(&d["scopes"]))
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| "no scopes".to_owned()),
                date(&d["expires_at"])
            );
            if let Some(from) = d["rotated_from"].as_str() {
                text.push_str(&format!("; replaces {from}"));
            }
            if !list(&d["ip_allowlist"]).is_empty() {
                text.push_str(&format!("; only from {}", list(&d["ip_allowlist"])));
            }
            if let Some(quota) = d["monthly_quota"].as_i64() {
                text.push_str(&format!(
                    "; at most {} a month",
                    crate::domain::format::count(quota as usize, "request", "requests")
                ));
            }
            text
        }
        AuditAction::Rotated => {
            let mut text = format!(
                "Replaced by {}; keeps working until {}",
                d["successor"].as_str().unwrap_or("a new key"),
                date(&d["overlap_until"])
            );
            if let Some(minutes) = d["quiet_minutes"].as_i64() {
                text.push_str(&format!(", or until {minutes} minutes without traffic"));
            }
            if d["narrowed_to"].is_array() {
                text.push_str(&format!("; the successor holds only {}", list(&d["narrowed_to"])));
            }
            text
        }
        // The reason says it all.
        AuditAction::Revoked => return None,
        AuditAction::Retired => "Stopped working before its rotation overlap ended".to_owned(),
        AuditAction::Expired => {
            if d["cause"] == "rotation" {
                "Its rotation overlap ended".to_owned()
            } else {
                "Reached its expiry date".to_owned()
            }
        }
        AuditAction::Renamed => match (d["from"].as_str(), d["to"].as_str()) {
            (Some(from), Some(to)) => format!("Renamed from “{from}” to “{to}”"),
            _ => "Renamed".to_owned(),
        },
        AuditAction::ScopesChanged => format!("Removed {}", list(&d["removed"])),
        AuditAction::DetailsChanged => "Purpose or service changed".to_owned(),
        AuditAction::QuotaChanged => match d["to"].as_i64() {
            Some(n) => format!("Monthly quota set to {}", crate::domain::format::count(n as usize, "request", "requests")),
            None => "Monthly quota removed".to_owned(),
        },
        AuditAction::Suspended => match d["until"].as_str() {
            Some(_) => format!("Suspended until {}", date(&d["until"])),
            None => "Suspended until someone reinstates it".to_owned(),
        },
        AuditAction::Reinstated => "Reinstated: works again".to_owned(),
        AuditAction::Approved => "Approved: works from now on".to_owned(),
        AuditAction::Rejected => "Rejected: will never work".to_owned(),
        AuditAction::OwnerChanged => format!(
            "Owner changed from {} to {}",
            d["from"].as_str().unwrap_or("a former owner"),
            d["to"].as_str().unwrap_or("another member")
        ),
        AuditAction::PolicyChanged => format!(
                        "Key policy: at most {}, {} by default; developers may use {}; approval for high-risk production keys {}",
            days(&d["max_lifetime_days"]),
            days(&d["default_expiry_days"]),
            list(&d["developer_environments"]),
            if d["approval_for_high_risk_production"] == true { "on" } else { "off" }
        ) + &match (d["rotate_high_risk_days"].as_i64(), d["rotate_low_risk_days"].as_i64()) {
                        (Some(h), Some(l)) => format!(
                "; rotation every {} (high risk) and {} (others)",
                format::count(h as usize, "day", "days"),
                format::count(l as usize, "day", "days")
            ),
            _ => String::new(),
        } + &match d["access_token_lifetime_secs"].as_i64() {
            Some(secs) => format!(
                "; access tokens live {}",
                format::count((secs / 60) as usize, "minute", "minutes")
            ),
            None => String::new(),
        },
        AuditAction::SecondFactorRequirementChanged => {
            if d["required"] == true {
                "Two-factor authentication required of every member".to_owned()
            } else {
                "Two-factor authentication no longer required".to_owned()
            }
        }
        AuditAction::MemberRoleChanged => format!(
            "{} is now {}",
            d["member"].as_str().unwrap_or("A member"),
            role(&d["role"]).unwrap_or_else(|| "in another role".to_owned())
        ),
        AuditAction::MemberRemoved => format!("{} left the organisation", d["member"].as_str().unwrap_or("A member")),
        AuditAction::MemberInvited => format!(
            "Invited {} as {}",
            d["email"].as_str().unwrap_or("someone with a link"),
            role(&d["role"]).unwrap_or_else(|| "a member".to_owned())
        ),
        AuditAction::InvitationWithdrawn => format!(
            "Withdrew the invitation for {} as {}",
            d["email"].as_str().unwrap_or("anyone with the link"),
            role(&d["role"]).unwrap_or_else(|| "a member".to_owned())
        ),
        AuditAction::MemberJoined => format!(
            "{} joined as {}{}",
            d["member"].as_str().unwrap_or("Someone"),
            role(&d["role"]).unwrap_or_else(|| "a member".to_owned()),
            if d["via"] == "created" {
                ", creating the organisation"
            } else {
                " through an invitation"
            }
        ),
        AuditAction::AlertAcknowledged => match d["alert"].as_str() {
            Some(kind) => format!("Acknowledged a {} alert", kind.replace('_', " ")),
            None => "Acknowledged an alert".to_owned(),
        },
        AuditAction::AlertResolved => match d["alert"].as_str() {
            Some(kind) => format!("Resolved a {} alert", kind.replace('_', " ")),
            None => "Resolved an alert".to_owned(),
        },
        AuditAction::AlertSettingsChanged => format!(
            "Alert thresholds: spike ×{} and at least {} in 5 minutes; {} wrong secrets in 10 minutes",
            d["spike_factor"], d["spike_floor"], d["wrong_secret_threshold"]
        ),
        AuditAction::Exported => match (d["what"].as_str(), d["format"].as_str()) {
            (Some(what), Some(format)) => format!("Exported {what} as {format}"),
            (Some(what), None) => format!("Exported {what}"),
            _ => "Exported data".to_owned(),
        },
        AuditAction::FindingAccepted => format!(
            "Accepted the review finding “{}”: {}",
            finding(&d["kind"]),
            d["note"].as_str().unwrap_or("(no note)")
        ),
        AuditAction::FindingReopened => {
            format!("Reopened the review finding “{}”", finding(&d["kind"]))
        }
    })
}

pub(crate) fn audit_entry(state: &AppState, row: EventRow) -> AuditEntry {
    let key = row.key_public_id.as_ref().map(|id| {
        let env = row
            .key_environment
            .as_deref()
            .and_then(|e| Environment::parse(e).ok())
            .unwrap_or(Environment::Sandbox);
        (
            id.clone(),
            display_id(state.config.key_prefix.as_str(), env, id),
        )
    });
    AuditEntry {
        details: AuditAction::parse(&row.action).and_then(|a| describe(a, row.details.as_deref())),
        id: row.id,
        at: row.at,
        actor: row.actor_email,
        action: row.action,
        key,
        key_name: row.key_name,
        reason: row.reason,
        client_addr: row.client_addr,
    }
}

/// Records an event (for the other services that act on keys and orgs).
pub(crate) async fn record_event(tx: &mut Tx, event: NewEvent<'_>) -> Result<(), AppError> {
    record(tx, event).await
}

/// The trail's filter as typed (the audit page's form and the export's
/// query): each part optional, empty meaning "any".
#[derive(Debug, Clone, Default)]
pub struct FilterForm {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    /// Who: an email, matched exactly (case-insensitively).
    pub actor: Option<String>,
    /// A key's public id.
    pub key: Option<String>,
    /// A stored action name (`AuditAction::as_str`).
    pub action: Option<String>,
}

/// Reads a filter, every problem at once (field errors named `from`, `to`,
/// `action`).
pub fn parse_filter(form: &FilterForm) -> Result<EventFilter, AppError> {
    let mut errors = Vec::new();
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut day = |field: &'static str, v: &Option<String>| match text(v) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))),
            Err(_) => {
                errors.push(FieldError::new(field, "Enter the date as YYYY-MM-DD."));
                None
            }
        },
    };
    let from = day("from", &form.from);
    // `to` is inclusive: events before the end of that day.
    let to = day("to", &form.to).map(|t| t + chrono::Duration::days(1));
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            errors.push(FieldError::new(
                "to",
                "The last day is before the first: swap them, or clear one.",
            ));
        }
    }
    let action = text(&form.action);
    if let Some(a) = &action {
        if AuditAction::parse(a).is_none() {
            errors.push(FieldError::new("action", "Choose an event from the list."));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(EventFilter {
        from,
        to,
        actor: text(&form.actor).map(|a| a.to_lowercase()),
        key: text(&form.key),
        action,
    })
}

/// A page of the organisation's audit trail, for its admins: events that
/// match `filter`, newest first, 50 at a time (`before` an event id).
pub async fn org_audit(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    filter: &FilterForm,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewAudit)?;
    let filter = parse_filter(filter)?;
    const PAGE: usize = 50;
    let mut conn = state.db.acquire().await?;
    let mut rows = audit::for_org(conn.conn(), org_id, &filter, before, PAGE as i64 + 1).await?;
    let next_before = (rows.len() > PAGE).then(|| rows[PAGE - 1].id);
    rows.truncate(PAGE);
    Ok(AuditPage {
        entries: rows.into_iter().map(|e| audit_entry(state, e)).collect(),
        next_before,
    })
}
