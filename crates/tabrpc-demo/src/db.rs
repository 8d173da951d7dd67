//! The demo's SQLite database, and the session store (sessions and carts) next to it or in
//! Postgres.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tabrpc::sessions::{ExpiryTask, PgStore, SessionStore, SqliteStore, spawn_expiry};

/// A pool of connections to the demo database, migrated on open, and the session store with
/// its expiry task (stopped when the last clone is dropped).
#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
    sessions: Arc<dyn SessionStore>,
    _expiry: Arc<ExpiryTask>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating if needed) the SQLite database at `url` (`sqlite://path.db` or
    /// `sqlite::memory:`) and applies the migrations. Sessions and carts live in it too, and
    /// idle sessions expire after the store's default 30 days.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        // An in-memory database exists per connection: keep exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let sessions = SqliteStore::new(pool.clone(), crate::cart::session_config()).await?;
        Ok(Self::with_store(pool, Arc::new(sessions)))
    }

    /// Moves sessions and carts to the Postgres database at `url` (created tables if missing),
    /// so several demo instances share them.
    pub async fn with_postgres_sessions(self, url: &str) -> anyhow::Result<Self> {
        let pg = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pg).await?;
        let sessions = PgStore::new(pg, crate::cart::session_config()).await?;
        Ok(Self::with_store(self.pool, Arc::new(sessions)))
    }

    fn with_store(pool: SqlitePool, sessions: Arc<dyn SessionStore>) -> Self {
        Self {
            pool,
            _expiry: Arc::new(spawn_expiry(sessions.clone())),
            sessions,
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.sessions
    }
}
