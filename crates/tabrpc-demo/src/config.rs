//! The demo's settings, from environment variables (each documented in the README).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tabrpc::auth::KeySource;

/// Settings read from the environment at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TABRPC_ADDR`: where to listen, `host:port` with an IP address (`127.0.0.1:3000`,
    /// `[::1]:3000`) or a name (`localhost:3000`, resolved when binding). Defaults to
    /// `127.0.0.1:3000`. With the development identity provider the address actually bound
    /// must be a loopback one ([`Settings::check_listener`]).
    pub addr: String,
    /// `TABRPC_DATABASE_URL`: the SQLite database. Defaults to `sqlite://tabrpc-demo.db`
    /// (a file in the working directory, created if missing).
    pub database_url: String,
    /// Where sessions and carts live, and when idle ones expire.
    pub sessions: SessionSettings,
    /// Who issues the tokens the demo accepts, and the verification policy.
    pub auth: AuthSettings,
    /// `TABRPC_WEB_DIR`: the built demo web app. Defaults to `crates/tabrpc-demo/web/dist` in
    /// this repository.
    pub web_dir: std::path::PathBuf,
    /// Connection limits.
    pub serve: ServeSettings,
    /// `TABRPC_CORS_ORIGINS`: comma-separated origins of front ends served elsewhere that may
    /// call the API from a browser (`https://app.example.com`, exactly as the browser sends its
    /// `Origin`: scheme, host, port if not the default, no path). Defaults to none: no CORS at
    /// all, which a front end served by the demo itself does not need. A malformed origin stops
    /// start-up.
    pub cors_origins: Vec<http::HeaderValue>,
}

/// Connection limits of the server ([`tabrpc::axum::ServeConfig`]); unset values keep its
/// defaults.
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    /// `TABRPC_HEADER_READ_TIMEOUT_SECS`: how long a client has to send a request's head.
    /// Defaults to 30 s.
    pub header_read_timeout: Option<Duration>,
    /// `TABRPC_IDLE_TIMEOUT_SECS`: how long a connection may stay open with no request in
    /// flight (open streams are in flight). Defaults to 60 s.
    pub idle_timeout: Option<Duration>,
    /// `TABRPC_MAX_CONNECTIONS`: the most connections served at once; past it new ones wait
    /// in the listen backlog. Defaults to 10,000.
    pub max_connections: Option<usize>,
    /// `TABRPC_REQUEST_BODY_TIMEOUT_SECS`: how long a request's body may take to arrive after
    /// its head (then 408 and the connection closes). Defaults to 30 s.
    pub request_body_timeout: Option<Duration>,
}

impl ServeSettings {
    /// Reads the connection variables.
    pub fn from_env() -> anyhow::Result<Self> {
        let max_connections = var("TABRPC_MAX_CONNECTIONS")
            .map(|v| match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(anyhow::anyhow!(
                    "TABRPC_MAX_CONNECTIONS={v:?} is not a positive whole number"
                )),
            })
            .transpose()?;
        Ok(Self {
            header_read_timeout: seconds("TABRPC_HEADER_READ_TIMEOUT_SECS")?,
            idle_timeout: seconds("TABRPC_IDLE_TIMEOUT_SECS")?,
            max_connections,
            request_body_timeout: seconds("TABRPC_REQUEST_BODY_TIMEOUT_SECS")?,
        })
    }

    /// The server's connection settings.
    pub fn config(&self) -> tabrpc::axum::ServeConfig {
        let mut config = tabrpc::axum::ServeConfig::default();
        if let Some(timeout) = self.header_read_timeout {
            config = config.header_read_timeout(Some(timeout));
        }
        if let Some(timeout) = self.idle_timeout {
            config = config.idle_timeout(Some(timeout));
        }
        if let Some(max) = self.max_connections {
            config = config.max_connections(max);
        }
        if let Some(timeout) = self.request_body_timeout {
            config = config.request_body_timeout(timeout);
        }
        config
    }
}

