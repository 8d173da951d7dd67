//! A development identity provider (feature `dev-idp`): an RSA-2048 key, its JWKS, and
//! short-lived session tokens, so the whole flow runs on one machine with no external service.
//!
//! **Not for production**: anyone who can reach the demo's sign-in endpoint gets a token.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tabrpc_auth::Error> {
//! use tabrpc_auth::dev_idp::DevIdp;
//! let idp = DevIdp::generate("http://localhost:3000")?;
//! let verifier = idp.verifier_builder().build().await?;
//! let token = idp.sign_session("user_1", "sess_1", Some("http://localhost:3000"))?;
//! assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_1");
//! # Ok(()) }
//! ```

mod token;

use std::time::Duration;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

pub use token::TokenBuilder;

use crate::error::{Error, ErrorKind};
use crate::header::kid_is_well_formed;
use crate::verifier::{Verifier, VerifierBuilder};

/// A development identity provider: one RSA key pair and an issuer.
#[derive(Clone)]
pub struct DevIdp {
    issuer: String,
    kid: String,
    key: EncodingKey,
    n: String,
    e: String,
    private_pem: String,
    public_pem: String,
    token_ttl: Duration,
}

impl DevIdp {
    /// Generates a fresh RSA-2048 key (tens of milliseconds). The `kid` is derived from the
    /// public key, so it changes with every generated key.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Crypto`] if key generation fails.
    pub fn generate(issuer: impl Into<String>) -> Result<Self, Error> {
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| {
                Error::new(ErrorKind::Crypto, "RSA key generation failed").with_source(e)
            })?;
        let der = pair
            .as_der()
            .map_err(|e| Error::new(ErrorKind::Crypto, "RSA key encoding failed").with_source(e))?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        Self::from_private_key_pem(issuer, pem.as_bytes())
    }

    /// Loads an RSA private key from PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`), for a stable key
    /// across restarts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyLoad`] if the PEM is not an RSA private key of 2048 bits or more.
    pub fn from_private_key_pem(issuer: impl Into<String>, pem: &[u8]) -> Result<Self, Error> {
        let bad = || Error::key_load("not an RSA private key PEM");
        let parsed = pem::parse(pem).map_err(|e| bad().with_source(e))?;
        let pair = match parsed.tag() {
            "PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_pkcs8(parsed.contents()),
            "RSA PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_der(parsed.contents()),
            _ => return Err(bad()),
        }
        .map_err(|e| bad().with_source(e))?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let spki = public.as_der().map_err(|e| {
            Error::new(ErrorKind::Crypto, "public key encoding failed").with_source(e)
        })?;
        let public_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()));
        let key = EncodingKey::from_rsa_pem(pem).map_err(|e| bad().with_source(e))?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, n.as_bytes());
        let kid = format!("dev-{}", &URL_SAFE_NO_PAD.encode(digest.as_ref())[..16]);
        Ok(Self {
            issuer: issuer.into(),
            kid,
            key,
            n,
            e,
            private_pem: String::from_utf8_lossy(pem).into_owned(),
            public_pem,
            token_ttl: Duration::from_secs(60),
        })
    }

    /// Replaces the `kid` (for example to simulate a rotation with a stable name).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] unless `kid` matches `^[A-Za-z0-9_-]{1,64}$`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, Error> {
        let kid = kid.into();
        if !kid_is_well_formed(&kid) {
            return Err(Error::config("a kid must match ^[A-Za-z0-9_-]{1,64}$"));
        }
        self.kid = kid;
        Ok(self)
    }

    /// How long session tokens live. Defaults to 60 seconds (clients refresh before expiry,
    /// as Clerk's do).
    #[must_use]
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// The issuer (`iss`) of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id (`kid`) of every token.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK: `{kty, n, e, kid, alg: "RS256", use: "sig"}`.
    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "n": self.n, "e": self.e, "kid": self.kid, "alg": "RS256", "use": "sig"})
    }

    /// The JWKS document to serve at `/.well-known/jwks.json`: `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The private key as PEM, to persist the key across restarts. A secret.
    pub fn private_key_pem(&self) -> &str {
        &self.private_pem
    }

    /// A verifier builder for this provider's tokens: its issuer and its JWKS inline.
    pub fn verifier_builder(&self) -> VerifierBuilder {
        Verifier::builder()
            .issuer(self.issuer.clone())
            .jwks_json(self.jwks().to_string())
    }

    /// Signs a session token for `sub` (the account) and `sid` (the session), with `iss`,
    /// `exp` (now + TTL), `nbf` and `iat` (now), `azp` when given, and `kid` in the header.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Signing`] if signing fails.
    pub fn sign_session(&self, sub: &str, sid: &str, azp: Option<&str>) -> Result<String, Error> {
        let mut token = self.token().claim("sub", sub).claim("sid", sid);
        if let Some(azp) = azp {
            token = token.claim("azp", azp);
        }
        token.sign()
    }

    /// A token builder pre-filled with a valid session token's header and claims (`sub`
    /// `user_dev`, `sid` `sess_dev`), to adjust and sign — or to break on purpose in tests.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(self)
    }
}

/// A short fingerprint of a session or browser id, for logs: the first 8 hex characters of its
/// SHA-256, as the auth log shows a token's (`fp`). Enough to follow one session through the
/// logs, useless to present: the provider hands out a token to whoever names a session of
/// their browser, so its ids are never logged in full.
///
/// ```
/// let fp = tabrpc_auth::dev_idp::fingerprint("abc");
/// assert_eq!(fp, "ba7816bf");
/// ```
pub fn fingerprint(id: &str) -> String {
    crate::verifier::Fingerprint::of_text(id).to_string()
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_key_and_kid() {
        let idp = DevIdp::generate("https://dev.test").unwrap();
        let again =
            DevIdp::from_private_key_pem("https://dev.test", idp.private_key_pem().as_bytes())
                .unwrap();
        assert_eq!(idp.kid(), again.kid());
        assert_eq!(idp.jwk(), again.jwk());
        assert!(
            idp.public_key_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(idp.with_kid("../x").is_err());
    }
}
