//! The support console: platform staff find any key by its id, its
//! organisation or its owner, and open it. Secrets are never stored, so
//! never shown; staff see what the key's admins see, plus suspension.

use super::{
    authz::{authorize_staff, key_permissions, Actor, StaffAction},
    db::api_keys,
    keys::{detail_of, find_row, summary},
    state::AppState,
};
use crate::{
    domain::key_format::ApiKey,
    error::AppError,
    model::{keys::KeyDetail, support::SupportHit},
};

/// Most results a search shows.
const LIMIT: i64 = 50;

/// What to look for in a query: a key id (from a key id, a display id such
/// as `prt_live_AbCdEfGhIj`, or even a whole pasted key, whose secret part
/// is dropped unread), or text to match against organisations and owners.
fn needle(state: &AppState, query: &str) -> String {
    let query = query.trim();
    if let Ok(key) = ApiKey::parse(query, &state.config.key_prefix) {
        return key.key_id().to_owned();
    }
    let prefix = state.config.key_prefix.as_str();
    for tag in ["_test_", "_live_"] {
        if let Some(rest) = query.strip_prefix(&format!("{prefix}{tag}")) {
            return rest.chars().take(10).collect();
        }
    }
    query.to_owned()
}

/// Keys matching `query` (staff only): by key id or its start, by
/// organisation name or slug, or by owner email.
pub async fn search(
    state: &AppState,
    actor: &Actor,
    query: &str,
) -> Result<Vec<SupportHit>, AppError> {
    authorize_staff(actor, StaffAction::SupportConsole)?;
    let needle = needle(state, query);
    if needle.chars().count() < 2 {
        return Err(AppError::field(
            "q",
            "Type at least two characters: a key id or its start, an organisation, or an owner's email.",
        ));
    }
    if needle.chars().count() > 200 {
        return Err(AppError::field("q", "Search for at most 200 characters."));
    }
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let rows = api_keys::search(conn.conn(), &needle, LIMIT).await?;
    rows.iter()
        .map(|row| {
            Ok(SupportHit {
                key: summary(state, row, now)?,
                org_name: row.org_name.clone(),
            })
        })
        .collect()
}

/// Any key, for staff: every field, usage, chain and audit trail.
pub async fn key(state: &AppState, actor: &Actor, key_id: &str) -> Result<KeyDetail, AppError> {
    authorize_staff(actor, StaffAction::SupportConsole)?;
    let row = find_row(state, key_id).await?;
    let permissions = key_permissions(actor, row.org_id, row.owner_id);
    detail_of(state, row, permissions).await
}
