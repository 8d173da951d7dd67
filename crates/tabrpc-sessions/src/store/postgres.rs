//! [`PgStore`]: sessions in Postgres, shared by several server instances.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

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
    /// migrations.
    ///
    /// TLS follows the URL's `sslmode` when the `postgres-tls` feature is on: `disable`;
    /// `prefer` (the default: TLS when the server offers it, unverified); `require` (TLS or no
    /// connection, the certificate not checked, even with `sslrootcert`); `verify-ca` (the
    /// certificate must chain to `sslrootcert` or a built-in public root); `verify-full` (and
    /// name the host). Use `verify-full` for a database reached over a network. Without the
    /// feature, connections are not encrypted and a URL asking for TLS is refused.
    ///
    /// # Errors
    ///
    /// `Config` for a URL that does not parse, a URL asking for TLS (`sslmode=require`,
    /// `verify-ca` or `verify-full`) without the `postgres-tls` feature, or a bad feature
    /// table; `Storage` when the server cannot be reached, refuses the connection (a failed
    /// certificate check among them) or cannot be migrated.
    pub async fn open(url: &str, config: StoreConfig) -> Result<Self, Error> {
        let options = Self::connect_options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await?;
        Self::new(pool, config).await
    }
}

impl PgStore {
    /// The connection options of a Postgres URL, for an application that opens its own pool
    /// (and then calls [`PgStore::new`]). Without the `postgres-tls` feature, a URL that asks
    /// for TLS is refused (sqlx would say only that it "was built without TLS support"); with
    /// it, aws-lc-rs is installed as the process's rustls provider unless one is installed
    /// already (rustls refuses to choose when a program compiles in two providers).
    pub fn connect_options(url: &str) -> Result<PgConnectOptions, Error> {
        connect_options(url)
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions, Error> {
    #[cfg(feature = "postgres-tls")]
    {
        // An `Err` means a provider is installed already: that one is used.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    // sqlx's parse errors name the part that is wrong (a port, an unknown `sslmode`), never
    // the URL with its password.
    let options: PgConnectOptions = url
        .parse()
        .map_err(|err| Error::config(format!("the Postgres URL is not valid: {err}")))?;
    let wants_tls = matches!(
        options.get_ssl_mode(),
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
    );
    if wants_tls && !cfg!(feature = "postgres-tls") {
        return Err(Error::config(
            "the Postgres URL asks for TLS (sslmode=require, verify-ca or verify-full) but \
             tabrpc-sessions was built without its `postgres-tls` feature (`tabrpc`: \
             `postgres-tls`)",
        ));
    }
    Ok(options)
}
