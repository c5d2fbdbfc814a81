//! Anomaly alerts per key: the detector ([`detect`]), and what people do
//! with alerts: read them (on the key's page, the organisation's alerts
//! page, the support console), acknowledge or resolve them, and set the
//! organisation's thresholds.

pub mod detect;

use super::{
    audit::record_event,
    authz::{
        authorize_key, authorize_org, authorize_staff, Actor, KeyAction, OrgAction, StaffAction,
    },
    db::{
        alerts::{self, AlertCursor, AlertScope},
        audit::NewEvent,
        Tx,
    },
    keys::find_row,
    state::AppState,
};
use crate::domain::audit::AuditAction;
use crate::model::page::Page;
use crate::{
    domain::{
        alerts::{AlertSettings, AlertState},
        key_format::display_id,
    },
    error::{AppError, FieldError},
    model::alerts::{AlertPage, AlertView},
};
use serde_json::json;
use std::net::IpAddr;

/// The alert settings of `org_id`: stored, or the defaults.
pub(crate) async fn settings_in(tx: &mut Tx, org_id: i64) -> Result<AlertSettings, AppError> {
    Ok(match alerts::settings(tx.conn(), org_id).await? {
        Some(r) => AlertSettings {
            spike_factor: r.spike_factor.into(),
            spike_floor: r.spike_floor.into(),
            wrong_secret_threshold: r.wrong_secret_threshold.into(),
            auto_suspend_on_spike: r.auto_suspend_on_spike,
            auto_suspend_on_retired_use: r.auto_suspend_on_retired_use,
        },
        None => AlertSettings::default(),
    })
}

fn view(state: &AppState, r: alerts::AlertRow) -> AlertView {
    let kind = r.kind;
    let evidence: serde_json::Value = serde_json::from_str(&r.evidence).unwrap_or_default();
    let env = r.key_environment;
    AlertView {
        id: r.id,
        kind,
        state: r.state,
        summary: detect::describe(kind, &evidence),
        evidence: r.evidence,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        count: r.count,
        key_id: r.key_public_id.clone(),
        key_display_id: display_id(state.config.key_prefix.as_str(), env, &r.key_public_id),
        key_name: r.key_name,
        org_name: r.org_name,
        state_changed_by: r.state_changed_by,
    }
}

/// A key's alerts, live and resolved (whoever may see the key).
pub async fn for_key(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
) -> Result<Vec<AlertView>, AppError> {
    let row = find_row(state, key_id).await?;
    if authorize_staff(actor, StaffAction::SupportConsole).is_err() {
        authorize_key(actor, row.org_id, row.owner_id, KeyAction::View)?;
    }
    let mut conn = state.db.acquire().await?;
    let scope = AlertScope {
        org_id: None,
        key_id: Some(row.id),
        include_resolved: true,
    };
    let rows = alerts::list(conn.conn(), scope, AlertCursor::Start, 100).await?;
    Ok(rows.into_iter().map(|r| view(state, r)).collect())
}

/// The cursor given in a page's address: `after` wins over `before`.
pub fn cursor(after: Option<i64>, before: Option<i64>) -> AlertCursor {
    match (after, before) {
        (Some(id), _) => AlertCursor::After(id),
        (None, Some(id)) => AlertCursor::Before(id),
        (None, None) => AlertCursor::Start,
    }
}

/// Alerts shown on one page of a list.
pub const ALERT_PAGE_SIZE: usize = 50;

/// The page of `scope` from `cursor`, with where it sits in the list.
async fn page(
    state: &AppState,
    scope: AlertScope,
    cursor: AlertCursor,
) -> Result<AlertPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let size = ALERT_PAGE_SIZE as i64;
    let mut rows = alerts::list(conn.conn(), scope, cursor, size + 1).await?;
    // One more than a page tells whether the list goes on that way.
    let more = rows.len() > ALERT_PAGE_SIZE;
    if matches!(cursor, AlertCursor::Before(_)) && !more {
        // Back at the top: a full first page.
        rows = alerts::list(conn.conn(), scope, AlertCursor::Start, size + 1).await?;
        rows.truncate(ALERT_PAGE_SIZE);
    }
    if more {
        match cursor {
            AlertCursor::Before(_) => {
                rows.remove(0);
            }
            _ => {
                rows.pop();
            }
        }
    }
    let (total, newer) = alerts::count(conn.conn(), scope, rows.first().map(|r| r.id)).await?;
    let total = usize::try_from(total).unwrap_or(0);
    let newer = usize::try_from(newer).unwrap_or(0);
    let shown = rows.len();
    Ok(Page {
        first: if shown == 0 { 0 } else { newer + 1 },
        next_after: (newer + shown < total)
            .then(|| rows.last().map(|r| r.id))
            .flatten(),
        previous_before: (newer > 0).then(|| rows.first().map(|r| r.id)).flatten(),
        total,
        items: rows.into_iter().map(|r| view(state, r)).collect(),
    })
}

