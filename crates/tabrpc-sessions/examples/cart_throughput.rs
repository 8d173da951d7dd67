//! Cart mutations per second through the session store, on SQLite and on Postgres: each
//! mutation is what a session procedure does, `resolve` (the guard) then one guarded cart
//! write (see `FeatureTable`), spread over many sessions by concurrent workers.
//!
//! ```sh
//! cargo run --release -p tabrpc-sessions --example cart_throughput
//! TABRPC_TEST_POSTGRES_URL=postgres://postgres@localhost/postgres?host=/tmp/tabrpc-postgres \
//!   cargo run --release -p tabrpc-sessions --example cart_throughput
//! ```
//!
//! Postgres runs in a schema of its own, dropped at the end. Each backend's durability
//! settings are printed with its figures: they decide the cost of a commit (the cluster that
//! tests/run.sh starts runs with `fsync=off`; measure on one with the defaults). Figures depend
//! on the machine; the README quotes the ones measured on the project's 2-core machine.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tabrpc_sessions::{
    Database, FeatureTable, Merge, PgStore, SessionId, SessionStore, SqliteStore, StoreConfig,
};

const SESSIONS: usize = 64;
const MUTATIONS: usize = 4_000;
const CART: &str = "CREATE TABLE IF NOT EXISTS cart_items (session_id TEXT NOT NULL, \
    item TEXT NOT NULL, quantity BIGINT NOT NULL, PRIMARY KEY (session_id, item))";

fn config() -> StoreConfig {
    StoreConfig::default().feature(
        FeatureTable::new("cart_items", "session_id").merge(Merge::sum(["item"], "quantity")),
    )
}

async fn add(store: &dyn SessionStore, id: &SessionId, item: &str) {
    store.resolve(id, None).await.unwrap();
    let changed = match store.database() {
        Database::Sqlite(pool) => sqlx::query(
            "INSERT INTO cart_items (session_id, item, quantity) SELECT $1, $2, 1 WHERE EXISTS \
             (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL) \
             ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + 1",
        )
        .bind(id.as_str())
        .bind(item)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected(),
        Database::Postgres(pool) => sqlx::query(
            "INSERT INTO cart_items (session_id, item, quantity) SELECT s.id, $2, 1 \
             FROM tabrpc_sessions s WHERE s.id = $1 AND s.ended_at IS NULL FOR SHARE \
             ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + 1",
        )
        .bind(id.as_str())
        .bind(item)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected(),
        _ => unreachable!(),
    };
    assert_eq!(changed, 1);
}

/// Runs `MUTATIONS` adds with `workers` concurrent workers; returns mutations per second.
async fn measure(store: Arc<dyn SessionStore>, workers: usize) -> f64 {
    let ids: Arc<Vec<SessionId>> = Arc::new(
        (0..SESSIONS)
            .map(|_| SessionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap())
            .collect(),
    );
    for id in ids.iter() {
        store.resolve(id, None).await.unwrap();
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (store, ids) = (store.clone(), ids.clone());
            tokio::spawn(async move {
                for n in (w..MUTATIONS).step_by(workers) {
                    let item = ["apple", "fig", "kiwi", "pear"][n % 4];
                    add(store.as_ref(), &ids[n % SESSIONS], item).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    MUTATIONS as f64 / started.elapsed().as_secs_f64()
}

async fn report(name: &str, store: Arc<dyn SessionStore>) {
    for workers in [1, 8, 32] {
        let rate = measure(store.clone(), workers).await;
        println!("{name:<9} {workers:>2} concurrent: {rate:>8.0} cart mutations/s");
    }
    // Rotation cost: 100 sessions with 4 lines each moved to new ids.
    let mut total = Duration::ZERO;
    for _ in 0..100 {
        let old = SessionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let new = SessionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        for item in ["apple", "fig", "kiwi", "pear"] {
            add(store.as_ref(), &old, item).await;
        }
        let started = Instant::now();
        store.rotate(&old, &new, Some("user_bench")).await.unwrap();
        total += started.elapsed();
    }
    println!(
        "{name:<9} rotation of a 4-line cart: {:.2} ms",
        total.as_secs_f64() * 10.0
    );
}

#[tokio::main]
async fn main() {
    println!("{MUTATIONS} mutations (resolve + guarded upsert) over {SESSIONS} sessions");

    let path =
        std::env::temp_dir().join(format!("tabrpc-cart-throughput-{}.db", std::process::id()));
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::query(CART).execute(&pool).await.unwrap();
    let (mode, synchronous): (String, i64) = (
        sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap(),
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&pool)
            .await
            .unwrap(),
    );
    // 2 = FULL: the WAL is synced at every commit.
    println!(
        "SQLite: journal_mode={mode}, synchronous={synchronous} (2 = FULL), a file in {}",
        std::env::temp_dir().display()
    );
    let sqlite = SqliteStore::new(pool, config()).await.unwrap();
    report("SQLite", Arc::new(sqlite)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    let Ok(url) = std::env::var("TABRPC_TEST_POSTGRES_URL") else {
        println!("\nPostgres: skipped (set TABRPC_TEST_POSTGRES_URL)");
        return;
    };
    let schema = format!("tabrpc_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::query(CART).execute(&pool).await.unwrap();
    let mut settings = Vec::new();
    for name in ["server_version", "fsync", "synchronous_commit"] {
        let value: String = sqlx::query_scalar(&format!("SHOW {name}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        settings.push(format!("{name}={value}"));
    }
    println!("\nPostgres: {}", settings.join(", "));
    let pg = PgStore::new(pool, config()).await.unwrap();
    report("Postgres", Arc::new(pg)).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
