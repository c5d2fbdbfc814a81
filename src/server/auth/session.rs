//! The signed-in session: a typed wrapper over tower-sessions, and its row in
//! `account_sessions`.
//!
//! The session's data lives in the store (the `sessions` table); its row in
//! `account_sessions` is what makes it signed in. Each request checks the
//! row: a session whose row was deleted (ended from the Account page, by a
//! password change, by a staff role taken away) is signed out at once, on
//! every instance. The idle timeout counts from the last request (the row's
//! `last_seen_at`, moved on at most every [`touch_interval`], which also
//! re-saves the store's record so its expiry slides); the absolute lifetime counts from
//! sign-in (OWASP Session Management Cheat Sheet, "Session Expiration").

use crate::{
    error::AppError,
    server::{
        db::{
            account_sessions::{self, AccountSessionRow},
            Db,
        },
        secrets::tokens::random_bytes,
    },
};
use chrono::{DateTime, Utc};
use std::{net::IpAddr, time::Duration};
use tower_sessions::Session;

const USER_ID: &str = "user_id";
const ACTIVE_ORG: &str = "active_org";
const SIGNED_IN_AT: &str = "signed_in_at";
const HANDLE: &str = "handle";
const SEEN_AT: &str = "seen_at";
const PENDING_USER: &str = "second_factor_user";
const PENDING_ORG: &str = "second_factor_org";
const PENDING_SINCE: &str = "second_factor_since";
const PENDING_TAG: &str = "second_factor_credential";
const PENDING_WARNED: &str = "second_factor_warned";
const CEREMONY: &str = "webauthn_ceremony";

/// How long a WebAuthn ceremony (registering a security key, or signing in
/// with one) may take between its challenge and the browser's answer: five
/// minutes, the timeout the relying party asks the browser for.
pub const CEREMONY_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// The server's half of a WebAuthn ceremony, kept in the session between
/// the challenge and the answer (WebAuthn §13.4.3: a challenge is used once,
/// by the session it was given to).
#[derive(serde::Serialize, serde::Deserialize)]
struct Ceremony {
    /// What it is for ("register", "sign_in").
    purpose: String,
    /// The account it is for.
    user_id: i64,
    /// When it began (Unix seconds).
    since: i64,
    /// The relying party's state, as webauthn-rs serialises it.
    state: serde_json::Value,
}

/// How long after the password the second factor may be given: five minutes,
/// then the password is asked for again.
pub const SECOND_FACTOR_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// How often, at most, a session's last-seen time (and the store's expiry)
/// moves on: a minute, or a tenth of the idle timeout if that is shorter.
///
/// The last request falls somewhere in the interval after the recorded
/// last-seen time, so a session ends when `idle + touch_interval(idle)` has
/// passed since then: never before the idle timeout has passed since the
/// last request, and at most one interval after it.
pub fn touch_interval(idle: Duration) -> Duration {
    (idle / 10).min(Duration::from_secs(60))
}

/// How long the session store keeps a record after its last save (and the
/// cookie's `Max-Age`): the idle timeout plus one [`touch_interval`], so the
/// store never forgets a session this module still counts as alive.
pub fn store_expiry(idle: Duration) -> Duration {
    idle + touch_interval(idle)
}

/// Characters of a `User-Agent` kept for the session list.
const USER_AGENT_CHARS: usize = 256;

/// Where a request comes from, as the session list shows it.
#[derive(Clone, Debug)]
pub struct Client {
    /// The client address.
    pub addr: IpAddr,
    /// The `User-Agent` header, or empty.
    pub user_agent: String,
}

/// What the session limits are.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a session may go without a request.
    pub idle: Duration,
    /// How long a session lasts after sign-in at most.
    pub lifetime: Duration,
}

/// A sign-in whose password was right, waiting for its second factor.
#[derive(Clone, Debug)]
pub struct SecondFactorDue {
    /// The account.
    pub user_id: i64,
    /// The organisation to act in once signed in.
    pub active_org: Option<i64>,
    /// What was kept of the password given (see
    /// `second_factor::credential_tag_of`).
    pub credential_tag: String,
}

