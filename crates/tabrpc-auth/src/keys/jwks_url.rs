//! A JWKS fetched from a URL and cached: refreshed periodically, refetched on an unknown `kid`
//! at most once per interval with concurrent misses sharing the fetch, and kept as last known
//! good when a fetch fails.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::keys::{KeySet, VerifyingKey};

/// Timing and size limits of a JWKS URL source.
#[derive(Debug, Clone)]
pub(crate) struct JwksOptions {
    pub(crate) refresh_interval: Duration,
    pub(crate) unknown_kid_refetch_interval: Duration,
    pub(crate) fetch_timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(5 * 60),
            unknown_kid_refetch_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
        }
    }
}

/// A JWKS URL must be `https`: over plain `http` anyone on the path can swap the keys and sign
/// tokens for any user. Plain `http` is allowed for a loopback host only (127.0.0.0/8, `::1`,
/// `localhost`), where the path is this machine (a development identity provider).
fn check_scheme(url: &reqwest::Url) -> Result<(), Error> {
    // The URL parser has already normalised IP addresses (`127.1` is `127.0.0.1`); IPv6 ones
    // come bracketed.
    let loopback = match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(Error::config(
            "the JWKS URL's scheme is \"http\": it must be https (plain http only for a \
             loopback host: 127.0.0.0/8, ::1, localhost)",
        )),
        scheme => Err(Error::config(format!(
            "the JWKS URL's scheme is {scheme:?}: it must be https (plain http only for a \
             loopback host: 127.0.0.0/8, ::1, localhost)"
        ))),
    }
}

/// The outcome of looking a `kid` up.
pub(crate) enum Lookup {
    Found(Arc<VerifyingKey>),
    UnknownKid,
    NotReady,
}

pub(crate) struct JwksCache {
    url: reqwest::Url,
    client: reqwest::Client,
    allowed: Vec<Algorithm>,
    options: JwksOptions,
    /// The last good key set; `None` until a fetch first succeeds. Never held across an await.
    keys: RwLock<Option<Arc<KeySet>>>,
    /// Counts changes of the key set (a fetch that returned other keys than the current ones).
    /// Bumped after the new set is in place, so whoever reads a generation and then looks a
    /// key up never gets keys older than that generation.
    generation: AtomicU64,
    /// When an unknown `kid` last triggered a fetch. Held across that fetch, so concurrent misses
    /// queue behind it and then find either the new key or a fresh timestamp that forbids
    /// another fetch.
    miss_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksCache {
    pub(crate) fn new(
        url: &str,
        allowed: &[Algorithm],
        options: JwksOptions,
    ) -> Result<Self, Error> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| Error::config("the JWKS URL does not parse").with_source(e))?;
        check_scheme(&url)?;
        let client = reqwest::Client::builder()
            .timeout(options.fetch_timeout)
            // The configured URL is the trust anchor; a redirect could move it anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config("cannot build the JWKS HTTP client").with_source(e))?;
        Ok(Self {
            url,
            client,
            allowed: allowed.to_vec(),
            options,
            keys: RwLock::new(None),
            generation: AtomicU64::new(0),
            miss_fetch: tokio::sync::Mutex::new(None),
        })
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    pub(crate) fn retry_after(&self) -> Duration {
        self.options.unknown_kid_refetch_interval
    }

