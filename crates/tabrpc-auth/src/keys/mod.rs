//! Verification keys: where they come from ([`KeySource`]), which JWKs are admitted, and the
//! set a token's `kid` is looked up in.

pub(crate) mod jwks_url;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use serde_json::Value;

use crate::algorithm::{Algorithm, KeyKind};
use crate::error::Error;
use crate::header::kid_is_well_formed;

/// Where a [`Verifier`](crate::Verifier) gets its public keys.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// One PEM public key (`-----BEGIN PUBLIC KEY-----`, RSA or EC, or
    /// `-----BEGIN RSA PUBLIC KEY-----`): networkless verification, as with Clerk's
    /// `CLERK_JWT_KEY`. A token's `kid` is format-checked but not required.
    PemPublicKey(Vec<u8>),
    /// A JWKS document in a file, read once at build time. Tokens must carry a `kid`.
    JwksFile(PathBuf),
    /// A JWKS document given inline (for example a development identity provider's).
    /// Tokens must carry a `kid`.
    JwksJson(String),
    /// A JWKS URL (`https://…/.well-known/jwks.json`), fetched at build time, refreshed
    /// periodically and on an unknown `kid` (rate-limited). Tokens must carry a `kid`. Must be
    /// `https`; plain `http` only for a loopback host (127.0.0.0/8, `::1`, `localhost`), else
    /// building the verifier fails with a configuration error naming the scheme.
    JwksUrl(String),
}

/// One admitted public key.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) key: DecodingKey,
    kind: KeyKind,
    /// The JWK's own `alg`, when it declares one: the key then verifies only that algorithm.
    declared_alg: Option<Algorithm>,
}

impl VerifyingKey {
    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        alg.key_kind() == self.kind && self.declared_alg.is_none_or(|declared| declared == alg)
    }
}

/// The admitted keys of one JWKS (by `kid`) or the single PEM key.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Arc<VerifyingKey>>,
    /// Set for a PEM source: used whatever the token's `kid`.
    single: Option<Arc<VerifyingKey>>,
    /// SHA-256 over the admitted keys (each `kid` with its JWK), in `kid` order: two fetches
    /// of the same keys give the same value whatever the document's order or extra members.
    fingerprint: [u8; 32],
}

impl KeySet {
    pub(crate) fn get(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        if let Some(single) = &self.single {
            return Some(single.clone());
        }
        kid.and_then(|kid| self.by_kid.get(kid).cloned())
    }

    pub(crate) fn len(&self) -> usize {
        self.by_kid.len() + usize::from(self.single.is_some())
    }

    /// Identifies the admitted keys: equal for the same keys, different after a rotation.
    pub(crate) fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Whether tokens must name their key (every source but a single PEM key).
    pub(crate) fn requires_kid(&self) -> bool {
        self.single.is_none()
    }

