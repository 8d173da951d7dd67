//! [`SqliteStore`]: the embedded default, one file that survives restarts.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::config::StoreConfig;
use crate::error::Error;

mod imp {
    type DB = sqlx::Sqlite;
    /// Takes the write lock at once: SQLite has one writer, and a transaction that read first
    /// and wrote later could fail with SQLITE_BUSY instead of waiting its turn.
    const BEGIN: &str = "BEGIN IMMEDIATE";
    /// Row locks do not exist: `BEGIN IMMEDIATE` already excludes every other writer.
    const FOR_UPDATE: &str = "";
    const MIGRATION_LOCK: Option<&str> = None;
    /// Appended to the selection of sessions to evict or forget. No row locks: `BEGIN IMMEDIATE` already excludes every other writer.
    const SKIP_LOCKED: &str = "";
    const BACKEND: &str = "sqlite";
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "sessions",
            include_str!("../../migrations/sqlite/0001_sessions.sql"),
        ),
        (
            2,
            "anonymous sessions index",
            include_str!("../../migrations/sqlite/0002_anonymous_index.sql"),
        ),
    ];

    fn wrap_pool(pool: sqlx::SqlitePool) -> Database {
        Database::Sqlite(pool)
    }

    include!("sql.rs");
}

/// A session store on SQLite: the embedded default, a file that survives restarts. One
/// instance per file (SQLite has one writer; use [`PgStore`](crate::PgStore) for several
/// server instances).
///
/// See [`SessionStore`](crate::SessionStore) for what it does.
pub use imp::Store as SqliteStore;

impl SqliteStore {
    /// Opens (creating it if missing) the SQLite database at `url` (`sqlite://sessions.db`,
    /// or `sqlite::memory:` for tests), in WAL mode with a 5-second busy timeout, and applies
    /// the store's migrations. Feature tables must exist already: to share a database with
    /// your own migrations, open the pool yourself and use [`SqliteStore::new`].
    ///
    /// # Errors
    ///
    /// `Storage` when the file cannot be opened or migrated; `Config` for a bad feature table.
    pub async fn open(url: &str, config: StoreConfig) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // An in-memory database exists per connection: keep exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        Self::new(pool, config).await
    }
}