/// Where the demo keeps sessions and carts, and when idle ones expire.
#[derive(Clone, Default)]
pub struct SessionSettings {
    /// `TABRPC_SESSION_DATABASE_URL`: a `postgres://…` (or `postgresql://…`) URL, so that
    /// several demo instances share sessions and carts. Defaults to unset: they live in the
    /// SQLite database of `TABRPC_DATABASE_URL`. May carry a password: never printed.
    pub database_url: Option<String>,
    /// `TABRPC_SESSION_IDLE_SECS`: a session not used for this long ends, and its cart is
    /// deleted. Defaults to 30 days.
    pub idle_timeout: Option<Duration>,
    /// `TABRPC_SESSION_SWEEP_SECS`: how often the expiry task looks for idle sessions.
    /// Defaults to 600 (10 minutes).
    pub sweep_interval: Option<Duration>,
}

impl std::fmt::Debug for SessionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's scheme only: the rest may hold a password.
        let scheme = self
            .database_url
            .as_deref()
            .map(|url| url.split_once("://").map_or("?", |(scheme, _)| scheme));
        f.debug_struct("SessionSettings")
            .field("database", &scheme)
            .field("idle_timeout", &self.idle_timeout)
            .field("sweep_interval", &self.sweep_interval)
            .finish()
    }
}

impl SessionSettings {
    /// Reads the `TABRPC_SESSION_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        let database_url = var("TABRPC_SESSION_DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            // Not the URL itself in the message: it may carry a password.
            anyhow::bail!(
                "TABRPC_SESSION_DATABASE_URL is not a postgres:// URL: sessions and carts go to \
                 Postgres when it is set, to the SQLite database of TABRPC_DATABASE_URL otherwise"
            );
        }
        Ok(Self {
            database_url,
            idle_timeout: seconds("TABRPC_SESSION_IDLE_SECS")?,
            sweep_interval: seconds("TABRPC_SESSION_SWEEP_SECS")?,
        })
    }

    /// `config` with these timings applied.
    pub fn apply(
        &self,
        mut config: tabrpc::sessions::StoreConfig,
    ) -> tabrpc::sessions::StoreConfig {
        if let Some(idle) = self.idle_timeout {
            config = config.idle_timeout(idle);
        }
        if let Some(every) = self.sweep_interval {
            config = config.sweep_interval(every);
        }
        config
    }
}

/// A positive whole number of seconds from variable `name`, if set.
fn seconds(name: &str) -> anyhow::Result<Option<Duration>> {
    var(name)
        .map(|v| match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(anyhow::anyhow!(
                "{name}={v:?} is not a positive whole number of seconds"
            )),
        })
        .transpose()
}

/// Who issues the tokens the demo accepts, and how they are checked.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// The issuer: the embedded development provider (`TABRPC_DEV_IDP=1`) or another issuer
    /// (`TABRPC_AUTH_ISSUER` with a key source). From the environment one of them must be
    /// chosen: with neither, start-up fails. [`AuthSettings::default`] (for tests and
    /// embedding) has the development provider.
    pub issuer: Issuer,
    /// `TABRPC_AUTH_AUDIENCE`: comma-separated audiences of which `aud` must name one.
    /// Defaults to none (a token that carries an `aud` is then refused).
    pub audience: Vec<String>,
    /// `TABRPC_AUTH_AUTHORIZED_PARTIES`: comma-separated origins allowed as `azp`. Defaults to
    /// no check.
    pub authorized_parties: Vec<String>,
    /// `TABRPC_AUTH_LEEWAY_SECS`: clock-skew leeway for `exp`, `nbf` and `iat`. Defaults to 60.
    pub leeway: Option<Duration>,
    /// `TABRPC_AUTH_COOKIE`: the session cookie's name. Defaults to `__session`.
    pub cookie: Option<String>,
    /// `TABRPC_AUTH_MARKER_HEADER`: the fail-closed marker header. Defaults to
    /// `x-tabrpc-auth-required`.
    pub marker_header: Option<String>,
    /// `TABRPC_AUTH_CLERK=1`: the verifier's Clerk profile ([`tabrpc::auth::ClerkProfile`]):
    /// a token without `sid` is refused, and so is a pending session (`sts: "pending"`, signed
    /// in with tasks left, which Clerk's own SDKs treat as signed out). Defaults to off (`0`):
    /// `sid` is optional and `sts` is not read, which suits issuers other than Clerk; turn it
    /// on for a Clerk instance, or a pending session is served as signed in.
    pub clerk: bool,
    /// `TABRPC_AUTH_MAX_TOKEN_LIFETIME_SECS`: tokens whose `exp - iat` is longer are refused
    /// (and `iat` becomes required). Defaults to no limit.
    pub max_token_lifetime: Option<Duration>,
    /// `TABRPC_PUBLIC_SCHEME`: the scheme (`http` or `https`) an `Origin` header must carry for
    /// a cookie-authenticated mutation to pass the CSRF rule. Defaults to the request's own
    /// scheme, `http` for this plain-HTTP server: set `https` behind a TLS proxy, or same-origin
    /// cookie mutations from the https page are refused (fail closed).
    pub public_scheme: Option<String>,
}

