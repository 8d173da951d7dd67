//! [`VerifierBuilder`]: the verifier's configuration, each field with its default.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::claims::ClaimRules;
use crate::error::Error;
use crate::keys::jwks_url::{JwksCache, JwksOptions};
use crate::keys::{KeySet, KeySource};
use crate::verifier::{Inner, Keys, TokenCache, Verifier};

/// Beyond this a "clock skew" allowance is a validity extension (and large values would
/// overflow `jsonwebtoken`'s arithmetic).
const MAX_LEEWAY: Duration = Duration::from_secs(3600);

/// Clerk specifics, turned on by [`VerifierBuilder::clerk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClerkProfile {
    /// What to do with a session whose `sts` is `pending` (signed in, with tasks such as
    /// choosing an organization left to do). Defaults to [`PendingPolicy::Reject`], as Clerk's
    /// own SDKs treat pending sessions as signed out.
    pub pending: PendingPolicy,
}

impl ClerkProfile {
    /// The profile with `pending` set.
    pub const fn with_pending(pending: PendingPolicy) -> Self {
        Self { pending }
    }
}

/// Whether a Clerk session with `sts: "pending"` authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PendingPolicy {
    /// Anonymous with [`AnonymousReason::PendingSession`](crate::AnonymousReason::PendingSession).
    #[default]
    Reject,
    /// Authenticated; the procedure can inspect [`Claims::sts`](crate::Claims::sts).
    Accept,
}

/// Configures a [`Verifier`]. Obtain one with [`Verifier::builder`].
///
/// An issuer and a key source are required; everything else has a safe default.
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    issuer: Option<String>,
    keys: Option<KeySource>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    audience: Option<Vec<String>>,
    authorized_parties: Option<Vec<String>>,
    clerk: Option<ClerkProfile>,
    max_token_bytes: usize,
    jwks: JwksOptions,
    cache_capacity: usize,
    max_token_lifetime: Option<Duration>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            issuer: None,
            keys: None,
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(60),
            audience: None,
            authorized_parties: None,
            clerk: None,
            max_token_bytes: 8 * 1024,
            jwks: JwksOptions::default(),
            cache_capacity: 10_000,
            max_token_lifetime: None,
        }
    }
}

impl VerifierBuilder {
    /// The issuer every token's `iss` must equal exactly (for Clerk, the Frontend API URL such
    /// as `https://clerk.example.com`). Required: there is no default, and [`build`](Self::build)
    /// fails without it.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Where the public keys come from. Required; setting it again replaces it.
    pub fn keys(mut self, source: KeySource) -> Self {
        self.keys = Some(source);
        self
    }

    /// Shorthand for [`keys`](Self::keys)`(KeySource::PemPublicKey(..))`.
    pub fn pem_public_key(self, pem: impl Into<Vec<u8>>) -> Self {
        self.keys(KeySource::PemPublicKey(pem.into()))
    }

    /// Shorthand for [`keys`](Self::keys)`(KeySource::JwksFile(..))`.
    pub fn jwks_file(self, path: impl Into<PathBuf>) -> Self {
        self.keys(KeySource::JwksFile(path.into()))
    }

    /// Shorthand for [`keys`](Self::keys)`(KeySource::JwksJson(..))`.
    pub fn jwks_json(self, json: impl Into<String>) -> Self {
        self.keys(KeySource::JwksJson(json.into()))
    }

