//! "Forgot your password?": a single-use link by email, valid for 30
//! minutes, stored as a hash like every other token (OWASP Forgot Password
//! Cheat Sheet). The request is answered in the same words whether or not
//! the address has an account; setting a new password ends every session of
//! the account and tells it by email.

use super::{
    auth::{passwords, throttle},
    db::{account_sessions, password_resets, users},
    notify::mailer,
    secrets::tokens::{hash_token, NewToken},
    state::AppState,
};
use crate::{
    domain::{Email, Password},
    error::AppError,
};
use chrono::Duration;

/// How long a reset link works.
pub const RESET_LINK_LIFETIME: Duration = Duration::minutes(30);

/// At most one reset email per account in this long, so that nobody can
/// flood someone's inbox through the form.
pub const RESEND_AFTER: Duration = Duration::minutes(1);

use crate::model::account::RESET_LINK_CLOSED as LINK_CLOSED;

/// Sends a reset link to `email` if an account uses it. Answers the same
/// either way (only a malformed address is an error).
pub async fn request(state: &AppState, email: &str) -> Result<(), AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let Some(user) = users::find_by_email(conn.conn(), email.as_str()).await? else {
        tracing::info!("password reset asked for an address without an account");
        return Ok(());
    };
    if password_resets::last_sent(conn.conn(), user.id)
        .await?
        .is_some_and(|at| now - at < RESEND_AFTER)
    {
        tracing::info!(
            user_id = user.id,
            "password reset asked again within a minute; not sent"
        );
        return Ok(());
    }
    let token = NewToken::generate();
    password_resets::insert(
        conn.conn(),
        token.hash(),
        user.id,
        now,
        now + RESET_LINK_LIFETIME,
    )
    .await?;
    drop(conn);
    if state.config.smtp.is_none() {
        tracing::warn!(
            user_id = user.id,
            "password reset asked, but PORTICO_SMTP_URL is unset: the link cannot be sent"
        );
        return Ok(());
    }
    let link = format!("{}/reset?token={}", state.config.public_url, token.reveal());
    let body = format!(
        "Someone (we hope you) asked to reset the password of your Portico account {email}.\n\n\
         Open this link within 30 minutes to choose a new password. It works once:\n\n    {link}\n\n\
         If you did not ask, ignore this email: your password stays as it is."
    );
    mailer::send_soon(
        state,
        email.as_str().to_owned(),
        "Reset your password",
        body,
    );
    tracing::info!(user_id = user.id, "password reset link sent");
    Ok(())
}

/// Whether `token` is an open reset link.
pub async fn is_open(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(
        password_resets::open_for(conn.conn(), &hash_token(token), state.clock.now())
            .await?
            .is_some(),
    )
}

/// Sets a new password through a reset link: the link is used up (with any
/// other open link of the account), every session of the account ends, its
/// sign-in failures are forgotten, and it is told by email.
pub async fn complete(state: &AppState, token: &str, new_password: String) -> Result<(), AppError> {
    let token_hash = hash_token(token);
    let now = state.clock.now();
    let user = {
        let mut conn = state.db.acquire().await?;
        let Some(user_id) = password_resets::open_for(conn.conn(), &token_hash, now).await? else {
            return Err(AppError::Conflict(LINK_CLOSED.to_owned()));
        };
        users::find(conn.conn(), user_id)
            .await?
            .ok_or_else(|| AppError::Conflict(LINK_CLOSED.to_owned()))?
    };
    let password = Password::parse(new_password).map_err(|m| AppError::field("password", m))?;
    if let Some(problem) = passwords::strength_problem(&password, &[user.email.as_str()]) {
        return Err(AppError::field("password", problem));
    }
    let hash = passwords::hash(password).await?;
    let mut tx = state.db.begin().await?;
    if password_resets::consume(tx.conn(), &token_hash, now).await? != Some(user.id) {
        return Err(AppError::Conflict(LINK_CLOSED.to_owned()));
    }
    users::set_password_hash(tx.conn(), user.id, &hash).await?;
    let ended = account_sessions::end_all(tx.conn(), user.id, None).await?;
    throttle::clear_account(tx.conn(), &user.email).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, sessions_ended = ended, "password reset");
    let body = format!(
        "The password of your Portico account {} was reset through an emailed link at {} (UTC), \
         and every session of the account was signed out.\n\n\
         If this was not you, reset it again at once and tell your organisation's admins.",
        user.email,
        now.format("%Y-%m-%d %H:%M"),
    );
    super::notify::security_notice::tell(
        state,
        user.id,
        &user.email,
        "Your password was reset",
        body,
    )
    .await;
    Ok(())
}
