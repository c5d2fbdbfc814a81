//! Everything that runs only on the server: configuration, the database,
//! authentication, the services behind the server functions, the HTTP layers
//! and the command line.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod db;
pub mod email_verification;
pub mod errors;
pub mod exports;
pub mod http;
pub mod keys;
pub mod leaks;
pub mod members;
pub mod notify;
pub mod oauth;
pub mod ops;
pub mod orgs;
pub mod password_reset;
pub mod policy;
pub mod review;
pub mod sample_api;
pub mod second_factor;
pub mod secrets;
pub mod sessions;
pub mod setup;
pub mod staff;
pub mod state;
pub mod support;
pub mod telemetry;

pub mod usage;
pub mod verify;

use axum::serve::ListenerExt;
use clock::Clock;
use config::Config;
use db::Db;
use leptos::prelude::LeptosOptions;
use state::AppState;
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tower_sessions::session_store::ExpiredDeletion;

/// Opens the database, applies pending migrations and loads the secret.
/// Each failure is one line naming what to fix.
pub async fn build_state(config: Config, clock: Clock) -> Result<AppState, String> {
    let catalog = catalog::load(config.scope_catalog.as_deref())
        .map_err(|e| format!("invalid scope catalog: {e}"))?;
    let db = Db::connect(&config.database_url.url)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))?;
    db.migrate()
        .await
        .map_err(|e| format!("cannot apply database migrations: {e}"))?;
    let secret = config.load_secret()?;
    let leptos_options = LeptosOptions::builder()
        .output_name("portico")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .hash_files(http::bundle::is_hashed())
        .build();
    let usage = usage::UsagePipeline::start(db.clone(), config.usage_buffer);
    let listens = matches!(db, db::Db::Postgres(_));
    let global_limiter = match &config.redis_url {
        Some(url) => Some(Arc::new(
            verify::global_limit::GlobalLimiter::new(&url.0).map_err(|e| {
                format!(
                    "PORTICO_REDIS_URL: the Redis client refused it ({:?})",
                    e.kind()
                )
            })?,
        )),
        None => None,
    };
    let state = AppState::new(state::AppParts {
        metrics: Arc::new(ops::metrics::Metrics::new(listens)),
        leptos_options,
        db,
        config: Arc::new(config),
        clock,
        secret: Arc::new(secret),
        catalog: Arc::new(catalog),
        key_cache: verify::cache::KeyCache::new(Duration::from_secs(60)),
        unknown_keys: verify::cache::UnknownKeys::new(verify::cache::UNKNOWN_TTL),
        gateway_cache: verify::gateway::GatewayCache::new(verify::gateway::TOKEN_TTL),
        unknown_gateway_tokens: verify::cache::UnknownKeys::new(verify::cache::UNKNOWN_TTL),
        rate_limiter: verify::rate_limit::RateLimiter::default(),
        global_limiter,
        local_quotas: Default::default(),
        usage,
        mailer: notify::mailer::Mailer::default(),
        signing_keys: Default::default(),
    });
    verify::invalidation::spawn_listener(&state);
    notify::mailer::spawn(&state);
    Ok(state)
}

/// Serves the application on `listener` until `shutdown` completes, then
/// finishes the requests in flight and writes the buffered usage events.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let usage = state.usage.clone();
    let app = http::router(state);
    // Answers go out at once: a verification's reply must not wait for the
    // ACK of the previous one (Nagle's algorithm).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // The requests are done: write every usage event still buffered.
    usage.shutdown().await;
    result
}

/// Starts the periodic work: every minute, expiries into the audit trail,
/// suspensions that reached their end lifted, expiry reminders sent, quiet
/// rotating keys retired, and usage scanned for alerts; every
/// ten minutes, expired sessions and old sign-in failures out.
pub fn spawn_housekeeping(state: &AppState) -> tokio::task::JoinHandle<()> {
    let store = http::session_store::AppSessionStore::new(&state.db);
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        for round in 0u64.. {
            tick.tick().await;
            match keys::record_expiries(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "recorded key expiries"),
                Err(e) => tracing::warn!(error = %e, "could not record key expiries"),
            }
            match keys::suspension::reinstate_due(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "suspensions ended"),
                Err(e) => tracing::warn!(error = %e, "could not end due suspensions"),
            }
            if let Err(e) = notify::reminders::send_due(&state).await {
                tracing::warn!(error = %e, "could not send expiry reminders");
            }
            match keys::quiet::retire_quiet(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "quiet rotating keys retired"),
                Err(e) => tracing::warn!(error = %e, "could not retire quiet keys"),
            }
            match alerts::detect::run(&state).await {
                Ok(r) if r.opened > 0 || r.suspended > 0 => {
                    tracing::info!(opened = r.opened, suspended = r.suspended, "alerts raised")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "alert detection failed"),
            }
            if round % 10 != 0 {
                continue;
            }
            state
                .rate_limiter
                .prune(Duration::from_secs(120), std::time::Instant::now());
            let now = state.clock.now();
            match state.db.acquire().await {
                Ok(mut conn) => {
                    let events = now - chrono::Duration::days(state.config.usage_retention_days);
                    let hourly = now - chrono::Duration::days(state.config.rollup_retention_days);
                    if let Err(e) = db::usage::prune_events(conn.conn(), events).await {
                        tracing::warn!(error = %e, "could not prune old usage events");
                    }
                    if let Err(e) = db::usage::prune_hourly(conn.conn(), hourly).await {
                        tracing::warn!(error = %e, "could not prune old usage counts");
                    }
                    // Minted tokens are kept as long as usage events.
                    if let Err(e) = db::token_grants::prune(conn.conn(), events).await {
                        tracing::warn!(error = %e, "could not prune old token grants");
                    }
                    let networks = now - chrono::Duration::days(30);
                    if let Err(e) = db::alerts::prune_networks(conn.conn(), networks).await {
                        tracing::warn!(error = %e, "could not prune old client networks");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping could not reach the database"),
            }
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            let cutoff = state.clock.now() - chrono::Duration::days(1);
            match state.db.acquire().await {
                Ok(mut conn) => {
                    if let Err(e) = db::sign_in_failures::prune(conn.conn(), cutoff).await {
                        tracing::warn!(error = %e, "could not prune sign-in failures");
                    }
                    let idle = chrono::Duration::from_std(state.config.session_idle)
                        .unwrap_or(chrono::Duration::days(1));
                    let before = state.clock.now() - idle;
                    if let Err(e) = db::account_sessions::prune(conn.conn(), before).await {
                        tracing::warn!(error = %e, "could not prune idle sessions");
                    }
                    if let Err(e) = db::password_resets::prune(conn.conn(), cutoff).await {
                        tracing::warn!(error = %e, "could not prune old reset links");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping could not reach the database"),
            }
        }
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