/// A page of an organisation's alerts (admins), live only unless
/// `include_resolved`. A cursor naming an alert outside the list starts
/// at the newest.
pub async fn for_org(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    include_resolved: bool,
    cursor: AlertCursor,
) -> Result<AlertPage, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewUsage)?;
    let scope = AlertScope {
        org_id: Some(org_id),
        key_id: None,
        include_resolved,
    };
    let cursor = within(state, cursor, |a| {
        a.org_id == org_id && (include_resolved || a.state != AlertState::Resolved)
    })
    .await?;
    page(state, scope, cursor).await
}

/// A page of every organisation's live alerts (staff).
pub async fn for_staff(
    state: &AppState,
    actor: &Actor,
    cursor: AlertCursor,
) -> Result<AlertPage, AppError> {
    authorize_staff(actor, StaffAction::SupportConsole)?;
    let scope = AlertScope {
        org_id: None,
        key_id: None,
        include_resolved: false,
    };
    let cursor = within(state, cursor, |a| a.state != AlertState::Resolved).await?;
    page(state, scope, cursor).await
}

/// `cursor` if it names an alert of the list (`belongs`), else the start:
/// another organisation's alert id reveals nothing.
async fn within(
    state: &AppState,
    cursor: AlertCursor,
    belongs: impl Fn(&alerts::AlertRow) -> bool,
) -> Result<AlertCursor, AppError> {
    let (AlertCursor::After(id) | AlertCursor::Before(id)) = cursor else {
        return Ok(cursor);
    };
    let mut conn = state.db.acquire().await?;
    let found = alerts::find(conn.conn(), id).await?;
    Ok(if found.as_ref().is_some_and(belongs) {
        cursor
    } else {
        AlertCursor::Start
    })
}

/// Acknowledges or resolves an alert (the key's owner, its organisation's
/// admins, or staff). Recorded in the audit trail.
pub async fn set_state(
    state: &AppState,
    actor: &Actor,
    id: i64,
    to: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let not_found = || AppError::NotFound("No such alert in your organisations.".to_owned());
    let to = match AlertState::parse(to) {
        Some(s @ (AlertState::Acknowledged | AlertState::Resolved)) => s,
        _ => return Err(AppError::field("state", "Choose acknowledge or resolve.")),
    };
    let alert = {
        let mut conn = state.db.acquire().await?;
        alerts::find(conn.conn(), id).await?.ok_or_else(not_found)?
    };
    let row = find_row(state, &alert.key_public_id).await?;
    if authorize_staff(actor, StaffAction::SupportConsole).is_err() {
        authorize_key(actor, row.org_id, row.owner_id, KeyAction::Manage)
            .map_err(|_| not_found())?;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !alerts::set_state(tx.conn(), id, to.as_str(), &actor.email, now).await? {
        return Err(AppError::Conflict(format!(
            "This alert is already {}.",
            alert.state.label().to_lowercase()
        )));
    }
    record_event(
        &mut tx,
        NewEvent {
            org_id: row.org_id,
            key_id: Some(row.id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: if to == AlertState::Resolved {
                AuditAction::AlertResolved
            } else {
                AuditAction::AlertAcknowledged
            },
            reason: None,
            details: Some(json!({"alert": alert.kind}).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The organisation's alert settings (admins).
pub async fn settings(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
) -> Result<AlertSettings, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewUsage)?;
    let mut tx = state.db.begin().await?;
    let s = settings_in(&mut tx, org_id).await?;
    tx.commit().await?;
    Ok(s)
}

/// What the settings form sends.
#[derive(Debug)]
pub struct SettingsForm {
    /// How many times the usual volume makes a spike, as typed: a whole number, 2 to 1000.
    pub spike_factor: String,
    /// Fewest requests in 5 minutes that can be a spike, as typed: 1 to 10,000,000.
    pub spike_floor: String,
    /// Wrong-secret attempts within 10 minutes that open an alert, as typed: 1 to 10,000.
    pub wrong_secret_threshold: String,
    /// On or off.
    pub auto_suspend_on_spike: bool,
    /// On or off.
    pub auto_suspend_on_retired_use: bool,
}

/// Sets the organisation's alert settings (admins); audited.
pub async fn save_settings(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    form: SettingsForm,
    addr: IpAddr,
) -> Result<(), AppError> {
    authorize_org(actor, org_id, OrgAction::SetPolicy)?;
    let s = AlertSettings::validate(
        &form.spike_factor,
        &form.spike_floor,
        &form.wrong_secret_threshold,
        form.auto_suspend_on_spike,
        form.auto_suspend_on_retired_use,
    )
    .map_err(|e| AppError::Invalid(e.into_iter().map(|(f, m)| FieldError::new(f, m)).collect()))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    alerts::save_settings(
        tx.conn(),
        org_id,
        &alerts::SettingsRow {
            spike_factor: s.spike_factor as i32,
            spike_floor: s.spike_floor as i32,
            wrong_secret_threshold: s.wrong_secret_threshold as i32,
            auto_suspend_on_spike: s.auto_suspend_on_spike,
            auto_suspend_on_retired_use: s.auto_suspend_on_retired_use,
        },
        actor.user_id,
        now,
    )
    .await?;
    record_event(
        &mut tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::AlertSettingsChanged,
            reason: None,
            details: Some(serde_json::to_string(&s).unwrap_or_default()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
