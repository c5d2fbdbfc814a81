//! Everything that runs only on the server: configuration, the database,
//! authentication, the services behind the server functions, the HTTP layers
//! and the command line.

pub mod accounts;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod db;
pub mod errors;
pub mod http;
pub mod orgs;
pub mod setup;
pub mod staff;
pub mod state;
pub mod telemetry;
pub mod tokens;

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
    let db = Db::connect(&config.database_url)
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
        .build();
    Ok(AppState {
        leptos_options,
        db,
        config: Arc::new(config),
        clock,
        secret: Arc::new(secret),
    })
}

/// Serves the application on `listener` until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = http::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Starts the periodic clean-up: expired sessions and old sign-in failures.
pub fn spawn_housekeeping(state: &AppState) -> tokio::task::JoinHandle<()> {
    let store = http::session_store::AppSessionStore::new(&state.db);
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            let cutoff = clock.now() - chrono::Duration::days(1);
            match db.acquire().await {
                Ok(mut conn) => {
                    if let Err(e) = db::sign_in_failures::prune(conn.conn(), cutoff).await {
                        tracing::warn!(error = %e, "could not prune sign-in failures");
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