    /// Loads a PEM public key, RSA or EC.
    pub(crate) fn from_pem(pem: &[u8], allowed: &[Algorithm]) -> Result<Self, Error> {
        let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            let der = key
                .try_get_as_bytes()
                .map_err(|e| bad_pem().with_source(e))?;
            let public =
                aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|e| bad_pem().with_source(e))?;
            if public.modulus_len() < MIN_RSA_BYTES {
                return Err(Error::key_load("the PEM RSA key is shorter than 2048 bits"));
            }
            VerifyingKey {
                key,
                kind: KeyKind::Rsa,
                declared_alg: None,
            }
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            let kind = match key.try_get_as_bytes().map(<[u8]>::len) {
                Ok(65) => KeyKind::P256,
                Ok(97) => KeyKind::P384,
                _ => return Err(Error::key_load("the PEM EC key is not on P-256 or P-384")),
            };
            VerifyingKey {
                key,
                kind,
                declared_alg: None,
            }
        } else {
            return Err(bad_pem());
        };
        if !allowed.iter().any(|alg| key.fits(*alg)) {
            return Err(Error::key_load(
                "the PEM key fits none of the allowed algorithms",
            ));
        }
        Ok(KeySet {
            by_kid: HashMap::new(),
            single: Some(Arc::new(key)),
            fingerprint: sha256(pem),
        })
    }

    /// Parses a JWKS document and admits the keys that fit the allow-list. Keys that do not
    /// (symmetric `oct` keys, `use: enc`, unknown algorithms, short RSA moduli, no or malformed
    /// `kid`) are skipped with a debug log, so that one odd key cannot make a whole rotation
    /// fail.
    ///
    /// Fails when the document is not a JWKS or when no key is admitted.
    pub(crate) fn from_jwks(json: &[u8], allowed: &[Algorithm]) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let doc: Document = serde_json::from_slice(json)
            .map_err(|e| Error::key_load("not a JWKS document").with_source(e))?;
        let mut by_kid = HashMap::new();
        let mut canonical: Vec<(String, Vec<u8>)> = Vec::new();
        for entry in doc.keys {
            match admit(entry, allowed) {
                Ok((kid, key, jwk)) => {
                    if let Entry::Vacant(slot) = by_kid.entry(kid.clone()) {
                        slot.insert(Arc::new(key));
                        canonical.push((kid, jwk));
                    } else {
                        tracing::debug!("duplicate kid in JWKS; keeping the first");
                    }
                }
                Err(why) => tracing::debug!(why, "JWKS key skipped"),
            }
        }
        if by_kid.is_empty() {
            return Err(Error::key_load(
                "the JWKS has no key fitting the allowed algorithms",
            ));
        }
        canonical.sort();
        let mut input = Vec::new();
        for (kid, jwk) in &canonical {
            for part in [kid.as_bytes(), jwk.as_slice()] {
                input.extend_from_slice(&part.len().to_be_bytes());
                input.extend_from_slice(part);
            }
        }
        Ok(KeySet {
            by_kid,
            single: None,
            fingerprint: sha256(&input),
        })
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// 2048 bits: shorter RSA keys are factorable in practice and aws-lc refuses them anyway.
const MIN_RSA_BYTES: usize = 256;

fn bad_pem() -> Error {
    Error::key_load("not a PEM RSA or EC public key")
}

/// Admits one JWK, or says (without echoing key material) why not. Returns its `kid`, the key
/// and the JWK re-serialized from its typed form (for the key set's fingerprint).
fn admit(
    entry: Value,
    allowed: &[Algorithm],
) -> Result<(String, VerifyingKey, Vec<u8>), &'static str> {
    // Decide on `kty` before the typed parse: an `oct` key must never become a key at all.
    match entry.get("kty").and_then(Value::as_str) {
        Some("RSA" | "EC") => {}
        _ => return Err("kty is not RSA or EC"),
    }
    let jwk: Jwk = serde_json::from_value(entry).map_err(|_| "not a valid JWK")?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("use is not sig"),
    }
    let kid = match &jwk.common.key_id {
        Some(kid) if kid_is_well_formed(kid) => kid.clone(),
        Some(_) => return Err("kid is malformed"),
        None => return Err("no kid"),
    };
    let declared_alg = match &jwk.common.key_algorithm {
        None => None,
        Some(alg) => Some(
            Algorithm::from_name(&key_algorithm_name(alg))
                .ok_or("alg is not a signature algorithm")?,
        ),
    };
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let n_len = base64_len(&rsa.n).ok_or("n is not base64url")?;
            if n_len < MIN_RSA_BYTES {
                return Err("RSA modulus shorter than 2048 bits");
            }
            KeyKind::Rsa
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return Err("unsupported curve"),
        },
        _ => return Err("kty is not RSA or EC"),
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "key parameters do not decode")?;
    let key = VerifyingKey {
        key,
        kind,
        declared_alg,
    };
    if !allowed.iter().any(|alg| key.fits(*alg)) {
        return Err("fits none of the allowed algorithms");
    }
    let canonical = serde_json::to_vec(&jwk).map_err(|_| "not a valid JWK")?;
    Ok((kid, key, canonical))
}

