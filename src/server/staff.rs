//! Platform staff, managed from the command line.

use super::{
    clock::Clock,
    db::{account_sessions, staff, users, Db},
};
use crate::domain::{Email, StaffRole};

/// Makes the account with `email` staff with `role` (or changes its role).
/// Refuses an account that has not confirmed its address: staff powers go
/// only to an address that is known to reach its owner.
pub async fn grant(db: &Db, clock: &Clock, email: &str, role: StaffRole) -> Result<(), String> {
    let email = Email::parse(email)?;
    let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
    let user = users::find_by_email(conn.conn(), email.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account uses {email}: they must sign up first"))?;
    if user.email_verified_at.is_none() {
        return Err(format!(
            "{email} has not confirmed its address yet: they must open the link Portico emailed them (or send it again from the banner in the portal) first"
        ));
    }
    staff::grant(conn.conn(), user.id, role.as_str(), clock.now())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        user_id = user.id,
        role = role.as_str(),
        "staff role granted"
    );
    Ok(())
}

/// Removes the staff role of the account with `email` and ends every one of
/// its sessions, so that no page signed in with staff powers stays open.
pub async fn revoke(db: &Db, email: &str) -> Result<(), String> {
    let email = Email::parse(email)?;
    let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
    let user = users::find_by_email(conn.conn(), email.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account uses {email}"))?;
    if !staff::revoke(conn.conn(), user.id)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!("{email} is not staff"));
    }
    let ended = account_sessions::end_all(conn.conn(), user.id, None)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        user_id = user.id,
        sessions_ended = ended,
        "staff role revoked"
    );
    Ok(())
}

/// Every staff member as `(email, role)`.
pub async fn list(db: &Db) -> Result<Vec<(String, StaffRole)>, String> {
    let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
    Ok(staff::list(conn.conn())
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| (s.email, s.role))
        .collect())
}
