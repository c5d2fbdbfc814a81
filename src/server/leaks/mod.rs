//! Leaked keys: a key whose secret was found in public (pushed to a public
//! repository, pasted in a forum) stops working within the request that
//! reports it.
//!
//! A report names the secret itself. When it is a live key of this portal
//! (its checksum, id and HMAC all match, and it is neither revoked nor
//! expired) the key is suspended at once by Portico (reversible, audited
//! with where it was found), an alert of kind `leaked` opens on it, and its
//! owner and admins are told; all in one change, so every instance refuses
//! the key as soon as it commits. Reports come from GitHub's secret
//! scanning ([`github`]). Nothing here logs a reported secret.

pub mod github;

use crate::{
    domain::{alerts::AlertKind, key_format::ApiKey},
    error::AppError,
    model::support::{LeakOutcome, LeakedKey},
    server::{
        alerts::detect::{raise_alert, suspend_automatically},
        authz::{authorize_staff, Actor, StaffAction},
        db::api_keys,
        keys::{change::KeyChange, display_of, status_of},
        secrets::key_hash::key_matches,
        state::AppState,
    },
};
use serde_json::json;

/// One secret reported as found in public.
#[derive(Clone, Debug)]
pub struct LeakReport {
    /// The secret as found.
    pub token: String,
    /// Where it was found (a URL), if the reporter says.
    pub url: Option<String>,
    /// What kind of place (`content`, `commit`, `gist`…), if the reporter says.
    pub source: Option<String>,
}

/// The longest URL or source kept from a report, in characters.
const MAX_WHERE_CHARS: usize = 500;

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(|v| v.trim().chars().take(MAX_WHERE_CHARS).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// Handles one report from `reporter` ("GitHub secret scanning"). Returns
/// the key when the secret was a live key of this portal (then suspended,
/// with an alert and a notice); anything else changes nothing.
pub async fn handle(
    state: &AppState,
    reporter: &str,
    report: &LeakReport,
) -> Result<Option<LeakedKey>, AppError> {
    let Ok(key) = ApiKey::parse(report.token.trim(), &state.config.key_prefix) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let mut change = KeyChange::begin(state, [key.key_id().to_owned()]).await?;
    let Some(row) = api_keys::find_by_key_id(change.conn(), key.key_id()).await? else {
        return Ok(None);
    };
    if !key_matches(&state.secret, key.expose(), &row.secret_hash)
        || status_of(&row, now).is_final()
    {
        return Ok(None);
    }
    let url = trimmed(&report.url);
    let source = trimmed(&report.source);
    let place = match (&url, &source) {
        (Some(url), Some(source)) => format!(" at {url} ({source})"),
        (Some(url), None) => format!(" at {url}"),
        (None, Some(source)) => format!(" in a {source}"),
        (None, None) => String::new(),
    };
    let reason = format!("Leaked: its secret was found in public{place}, reported by {reporter}");
    let suspended = suspend_automatically(state, &mut change, &row, &reason, now).await?;
    raise_alert(
        state,
        &mut change,
        &row,
        AlertKind::Leaked,
        url.as_deref().unwrap_or("reported"),
        1,
        now,
        &json!({ "url": url, "source": source, "reporter": reporter }),
    )
    .await?;
    change.commit().await?;
    state.mailer.wake();
    if suspended {
        tracing::warn!(key_id = %row.key_id, reporter, "a leaked key was suspended");
    } else {
        tracing::warn!(key_id = %row.key_id, reporter, "a leaked key, suspended already, was reported again");
    }
    Ok(Some(LeakedKey {
        display_id: display_of(state, &row),
        key_id: row.key_id,
        name: row.name,
    }))
}

/// A leak found elsewhere, reported by platform staff from the support
/// console: the secret, and where it was found (required: it is what the
/// key's owner is told). The staff member is named as the reporter.
pub async fn report_by_staff(
    state: &AppState,
    actor: &Actor,
    token: &str,
    found_at: &str,
) -> Result<LeakOutcome, AppError> {
    authorize_staff(actor, StaffAction::SupportConsole)?;
    if token.trim().is_empty() {
        return Err(AppError::field("token", "Paste the secret that was found."));
    }
    if found_at.trim().is_empty() {
        return Err(AppError::field(
            "found_at",
            "Say where it was found (a URL, or a few words): the key's owner is told.",
        ));
    }
    let report = LeakReport {
        token: token.to_owned(),
        url: Some(found_at.to_owned()),
        source: None,
    };
    let reporter = format!("{} (platform staff)", actor.email);
    let key = handle(state, &reporter, &report).await?;
    tracing::info!(
        user_id = actor.user_id,
        live = key.is_some(),
        "a leak reported by staff"
    );
    Ok(LeakOutcome { key })
}
