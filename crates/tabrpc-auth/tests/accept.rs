//! Tokens and requests that must authenticate (`auth.md` §2, "Accept"). Key rotation is in
//! `jwks.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use tabrpc_auth::{Algorithm, PendingPolicy, Source};

#[tokio::test]
async fn valid_token() {
    let resolver = resolver().await;
    let token = idp()
        .sign_session("user_a", "sess_a", Some(ORIGIN))
        .unwrap();
    let identity = resolve_bearer(&resolver, &token).await;
    assert_user(&identity, "user_a", Source::Header);
    let who = identity.authenticated().unwrap();
    assert_eq!(who.session_id.as_deref(), Some("sess_a"));
    assert_eq!(who.claims.iss, ISSUER);
    assert_eq!(who.claims.azp.as_deref(), Some(ORIGIN));
}

#[tokio::test]
async fn expired_within_leeway() {
    let resolver = resolver().await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .expires_in(-30)
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
}

#[tokio::test]
async fn nbf_and_iat_slightly_ahead_within_leeway() {
    let resolver = resolver().await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .not_before_in(30)
        .issued_in(30)
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
}

#[tokio::test]
async fn lowercase_bearer() {
    let resolver = resolver().await;
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let parts = get(&[("authorization", &format!("{scheme} {token}"))]);
        assert_user(&resolver.resolve(&parts).await, "user_a", Source::Header);
    }
}

#[tokio::test]
async fn header_a_with_cookie_b_answers_as_a() {
    let resolver = resolver().await;
    let a = idp().sign_session("user_a", "sess_a", None).unwrap();
    let b = idp().sign_session("user_b", "sess_b", None).unwrap();
    let parts = get(&[
        ("authorization", &bearer(&a)),
        ("cookie", &session_cookie(&b)),
    ]);
    assert_user(&resolver.resolve(&parts).await, "user_a", Source::Header);
}

#[tokio::test]
async fn marker_with_a_valid_bearer() {
    let resolver = resolver().await;
    let a = idp().sign_session("user_a", "sess_a", None).unwrap();
    let b = idp().sign_session("user_b", "sess_b", None).unwrap();
    let parts = get(&[
        ("authorization", &bearer(&a)),
        ("x-tabrpc-auth-required", "1"),
        ("cookie", &session_cookie(&b)),
    ]);
    assert_user(&resolver.resolve(&parts).await, "user_a", Source::Header);
}

#[tokio::test]
async fn cookie_only_no_marker() {
    let resolver = resolver().await;
    let b = idp().sign_session("user_b", "sess_b", None).unwrap();
    let parts = get(&[(
        "cookie",
        &format!("theme=dark; {}; other=1", session_cookie(&b)),
    )]);
    assert_user(&resolver.resolve(&parts).await, "user_b", Source::Cookie);
}

#[tokio::test]
async fn pem_public_key_source() {
    let builder = tabrpc_auth::Verifier::builder()
        .issuer(ISSUER)
        .pem_public_key(idp().public_key_pem());
    let resolver = resolver_with(builder).await;
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
    // A PEM key needs no `kid` (Clerk's networkless key is used for every token).
    let no_kid = idp()
        .token()
        .without_header("kid")
        .claim("sub", "user_a")
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &no_kid).await,
        "user_a",
        Source::Header,
    );
}

#[tokio::test]
async fn jwks_file_source() {
    let path = std::env::temp_dir().join(format!("tabrpc-auth-jwks-{}.json", std::process::id()));
    std::fs::write(&path, jwks_of(&[idp()])).unwrap();
    let builder = tabrpc_auth::Verifier::builder()
        .issuer(ISSUER)
        .jwks_file(&path);
    let resolver = resolver_with(builder).await;
    std::fs::remove_file(&path).unwrap();
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
}

#[tokio::test]
async fn configured_audience_and_authorized_party() {
    let builder = verifier_builder()
        .audience(["api.tabrpc.test"])
        .authorized_parties([ORIGIN]);
    let resolver = resolver_with(builder).await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .claim("aud", serde_json::json!(["other", "api.tabrpc.test"]))
        .claim("azp", ORIGIN)
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
}

