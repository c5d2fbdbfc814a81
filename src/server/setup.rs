//! First-run setup: a one-time link that creates the platform's first owner.
//!
//! The link works once, for [`SETUP_LINK_LIFETIME`], and only while the
//! platform has no owner: a link found later in an old log opens nothing.

use super::{
    accounts::insert_user,
    auth::passwords,
    db::{setup_tokens, staff, users},
    secrets::tokens::{hash_token, NewToken},
    state::AppState,
};
use crate::{
    domain::{Email, Password, StaffRole},
    error::{AppError, FieldError},
};

/// How long a setup link works after it is printed.
pub const SETUP_LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// On an empty database (no accounts at all), makes a new setup link,
/// replacing any earlier unused one, and returns it for printing.
pub async fn ensure_setup_link(state: &AppState) -> Result<Option<String>, AppError> {
    let mut conn = state.db.acquire().await?;
    if users::count(conn.conn()).await? > 0 {
        return Ok(None);
    }
    let token = NewToken::generate();
    setup_tokens::replace(conn.conn(), token.hash(), state.clock.now()).await?;
    Ok(Some(format!(
        "{}/setup?token={}",
        state.config.public_url,
        token.reveal()
    )))
}

/// Whether `token` is a usable setup token.
pub async fn is_open(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.db.acquire().await?;
    let made_after = state.clock.now() - SETUP_LINK_LIFETIME;
    Ok(setup_tokens::is_open(conn.conn(), &hash_token(token), made_after).await?)
}

use crate::model::account::SETUP_LINK_CLOSED as USED;

/// Creates the first owner account with the setup link, which then stops
/// working. Returns the new user's id.
pub async fn complete(
    state: &AppState,
    token: &str,
    email: &str,
    password: String,
) -> Result<i64, AppError> {
    if !is_open(state, token).await? {
        return Err(AppError::Conflict(USED.to_owned()));
    }
    let mut errors = Vec::new();
    let email = Email::parse(email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = Password::parse(password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    if let (Some(pw), Some(email)) = (&password, &email) {
        if let Some(problem) = passwords::strength_problem(pw, &[email.as_str()]) {
            errors.push(FieldError::new("password", problem));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (email, password) = (email.expect("checked"), password.expect("checked"));
    let hash = passwords::hash(password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let made_after = now - SETUP_LINK_LIFETIME;
    if !setup_tokens::consume(tx.conn(), &hash_token(token), made_after, now).await? {
        return Err(AppError::Conflict(USED.to_owned()));
    }
    let user_id = insert_user(&mut tx, &email, &hash, now).await?;
    staff::grant(tx.conn(), user_id, StaffRole::Owner.as_str(), now).await?;
    tx.commit().await?;
    tracing::info!(user_id, "first owner created through the setup link");
    super::email_verification::send_link(
        state,
        super::db::email_verifications::OpenVerification {
            user_id,
            email: email.as_str().to_owned(),
            invitation_id: None,
        },
    )
    .await?;
    Ok(user_id)
}
