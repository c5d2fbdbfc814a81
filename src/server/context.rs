//! What a server function needs to know about its request: the state, the
//! session, the client address and who is signed in.

use super::{
    auth::session::AuthSession,
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
    Ok(RequestContext {
        state,
        session: AuthSession::new(session),
        client_addr,
    })
}

impl RequestContext {
    /// The signed-in actor, or `Unauthenticated`.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        self.maybe_actor().await?.ok_or(AppError::Unauthenticated)
    }

    /// The signed-in actor, if any. A session whose account has gone is ended.
    pub async fn maybe_actor(&self) -> Result<Option<Actor>, AppError> {
        let now = self.state.clock.now();
        let lifetime = self.state.config.session_lifetime;
        let Some(user_id) = self.session.user_id(now, lifetime).await? else {
            return Ok(None);
        };
        let actor = Actor::load(self.state.db.acquire().await?, user_id).await?;
        if actor.is_none() {
            self.session.end().await?;
        }
        Ok(actor)
    }

    /// Refuses a plain HTML form post (the page's JavaScript is off). Calls
    /// that return a secret need the page to show it: after a plain post the
    /// browser follows a redirect and the secret would be lost.
    pub fn refuse_plain_form_post(&self) -> Result<(), AppError> {
        let plain = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.headers.get(axum::http::header::ACCEPT).cloned())
            .and_then(|v| v.to_str().ok().map(|v| v.contains("text/html")))
            .unwrap_or(false);
        if plain {
            return Err(AppError::Conflict(
                "Creating a key needs JavaScript, so that its secret is shown once, in your browser only. \
                 Turn JavaScript on and try again."
                    .to_owned(),
            ));
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