/// The session of the current request.
#[derive(Clone, Debug)]
pub struct AuthSession(Session);

impl AuthSession {
    /// Wraps the request's session.
    pub fn new(session: Session) -> Self {
        Self(session)
    }

    /// Signs `user_id` in: a new session id (so an id planted before sign-in
    /// is worthless), a new row in `account_sessions`, the user, the
    /// organisation they act in, and the time.
    pub async fn begin(
        &self,
        db: &Db,
        user_id: i64,
        active_org: Option<i64>,
        now: DateTime<Utc>,
        client: &Client,
    ) -> Result<(), AppError> {
        self.end_row(db).await?;
        let mut conn = db.acquire().await?;
        self.0.cycle_id().await?;
        self.0.clear().await;
        let handle = hex::encode(random_bytes::<16>());
        account_sessions::insert(
            conn.conn(),
            &AccountSessionRow {
                id: handle.clone(),
                user_id,
                created_at: now,
                last_seen_at: now,
                client_addr: client.addr.to_string(),
                user_agent: client.user_agent.chars().take(USER_AGENT_CHARS).collect(),
            },
        )
        .await?;
        self.0.insert(USER_ID, user_id).await?;
        self.0.insert(ACTIVE_ORG, active_org).await?;
        self.0.insert(SIGNED_IN_AT, now.timestamp()).await?;
        self.0.insert(HANDLE, handle).await?;
        self.0.insert(SEEN_AT, now.timestamp()).await?;
        Ok(())
    }

    /// Holds a sign-in half way: the password of `user_id` was right and a
    /// second factor is due. The session gets a new id but is not signed in
    /// (no row in `account_sessions`); an earlier sign-in on it ends.
    pub async fn await_second_factor(
        &self,
        db: &Db,
        pending: &SecondFactorDue,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        self.end_row(db).await?;
        self.0.cycle_id().await?;
        self.0.clear().await;
        self.0.insert(PENDING_USER, pending.user_id).await?;
        self.0.insert(PENDING_ORG, pending.active_org).await?;
        self.0.insert(PENDING_TAG, &pending.credential_tag).await?;
        self.0.insert(PENDING_SINCE, now.timestamp()).await?;
        Ok(())
    }

    /// Keeps the server's half of a WebAuthn ceremony for `user_id` until
    /// [`take_ceremony`](Self::take_ceremony); a ceremony begun earlier on
    /// this session is dropped.
    pub async fn begin_ceremony<T: serde::Serialize>(
        &self,
        purpose: &str,
        user_id: i64,
        state: &T,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let state = serde_json::to_value(state)
            .map_err(|e| crate::server::errors::internal(format_args!("a WebAuthn state: {e}")))?;
        let ceremony = Ceremony {
            purpose: purpose.to_owned(),
            user_id,
            since: now.timestamp(),
            state,
        };
        self.0.insert(CEREMONY, ceremony).await?;
        Ok(())
    }

    /// Takes (once) the state of the ceremony for `purpose` and `user_id`
    /// begun on this session less than [`CEREMONY_WINDOW`] ago.
    pub async fn take_ceremony<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<T>, AppError> {
        let Some(ceremony) = self.0.remove::<Ceremony>(CEREMONY).await? else {
            return Ok(None);
        };
        let age = now.timestamp() - ceremony.since;
        if ceremony.purpose != purpose
            || ceremony.user_id != user_id
            || !(0..CEREMONY_WINDOW.num_seconds()).contains(&age)
        {
            return Ok(None);
        }
        Ok(serde_json::from_value(ceremony.state).ok())
    }

    /// Whether the account was already emailed about a wrong code in this
    /// waiting sign-in; marks it so from now.
    pub async fn warned_of_wrong_code(&self) -> Result<bool, AppError> {
        let warned = self.0.get::<bool>(PENDING_WARNED).await?.unwrap_or(false);
        if !warned {
            self.0.insert(PENDING_WARNED, true).await?;
        }
        Ok(warned)
    }

