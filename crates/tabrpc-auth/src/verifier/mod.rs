//! [`Verifier`]: checks one token (size, header, key, signature, claims) and names the reason
//! when it fails.

mod builder;

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
    /// First 8 hex characters of the token's SHA-256; unset for an oversized token.
    pub(crate) fingerprint: Option<String>,
    /// `now - iat` in seconds, when the signature verified and `iat` is present.
    pub(crate) skew_secs: Option<i64>,
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
        };
        if token.len() > self.inner.max_token_bytes {
            checked.result = Err(AnonymousReason::TooLarge);
            return checked;
        }
        checked.fingerprint = Some(fingerprint(token));
        checked.result = self.check_inner(token, &mut checked).await;
        checked
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

        let now = unix_now();
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

/// The first 8 hex characters of the token's SHA-256: enough to correlate log lines about the
/// same token, useless for replaying it.
pub(crate) fn fingerprint(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_8_hex_chars() {
        let fp = fingerprint("abc");
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
