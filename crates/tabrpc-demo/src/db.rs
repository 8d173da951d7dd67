//! The demo's SQLite database, and the session store (sessions and carts) next to it or in
//! Postgres, with the live invalidation hub (across instances when the store is Postgres).

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tabrpc::live::Live;
use tabrpc::sessions::{
    Database, ExpiryTask, PgStore, SessionStore, SqliteStore, StoreConfig, spawn_expiry,
};

use crate::config::SessionSettings;

/// A pool of connections to the demo database, migrated on open, and the session store with
/// its expiry task (stopped when the last clone is dropped).
#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
    sessions: Arc<dyn SessionStore>,
    live: Live,
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
    ///
    /// # Errors
    ///
    /// When the database cannot be opened or migrated.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, &SessionSettings::default()).await
    }

    /// As [`Db::open`], with sessions and carts where `sessions` says: in Postgres when it
    /// names a database (created tables if missing, so several demo instances share them),
    /// with its idle timeout and sweep interval.
    ///
    /// # Errors
    ///
    /// When either database cannot be opened or migrated; the message names the setting and
    /// never contains the session database's URL (it may hold a password).
    pub async fn open_with(url: &str, sessions: &SessionSettings) -> anyhow::Result<Self> {
        Self::open_tuned(url, sessions, |config| config).await
    }

    /// As [`Db::open_with`], with the session store's configuration (the demo's cart table and
    /// `sessions`' timings already applied) passed through `tune` last: for tests and
    /// embedders that need other limits than the defaults.
    ///
    /// # Errors
    ///
    /// As [`Db::open_with`].
    pub async fn open_tuned(
        url: &str,
        sessions: &SessionSettings,
        tune: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> anyhow::Result<Self> {
        let pool = open_sqlite(url)
            .await
            .with_context(|| format!("opening the database TABRPC_DATABASE_URL={url}"))?;
        let config = tune(sessions.apply(crate::cart::session_config()));
        let store: Arc<dyn SessionStore> = match &sessions.database_url {
            None => Arc::new(SqliteStore::new(pool.clone(), config).await?),
            Some(pg_url) => Arc::new(
                open_postgres(pg_url, config)
                    .await
                    .context("opening the session database TABRPC_SESSION_DATABASE_URL")?,
            ),
        };
        // Events go where the sessions are: through Postgres, every instance on it sees them.
        let live = match store.database() {
            Database::Postgres(pool) => Live::postgres(pool)
                .await
                .context("setting up live events in TABRPC_SESSION_DATABASE_URL")?,
            _ => Live::in_process(),
        };
        Ok(Self {
            pool,
            _expiry: Arc::new(spawn_expiry(store.clone())),
            sessions: store,
            live,
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.sessions
    }

    /// The live invalidation hub: in-process, or through the session store's Postgres.
    pub fn live(&self) -> &Live {
        &self.live
    }
}

async fn open_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
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
    Ok(pool)
}

async fn open_postgres(url: &str, config: StoreConfig) -> anyhow::Result<PgStore> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect_with(PgStore::connect_options(url)?)
        .await?;
    // sqlx's migrator holds an advisory lock: instances starting at once migrate once.
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(PgStore::new(pool, config).await?)
}