    /// The account (and organisation) whose second factor is due on this
    /// session, if its password was given less than
    /// [`SECOND_FACTOR_WINDOW`] ago.
    pub async fn second_factor_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<SecondFactorDue>, AppError> {
        let (Some(user_id), Some(since), Some(credential_tag)) = (
            self.0.get::<i64>(PENDING_USER).await?,
            self.0.get::<i64>(PENDING_SINCE).await?,
            self.0.get::<String>(PENDING_TAG).await?,
        ) else {
            return Ok(None);
        };
        let age = now.timestamp() - since;
        if !(0..SECOND_FACTOR_WINDOW.num_seconds()).contains(&age) {
            self.0.flush().await?;
            return Ok(None);
        }
        let active_org = self.0.get::<Option<i64>>(PENDING_ORG).await?.flatten();
        Ok(Some(SecondFactorDue {
            user_id,
            active_org,
            credential_tag,
        }))
    }

    /// The signed-in user, or `None`. A session past its lifetime or idle
    /// timeout, or whose row has been deleted, is ended here.
    pub async fn user_id(
        &self,
        db: &Db,
        now: DateTime<Utc>,
        limits: Limits,
        client: &Client,
    ) -> Result<Option<i64>, AppError> {
        let Some(user_id) = self.0.get::<i64>(USER_ID).await? else {
            return Ok(None);
        };
        let signed_in_at = self.0.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
        let age = now.timestamp().saturating_sub(signed_in_at);
        if age < 0 || age as u64 >= limits.lifetime.as_secs() {
            self.end(db).await?;
            return Ok(None);
        }
        let Some(handle) = self.0.get::<String>(HANDLE).await? else {
            self.0.flush().await?;
            return Ok(None);
        };
        let mut conn = db.acquire().await?;
        let row = account_sessions::find(conn.conn(), &handle).await?;
        let Some(row) = row.filter(|r| r.user_id == user_id) else {
            drop(conn);
            self.0.flush().await?;
            return Ok(None);
        };
        let every = touch_interval(limits.idle);
        let idle = (now - row.last_seen_at).to_std().unwrap_or_default();
        if now < row.last_seen_at || idle >= store_expiry(limits.idle) {
            drop(conn);
            self.end(db).await?;
            return Ok(None);
        }
        if idle >= every {
            account_sessions::touch(conn.conn(), &handle, now, &client.addr.to_string()).await?;
            // Changing the data makes the store save the record again, with
            // a new expiry and cookie Max-Age.
            self.0.insert(SEEN_AT, now.timestamp()).await?;
        }
        Ok(Some(user_id))
    }

    /// This session's handle (its id in `account_sessions`), when signed in.
    pub async fn handle(&self) -> Result<Option<String>, AppError> {
        Ok(self.0.get::<String>(HANDLE).await?)
    }

    /// The organisation the user last chose to act in.
    pub async fn active_org(&self) -> Result<Option<i64>, tower_sessions::session::Error> {
        Ok(self.0.get::<Option<i64>>(ACTIVE_ORG).await?.flatten())
    }

    /// Chooses the organisation to act in.
    pub async fn set_active_org(&self, org_id: i64) -> Result<(), tower_sessions::session::Error> {
        self.0.insert(ACTIVE_ORG, Some(org_id)).await
    }

    /// Signs out: deletes the session's row and its record in the store, and
    /// expires the cookie.
    pub async fn end(&self, db: &Db) -> Result<(), AppError> {
        self.end_row(db).await?;
        self.0.flush().await?;
        Ok(())
    }

    /// Deletes the row of the account signed in on this session, if any.
    async fn end_row(&self, db: &Db) -> Result<(), AppError> {
        if let (Some(handle), Some(user_id)) = (
            self.0.get::<String>(HANDLE).await?,
            self.0.get::<i64>(USER_ID).await?,
        ) {
            let mut conn = db.acquire().await?;
            account_sessions::end(conn.conn(), user_id, &handle).await?;
        }
        Ok(())
    }
}
