//! The verified-token cache: bounded with many distinct tokens, expiry while cached, flushed
//! by a key rotation, never holding a failure, off at capacity 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::*;
use tabrpc_auth::{AnonymousReason, Source};

#[tokio::test]
async fn many_distinct_tokens_stay_within_the_bound_and_each_keeps_its_own_claims() {
    let verifier = verifier_builder().cache_capacity(16).build().await.unwrap();
    let tokens: Vec<(String, String)> = (0..200)
        .map(|i| {
            let sub = format!("user_{i}");
            let token = idp()
                .sign_session(&sub, &format!("sess_{i}"), None)
                .unwrap();
            (sub, token)
        })
        .collect();
    for _ in 0..2 {
        for (sub, token) in &tokens {
            let claims = verifier.verify(token).await.unwrap();
            assert_eq!(&claims.sub, sub);
            assert!(
                verifier.cached_tokens() <= 16,
                "{} cached",
                verifier.cached_tokens()
            );
        }
    }
    assert!(verifier.cached_tokens() > 0);
}

#[tokio::test]
async fn a_token_that_expires_while_cached_is_refused_and_evicted() {
    let verifier = verifier_builder()
        .leeway(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let token = idp()
        .token()
        .claim("sub", "user_short")
        .expires_in(1)
        .sign()
        .unwrap();
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_short");
    assert_eq!(verifier.cached_tokens(), 1);

    // exp is whole seconds: at most 2 s from now the token is past exp (leeway 0).
    let started = Instant::now();
    let reason = loop {
        match verifier.verify(&token).await {
            Ok(_) => {
                assert!(started.elapsed() < Duration::from_secs(3), "never expired");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(reason) => break reason,
        }
    };
    assert_eq!(reason, AnonymousReason::Expired);
    assert_eq!(verifier.cached_tokens(), 0, "the expired entry was evicted");
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        AnonymousReason::Expired
    );
}

#[tokio::test]
async fn the_leeway_extends_a_cached_token_exactly_as_an_uncached_one() {
    // Expired 1 s ago but within a 60 s leeway: accepted, cached, and accepted again.
    let verifier = verifier_builder().build().await.unwrap();
    let token = idp().token().expires_in(-1).sign().unwrap();
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(verifier.cached_tokens(), 1);
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn failures_are_never_cached() {
    let verifier = verifier_builder().build().await.unwrap();
    let expired = idp().token().expires_in(-120).sign().unwrap();
    let forged = idp()
        .token()
        .claim("sub", "user_a")
        .signed_by(attacker())
        .sign()
        .unwrap();
    let foreign = idp()
        .token()
        .claim("iss", "https://other.test")
        .sign()
        .unwrap();
    let future = idp().token().not_before_in(600).sign().unwrap();
    for token in [&expired, &forged, &foreign, &future] {
        for _ in 0..2 {
            assert!(verifier.verify(token).await.is_err());
        }
    }
    assert_eq!(verifier.cached_tokens(), 0);

    // A valid token whose signature is then tampered with: the cache holds the valid one only.
    let good = idp().sign_session("user_a", "sess_a", None).unwrap();
    assert!(verifier.verify(&good).await.is_ok());
    let tampered = format!("{}A", &good[..good.len() - 1]);
    if tampered != good {
        assert!(verifier.verify(&tampered).await.is_err());
    }
    assert_eq!(verifier.cached_tokens(), 1);
}

#[tokio::test]
async fn capacity_zero_turns_the_cache_off() {
    let verifier = verifier_builder().cache_capacity(0).build().await.unwrap();
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    for _ in 0..3 {
        assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_a");
    }
    assert_eq!(verifier.cached_tokens(), 0);
}

#[tokio::test]
async fn a_key_rotation_flushes_the_cache_and_a_removed_key_stops_vouching_at_once() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url()).build().await.unwrap();
    let old = idp().sign_session("user_a", "sess_a", None).unwrap();
    assert_eq!(verifier.verify(&old).await.unwrap().sub, "user_a");
    assert_eq!(verifier.cached_tokens(), 1);

    // The same keys again (a periodic refresh): the cache stays.
    verifier.refresh().await.unwrap();
    assert!(verifier.verify(&old).await.is_ok());
    assert_eq!(verifier.cached_tokens(), 1);

    // A key added: the key set changed, so the cache starts over.
    server.set_body(jwks_of(&[rotated(), idp()]));
    verifier.refresh().await.unwrap();
    assert!(verifier.verify(&old).await.is_ok());
    assert_eq!(verifier.cached_tokens(), 1, "flushed, then re-verified");

    // The old key removed: its token, cached a moment ago, is refused.
    server.set_body(jwks_of(&[rotated()]));
    verifier.refresh().await.unwrap();
    assert_eq!(
        verifier.verify(&old).await.unwrap_err(),
        AnonymousReason::UnknownKid
    );
    assert_eq!(verifier.cached_tokens(), 0);
    let new = rotated().sign_session("user_b", "sess_b", None).unwrap();
    assert_eq!(verifier.verify(&new).await.unwrap().sub, "user_b");
}

#[tokio::test]
async fn cached_answers_resolve_like_fresh_ones() {
    let resolver = resolver().await;
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    for _ in 0..2 {
        let identity = resolve_bearer(&resolver, &token).await;
        assert_user(&identity, "user_a", Source::Header);
        assert_eq!(
            identity.authenticated().unwrap().session_id.as_deref(),
            Some("sess_a")
        );
    }
    assert_eq!(resolver.verifier().cached_tokens(), 1);
}
