//! The session store: the application's own database, whichever it is.

use crate::server::db::Db;
use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// A tower-sessions store over the `sessions` table of either backend.
#[derive(Clone, Debug)]
pub enum AppSessionStore {
    /// The `sessions` table of the SQLite database.
    Sqlite(SqliteStore),
    /// The `public.sessions` table of the PostgreSQL database.
    Postgres(PostgresStore),
}

impl AppSessionStore {
    /// The store for `db`; the table comes from the migrations.
    pub fn new(db: &Db) -> Self {
        match db {
            Db::Sqlite(pool) => Self::Sqlite(
                SqliteStore::new(pool.clone())
                    .with_table_name("sessions")
                    .expect("valid table name"),
            ),
            Db::Postgres(pool) => Self::Postgres(
                PostgresStore::new(pool.clone())
                    .with_schema_name("public")
                    .expect("valid schema name")
                    .with_table_name("sessions")
                    .expect("valid table name"),
            ),
        }
    }
}

#[async_trait]
impl SessionStore for AppSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(session_id).await,
            Self::Postgres(s) => s.load(session_id).await,
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(session_id).await,
            Self::Postgres(s) => s.delete(session_id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for AppSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}
