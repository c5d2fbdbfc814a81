//! What every key command derives from a key row: its display id, scopes,
//! standing and environment, and loading a row the actor may act on.

use crate::server::{
    authz::{authorize_key, key_not_found, Actor, KeyAction},
    db::api_keys::{self, KeyRow},
    state::AppState,
};
use crate::{
    domain::{
        key_format::{display_id, is_key_id},
        keys::KeyStatus,
    },
    error::AppError,
};
use chrono::{DateTime, Utc};

/// The name audit events use for the system itself.
pub const SYSTEM_ACTOR: &str = "system";

/// The recognisable start of a stored key (`prt_live_AbCdEfGhIj`).
pub(crate) fn display_of(state: &AppState, row: &KeyRow) -> String {
    display_id(
        state.config.key_prefix.as_str(),
        row.environment,
        &row.key_id,
    )
}

pub(crate) fn scopes_of(row: &KeyRow) -> Vec<String> {
    row.scopes.split_whitespace().map(str::to_owned).collect()
}

pub(crate) fn status_of(row: &KeyRow, now: DateTime<Utc>) -> KeyStatus {
    KeyStatus::of(&row.standing, now)
}

/// The key with this public id, before any authorisation (the caller
/// decides who may see it); "not found" for ids that cannot exist.
pub(crate) async fn find_row(state: &AppState, key_id: &str) -> Result<KeyRow, AppError> {
    if !is_key_id(key_id) {
        return Err(key_not_found());
    }
    let mut conn = state.db.acquire().await?;
    api_keys::find_by_key_id(conn.conn(), key_id)
        .await?
        .ok_or_else(key_not_found)
}

/// Loads a key `actor` may act on, or answers "not found".
pub(crate) async fn load_for(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    action: KeyAction,
) -> Result<KeyRow, AppError> {
    let row = find_row(state, key_id).await?;
    authorize_key(actor, row.org_id, row.owner_id, action)?;
    Ok(row)
}

pub(crate) fn refuse_unless_active(
    row: &KeyRow,
    now: DateTime<Utc>,
    doing: &str,
) -> Result<(), AppError> {
    match status_of(row, now) {
        KeyStatus::Active => Ok(()),
        KeyStatus::Rotating => Err(AppError::Conflict(format!(
            "This key has already been rotated. {doing} its successor instead."
        ))),
        KeyStatus::Expired => Err(AppError::Conflict(format!(
            "This key has expired, so it cannot be changed. Create a new key instead of trying to {}.",
            doing.to_lowercase()
        ))),
        KeyStatus::Revoked => Err(AppError::Conflict(format!(
            "This key is revoked, and revocation is permanent. Create a new key instead of trying to {}.",
            doing.to_lowercase()
        ))),
        KeyStatus::Suspended => Err(AppError::Conflict(format!(
            "This key is suspended. It can be reinstated by an admin or support; {} it after that.",
            doing.to_lowercase()
        ))),
        KeyStatus::PendingApproval => Err(AppError::Conflict(
            "This key is waiting for an admin's approval; it cannot be changed until they decide.".to_owned(),
        )),
        KeyStatus::Rejected => Err(AppError::Conflict(
            "An admin rejected this key, so it will never work. Create a new key instead.".to_owned(),
        )),
    }
}
