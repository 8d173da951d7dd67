//! Shared by the black-box tests: fresh ids, a cart feature table on either backend, stores on
//! a temporary SQLite file or an isolated schema of the test Postgres.
//!
//! The Postgres tests need `TABRPC_TEST_POSTGRES_URL` (tests/run.sh starts a cluster and sets
//! it). Without it they fail under `CI=true` and are skipped, loudly, elsewhere.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tabrpc_sessions::{
    Database, Error, FeatureTable, Merge, PgStore, SessionId, SessionStore, SqliteStore,
    StoreConfig,
};

pub const POSTGRES_URL_VAR: &str = "TABRPC_TEST_POSTGRES_URL";

/// A fresh random session id.
pub fn id() -> SessionId {
    SessionId::parse(&uuid::Uuid::new_v4().to_string()).expect("a v4 id")
}

/// A user id no other test uses (tests share one Postgres).
pub fn user(name: &str) -> String {
    format!("user_{name}_{}", uuid::Uuid::new_v4().simple())
}

/// The cart feature: one row per (session, item), quantities added up at rotation, at most 99.
pub fn cart() -> FeatureTable {
    FeatureTable::new("cart_items", "session_id")
        .merge(Merge::sum(["item"], "quantity").at_most(99))
}

pub fn config() -> StoreConfig {
    StoreConfig::default().feature(cart())
}

const CART_TABLE: &str = "CREATE TABLE IF NOT EXISTS cart_items (\
    session_id TEXT NOT NULL, item TEXT NOT NULL, quantity BIGINT NOT NULL, \
    PRIMARY KEY (session_id, item))";

/// A SQLite file that no other test uses, deleted (with its WAL files) when dropped. Keep it
/// alive as long as a pool uses it: the pool opens connections lazily.
pub struct TempDb(std::path::PathBuf);

impl std::ops::Deref for TempDb {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.0.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

pub fn temp_db(name: &str) -> TempDb {
    TempDb(std::env::temp_dir().join(format!(
        "tabrpc-sessions-{name}-{}-{}.db",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )))
}

pub async fn sqlite_pool(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("open SQLite");
    sqlx::query(CART_TABLE)
        .execute(&pool)
        .await
        .expect("cart table");
    pool
}

/// A store with the cart on the SQLite file at `path` (created if missing).
pub async fn sqlite_store(path: &std::path::Path, config: StoreConfig) -> SqliteStore {
    SqliteStore::new(sqlite_pool(path).await, config)
        .await
        .expect("SQLite store")
}

/// The test Postgres URL, or `None` (skip) outside CI. Fails the test under `CI=true`.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{POSTGRES_URL_VAR} is not set: the Postgres session tests must run under CI \
             (tests/run.sh starts PostgreSQL and sets it)"
        ),
        _ => {
            // Straight to the process's stderr: libtest captures `eprintln!` and shows it only
            // for failing tests, which would make the skip silent.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! SKIPPED: {POSTGRES_URL_VAR} is not set, so this Postgres test did not run. \
                 Run `bash tests/run.sh`, or start PostgreSQL and set {POSTGRES_URL_VAR}. !!!\n"
            );
            None
        }
    }
}

/// A schema of its own in the test Postgres, so concurrent tests (and their expiry sweeps)
/// never see each other's sessions. Stores made from it share its tables.
pub struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    pub async fn create(url: &str) -> Self {
        let name = format!("tabrpc_test_{}", uuid::Uuid::new_v4().simple());
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect to the test Postgres");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&pool)
            .await
            .expect("create schema");
        let schema = Self {
            url: url.to_owned(),
            name,
        };
        sqlx::query(CART_TABLE)
            .execute(&schema.pool().await)
            .await
            .expect("cart table");
        schema
    }

    /// A new pool whose connections use this schema.
    pub async fn pool(&self) -> sqlx::PgPool {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("url")
            .options([("search_path", self.name.as_str())]);
        PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await
            .expect("connect to the test Postgres")
    }

    /// A new store (its own pool) on this schema, as another server instance would have.
    pub async fn store(&self, config: StoreConfig) -> PgStore {
        PgStore::new(self.pool().await, config)
            .await
            .expect("Postgres store")
    }

    pub async fn drop(self) {
        if let Ok(pool) = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
        {
            let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
                .execute(&pool)
                .await;
        }
    }
}

/// Adds `quantity` of `item` to the cart of session `id`, the way a feature must write (see
/// `FeatureTable`): only while the session is live, locking it against a rotation.
///
/// An id never seen is first resolved as an anonymous session (what the session guard does
/// before a procedure runs), so tests can start carts in one line.
pub async fn cart_add(
    store: &dyn SessionStore,
    id: &SessionId,
    item: &str,
    quantity: i64,
) -> Result<(), Error> {
    if store.lookup(id).await?.is_none() {
        store.resolve(id, None).await?;
    }
    let changed = match store.database() {
        Database::Sqlite(pool) => sqlx::query(
            "INSERT INTO cart_items (session_id, item, quantity) \
             SELECT $1, $2, $3 WHERE EXISTS \
             (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL) \
             ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity",
        )
        .bind(id.as_str())
        .bind(item)
        .bind(quantity)
        .execute(&pool)
        .await
        .expect("SQLite cart write")
        .rows_affected(),
        Database::Postgres(pool) => sqlx::query(
            "INSERT INTO cart_items (session_id, item, quantity) \
             SELECT s.id, $2, $3 FROM tabrpc_sessions s WHERE s.id = $1 AND s.ended_at IS NULL FOR SHARE \
             ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity",
        )
        .bind(id.as_str())
        .bind(item)
        .bind(quantity)
        .execute(&pool)
        .await
        .expect("Postgres cart write")
        .rows_affected(),
        _ => unreachable!("no other backend"),
    };
    if changed == 0 {
        store.ensure_live(id).await?;
        panic!("a live session refused a cart write");
    }
    Ok(())
}

/// The cart of session `id`, sorted by item.
pub async fn cart_of(store: &dyn SessionStore, id: &SessionId) -> Vec<(String, i64)> {
    let sql = "SELECT item, quantity FROM cart_items WHERE session_id = $1 ORDER BY item";
    match store.database() {
        Database::Sqlite(pool) => sqlx::query_as(sql)
            .bind(id.as_str())
            .fetch_all(&pool)
            .await
            .expect("read cart"),
        Database::Postgres(pool) => sqlx::query_as(sql)
            .bind(id.as_str())
            .fetch_all(&pool)
            .await
            .expect("read cart"),
        _ => unreachable!("no other backend"),
    }
}
