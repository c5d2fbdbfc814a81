//! What every handler and server function can reach.

use super::{clock::Clock, config::Config, config::ServerSecret, db::Db};
use super::{
    notify::mailer::Mailer,
    usage::UsagePipeline,
    verify::{
        cache::{KeyCache, UnknownKeys},
        gateway::GatewayCache,
        rate_limit::RateLimiter,
    },
};
use crate::domain::scopes::Catalog;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// Shared application state, handed to routes and server functions through
/// axum state and Leptos context.
///
/// A handle: axum clones the state for every request (and Leptos for every
/// render), so a clone is one reference count, not one per part. The parts
/// are reached through `Deref` (`state.db`, `state.config`, …).
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// Wraps the parts in a handle.
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What the state holds.
#[derive(Debug)]
pub struct AppParts {
    /// Leptos's own options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The database pool.
    pub db: Db,
    /// Checked settings.
    pub config: Arc<Config>,
    /// The time.
    pub clock: Clock,
    /// The server secret that keys API key hashes.
    pub secret: Arc<ServerSecret>,
    /// The scope catalog.
    pub catalog: Arc<Catalog>,
    /// Keys cached for verification.
    pub key_cache: KeyCache,
    /// Key ids recently found in no row, so that a flood of forged keys
    /// does not reach the database.
    pub unknown_keys: UnknownKeys,
    /// Gateway tokens cached for verification.
    pub gateway_cache: GatewayCache,
    /// Gateway token ids recently found in no row, so that a flood of forged
    /// tokens does not reach the database or push real tokens out.
    pub unknown_gateway_tokens: UnknownKeys,
    /// Per-key rate limits, per instance: alone, or while Redis is down.
    pub rate_limiter: RateLimiter,
    /// Monthly quota counts, as this instance keeps them when it counts
    /// alone (no Redis, or Redis not answering).
    pub local_quotas: crate::server::verify::quota::LocalQuotas,
    /// Per-key rate limits across instances, with `PORTICO_REDIS_URL`.
    pub global_limiter: Option<Arc<crate::server::verify::global_limit::GlobalLimiter>>,
    /// Where verifications are recorded.
    pub usage: UsagePipeline,
    /// Wakes the email sender after notifications are stored.
    pub mailer: Mailer,
    /// The keys access tokens are signed and checked with.
    pub signing_keys: crate::server::oauth::signing_keys::SigningKeys,
    /// What `GET /metrics` reports.
    pub metrics: Arc<crate::server::ops::metrics::Metrics>,
}
