//! A JWKS URL over real HTTP on 127.0.0.1: key rotation, unreachable at boot, outages after a
//! good load, and the unknown-`kid` refetch limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::*;
use tabrpc_auth::{AnonymousReason, Source, Verifier};

fn token_by(idp: &tabrpc_auth::dev_idp::DevIdp, sub: &str) -> String {
    idp.sign_session(sub, "sess_1", None).unwrap()
}

#[tokio::test]
async fn key_rotated_new_kid_appears_in_the_jwks() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let resolver = resolver_with(url_verifier(&server.url())).await;
    assert_eq!(server.hits(), 1, "one fetch at build");
    assert_user(
        &resolve_bearer(&resolver, &token_by(idp(), "user_a")).await,
        "user_a",
        Source::Header,
    );

    server.set_body(jwks_of(&[idp(), rotated()]));
    let identity = resolve_bearer(&resolver, &token_by(rotated(), "user_r")).await;
    assert_user(&identity, "user_r", Source::Header);
    assert_eq!(server.hits(), 2, "the unknown kid triggered one refetch");
    // The old key is still served and still works, without another fetch.
    assert_user(
        &resolve_bearer(&resolver, &token_by(idp(), "user_a")).await,
        "user_a",
        Source::Header,
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn jwks_unreachable_at_boot_is_not_ready_never_accept() {
    let verifier = url_verifier(&dead_url().await).build().await.unwrap();
    assert!(!verifier.is_ready());
    assert_eq!(verifier.retry_after(), Duration::from_secs(30));
    let resolver = tabrpc_auth::Resolver::builder(verifier).build().unwrap();
    let identity = resolve_bearer(&resolver, &token_by(idp(), "user_a")).await;
    assert_anonymous(&identity, AnonymousReason::NotReady);
    // A protected procedure answers 503 with `Retry-After`, never 401 and never "accept".
    let err = resolver.require(&identity).unwrap_err();
    assert_eq!(err.code(), tabrpc_core::ErrorCode::ServiceUnavailable);
    let retry_after = err
        .headers()
        .unwrap()
        .get(http::header::RETRY_AFTER)
        .unwrap();
    assert_eq!(retry_after, "30");
}

#[tokio::test]
async fn jwks_erroring_at_boot_is_not_ready_then_recovers() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    server.set_status(503);
    let verifier = url_verifier(&server.url())
        .jwks_unknown_kid_refetch_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let resolver = tabrpc_auth::Resolver::builder(verifier).build().unwrap();
    let token = token_by(idp(), "user_a");
    assert_anonymous(
        &resolve_bearer(&resolver, &token).await,
        AnonymousReason::NotReady,
    );
    server.set_status(200);
    assert_user(
        &resolve_bearer(&resolver, &token).await,
        "user_a",
        Source::Header,
    );
    assert!(resolver.verifier().is_ready());
}

#[tokio::test]
async fn garbage_jwks_at_boot_is_not_ready() {
    let server =
        JwksServer::start(r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#.into()).await;
    let verifier = url_verifier(&server.url()).build().await.unwrap();
    assert!(!verifier.is_ready());
    assert_eq!(
        verifier
            .verify(&token_by(idp(), "user_a"))
            .await
            .unwrap_err(),
        AnonymousReason::NotReady
    );
}

#[tokio::test]
async fn outage_after_a_good_load_keeps_the_last_good_keys() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url())
        .jwks_refresh_interval(Duration::from_millis(20))
        .build()
        .await
        .unwrap();
    let token = token_by(idp(), "user_a");
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_a");

    // Errors, then garbage, then an empty key set: none may replace the good keys.
    for broken in [None, Some("not json"), Some(r#"{"keys":[]}"#)] {
        match broken {
            None => server.set_status(500),
            Some(body) => {
                server.set_status(200);
                server.set_body(body.into());
            }
        }
        let before = server.hits();
        assert!(verifier.refresh().await.is_err());
        // Let the background refresher fail a few times too.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            server.hits() > before + 1,
            "the periodic refresh kept trying"
        );
        assert!(verifier.is_ready());
        assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_a");
    }
}