    /// Shorthand for [`keys`](Self::keys)`(KeySource::JwksUrl(..))`.
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.keys(KeySource::JwksUrl(url.into()))
    }

    /// The signature algorithms accepted; a token whose `alg` is not listed is refused before
    /// any key is looked up. Defaults to `[RS256]`. Add [`Algorithm::ES256`] for EC issuers.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew allowance applied to `exp`, `nbf` and `iat`. Defaults to 60 seconds; at most
    /// an hour ([`build`](Self::build) fails beyond). Larger values keep stolen tokens usable
    /// for longer.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Audiences of which a token's `aud` must name at least one; `aud` then becomes required.
    /// Defaults to none, and then a token that carries an `aud` is refused (it was meant for
    /// another service).
    pub fn audience<S: Into<String>>(mut self, audience: impl IntoIterator<Item = S>) -> Self {
        self.audience = Some(audience.into_iter().map(Into::into).collect());
        self
    }

    /// Origins allowed as `azp` (Clerk puts the page's origin there); when set, `azp` is
    /// required and must match one exactly. Defaults to no check. Setting it stops a token
    /// minted for another site of the same issuer from working here.
    pub fn authorized_parties<S: Into<String>>(
        mut self,
        parties: impl IntoIterator<Item = S>,
    ) -> Self {
        self.authorized_parties = Some(parties.into_iter().map(Into::into).collect());
        self
    }

    /// Turns on the Clerk profile: `sid` is required, and `sts: "pending"` follows
    /// `profile.pending`. Defaults to off. (The header `cat` rule, absent or the session-token
    /// category, applies to every token, with or without the profile.)
    pub fn clerk(mut self, profile: ClerkProfile) -> Self {
        self.clerk = Some(profile);
        self
    }

    /// The longest lifetime (`exp - iat`) a token may declare; a longer-lived token is refused
    /// as [`LifetimeTooLong`](crate::AnonymousReason::LifetimeTooLong), and `iat` becomes
    /// required (a token without it is refused as `claims (iat)`). Defaults to none: any
    /// lifetime the issuer chose. Setting it (Clerk session tokens live 60 s) keeps a
    /// long-lived token minted for something else, or by a misconfigured issuer, from working
    /// as a session.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = Some(lifetime);
        self
    }

    /// The largest token accepted, in bytes, checked before any parsing. Defaults to 8 KiB.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// How many verified tokens to remember, so that a token sent again (a tab sends its token
    /// with every request until it refreshes it) skips the signature check, which is most of
    /// the cost of a request. Defaults to 10 000; 0 turns the cache off.
    ///
    /// Only tokens that passed every check are stored, keyed by their SHA-256 (the token itself
    /// is not kept). On every hit `exp`, `nbf` and `iat` are checked again with the
    /// [`leeway`](Self::leeway), so an expired token is refused as `expired` exactly as without
    /// the cache; a JWKS refresh that changes the key set empties the cache, so a removed key
    /// stops vouching for its tokens at the next request. The risk left is memory: each entry
    /// holds the token's claims (a few hundred bytes for a Clerk session token, at most
    /// [`max_token_bytes`](Self::max_token_bytes)); the bound is approximate (the cache is
    /// sharded and rounds each shard up).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// How often a JWKS URL is refetched in the background. Defaults to 5 minutes.
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks.refresh_interval = interval;
        self
    }

    /// The least time between two fetches triggered by an unknown `kid` (and the `Retry-After`
    /// suggested while not ready). Defaults to 30 seconds. Lower values let a flood of made-up
    /// `kid`s hammer the identity provider.
    pub fn jwks_unknown_kid_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks.unknown_kid_refetch_interval = interval;
        self
    }

    /// How long one JWKS fetch may take. Defaults to 5 seconds; requests that miss a `kid`
    /// wait at most this long.
    pub fn jwks_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.jwks.fetch_timeout = timeout;
        self
    }

    /// Builds the verifier: runs the crypto [`self_check`](crate::self_check), loads PEM and
    /// JWKS-file keys, and for a JWKS URL makes a first fetch and starts the periodic refresh
    /// (so it must run inside a tokio runtime).
    ///
    /// An unreachable JWKS URL is **not** an error: the verifier starts not ready (every token
    /// is [`AnonymousReason::NotReady`](crate::AnonymousReason::NotReady)) and keeps retrying.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a missing issuer or key source, an
    /// empty algorithm list, or a JWKS URL that does not parse or is not `https` (plain
    /// `http` is allowed for a loopback host only); [`ErrorKind::KeyLoad`](crate::ErrorKind::KeyLoad)
    /// for unreadable or unusable keys; [`ErrorKind::Crypto`](crate::ErrorKind::Crypto) if the
    /// crypto backend fails its self-check.
    pub async fn build(self) -> Result<Verifier, Error> {
        crate::crypto::self_check()?;
        let issuer = match self.issuer {
            Some(issuer) if !issuer.is_empty() => issuer,
            _ => return Err(Error::config("an issuer is required")),
        };
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config("the leeway is longer than an hour"));
        }
        if self.algorithms.is_empty() {
            return Err(Error::config("the algorithm allow-list is empty"));
        }
        let source = self
            .keys
            .ok_or_else(|| Error::config("a key source is required"))?;
        let keys = match source {
            KeySource::PemPublicKey(pem) => {
                Keys::Static(Arc::new(KeySet::from_pem(&pem, &self.algorithms)?))
            }
            KeySource::JwksJson(json) => Keys::Static(Arc::new(KeySet::from_jwks(
                json.as_bytes(),
                &self.algorithms,
            )?)),
            KeySource::JwksFile(path) => {
                let json = tokio::fs::read(&path).await.map_err(|e| {
                    Error::key_load(format!("cannot read the JWKS file {}", path.display()))
                        .with_source(e)
                })?;
                Keys::Static(Arc::new(KeySet::from_jwks(&json, &self.algorithms)?))
            }
            KeySource::JwksUrl(url) => {
                let cache = Arc::new(JwksCache::new(&url, &self.algorithms, self.jwks)?);
                if let Err(err) = cache.fetch().await {
                    tracing::warn!(error = %err, "JWKS unreachable at start; not ready until a fetch succeeds");
                }
                let refresher = cache.spawn_refresher();
                Keys::Remote { cache, refresher }
            }
        };

        let leeway_secs = self.leeway.as_secs();
        let rules = ClaimRules {
            issuer,
            leeway_secs,
            audience: self.audience,
            authorized_parties: self.authorized_parties,
            require_sid: self.clerk.is_some(),
            reject_pending: self
                .clerk
                .is_some_and(|profile| profile.pending == PendingPolicy::Reject),
            max_lifetime_secs: self.max_token_lifetime.map(|lifetime| lifetime.as_secs()),
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                rules,
                max_token_bytes: self.max_token_bytes,
                keys,
                cache: TokenCache::new(self.cache_capacity),
                clock: std::time::SystemTime::now,
            }),
        })
    }
}