#[tokio::test]
async fn clerk_session_token() {
    let builder = verifier_builder().clerk(Default::default());
    let resolver = resolver_with(builder).await;
    for cat in ["cl_B7d4PD111AAA", "cl_I7d4PD111III"] {
        let token = idp()
            .token()
            .header("cat", cat)
            .claim("sub", "user_a")
            .claim("sts", "active")
            .claim("v", 2)
            .sign()
            .unwrap();
        assert_user(
            &resolve_bearer(&resolver, &token).await,
            "user_a",
            Source::Header,
        );
    }
}

#[tokio::test]
async fn clerk_pending_session_when_the_policy_accepts_it() {
    let profile = tabrpc_auth::ClerkProfile::with_pending(PendingPolicy::Accept);
    let resolver = resolver_with(verifier_builder().clerk(profile)).await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .claim("sts", "pending")
        .sign()
        .unwrap();
    let identity = resolve_bearer(&resolver, &token).await;
    assert_user(&identity, "user_a", Source::Header);
    assert_eq!(
        identity.authenticated().unwrap().claims.sts.as_deref(),
        Some("pending")
    );
}

#[tokio::test]
async fn ps256_when_allowed_and_the_key_does_not_pin_rs256() {
    let mut jwk = idp().jwk();
    jwk.as_object_mut().unwrap().remove("alg");
    let builder = tabrpc_auth::Verifier::builder()
        .issuer(ISSUER)
        .jwks_json(serde_json::json!({ "keys": [jwk] }).to_string())
        .algorithms([Algorithm::RS256, Algorithm::PS256]);
    let resolver = resolver_with(builder).await;
    let token = idp()
        .token()
        .header("alg", "PS256")
        .claim("sub", "user_a")
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
}

/// An ES256 issuer: a P-256 key made with aws-lc-rs, tokens signed through `jsonwebtoken`.
mod es256 {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    struct EcIssuer {
        pkcs8: Vec<u8>,
        jwk: serde_json::Value,
        pem: String,
    }

    fn issuer() -> EcIssuer {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec(); // 0x04 || x || y
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "ec-key", "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        let spki = pair.public_key().as_der().unwrap();
        let pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()));
        EcIssuer {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
            pem,
        }
    }

    fn sign(issuer: &EcIssuer, sub: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": "ec-key"});
        let claims = json!({"iss": ISSUER, "sub": sub, "iat": now, "exp": now + 60});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        tabrpc_auth::install_crypto_provider();
        let key = jsonwebtoken::EncodingKey::from_ec_der(&issuer.pkcs8);
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::ES256)
                .unwrap();
        format!("{input}.{signature}")
    }

    #[tokio::test]
    async fn es256_from_a_jwks_and_from_a_pem_when_allowed() {
        let issuer = issuer();
        let token = sign(&issuer, "user_ec");
        let jwks = json!({ "keys": [issuer.jwk] }).to_string();
        let from_jwks = tabrpc_auth::Verifier::builder()
            .issuer(ISSUER)
            .jwks_json(jwks.clone())
            .algorithms([Algorithm::RS256, Algorithm::ES256]);
        let resolver = resolver_with(from_jwks).await;
        assert_user(
            &resolve_bearer(&resolver, &token).await,
            "user_ec",
            Source::Header,
        );

        let from_pem = tabrpc_auth::Verifier::builder()
            .issuer(ISSUER)
            .pem_public_key(issuer.pem.clone())
            .algorithms([Algorithm::ES256]);
        let resolver = resolver_with(from_pem).await;
        assert_user(
            &resolve_bearer(&resolver, &token).await,
            "user_ec",
            Source::Header,
        );

        // Not on the default allow-list: the EC key is not even admitted.
        let default_algs = tabrpc_auth::Verifier::builder()
            .issuer(ISSUER)
            .jwks_json(jwks);
        assert!(default_algs.build().await.is_err());
    }
}
