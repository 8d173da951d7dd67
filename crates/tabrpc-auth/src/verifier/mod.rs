//! [`Verifier`]: checks one token (size, header, key, signature, claims) and names the reason
//! when it fails.

mod builder;
mod cache;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use serde_json::{Map, Value};

pub use builder::{ClerkProfile, PendingPolicy, VerifierBuilder};

use crate::algorithm::Algorithm;
use crate::claims::{ClaimRules, Claims};
use crate::error::Error;
use crate::header::{HeaderFacts, check_header};
use crate::identity::AnonymousReason;
use crate::keys::jwks_url::{JwksCache, Lookup};
use crate::keys::{KeySet, VerifyingKey};
use cache::{Digest, Entry, TokenCache};

/// Verifies bearer tokens against one issuer's keys. Cheap to clone (an `Arc`).
///
/// Every failure is an [`AnonymousReason`], never an error or a panic, so a bad token cannot
/// turn into a 500. Build one with [`Verifier::builder`]; most servers use it through a
/// [`Resolver`](crate::Resolver).
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    algorithms: Vec<Algorithm>,
    rules: ClaimRules,
    max_token_bytes: usize,
    keys: Keys,
    /// Verified tokens; `None` when the capacity is 0.
    cache: Option<TokenCache>,
    /// The wall clock (`SystemTime::now`; tests set another).
    clock: fn() -> SystemTime,
}

pub(crate) enum Keys {
    Static(Arc<KeySet>),
    Remote {
        cache: Arc<JwksCache>,
        refresher: tokio::task::AbortHandle,
    },
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Keys::Remote { refresher, .. } = &self.keys {
            refresher.abort();
        }
    }
}

/// One verification with what the log may say about it.
pub(crate) struct Checked {
    pub(crate) result: Result<Claims, AnonymousReason>,
    /// Set once the `kid` passed the format check.
    pub(crate) kid: Option<String>,
    /// The start of the token's SHA-256; unset for an oversized token.
    pub(crate) fingerprint: Option<Fingerprint>,
    /// `now - iat` in seconds, when the signature verified and `iat` is present.
    pub(crate) skew_secs: Option<i64>,
    /// The claims came from the verified-token cache.
    pub(crate) cached: bool,
}

impl Verifier {
    /// A builder with every default; set at least an issuer and a key source.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verifies `token` (without the `Bearer ` prefix) and returns its claims, or why it is
    /// refused. Logs nothing; [`Resolver::resolve`](crate::Resolver::resolve) logs.
    pub async fn verify(&self, token: &str) -> Result<Claims, AnonymousReason> {
        self.check(token).await.result
    }

    /// How many verified tokens are cached now (0 with the cache off); see
    /// [`VerifierBuilder::cache_capacity`]. For metrics and tests.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Whether keys are loaded. Only a JWKS URL that never answered makes this `false`.
    pub fn is_ready(&self) -> bool {
        match &self.inner.keys {
            Keys::Static(_) => true,
            Keys::Remote { cache, .. } => cache.is_ready(),
        }
    }

    /// The `Retry-After` to send with a 503 while not ready: the unknown-`kid` refetch
    /// interval, after which a request will trigger the next fetch.
    pub fn retry_after(&self) -> Duration {
        match &self.inner.keys {
            Keys::Static(_) => Duration::from_secs(1),
            Keys::Remote { cache, .. } => cache.retry_after(),
        }
    }

    /// Fetches a JWKS URL now (for example from an admin endpoint after a key rotation). A
    /// no-op for the other key sources. On failure the last good keys stay.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Fetch`](crate::ErrorKind::Fetch) when the fetch fails.
    pub async fn refresh(&self) -> Result<(), Error> {
        match &self.inner.keys {
            Keys::Static(_) => Ok(()),
            Keys::Remote { cache, .. } => cache.fetch().await.map(drop),
        }
    }

