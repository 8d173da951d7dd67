//! The demo's settings, from environment variables.

use std::net::SocketAddr;

/// Settings read from the environment at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TABRPC_ADDR`: where to listen. Defaults to `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `TABRPC_DATABASE_URL`: the SQLite database. Defaults to `sqlite://tabrpc-demo.db`
    /// (a file in the working directory, created if missing).
    pub database_url: String,
}

impl Settings {
    /// Reads the settings; a malformed value is an error that names the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let addr = match std::env::var("TABRPC_ADDR") {
            Ok(value) => value.parse().map_err(|err| {
                anyhow::anyhow!(
                    "TABRPC_ADDR={value:?} is not an address like 127.0.0.1:3000: {err}"
                )
            })?,
            Err(_) => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let database_url = std::env::var("TABRPC_DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://tabrpc-demo.db".to_owned());
        Ok(Self { addr, database_url })
    }
}
