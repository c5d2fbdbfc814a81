//! Security notices to an account: its password, address or second factors
//! changed, a recovery code was used, a right password came with a wrong
//! code. Each is recorded for the account's Account page ("Security
//! activity", kept for a year) and emailed when SMTP is configured, so that
//! a portal without email still tells people (OWASP Authentication Cheat
//! Sheet, "Notify users of account changes").

use super::mailer;
use crate::{
    error::AppError,
    model::account::SecurityNoticeView,
    server::{db::security_notices, state::AppState},
};

/// How many notices the Account page lists.
pub const SHOWN: i64 = 20;

/// How long a notice is kept: a year.
const KEPT: chrono::Duration = chrono::Duration::days(365);

/// Records a notice to `user_id` (before this returns) and emails it to
/// `email` in the background. A notice that cannot be recorded is logged
/// (without its body) and still emailed: the change it reports is done.
pub async fn tell(
    state: &AppState,
    user_id: i64,
    email: &str,
    subject: &'static str,
    body: String,
) {
    let now = state.clock.now();
    let recorded = async {
        let mut conn = state.db.acquire().await?;
        security_notices::insert(conn.conn(), user_id, subject, &body, now, now - KEPT).await
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(user_id, subject, error = %e, "could not record a security notice");
    }
    mailer::send_soon(state, email.to_owned(), subject, body);
}

/// The newest notices to `user_id`, newest first (at most [`SHOWN`]).
pub async fn recent(state: &AppState, user_id: i64) -> Result<Vec<SecurityNoticeView>, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(security_notices::recent(conn.conn(), user_id, SHOWN)
        .await?
        .into_iter()
        .map(|row| SecurityNoticeView {
            subject: row.subject,
            body: row.body,
            at: row.created_at,
        })
        .collect())
}
