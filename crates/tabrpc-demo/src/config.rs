//! The demo's settings, from environment variables.

use std::net::SocketAddr;

use tabrpc::auth::KeySource;

/// Settings read from the environment at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TABRPC_ADDR`: where to listen. Defaults to `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `TABRPC_DATABASE_URL`: the SQLite database. Defaults to `sqlite://tabrpc-demo.db`
    /// (a file in the working directory, created if missing).
    pub database_url: String,
    /// Who issues the tokens the demo accepts.
    pub auth: AuthSettings,
}

/// Who issues the tokens the demo accepts.
#[derive(Debug, Clone)]
pub enum AuthSettings {
    /// The embedded development identity provider (the default), issuer `http://<addr>`.
    /// `TABRPC_DEV_IDP_KEY` may name a PEM private key file to keep tokens valid across
    /// restarts; otherwise a fresh RSA key is generated at every start.
    DevIdp {
        /// The PEM private key, if one was given.
        key_pem: Option<Vec<u8>>,
    },
    /// Another issuer (for example a Clerk instance): `TABRPC_AUTH_ISSUER` with one of
    /// `TABRPC_AUTH_JWKS_URL`, `TABRPC_AUTH_JWKS_FILE` or `TABRPC_AUTH_PEM_FILE`. The
    /// development identity provider is then off.
    External {
        /// The expected `iss`.
        issuer: String,
        /// Where its verification keys come from.
        keys: KeySource,
    },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn read(name: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|err| anyhow::anyhow!("{name}={path:?} cannot be read: {err}"))
}

impl Settings {
    /// Reads the settings; a malformed value is an error that names the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let addr = match var("TABRPC_ADDR") {
            Some(value) => value.parse().map_err(|err| {
                anyhow::anyhow!(
                    "TABRPC_ADDR={value:?} is not an address like 127.0.0.1:3000: {err}"
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let database_url =
            var("TABRPC_DATABASE_URL").unwrap_or_else(|| "sqlite://tabrpc-demo.db".to_owned());
        let auth = match var("TABRPC_AUTH_ISSUER") {
            Some(issuer) => {
                let keys = if let Some(url) = var("TABRPC_AUTH_JWKS_URL") {
                    KeySource::JwksUrl(url)
                } else if let Some(path) = var("TABRPC_AUTH_JWKS_FILE") {
                    KeySource::JwksFile(path.into())
                } else if let Some(path) = var("TABRPC_AUTH_PEM_FILE") {
                    KeySource::PemPublicKey(read("TABRPC_AUTH_PEM_FILE", &path)?)
                } else {
                    anyhow::bail!(
                        "TABRPC_AUTH_ISSUER is set: also set TABRPC_AUTH_JWKS_URL, \
                         TABRPC_AUTH_JWKS_FILE or TABRPC_AUTH_PEM_FILE"
                    );
                };
                AuthSettings::External { issuer, keys }
            }
            None => AuthSettings::DevIdp {
                key_pem: var("TABRPC_DEV_IDP_KEY")
                    .map(|path| read("TABRPC_DEV_IDP_KEY", &path))
                    .transpose()?,
            },
        };
        Ok(Self {
            addr,
            database_url,
            auth,
        })
    }
}