/// Who issues the tokens.
#[derive(Debug, Clone)]
pub enum Issuer {
    /// The embedded development identity provider, issuer `http://<addr>`: `TABRPC_DEV_IDP=1`.
    /// It signs tokens for anyone who asks, so it is never the default and it only listens
    /// on a loopback address. `TABRPC_DEV_IDP_KEY` may name a PEM private key file to keep
    /// tokens valid across restarts; otherwise a fresh RSA key is generated at every start.
    DevIdp {
        /// The PEM private key, if one was given.
        key_pem: Option<Vec<u8>>,
    },
    /// Another issuer (a Clerk instance, say): `TABRPC_AUTH_ISSUER` with exactly one of
    /// `TABRPC_AUTH_JWKS` (a file path or an http(s) URL) and `TABRPC_AUTH_PEM` (a public key
    /// file). The development identity provider is then off.
    External {
        /// The expected `iss`.
        issuer: String,
        /// Where its verification keys come from.
        keys: KeySource,
    },
}

impl Default for Issuer {
    fn default() -> Self {
        Issuer::DevIdp { key_pem: None }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn read(name: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|err| anyhow::anyhow!("{name}={path:?} cannot be read: {err}"))
}

/// `1` (on), `0` or unset (off) from variable `name`; anything else is an error naming it.
fn flag(name: &str) -> anyhow::Result<bool> {
    match var(name).as_deref() {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(anyhow::anyhow!(
            "{name}={other:?} is neither 1 (on) nor 0 (off)"
        )),
    }
}

/// `TABRPC_ADDR` checked for the `host:port` shape (the host is resolved when binding).
fn listen_addr() -> anyhow::Result<String> {
    let Some(value) = var("TABRPC_ADDR") else {
        return Ok("127.0.0.1:3000".to_owned());
    };
    let well_formed = value.parse::<SocketAddr>().is_ok()
        || value
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !well_formed {
        anyhow::bail!(
            "TABRPC_ADDR={value:?} is not an address like 127.0.0.1:3000, [::1]:3000 or \
             localhost:3000"
        );
    }
    Ok(value)
}

/// `TABRPC_CORS_ORIGINS`, each checked to be an origin as a browser sends it in `Origin`: a
/// lowercase `http` or `https` URL with a host and no path (not even `/`), so that the exact
/// comparison with the header can match.
fn cors_origins() -> anyhow::Result<Vec<http::HeaderValue>> {
    list("TABRPC_CORS_ORIGINS")
        .into_iter()
        .map(|origin| {
            let uri = origin.parse::<http::Uri>().ok();
            let well_formed = origin == origin.to_ascii_lowercase()
                && !origin.ends_with('/')
                && !origin.contains(['?', '#'])
                && uri.as_ref().is_some_and(|uri| {
                    matches!(uri.scheme_str(), Some("http" | "https"))
                        && uri
                            .authority()
                            .is_some_and(|a| !a.host().is_empty() && !a.as_str().contains('@'))
                        && // `http::Uri` reports the empty path of `https://host` as `/`; the
                        // text itself was checked for a trailing slash.
                        uri.path_and_query().is_none_or(|p| p.as_str() == "/")
                });
            if !well_formed {
                anyhow::bail!(
                    "TABRPC_CORS_ORIGINS: {origin:?} is not an origin like https://app.example.com \
                     (lowercase http or https, a host, an optional port, no path)"
                );
            }
            http::HeaderValue::from_str(&origin).map_err(|_| {
                anyhow::anyhow!("TABRPC_CORS_ORIGINS: {origin:?} is not a header value")
            })
        })
        .collect()
}

/// Whether `ip` is a loopback address, an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`)
/// included. An unspecified address (`0.0.0.0`, `::`) listens on every interface: not
/// loopback.
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

impl Settings {
    /// Reads the settings; a malformed, missing or contradictory value is an error that names
    /// the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let addr = listen_addr()?;
        let database_url =
            var("TABRPC_DATABASE_URL").unwrap_or_else(|| "sqlite://tabrpc-demo.db".to_owned());
        Ok(Self {
            addr,
            database_url,
            sessions: SessionSettings::from_env()?,
            auth: AuthSettings::from_env()?,
            web_dir: var("TABRPC_WEB_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(crate::default_web_dir),
            serve: ServeSettings::from_env()?,
            cors_origins: cors_origins()?,
        })
    }