    pub(crate) async fn check(&self, token: &str) -> Checked {
        let mut checked = Checked {
            result: Err(AnonymousReason::Malformed),
            kid: None,
            fingerprint: None,
            skew_secs: None,
            cached: false,
        };
        if token.len() > self.inner.max_token_bytes {
            checked.result = Err(AnonymousReason::TooLarge);
            return checked;
        }
        let digest = sha256(token);
        checked.fingerprint = Some(Fingerprint::of(&digest));
        let Some(cache) = &self.inner.cache else {
            checked.result = self.check_inner(token, &mut checked).await;
            return checked;
        };
        // Read before any key lookup: an entry is labelled with a generation no newer than the
        // keys that verified it, so a rotation during this check can only cause a later miss.
        let generation = self.key_generation();
        let now = match unix_secs((self.inner.clock)()) {
            Ok(now) => now,
            Err(reason) => {
                checked.result = Err(reason);
                return checked;
            }
        };
        if let Some(entry) = cache.get(&digest, generation, now, &self.inner.rules) {
            checked.kid.clone_from(&entry.kid);
            checked.skew_secs = entry.claims.iat.map(|iat| skew(now, iat));
            checked.cached = true;
            checked.result = Ok(entry.claims.clone());
            return checked;
        }
        let result = self.check_inner(token, &mut checked).await;
        if let Ok(claims) = &result {
            cache.insert(
                digest,
                Entry::new(claims.clone(), checked.kid.clone(), generation),
            );
        }
        checked.result = result;
        checked
    }

    /// Changes whenever the key set does (only a JWKS URL's can).
    fn key_generation(&self) -> u64 {
        match &self.inner.keys {
            Keys::Static(_) => 0,
            Keys::Remote { cache, .. } => cache.generation(),
        }
    }

    async fn check_inner(
        &self,
        token: &str,
        checked: &mut Checked,
    ) -> Result<Claims, AnonymousReason> {
        let inner = &*self.inner;
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AnonymousReason::Malformed);
        };
        let header_len = header.len();
        let mut facts = HeaderFacts::default();
        let header = check_header(header, &inner.algorithms, &mut facts);
        checked.kid = facts.kid;
        let header = header?;
        // Checked before the key lookup (which may fetch), so that garbage is reported as
        // malformed rather than as a bad signature and costs nothing.
        let payload_bytes = base64url(payload)?;
        base64url(signature)?;

        let key = self.key_for(header.kid.as_deref()).await?;
        if !key.fits(header.alg) {
            return Err(AnonymousReason::BadAlg);
        }
        // The signing input is the first two segments exactly as sent (RFC 7515 §5.2).
        let signing_input = &token[..header_len + 1 + payload.len()];
        match jsonwebtoken::crypto::verify(
            signature,
            signing_input.as_bytes(),
            &key.key,
            header.alg.to_jwt(),
        ) {
            Ok(true) => {}
            Ok(false) => return Err(AnonymousReason::BadSignature),
            Err(err) => return Err(reason_for(err.kind())),
        }
        let claims = claims_object(&payload_bytes)?;

        let now = unix_secs((inner.clock)())?;
        checked.skew_secs = claims
            .get("iat")
            .and_then(Value::as_i64)
            .map(|iat| i64::try_from(now).unwrap_or(i64::MAX).saturating_sub(iat));
        Claims::from_verified(claims, &inner.rules, now)
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<Arc<VerifyingKey>, AnonymousReason> {
        match &self.inner.keys {
            Keys::Static(set) => {
                if set.requires_kid() && kid.is_none() {
                    return Err(AnonymousReason::MissingKid);
                }
                set.get(kid).ok_or(AnonymousReason::UnknownKid)
            }
            Keys::Remote { cache, .. } => {
                let kid = kid.ok_or(AnonymousReason::MissingKid)?;
                match cache.lookup(kid).await {
                    Lookup::Found(key) => Ok(key),
                    Lookup::UnknownKid => Err(AnonymousReason::UnknownKid),
                    Lookup::NotReady => Err(AnonymousReason::NotReady),
                }
            }
        }
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.rules.issuer)
            .field("algorithms", &self.inner.algorithms)
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// Maps a failure of `jsonwebtoken::crypto::verify` (which the header and key checks made
/// unlikely) to a reason.
fn reason_for(kind: &JwtErrorKind) -> AnonymousReason {
    match kind {
        JwtErrorKind::InvalidAlgorithm
        | JwtErrorKind::MissingAlgorithm
        | JwtErrorKind::InvalidAlgorithmName
        | JwtErrorKind::UnsupportedAlgorithm => AnonymousReason::BadAlg,
        JwtErrorKind::Base64(_) | JwtErrorKind::InvalidToken => AnonymousReason::Malformed,
        // A key that cannot verify (a JWKS entry with bogus parameters) fails like a bad
        // signature: the token is not proven.
        _ => AnonymousReason::BadSignature,
    }
}

