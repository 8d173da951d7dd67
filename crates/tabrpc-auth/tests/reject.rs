//! Tokens that must leave the caller anonymous, each for its own reason (`auth.md` §2,
//! "Reject"). Credential-level rejections (placeholders, two headers, marker) are in
//! `credentials.rs`; JWKS availability in `jwks.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;
use tabrpc_auth::dev_idp::TokenBuilder;
use tabrpc_auth::{Algorithm, AnonymousReason, Claim, Resolver};

/// A token for `user_a` from the legitimate provider, to break.
fn token() -> TokenBuilder {
    idp().token().claim("sub", "user_a")
}

async fn assert_rejected_by(resolver: &Resolver, token: &str, reason: AnonymousReason) {
    let identity = resolve_bearer(resolver, token).await;
    assert_anonymous(&identity, reason);
    // A protected procedure answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    let err = resolver.require(&identity).unwrap_err();
    assert_eq!(err.code(), tabrpc_core::ErrorCode::Unauthorized);
    let challenge = err
        .headers()
        .unwrap()
        .get(http::header::WWW_AUTHENTICATE)
        .unwrap();
    assert_eq!(challenge, r#"Bearer error="invalid_token""#, "{reason}");
}

async fn assert_rejected(token: &str, reason: AnonymousReason) {
    assert_rejected_by(&resolver().await, token, reason).await;
}

#[tokio::test]
async fn expired_beyond_leeway() {
    assert_rejected(
        &token().expires_in(-61).sign().unwrap(),
        AnonymousReason::Expired,
    )
    .await;
    assert_rejected(
        &token().expires_in(-3600).sign().unwrap(),
        AnonymousReason::Expired,
    )
    .await;
}

#[tokio::test]
async fn leeway_is_configurable() {
    let strict = resolver_with(verifier_builder().leeway(std::time::Duration::ZERO)).await;
    let token = token().expires_in(-5).sign().unwrap();
    assert_rejected_by(&strict, &token, AnonymousReason::Expired).await;
}

#[tokio::test]
async fn nbf_in_the_future() {
    let token = token().not_before_in(120).sign().unwrap();
    assert_rejected(&token, AnonymousReason::NotYetValid).await;
}

#[tokio::test]
async fn iat_in_the_future() {
    let token = token().issued_in(120).sign().unwrap();
    assert_rejected(&token, AnonymousReason::IssuedInFuture).await;
}

#[tokio::test]
async fn alg_none_in_any_case() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = token().header("alg", alg).unsigned();
        assert_rejected(&unsigned, AnonymousReason::BadAlg).await;
        // With a real RS256 signature appended, still refused on `alg` alone.
        let signed = token().sign().unwrap();
        let signature = signed.rsplit('.').next().unwrap();
        let forged = format!("{}{signature}", token().header("alg", alg).unsigned());
        assert_rejected(&forged, AnonymousReason::BadAlg).await;
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_bytes() {
    let pem = idp().public_key_pem().as_bytes().to_vec();
    let n = idp().jwk()["n"].as_str().unwrap().as_bytes().to_vec();
    for secret in [pem, n] {
        let token = token().header("alg", "HS256").sign_hs256(&secret).unwrap();
        assert_rejected(&token, AnonymousReason::BadAlg).await;
    }
}

#[tokio::test]
async fn another_algorithm_with_the_right_key() {
    // PS256 is not on the default allow-list.
    let ps256 = token().header("alg", "PS256").sign().unwrap();
    assert_rejected(&ps256, AnonymousReason::BadAlg).await;
    // And when it is, a JWK declaring `alg: RS256` still refuses it.
    let both =
        resolver_with(verifier_builder().algorithms([Algorithm::RS256, Algorithm::PS256])).await;
    assert_rejected_by(&both, &ps256, AnonymousReason::BadAlg).await;
    // An RSA key never verifies ES256.
    let es =
        resolver_with(verifier_builder().algorithms([Algorithm::RS256, Algorithm::ES256])).await;
    let fake_es = format!("{}AAAA", token().header("alg", "ES256").unsigned());
    assert_rejected_by(&es, &fake_es, AnonymousReason::BadAlg).await;
}

#[tokio::test]
async fn bad_signature() {
    let good = token().sign().unwrap();
    let (input, signature) = good.rsplit_once('.').unwrap();

    // A flipped signature byte.
    let mut bytes = signature.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{input}.{}", String::from_utf8(bytes).unwrap());
    assert_rejected(&flipped, AnonymousReason::BadSignature).await;

    // Claims swapped under a valid signature.
    let other = token().claim("sub", "user_admin").unsigned();
    let (other_input, _) = other.rsplit_once('.').unwrap();
    assert_rejected(
        &format!("{other_input}.{signature}"),
        AnonymousReason::BadSignature,
    )
    .await;

    // Signed by another key under the legitimate `kid`.
    let forged = token().signed_by(attacker()).sign().unwrap();
    assert_rejected(&forged, AnonymousReason::BadSignature).await;
}

#[tokio::test]
async fn unknown_kid() {
    let token = token().header("kid", "no-such-key").sign().unwrap();
    assert_rejected(&token, AnonymousReason::UnknownKid).await;
}

#[tokio::test]
async fn missing_kid() {
    let token = token().without_header("kid").sign().unwrap();
    assert_rejected(&token, AnonymousReason::MissingKid).await;
}

#[tokio::test]
async fn kid_with_path_or_sql_characters() {
    let long = "k".repeat(65);
    for kid in [
        json!("../../../../etc/passwd"),
        json!("1' OR '1'='1"),
        json!("key; DROP TABLE keys;--"),
        json!("keys/../secret"),
        json!("a b"),
        json!("%2e%2e%2f"),
        json!(""),
        json!(long),
        json!(42),
        json!({"$ne": null}),
    ] {
        let token = token().header("kid", kid.clone()).sign().unwrap();
        assert_rejected(&token, AnonymousReason::BadKid).await;
    }
}

#[tokio::test]
async fn attacker_keys_in_jku_x5u_jwk_are_never_used() {
    // A server that would hand out the attacker's key; it must never be asked.
    let server = JwksServer::start(jwks_of(&[attacker()])).await;
    let attacker_url = format!("{}/attacker.json", server.base);
    let resolver = resolver().await;
    let with_attacker_headers = |t: TokenBuilder| {
        t.header("jku", attacker_url.clone())
            .header("x5u", attacker_url.clone())
            .header("jwk", attacker().jwk())
            .signed_by(attacker())
    };
    // Under the legitimate `kid`: the legitimate key does not verify the attacker's signature.
    let same_kid = with_attacker_headers(token()).sign().unwrap();
    assert_rejected_by(&resolver, &same_kid, AnonymousReason::BadSignature).await;
    // Under the attacker's own `kid`: no such key in the configured JWKS.
    let own_kid = with_attacker_headers(token().header("kid", attacker().kid()))
        .sign()
        .unwrap();
    assert_rejected_by(&resolver, &own_kid, AnonymousReason::UnknownKid).await;
    // Each header alone.
    for (name, value) in [
        ("jku", json!(attacker_url)),
        ("x5u", json!(attacker_url)),
        ("jwk", attacker().jwk()),
    ] {
        let token = token()
            .header(name, value)
            .signed_by(attacker())
            .sign()
            .unwrap();
        assert_rejected_by(&resolver, &token, AnonymousReason::BadSignature).await;
    }
    assert_eq!(server.hits(), 0, "fetched {:?}", server.paths());
}

#[tokio::test]
async fn wrong_iss() {
    let token = token().claim("iss", "https://evil.test").sign().unwrap();
    assert_rejected(&token, AnonymousReason::Claims(Claim::Iss)).await;
    let array = token_with_iss(json!([ISSUER, "https://evil.test"]));
    assert_rejected(&array, AnonymousReason::Claims(Claim::Iss)).await;
}

fn token_with_iss(iss: serde_json::Value) -> String {
    token().claim("iss", iss).sign().unwrap()
}

#[tokio::test]
async fn missing_iss() {
    let token = token().without_claim("iss").sign().unwrap();
    assert_rejected(&token, AnonymousReason::Claims(Claim::Iss)).await;
}

#[tokio::test]
async fn wrong_aud() {
    let with_audience = resolver_with(verifier_builder().audience(["api.tabrpc.test"])).await;
    let wrong = token().claim("aud", "other-api").sign().unwrap();
    assert_rejected_by(&with_audience, &wrong, AnonymousReason::Claims(Claim::Aud)).await;
    let missing = token().sign().unwrap();
    assert_rejected_by(
        &with_audience,
        &missing,
        AnonymousReason::Claims(Claim::Aud),
    )
    .await;
    // No audience configured: a token meant for some audience is not for us.
    let for_someone = token().claim("aud", "api.tabrpc.test").sign().unwrap();
    assert_rejected(&for_someone, AnonymousReason::Claims(Claim::Aud)).await;
}

#[tokio::test]
async fn azp_not_allowed() {
    let resolver = resolver_with(verifier_builder().authorized_parties([ORIGIN])).await;
    for azp in [
        "https://evil.test",
        "https://app.tabrpc.test.evil.test",
        "HTTPS://APP.TABRPC.TEST",
    ] {
        let token = token().claim("azp", azp).sign().unwrap();
        assert_rejected_by(&resolver, &token, AnonymousReason::Claims(Claim::Azp)).await;
    }
}

#[tokio::test]
async fn azp_missing_while_an_allow_list_is_set() {
    let resolver = resolver_with(verifier_builder().authorized_parties([ORIGIN])).await;
    let token = token().without_claim("azp").sign().unwrap();
    assert_rejected_by(&resolver, &token, AnonymousReason::Claims(Claim::Azp)).await;
}

#[tokio::test]
async fn sub_missing_empty_or_not_a_string() {
    let missing = idp().token().without_claim("sub").sign().unwrap();
    assert_rejected(&missing, AnonymousReason::Claims(Claim::Sub)).await;
    for sub in [
        json!(""),
        json!(42),
        json!(null),
        json!(["user_a"]),
        json!({"id": "user_a"}),
    ] {
        let token = token().claim("sub", sub).sign().unwrap();
        assert_rejected(&token, AnonymousReason::Claims(Claim::Sub)).await;
    }
}

#[tokio::test]
async fn exp_missing_or_not_numeric() {
    let missing = token().without_claim("exp").sign().unwrap();
    assert_rejected(&missing, AnonymousReason::Claims(Claim::Exp)).await;
    for exp in [
        json!("4102444800"),
        json!(true),
        json!(null),
        json!([4102444800u64]),
        json!(-1),
    ] {
        let token = token().claim("exp", exp).sign().unwrap();
        assert_rejected(&token, AnonymousReason::Claims(Claim::Exp)).await;
    }
}

#[tokio::test]
async fn nbf_not_numeric() {
    let token = token().claim("nbf", "now").sign().unwrap();
    assert_rejected(&token, AnonymousReason::Claims(Claim::Nbf)).await;
}

#[tokio::test]
async fn non_session_token_category_under_the_clerk_profile() {
    let clerk = resolver_with(verifier_builder().clerk(Default::default())).await;
    for cat in [
        json!("cl_B7d4PD222AAA"),
        json!("cl_B7d4PD333AAA"),
        json!("anything"),
        json!(1),
    ] {
        let token = token().header("cat", cat).sign().unwrap();
        assert_rejected_by(&clerk, &token, AnonymousReason::WrongCategory).await;
    }
}

#[tokio::test]
async fn clerk_profile_requires_sid_and_rejects_pending_by_default() {
    let clerk = resolver_with(verifier_builder().clerk(Default::default())).await;
    let no_sid = token().without_claim("sid").sign().unwrap();
    assert_rejected_by(&clerk, &no_sid, AnonymousReason::Claims(Claim::Sid)).await;
    let pending = token().claim("sts", "pending").sign().unwrap();
    assert_rejected_by(&clerk, &pending, AnonymousReason::PendingSession).await;
}

#[tokio::test]
async fn oversized_token() {
    let padded = token().claim("pad", "x".repeat(9 * 1024)).sign().unwrap();
    assert_rejected(&padded, AnonymousReason::TooLarge).await;
    let small_cap = resolver_with(verifier_builder().max_token_bytes(256)).await;
    let normal = token().sign().unwrap();
    assert_rejected_by(&small_cap, &normal, AnonymousReason::TooLarge).await;
}

#[tokio::test]
async fn malformed_base64() {
    let good = token().sign().unwrap();
    let mut parts: Vec<&str> = good.split('.').collect();
    for (index, garbage) in [
        (0, "!!!!"),
        (1, "e30*"),
        (2, "sig+nature/=="),
        (1, "e30="),
        (1, "A"),
    ] {
        let original = parts[index];
        parts[index] = garbage;
        assert_rejected(&parts.join("."), AnonymousReason::Malformed).await;
        parts[index] = original;
    }
    // Valid base64 of something that is not JSON, or not an object.
    let not_json = format!("bm90IGpzb24.{}.{}", parts[1], parts[2]);
    assert_rejected(&not_json, AnonymousReason::Malformed).await;
}

#[tokio::test]
async fn two_segments_and_other_shapes() {
    let good = token().sign().unwrap();
    let (input, _) = good.rsplit_once('.').unwrap();
    assert_rejected(input, AnonymousReason::Malformed).await;
    assert_rejected(&format!("{good}.extra"), AnonymousReason::Malformed).await;
    assert_rejected(&format!("{good}.a.b"), AnonymousReason::Malformed).await; // JWE-shaped
    assert_rejected("not-a-jwt", AnonymousReason::Malformed).await;
    assert_rejected("..", AnonymousReason::Malformed).await;
}

#[tokio::test]
async fn claims_that_are_not_an_object() {
    let header = token().unsigned();
    let header = header.split('.').next().unwrap();
    // `[]` base64url-encoded, unsigned: refused before anything looks at the payload.
    let token = format!("{header}.W10.");
    let identity = resolve_bearer(&resolver().await, &token).await;
    assert!(!identity.is_authenticated());
}

#[tokio::test]
async fn a_token_living_longer_than_the_maximum_lifetime() {
    let resolver =
        resolver_with(verifier_builder().max_token_lifetime(std::time::Duration::from_secs(120)))
            .await;
    let long = idp()
        .token()
        .claim("sub", "user_a")
        .issued_in(0)
        .expires_in(3600)
        .sign()
        .unwrap();
    assert_anonymous(
        &resolve_bearer(&resolver, &long).await,
        AnonymousReason::LifetimeTooLong,
    );
    // With a maximum set, `iat` is required.
    let no_iat = idp()
        .token()
        .claim("sub", "user_a")
        .without_claim("iat")
        .expires_in(60)
        .sign()
        .unwrap();
    assert_anonymous(
        &resolve_bearer(&resolver, &no_iat).await,
        AnonymousReason::Claims(tabrpc_auth::Claim::Iat),
    );
    let short = idp()
        .token()
        .claim("sub", "user_a")
        .issued_in(0)
        .expires_in(60)
        .sign()
        .unwrap();
    assert_user(
        &resolve_bearer(&resolver, &short).await,
        "user_a",
        tabrpc_auth::Source::Header,
    );
}