    /// The key generation: it changes whenever the key set does. Read it before looking a key
    /// up (see [`generation`](Self::generation)'s field doc).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        // A poisoned lock still holds a complete `Option<Arc<_>>`: swaps are single writes.
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.current().and_then(|set| set.get(Some(kid)))
    }

    /// Fetches the JWKS and, if it holds at least one admissible key, makes it current. On any
    /// failure the previous keys stay.
    pub(crate) async fn fetch(&self) -> Result<usize, Error> {
        let body = self.fetch_body().await?;
        let set = KeySet::from_jwks(&body, &self.allowed)
            .map_err(|e| Error::new(ErrorKind::Fetch, e.message().to_owned()))?;
        let count = set.len();
        let mut keys = self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = keys
            .as_ref()
            .is_none_or(|old| old.fingerprint() != set.fingerprint());
        *keys = Some(Arc::new(set));
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        drop(keys);
        tracing::debug!(keys = count, changed, "JWKS loaded");
        Ok(count)
    }

    async fn fetch_body(&self) -> Result<Vec<u8>, Error> {
        let fetch_err = |message: &str| Error::new(ErrorKind::Fetch, message.to_owned());
        let mut response = self
            .client
            .get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fetch_err("JWKS request failed").with_source(e))?;
        if !response.status().is_success() {
            return Err(fetch_err(&format!("JWKS answered {}", response.status())));
        }
        let max = self.options.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(fetch_err("JWKS body too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fetch_err("JWKS body read failed").with_source(e))?
        {
            if body.len() + chunk.len() > max {
                return Err(fetch_err("JWKS body too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Finds the key for `kid`, refetching once if it is unknown and the last miss-triggered
    /// fetch is older than the refetch interval.
    pub(crate) async fn lookup(&self, kid: &str) -> Lookup {
        if let Some(key) = self.find(kid) {
            return Lookup::Found(key);
        }
        {
            let mut last = self.miss_fetch.lock().await;
            // Another miss may have fetched while this one queued.
            if let Some(key) = self.find(kid) {
                return Lookup::Found(key);
            }
            let interval = self.options.unknown_kid_refetch_interval;
            if last.is_none_or(|at| at.elapsed() >= interval) {
                *last = Some(Instant::now());
                if let Err(err) = self.fetch().await {
                    tracing::warn!(error = %err, "JWKS refetch failed; keeping the last good keys");
                }
            }
        }
        match self.current() {
            None => Lookup::NotReady,
            Some(set) => set.get(Some(kid)).map_or(Lookup::UnknownKid, Lookup::Found),
        }
    }

    /// Refreshes the keys every `refresh_interval` (every refetch interval while none were ever
    /// loaded) until the cache is dropped.
    pub(crate) fn spawn_refresher(self: &Arc<Self>) -> tokio::task::AbortHandle {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let wait = match weak.upgrade() {
                    Some(cache) if cache.is_ready() => cache.options.refresh_interval,
                    Some(cache) => cache
                        .options
                        .unknown_kid_refetch_interval
                        .min(cache.options.refresh_interval),
                    None => return,
                };
                tokio::time::sleep(wait).await;
                let Some(cache) = weak.upgrade() else { return };
                if let Err(err) = cache.fetch().await {
                    tracing::warn!(error = %err, "JWKS refresh failed; keeping the last good keys");
                }
            }
        })
        .abort_handle()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scheme_ok(url: &str) -> Result<(), String> {
        check_scheme(&reqwest::Url::parse(url).unwrap()).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_jwks_url_must_be_https_unless_loopback() {
        for ok in [
            "https://clerk.example.com/.well-known/jwks.json",
            "http://127.0.0.1:3000/.well-known/jwks.json",
            "http://127.1.2.3/jwks",
            "http://[::1]:8080/jwks",
            "http://localhost:3000/jwks",
            "http://LOCALHOST/jwks",
        ] {
            assert_eq!(scheme_ok(ok), Ok(()), "{ok}");
        }
        for (bad, scheme) in [
            ("http://clerk.example.com/jwks", "\"http\""),
            ("http://10.0.0.1/jwks", "\"http\""),
            ("http://localhost.evil.test/jwks", "\"http\""),
            ("ftp://localhost/jwks", "\"ftp\""),
            ("file:///etc/jwks.json", "\"file\""),
        ] {
            let message = scheme_ok(bad).unwrap_err();
            assert!(message.contains(scheme), "{bad}: {message}");
        }
    }
}
