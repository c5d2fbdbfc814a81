//! The signed-in session: a typed wrapper over tower-sessions.
//!
//! The session store lives in the application's database. The idle timeout is
//! the store's expiry, renewed on every request; the absolute lifetime is
//! checked here against the time of sign-in.

use chrono::{DateTime, Utc};
use std::time::Duration;
use tower_sessions::Session;

const USER_ID: &str = "user_id";
const ACTIVE_ORG: &str = "active_org";
const SIGNED_IN_AT: &str = "signed_in_at";

/// The session of the current request.
#[derive(Clone, Debug)]
pub struct AuthSession(Session);

impl AuthSession {
    /// Wraps the request's session.
    pub fn new(session: Session) -> Self {
        Self(session)
    }

    /// Signs `user_id` in: a new session id (so an id planted before sign-in
    /// is worthless), the user, the organisation they act in, and the time.
    pub async fn begin(
        &self,
        user_id: i64,
        active_org: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), tower_sessions::session::Error> {
        self.0.cycle_id().await?;
        self.0.clear().await;
        self.0.insert(USER_ID, user_id).await?;
        self.0.insert(ACTIVE_ORG, active_org).await?;
        self.0.insert(SIGNED_IN_AT, now.timestamp()).await?;
        Ok(())
    }

    /// The signed-in user, or `None`. A session older than `lifetime` is
    /// ended here, however recently it was used.
    pub async fn user_id(
        &self,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<Option<i64>, tower_sessions::session::Error> {
        let Some(user_id) = self.0.get::<i64>(USER_ID).await? else {
            return Ok(None);
        };
        let signed_in_at = self.0.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
        let age = now.timestamp().saturating_sub(signed_in_at);
        if age < 0 || age as u64 >= lifetime.as_secs() {
            self.0.flush().await?;
            return Ok(None);
        }
        Ok(Some(user_id))
    }

    /// The organisation the user last chose to act in.
    pub async fn active_org(&self) -> Result<Option<i64>, tower_sessions::session::Error> {
        Ok(self.0.get::<Option<i64>>(ACTIVE_ORG).await?.flatten())
    }

    /// Chooses the organisation to act in.
    pub async fn set_active_org(&self, org_id: i64) -> Result<(), tower_sessions::session::Error> {
        self.0.insert(ACTIVE_ORG, Some(org_id)).await
    }

    /// Signs out: deletes the session from the store and expires the cookie.
    pub async fn end(&self) -> Result<(), tower_sessions::session::Error> {
        self.0.flush().await
    }
}