    /// The CORS layer of [`Settings::cors_origins`] ([`tabrpc::axum::cors`]), which also allows
    /// a renamed fail-closed marker; `None` when no origin is configured.
    pub fn cors(&self) -> Option<tower_http::cors::CorsLayer> {
        if self.cors_origins.is_empty() {
            return None;
        }
        let layer = tabrpc::axum::cors(self.cors_origins.iter().cloned());
        let marker = self
            .auth
            .marker_header
            .as_deref()
            .and_then(|name| http::HeaderName::try_from(name).ok());
        Some(match marker {
            Some(marker) => layer.allow_headers(tower_http::cors::AllowHeaders::list(
                tabrpc::axum::CORS_REQUEST_HEADERS
                    .into_iter()
                    .chain([marker]),
            )),
            None => layer,
        })
    }

    /// Checks the address the server actually bound (a name like `localhost` resolved, a
    /// port 0 chosen): the development identity provider signs a token for anyone who asks,
    /// so it may only listen on a loopback address.
    ///
    /// # Errors
    ///
    /// With the development identity provider on `bound` not a loopback address, naming
    /// `TABRPC_DEV_IDP` and `TABRPC_ADDR`.
    pub fn check_listener(&self, bound: SocketAddr) -> anyhow::Result<()> {
        if matches!(self.auth.issuer, Issuer::DevIdp { .. }) && !is_loopback(bound.ip()) {
            anyhow::bail!(
                "TABRPC_DEV_IDP=1 needs a loopback listen address, but TABRPC_ADDR={:?} listens \
                 on {bound}: the development identity provider signs tokens for anyone who can \
                 reach it. Listen on 127.0.0.1, [::1] or localhost, or accept another issuer's \
                 tokens with TABRPC_AUTH_ISSUER instead",
                self.addr
            );
        }
        Ok(())
    }
}

impl AuthSettings {
    /// Reads the `TABRPC_AUTH_*` variables, `TABRPC_DEV_IDP` and `TABRPC_DEV_IDP_KEY`.
    pub fn from_env() -> anyhow::Result<Self> {
        // The plain values first, so that a malformed one is named even when the issuer
        // settings are missing too.
        let leeway = var("TABRPC_AUTH_LEEWAY_SECS")
            .map(|v| {
                v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                    anyhow::anyhow!(
                        "TABRPC_AUTH_LEEWAY_SECS={v:?} is not a whole number of seconds"
                    )
                })
            })
            .transpose()?;
        let clerk = flag("TABRPC_AUTH_CLERK")?;
        let dev_idp = flag("TABRPC_DEV_IDP")?;
        let jwks = var("TABRPC_AUTH_JWKS");
        let pem = var("TABRPC_AUTH_PEM");
        let dev_key = var("TABRPC_DEV_IDP_KEY");
        let issuer = var("TABRPC_AUTH_ISSUER");
        if dev_idp && issuer.is_some() {
            anyhow::bail!(
                "TABRPC_DEV_IDP=1 and TABRPC_AUTH_ISSUER are both set: choose the development \
                 identity provider or another issuer, not both"
            );
        }
        let issuer = match (issuer, jwks, pem) {
            (Some(_), Some(_), Some(_)) => anyhow::bail!(
                "TABRPC_AUTH_JWKS and TABRPC_AUTH_PEM are both set: give exactly one key source"
            ),
            (Some(_), None, None) => anyhow::bail!(
                "TABRPC_AUTH_ISSUER is set without a key source: set TABRPC_AUTH_JWKS (a file or an http(s) URL) or TABRPC_AUTH_PEM (a public key file)"
            ),
            (None, Some(_), _) => anyhow::bail!(
                "TABRPC_AUTH_JWKS is set without TABRPC_AUTH_ISSUER: set the issuer the keys belong to"
            ),
            (None, None, Some(_)) => anyhow::bail!(
                "TABRPC_AUTH_PEM is set without TABRPC_AUTH_ISSUER: set the issuer the key belongs to"
            ),
            (Some(_), _, _) if dev_key.is_some() => anyhow::bail!(
                "TABRPC_DEV_IDP_KEY is set together with TABRPC_AUTH_ISSUER: the development identity provider is off when another issuer is configured"
            ),
            (Some(issuer), Some(jwks), None) => {
                let keys = if jwks.starts_with("http://") || jwks.starts_with("https://") {
                    KeySource::JwksUrl(jwks)
                } else {
                    KeySource::JwksFile(jwks.into())
                };
                Issuer::External { issuer, keys }
            }
            (Some(issuer), None, Some(pem)) => Issuer::External {
                issuer,
                keys: KeySource::PemPublicKey(read("TABRPC_AUTH_PEM", &pem)?),
            },
            (None, None, None) if dev_idp => Issuer::DevIdp {
                key_pem: dev_key
                    .map(|path| read("TABRPC_DEV_IDP_KEY", &path))
                    .transpose()?,
            },
            (None, None, None) if dev_key.is_some() => anyhow::bail!(
                "TABRPC_DEV_IDP_KEY is set without TABRPC_DEV_IDP=1: the development identity \
                 provider is on only when chosen with TABRPC_DEV_IDP=1"
            ),
            // Never a silent fallback: a server that cannot authenticate anyone would look
            // like it works, and the development provider must be chosen explicitly.
            (None, None, None) => anyhow::bail!(
                "no issuer is configured: set TABRPC_DEV_IDP=1 for the development identity \
                 provider (loopback addresses only; `bash crates/tabrpc-demo/run.sh` sets it), \
                 or TABRPC_AUTH_ISSUER with TABRPC_AUTH_JWKS or TABRPC_AUTH_PEM to accept \
                 another issuer's tokens"
            ),
        };
        Ok(Self {
            issuer,
            audience: list("TABRPC_AUTH_AUDIENCE"),
            authorized_parties: list("TABRPC_AUTH_AUTHORIZED_PARTIES"),
            leeway,
            cookie: var("TABRPC_AUTH_COOKIE"),
            marker_header: var("TABRPC_AUTH_MARKER_HEADER"),
            clerk,
            max_token_lifetime: seconds("TABRPC_AUTH_MAX_TOKEN_LIFETIME_SECS")?,
            public_scheme: match var("TABRPC_PUBLIC_SCHEME").as_deref() {
                None => None,
                Some(scheme @ ("http" | "https")) => Some(scheme.to_owned()),
                Some(other) => anyhow::bail!(
                    "TABRPC_PUBLIC_SCHEME={other:?} is neither \"http\" nor \"https\""
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_read_from_the_bound_address() {
        for addr in [
            "127.0.0.1:0",
            "127.8.9.10:1",
            "[::1]:0",
            "[::ffff:127.0.0.1]:3000",
        ] {
            let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
            assert!(is_loopback(addr.ip()), "{addr}");
        }
        for addr in [
            "0.0.0.0:3000",
            "[::]:3000",
            "192.168.1.2:3000",
            "[::ffff:10.0.0.1]:1",
        ] {
            let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
            assert!(!is_loopback(addr.ip()), "{addr}");
        }
    }
}