/// `jsonwebtoken` has no `as_str` for [`KeyAlgorithm`]; its `Display` prints the JOSE name.
fn key_algorithm_name(alg: &KeyAlgorithm) -> String {
    alg.to_string()
}

/// The decoded length of a base64url string, ignoring a leading zero byte.
fn base64_len(text: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let leading_zeros = bytes.iter().take_while(|b| **b == 0).count();
    Some(bytes.len() - leading_zeros)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rsa_jwk(kid: &str) -> Value {
        // A 2048-bit modulus is enough for admission; it never verifies anything here.
        let n = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            [0xC5u8; 256],
        );
        json!({"kty": "RSA", "kid": kid, "n": n, "e": "AQAB", "alg": "RS256", "use": "sig"})
    }

    fn jwks(keys: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    #[test]
    fn admits_rsa_signature_keys_and_skips_the_rest() {
        let mut enc = rsa_jwk("enc");
        enc["use"] = json!("enc");
        let mut short = rsa_jwk("short");
        short["n"] = json!("AQAB");
        let mut ps = rsa_jwk("ps");
        ps["alg"] = json!("PS256");
        let keys = vec![
            rsa_jwk("good"),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            enc,
            short,
            ps,
            rsa_jwk("../../etc/passwd"),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!("not an object"),
        ];
        let set = KeySet::from_jwks(&jwks(keys), &[Algorithm::RS256]).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.get(Some("good")).is_some());
        assert!(set.get(Some("hmac")).is_none());
        assert!(set.requires_kid());
    }

    #[test]
    fn a_declared_alg_binds_the_key() {
        let set = KeySet::from_jwks(
            &jwks(vec![rsa_jwk("k")]),
            &[Algorithm::RS256, Algorithm::PS256],
        )
        .unwrap();
        let key = set.get(Some("k")).unwrap();
        assert!(key.fits(Algorithm::RS256));
        assert!(!key.fits(Algorithm::PS256));
        assert!(!key.fits(Algorithm::ES256));
    }

    #[test]
    fn the_fingerprint_changes_with_the_keys_not_with_their_order() {
        let rs = [Algorithm::RS256];
        let mut other = rsa_jwk("b");
        other["n"] = json!(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            [0xC7u8; 256],
        ));
        let ab = KeySet::from_jwks(&jwks(vec![rsa_jwk("a"), other.clone()]), &rs).unwrap();
        let ba = KeySet::from_jwks(&jwks(vec![other.clone(), rsa_jwk("a")]), &rs).unwrap();
        assert_eq!(ab.fingerprint(), ba.fingerprint());
        // Skipped keys do not count.
        let with_oct = jwks(vec![
            rsa_jwk("a"),
            json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
            other.clone(),
        ]);
        let ab_oct = KeySet::from_jwks(&with_oct, &rs).unwrap();
        assert_eq!(ab.fingerprint(), ab_oct.fingerprint());
        let a = KeySet::from_jwks(&jwks(vec![rsa_jwk("a")]), &rs).unwrap();
        assert_ne!(ab.fingerprint(), a.fingerprint());
        // Same kid, other key material.
        other["kid"] = json!("a");
        let a2 = KeySet::from_jwks(&jwks(vec![other]), &rs).unwrap();
        assert_ne!(a.fingerprint(), a2.fingerprint());
    }

    #[test]
    fn a_jwks_without_admissible_keys_is_an_error() {
        let only_oct = jwks(vec![json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})]);
        let err = KeySet::from_jwks(&only_oct, &[Algorithm::RS256])
            .err()
            .unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::KeyLoad);
        assert!(KeySet::from_jwks(b"{\"nope\":1}", &[Algorithm::RS256]).is_err());
        assert!(KeySet::from_pem(b"-----BEGIN NOTHING-----", &[Algorithm::RS256]).is_err());
    }
}
