//! What a server function needs to know about its request: the state, the
//! session, the client address and who is signed in.

use super::{
    auth::session::{AuthSession, Client, Limits},
    authz::{Actor, Membership},
    errors::internal,
    http::client_addr::ClientAddr,
    state::AppState,
};
use crate::error::AppError;
use axum::Extension;
use leptos::prelude::use_context;
use std::net::IpAddr;
use tower_sessions::Session;

/// The request a server function is answering.
pub struct RequestContext {
    /// Application state.
    pub state: AppState,
    /// The request's cookie session (kept in the `sessions` table): who is signed in,
    /// and where they act.
    pub session: AuthSession,
    /// Where the request came from.
    pub client_addr: IpAddr,
    /// The browser's `User-Agent`, or empty.
    pub user_agent: String,
}

/// Gathers the context of the current server function call.
pub async fn request_context() -> Result<RequestContext, AppError> {
    let state = use_context::<AppState>()
        .ok_or_else(|| internal("AppState is missing from the Leptos context"))?;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal(format_args!("session layer missing: {e}")))?;
    let Extension(ClientAddr(client_addr)) = leptos_axum::extract::<Extension<ClientAddr>>()
        .await
        .map_err(|e| internal(format_args!("client address layer missing: {e}")))?;
    let user_agent = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(axum::http::header::USER_AGENT).cloned())
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    Ok(RequestContext {
        state,
        session: AuthSession::new(session),
        client_addr,
        user_agent,
    })
}

/// The actor signed in on `session`, if any: the one check of a session,
/// for server functions and the exports alike. A session past its limits,
/// ended elsewhere, or whose account has gone, is ended.
pub async fn signed_in_actor(
    state: &AppState,
    session: &AuthSession,
    client: &Client,
) -> Result<Option<Actor>, AppError> {
    let limits = Limits {
        idle: state.config.session_idle,
        lifetime: state.config.session_lifetime,
    };
    let now = state.clock.now();
    let Some(user_id) = session.user_id(&state.db, now, limits, client).await? else {
        return Ok(None);
    };
    let actor = Actor::load(state.db.acquire().await?, user_id).await?;
    if actor.is_none() {
        session.end(&state.db).await?;
    }
    Ok(actor)
}

impl RequestContext {
    /// The signed-in actor, or `Unauthenticated`.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        self.maybe_actor().await?.ok_or(AppError::Unauthenticated)
    }

    /// Where this request comes from, as the session list shows it.
    pub fn client(&self) -> Client {
        Client {
            addr: self.client_addr,
            user_agent: self.user_agent.clone(),
        }
    }

    /// The signed-in actor, if any. A session whose account has gone is ended.
    pub async fn maybe_actor(&self) -> Result<Option<Actor>, AppError> {
        signed_in_actor(&self.state, &self.session, &self.client()).await
    }

    /// The sign-in waiting for its second factor on this browser, or the
    /// conflict that says to sign in again (none waits, it is over five
    /// minutes old).
    pub async fn second_factor_due(
        &self,
    ) -> Result<crate::server::auth::session::SecondFactorDue, AppError> {
        self.session
            .second_factor_due(self.state.clock.now())
            .await?
            .ok_or_else(|| AppError::Conflict(crate::model::account::SIGN_IN_AGAIN.to_owned()))
    }

    /// Signs `user_id` in on this request's session (a new session id and a
    /// new row in the account's session list).
    pub async fn sign_in_as(&self, user_id: i64, active_org: Option<i64>) -> Result<(), AppError> {
        let now = self.state.clock.now();
        self.session
            .begin(&self.state.db, user_id, active_org, now, &self.client())
            .await
    }

    /// Signs this session out, on the server too.
    pub async fn sign_out(&self) -> Result<(), AppError> {
        self.session.end(&self.state.db).await
    }

    /// Refuses a plain HTML form post (the page's JavaScript is off, or has
    /// not started yet). Calls that return something shown once (a key, a
    /// gateway token, recovery codes) need the page to show it: after a
    /// plain post the browser follows a redirect and it would be lost. `doing` names the action ("Creating a key").
    pub fn refuse_plain_form_post(&self, doing: &str) -> Result<(), AppError> {
        let plain = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.headers.get(axum::http::header::ACCEPT).cloned())
            .and_then(|v| v.to_str().ok().map(|v| v.contains("text/html")))
            .unwrap_or(false);
        if plain {
            return Err(AppError::Conflict(format!(
                "{doing} needs JavaScript, so that what it shows once appears in your browser only. \
                 If JavaScript is on, wait until the page has finished loading; otherwise turn it on. \
                 Nothing was changed: try again."
            )));
        }
        Ok(())
    }

    /// The organisation the actor acts in: the one chosen in this session if
    /// they still belong to it, otherwise their first.
    pub async fn active_membership<'a>(
        &self,
        actor: &'a Actor,
    ) -> Result<Option<&'a Membership>, AppError> {
        let chosen = self.session.active_org().await?;
        Ok(chosen
            .and_then(|id| actor.membership(id))
            .or_else(|| actor.memberships.first()))
    }
}