#[tokio::test]
async fn outage_after_a_good_load_server_gone() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url()).build().await.unwrap();
    drop(server);
    let token = token_by(idp(), "user_a");
    assert!(verifier.refresh().await.is_err());
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kid_misses_share_one_fetch() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url()).build().await.unwrap();
    assert_eq!(server.hits(), 1);
    server.set_body(jwks_of(&[idp(), rotated()]));
    // Slow enough that every miss arrives while the first refetch is in flight.
    server.set_delay(Duration::from_millis(200));

    let token = token_by(rotated(), "user_r");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().sub, "user_r");
    }
    assert_eq!(server.hits(), 2, "one refetch for all 16 misses");
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url()).build().await.unwrap();
    for i in 0..20 {
        let token = idp()
            .token()
            .header("kid", format!("made-up-{i}"))
            .sign()
            .unwrap();
        assert_eq!(
            verifier.verify(&token).await.unwrap_err(),
            AnonymousReason::UnknownKid
        );
    }
    assert_eq!(
        server.hits(),
        2,
        "the build fetch and a single miss refetch"
    );
    // A key published meanwhile is found only after the interval; until then it is unknown.
    server.set_body(jwks_of(&[idp(), rotated()]));
    let token = token_by(rotated(), "user_r");
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        AnonymousReason::UnknownKid
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn the_refetch_interval_is_configurable() {
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let verifier = url_verifier(&server.url())
        .jwks_unknown_kid_refetch_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let unknown = idp().token().header("kid", "made-up").sign().unwrap();
    assert_eq!(
        verifier.verify(&unknown).await.unwrap_err(),
        AnonymousReason::UnknownKid
    );
    server.set_body(jwks_of(&[idp(), rotated()]));
    let token = token_by(rotated(), "user_r");
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        AnonymousReason::UnknownKid
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "user_r");
}

#[tokio::test]
async fn config_errors_are_errors() {
    let kind = |r: Result<Verifier, tabrpc_auth::Error>| r.unwrap_err().kind();
    use tabrpc_auth::ErrorKind::{Config, KeyLoad};
    assert_eq!(
        kind(
            Verifier::builder()
                .jwks_url("http://127.0.0.1:1/")
                .build()
                .await
        ),
        Config
    );
    assert_eq!(
        kind(Verifier::builder().issuer(ISSUER).build().await),
        Config
    );
    assert_eq!(
        kind(url_verifier("ftp://example.test/jwks").build().await),
        Config
    );
    assert_eq!(kind(url_verifier("not a url").build().await), Config);
    assert_eq!(
        kind(verifier_builder().algorithms([]).build().await),
        Config
    );
    let missing = Verifier::builder()
        .issuer(ISSUER)
        .jwks_file("/nonexistent/jwks.json");
    assert_eq!(kind(missing.build().await), KeyLoad);
    let oct_only = Verifier::builder()
        .issuer(ISSUER)
        .jwks_json(r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#);
    assert_eq!(kind(oct_only.build().await), KeyLoad);
    let lax = verifier_builder().leeway(Duration::from_secs(86_400));
    assert_eq!(kind(lax.build().await), Config);
    let not_pem = Verifier::builder().issuer(ISSUER).pem_public_key("nope");
    assert_eq!(kind(not_pem.build().await), KeyLoad);
}

#[tokio::test]
async fn a_plain_http_jwks_url_is_refused_unless_loopback() {
    // Over plain http anyone on the path could swap the keys; the error names the scheme.
    for url in [
        "http://clerk.example.test/.well-known/jwks.json",
        "http://10.1.2.3/.well-known/jwks.json",
    ] {
        let err = url_verifier(url).build().await.unwrap_err();
        assert_eq!(err.kind(), tabrpc_auth::ErrorKind::Config, "{url}");
        assert!(err.message().contains("\"http\""), "{url}: {err}");
    }
    // Loopback over http is the development identity provider's case: allowed.
    let server = JwksServer::start(jwks_of(&[idp()])).await;
    let localhost = server.url().replace("127.0.0.1", "localhost");
    for url in [server.url(), localhost] {
        let verifier = url_verifier(&url).build().await.unwrap();
        assert!(verifier.is_ready(), "{url}");
    }
}
