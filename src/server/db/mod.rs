//! The database: a pool for SQLite or Postgres chosen at start-up, the
//! migrations of each, and one module of queries per table.
//!
//! Every query is written once, with `$1` placeholders, and runs on either
//! backend through [`on_conn!`](crate::on_conn): the macro expands the same
//! code once per backend, so both are type-checked by the compiler.

pub mod account_sessions;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod change_log;
pub mod copy;
pub mod email_verifications;
pub mod gateway_tokens;
pub mod invitations;
pub mod memberships;
pub mod notifications;
pub mod org_policies;
pub mod organisations;
pub mod password_resets;
pub mod recovery_codes;
pub mod review_acceptances;
pub mod second_factors;
pub mod security_keys;
pub mod security_notices;
pub mod setup_tokens;
pub mod sign_in_failures;
pub mod signing_keys;
pub mod staff;
pub mod token_grants;
pub mod totp_authenticators;
pub mod usage;
pub mod users;

use sqlx::{
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction,
};
use std::{str::FromStr, time::Duration};

/// Runs `$body` with `$c` bound to the backend's connection type.
///
/// ```ignore
/// on_conn!(conn, |c| sqlx::query("select 1").execute(c).await)
/// ```
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::server::db::Conn::Sqlite($c) => $body,
            $crate::server::db::Conn::Postgres($c) => $body,
        }
    };
}

/// A connection pool on one of the supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite (WAL mode, foreign keys on).
    Sqlite(SqlitePool),
    /// PostgreSQL, for any URL that does not start with `sqlite:` (up to 16 connections).
    Postgres(PgPool),
}

/// A borrowed connection, from a pool or inside a transaction.
pub enum Conn<'c> {
    /// A SQLite connection, from the pool or inside a transaction.
    Sqlite(&'c mut SqliteConnection),
    /// A PostgreSQL connection, from the pool or inside a transaction.
    Postgres(&'c mut PgConnection),
}

/// A connection checked out of the pool.
pub enum PooledConn {
    /// A connection from the SQLite pool, handed back to it when dropped.
    Sqlite(PoolConnection<Sqlite>),
    /// A connection from the PostgreSQL pool, handed back to it when dropped.
    Postgres(PoolConnection<Postgres>),
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    /// SQLite (`BEGIN IMMEDIATE`, so concurrent writers queue instead of failing).
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL (a plain `BEGIN`).
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    /// Opens a pool for a `sqlite:` or `postgres:` URL. A SQLite file and its
    /// folder are created when missing.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() && !parent.exists() {
                    std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    /// A pool of one long-lived connection to the same database, for a
    /// writer that should not queue behind requests for the shared pool.
    /// It connects from the calling thread.
    pub async fn single_connection(&self) -> Result<Self, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with((*pool.connect_options()).clone())
                    .await?,
            ),
            Db::Postgres(pool) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with((*pool.connect_options()).clone())
                    .await?,
            ),
        })
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
    }

    /// How many of this build's migrations the database has not applied
    /// (`/readyz` reports them). Fails when the migrations table cannot be
    /// read (none ever ran).
    pub async fn migrations_missing(&self) -> Result<usize, sqlx::Error> {
        let (migrator, applied): (sqlx::migrate::Migrator, Vec<i64>) = match self {
            Db::Sqlite(pool) => (
                sqlx::migrate!("./migrations/sqlite"),
                sqlx::query_scalar("select version from _sqlx_migrations where success")
                    .fetch_all(pool)
                    .await?,
            ),
            Db::Postgres(pool) => (
                sqlx::migrate!("./migrations/postgres"),
                sqlx::query_scalar("select version from _sqlx_migrations where success")
                    .fetch_all(pool)
                    .await?,
            ),
        };
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .count())
    }

    /// Checks out a connection.
    pub async fn acquire(&self) -> Result<PooledConn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => PooledConn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => PooledConn::Postgres(pool.acquire().await?),
        })
    }

    /// Starts a transaction for writing.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl PooledConn {
    /// Borrows the connection for one query.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl Tx {
    /// Borrows the transaction's connection for one query.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// The name of the unique constraint `err` violated, if it is such an error.
///
/// Postgres reports the constraint's name; SQLite reports `table.column`,
/// which is turned into the same `table_column_key` name that the migrations
/// give their unique constraints.
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db_err) = err else {
        return None;
    };
    if !db_err.is_unique_violation() {
        return None;
    }
    if let Some(name) = db_err.constraint() {
        return Some(name.to_owned());
    }
    let columns = db_err.message().split_once("UNIQUE constraint failed:")?.1;
    let first = columns.split(',').next()?.trim();
    let (table, column) = first.split_once('.')?;
    Some(format!("{table}_{column}_key"))
}
