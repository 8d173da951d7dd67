//! [`TokenBuilder`]: any token, valid or deliberately broken, for the development provider and
//! for tests.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value, json};

use crate::dev_idp::DevIdp;
use crate::error::{Error, ErrorKind};

/// Builds a JWT from a header and claims given as JSON, so tests can craft every kind of bad
/// token (wrong `alg`, odd `kid`, attacker `jku`, missing claims, …) as well as good ones.
///
/// Starts from a valid session token of its [`DevIdp`]: header `{alg: RS256, typ: JWT, kid}`,
/// claims `{iss, sub: "user_dev", sid: "sess_dev", iat, nbf, exp}` with `exp` one TTL ahead.
#[derive(Clone)]
#[must_use]
pub struct TokenBuilder {
    key: EncodingKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl TokenBuilder {
    pub(crate) fn new(idp: &DevIdp) -> Self {
        let now = now();
        let ttl = i64::try_from(idp.token_ttl.as_secs()).unwrap_or(60);
        Self {
            key: idp.key.clone(),
            header: object(json!({"alg": "RS256", "typ": "JWT", "kid": idp.kid})),
            claims: object(json!({
                "iss": idp.issuer,
                "sub": "user_dev",
                "sid": "sess_dev",
                "iat": now,
                "nbf": now,
                "exp": now + ttl,
            })),
        }
    }

    /// Sets a header field (any JSON, e.g. `"alg": "none"` or a `jwk` object).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header field.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Sets a claim (any JSON, e.g. a numeric `sub` or a string `exp`).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `exp` to now + `secs` (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", now() + secs)
    }

    /// Sets `nbf` to now + `secs`.
    pub fn not_before_in(self, secs: i64) -> Self {
        self.claim("nbf", now() + secs)
    }

    /// Sets `iat` to now + `secs`.
    pub fn issued_in(self, secs: i64) -> Self {
        self.claim("iat", now() + secs)
    }

    /// Signs with `other`'s key instead (an attacker's key, or a rotated one), keeping this
    /// header and these claims.
    pub fn signed_by(mut self, other: &DevIdp) -> Self {
        self.key = other.key.clone();
        self
    }

    fn signing_input(&self) -> String {
        let encode = |map: &Map<String, Value>| {
            URL_SAFE_NO_PAD.encode(Value::Object(map.clone()).to_string())
        };
        format!("{}.{}", encode(&self.header), encode(&self.claims))
    }

    /// Signs with the RSA key, using the header's `alg` (`RS256`/`384`/`512`, `PS256`/`384`/`512`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Signing`] for any other `alg` (use [`unsigned`](Self::unsigned) or
    /// [`sign_hs256`](Self::sign_hs256)) or if signing fails.
    pub fn sign(&self) -> Result<String, Error> {
        use jsonwebtoken::Algorithm as A;
        let alg = match self.header.get("alg").and_then(Value::as_str) {
            Some("RS256") => A::RS256,
            Some("RS384") => A::RS384,
            Some("RS512") => A::RS512,
            Some("PS256") => A::PS256,
            Some("PS384") => A::PS384,
            Some("PS512") => A::PS512,
            _ => {
                return Err(Error::new(
                    ErrorKind::Signing,
                    "alg is not an RSA algorithm",
                ));
            }
        };
        self.sign_as(alg, &self.key)
    }

    /// Signs with HMAC-SHA256 under `secret`, whatever the header says (the classic attack
    /// uses the issuer's public key bytes as the secret).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Signing`] if signing fails.
    pub fn sign_hs256(&self, secret: &[u8]) -> Result<String, Error> {
        self.sign_as(
            jsonwebtoken::Algorithm::HS256,
            &EncodingKey::from_secret(secret),
        )
    }

    fn sign_as(&self, alg: jsonwebtoken::Algorithm, key: &EncodingKey) -> Result<String, Error> {
        crate::crypto::install_crypto_provider();
        let input = self.signing_input();
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg)
            .map_err(|e| Error::new(ErrorKind::Signing, "signing failed").with_source(e))?;
        Ok(format!("{input}.{signature}"))
    }

    /// The header and claims with an empty signature (`alg: none` style).
    pub fn unsigned(&self) -> String {
        format!("{}.", self.signing_input())
    }
}
