//! An account's sessions, as the Account page lists them: where the person is
//! signed in, and ending any of them (OWASP Session Management Cheat Sheet,
//! "Simultaneous Session Logons").

use super::{authz::Actor, db::account_sessions, state::AppState};
use crate::{error::AppError, model::account::SessionView};

/// The actor's sessions, the current one (handle `current`) marked,
/// most recently used first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    current: Option<&str>,
) -> Result<Vec<SessionView>, AppError> {
    let mut conn = state.db.acquire().await?;
    let rows = account_sessions::for_user(conn.conn(), actor.user_id).await?;
    let mut views: Vec<SessionView> = rows
        .into_iter()
        .map(|row| SessionView {
            current: Some(row.id.as_str()) == current,
            browser: describe_browser(&row.user_agent),
            id: row.id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            client_addr: row.client_addr,
        })
        .collect();
    // The current session first, then the others by last use.
    views.sort_by_key(|v| !v.current);
    Ok(views)
}

/// Ends one of the actor's other sessions. Someone else's session, or one
/// already ended, is "not found"; the current one is ended by signing out.
pub async fn end(
    state: &AppState,
    actor: &Actor,
    id: &str,
    current: Option<&str>,
) -> Result<(), AppError> {
    if Some(id) == current {
        return Err(AppError::Conflict(
            "That is this session. Use Sign out to end it.".to_owned(),
        ));
    }
    let mut conn = state.db.acquire().await?;
    if !account_sessions::end(conn.conn(), actor.user_id, id).await? {
        return Err(AppError::NotFound(
            "That session has already ended.".to_owned(),
        ));
    }
    tracing::info!(
        user_id = actor.user_id,
        "session ended from the account page"
    );
    Ok(())
}

/// Ends every session of the actor but `current`. Returns how many ended.
pub async fn end_others(
    state: &AppState,
    actor: &Actor,
    current: Option<&str>,
) -> Result<u64, AppError> {
    let mut conn = state.db.acquire().await?;
    let ended = account_sessions::end_all(conn.conn(), actor.user_id, current).await?;
    tracing::info!(user_id = actor.user_id, ended, "other sessions ended");
    Ok(ended)
}

/// "Firefox on Linux" from a `User-Agent`, by the woothee parser.
pub fn describe_browser(user_agent: &str) -> String {
    let Some(ua) = woothee::parser::Parser::new().parse(user_agent) else {
        return "Unknown browser".to_owned();
    };
    let name = if ua.name == "UNKNOWN" {
        "Unknown browser"
    } else {
        ua.name
    };
    if ua.os == "UNKNOWN" {
        name.to_owned()
    } else {
        format!("{name} on {}", ua.os)
    }
}

#[cfg(test)]
mod tests {
    use super::describe_browser;

    #[test]
    fn browsers_are_named_by_family_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe_browser(chrome), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert!(
            describe_browser(firefox).starts_with("Firefox on Windows"),
            "{}",
            describe_browser(firefox)
        );
        assert_eq!(describe_browser(""), "Unknown browser");
    }
}