/// The payload, once its signature verified, as a JSON object.
fn claims_object(payload: &[u8]) -> Result<Map<String, Value>, AnonymousReason> {
    serde_json::from_slice(payload).map_err(|_| AnonymousReason::Malformed)
}

/// Decodes unpadded base64url, refusing padding, stray bits and other alphabets.
fn base64url(segment: &str) -> Result<Vec<u8>, AnonymousReason> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AnonymousReason::Malformed)
}

fn sha256(token: &str) -> Digest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The first 4 bytes of a token's SHA-256, shown as 8 hex characters: enough to correlate log
/// lines about the same token, useless for replaying it. Formatted only when logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 4]);

impl Fingerprint {
    fn of(digest: &Digest) -> Self {
        Self([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The fingerprint of any secret text (a session or browser id of the development
    /// provider), the same way as a token's.
    #[cfg_attr(not(feature = "dev-idp"), allow(dead_code))]
    pub(crate) fn of_text(text: &str) -> Self {
        Self::of(&sha256(text))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// `now - iat`, saturating.
fn skew(now: u64, iat: u64) -> i64 {
    i64::try_from(now)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(iat).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch. A clock before 1970 fails closed: read as 0 it would make
/// every `exp` lie in the future.
fn unix_secs(now: SystemTime) -> Result<u64, AnonymousReason> {
    now.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| AnonymousReason::ClockBeforeEpoch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_1970_is_a_reason_not_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(unix_secs(before), Err(AnonymousReason::ClockBeforeEpoch));
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_secs(7)), Ok(7));
    }

    #[cfg(feature = "dev-idp")]
    #[tokio::test]
    async fn a_clock_before_1970_fails_closed_even_for_a_cached_token() {
        let idp = crate::dev_idp::DevIdp::generate("https://idp.test").unwrap();
        // No `nbf` or `iat`: with the clock read as 0 only `exp` would be checked, and pass.
        let token = idp
            .token()
            .claim("sub", "user_a")
            .without_claim("nbf")
            .without_claim("iat")
            .sign()
            .unwrap();
        let verifier = idp.verifier_builder().build().await.unwrap();
        assert!(verifier.verify(&token).await.is_ok());
        let broken = Verifier {
            inner: Arc::new(Inner {
                algorithms: verifier.inner.algorithms.clone(),
                rules: verifier.inner.rules.clone(),
                max_token_bytes: verifier.inner.max_token_bytes,
                keys: match &verifier.inner.keys {
                    Keys::Static(set) => Keys::Static(set.clone()),
                    Keys::Remote { .. } => unreachable!("the dev idp's keys are inline"),
                },
                cache: TokenCache::new(10),
                clock: || UNIX_EPOCH - Duration::from_secs(86_400),
            }),
        };
        for _ in 0..2 {
            assert_eq!(
                broken.verify(&token).await.unwrap_err(),
                AnonymousReason::ClockBeforeEpoch
            );
        }
    }

    #[test]
    fn fingerprint_is_8_hex_chars() {
        let fp = Fingerprint::of(&sha256("abc")).to_string();
        assert_eq!(fp, "ba7816bf"); // SHA-256("abc") starts ba7816bf
    }

    #[test]
    fn verify_errors_map_to_reasons() {
        assert_eq!(
            reason_for(&JwtErrorKind::InvalidToken),
            AnonymousReason::Malformed
        );
        assert_eq!(
            reason_for(&JwtErrorKind::InvalidKeyFormat),
            AnonymousReason::BadSignature
        );
        assert_eq!(
            reason_for(&JwtErrorKind::InvalidAlgorithm),
            AnonymousReason::BadAlg
        );
    }

    #[test]
    fn claims_must_be_an_object() {
        assert_eq!(
            claims_object(b"[]").unwrap_err(),
            AnonymousReason::Malformed
        );
        assert!(claims_object(b"{}").unwrap().is_empty());
        assert_eq!(base64url("e30=").unwrap_err(), AnonymousReason::Malformed);
    }
}
