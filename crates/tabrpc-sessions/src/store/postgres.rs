//! [`PgStore`]: sessions in Postgres, shared by several server instances.

use sqlx::postgres::PgPoolOptions;

use crate::config::StoreConfig;
use crate::error::Error;

mod imp {
    type DB = sqlx::Postgres;
    /// Read committed: every statement of a rotation locks or re-reads what it needs.
    const BEGIN: &str = "BEGIN";
    /// Rotation and sign-out lock the session row; a feature write holds it `FOR SHARE`, so
    /// the two are ordered (see `FeatureTable`).
    const FOR_UPDATE: &str = " FOR UPDATE";
    /// A transaction-scoped advisory lock (the key spells "tabrpcse"): instances starting at
    /// once migrate one after the other.
    const MIGRATION_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(8386092224791933797)");
    /// Appended to the selection of sessions to evict or forget. Evictions skip rows another transaction holds instead of waiting (or deadlocking) on them.
    const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
    const BACKEND: &str = "postgres";
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "sessions",
            include_str!("../../migrations/postgres/0001_sessions.sql"),
        ),
        (
            2,
            "anonymous sessions index",
            include_str!("../../migrations/postgres/0002_anonymous_index.sql"),
        ),
    ];

    fn wrap_pool(pool: sqlx::PgPool) -> Database {
        Database::Postgres(pool)
    }

    include!("sql.rs");
}

/// A session store on Postgres: for several server instances behind a load balancer, all
/// seeing the same sessions. Rotation, sign-out, revocation and expiry lock the rows they
/// change, so instances may run them concurrently.
///
/// See [`SessionStore`](crate::SessionStore) for what it does.
pub use imp::Store as PgStore;

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:5432/db`; a `?host=/path` names a
    /// Unix socket directory) with a pool of up to 10 connections, and applies the store's
    /// migrations. Connections are not encrypted (sqlx's TLS features are off): use a local
    /// network or a socket.
    ///
    /// # Errors
    ///
    /// `Storage` when the server cannot be reached or migrated; `Config` for a bad feature
    /// table.
    pub async fn open(url: &str, config: StoreConfig) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(url)
            .await?;
        Self::new(pool, config).await
    }
}
