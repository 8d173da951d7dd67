//! Which credential decides (`auth.md` §1): the `Authorization` header alone, the fail-closed
//! marker, the session cookie(s), and the CSRF rule for cookie-authenticated mutations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Method;
use support::*;
use tabrpc_auth::{AnonymousReason, Resolver, Source};

fn token_for(sub: &str) -> String {
    idp()
        .sign_session(sub, &format!("sess_{sub}"), None)
        .unwrap()
}

#[tokio::test]
async fn no_credentials_is_none() {
    let resolver = resolver().await;
    assert_anonymous(&resolver.resolve(&get(&[])).await, AnonymousReason::None);
    let other_cookies = get(&[("cookie", "theme=dark; __session_other=x")]);
    assert_anonymous(
        &resolver.resolve(&other_cookies).await,
        AnonymousReason::None,
    );
}

#[tokio::test]
async fn placeholder_bearer_never_falls_back_to_the_cookie() {
    let resolver = resolver().await;
    let cookie = session_cookie(&token_for("user_b"));
    for auth in [
        "Bearer null",
        "Bearer undefined",
        "Bearer ",
        "Bearer",
        "bearer null",
    ] {
        let parts = get(&[("authorization", auth), ("cookie", &cookie)]);
        let identity = resolver.resolve(&parts).await;
        assert_anonymous(&identity, AnonymousReason::Placeholder);
        assert_eq!(
            identity.anonymous_reason().unwrap().bearer_error(),
            Some("invalid_token")
        );
    }
}

#[tokio::test]
async fn a_bad_bearer_never_falls_back_to_the_cookie() {
    let resolver = resolver().await;
    let expired = idp()
        .token()
        .claim("sub", "user_a")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let parts = get(&[
        ("authorization", &bearer(&expired)),
        ("cookie", &session_cookie(&token_for("user_b"))),
    ]);
    assert_anonymous(&resolver.resolve(&parts).await, AnonymousReason::Expired);
}

#[tokio::test]
async fn other_schemes_are_bad_scheme() {
    let resolver = resolver().await;
    let token = token_for("user_a");
    for auth in [
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("Token {token}"),
        format!("Bearer-{token}"),
        token.clone(),
    ] {
        let parts = get(&[
            ("authorization", &auth),
            ("cookie", &session_cookie(&token)),
        ]);
        assert_anonymous(&resolver.resolve(&parts).await, AnonymousReason::BadScheme);
    }
}

#[tokio::test]
async fn two_authorization_headers_are_ambiguous() {
    let resolver = resolver().await;
    let a = token_for("user_a");
    let b = token_for("user_b");
    for (first, second) in [(&a, &b), (&a, &a)] {
        let parts = get(&[
            ("authorization", &bearer(first)),
            ("authorization", &bearer(second)),
        ]);
        let identity = resolver.resolve(&parts).await;
        assert_anonymous(&identity, AnonymousReason::Ambiguous);
        assert_eq!(
            identity.anonymous_reason().unwrap().bearer_error(),
            Some("invalid_request")
        );
    }
}

#[tokio::test]
async fn marker_with_a_cookie_fails_closed() {
    let resolver = resolver().await;
    let parts = get(&[
        ("x-tabrpc-auth-required", "1"),
        ("cookie", &session_cookie(&token_for("user_b"))),
    ]);
    assert_anonymous(&resolver.resolve(&parts).await, AnonymousReason::FailClosed);
}

#[tokio::test]
async fn marker_and_cookie_names_are_configurable() {
    let verifier = verifier_builder().build().await.unwrap();
    let resolver = Resolver::builder(verifier)
        .marker_header("x-needs-auth")
        .cookie_name("sess")
        .build()
        .unwrap();
    let token = token_for("user_b");
    let by_custom_cookie = get(&[("cookie", &format!("sess={token}"))]);
    assert_user(
        &resolver.resolve(&by_custom_cookie).await,
        "user_b",
        Source::Cookie,
    );
    let default_cookie_ignored = get(&[("cookie", &session_cookie(&token))]);
    assert_anonymous(
        &resolver.resolve(&default_cookie_ignored).await,
        AnonymousReason::None,
    );
    let marked = get(&[("x-needs-auth", "1"), ("cookie", &format!("sess={token}"))]);
    assert_anonymous(
        &resolver.resolve(&marked).await,
        AnonymousReason::FailClosed,
    );
    assert!(
        Resolver::builder(resolver.verifier().clone())
            .marker_header("bad header")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn session_cookies_with_different_subjects_are_ambiguous() {
    let resolver = resolver().await;
    let a = token_for("user_a");
    let b = token_for("user_b");
    let one_header = get(&[("cookie", &format!("__session={a}; __session={b}"))]);
    assert_anonymous(
        &resolver.resolve(&one_header).await,
        AnonymousReason::Ambiguous,
    );
    // HTTP/2 may split cookies over several headers; all are read.
    let split = get(&[
        ("cookie", &session_cookie(&a)),
        ("cookie", &session_cookie(&b)),
    ]);
    assert_anonymous(&resolver.resolve(&split).await, AnonymousReason::Ambiguous);
}

#[tokio::test]
async fn session_cookies_of_one_subject_or_with_stale_ones_authenticate() {
    let resolver = resolver().await;
    let a1 = token_for("user_a");
    let a2 = idp().sign_session("user_a", "sess_other", None).unwrap();
    let same = get(&[("cookie", &format!("__session={a1}; __session={a2}"))]);
    assert_user(&resolver.resolve(&same).await, "user_a", Source::Cookie);
    let expired_b = idp()
        .token()
        .claim("sub", "user_b")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let with_stale = get(&[("cookie", &format!("__session={expired_b}; __session={a1}"))]);
    assert_user(
        &resolver.resolve(&with_stale).await,
        "user_a",
        Source::Cookie,
    );
    let only_stale = get(&[("cookie", &session_cookie(&expired_b))]);
    assert_anonymous(
        &resolver.resolve(&only_stale).await,
        AnonymousReason::Expired,
    );
}

#[tokio::test]
async fn too_many_session_cookies_are_ambiguous() {
    let resolver = resolver().await;
    let cookies: Vec<String> = (0..5).map(|i| format!("__session=junk{i}")).collect();
    let parts = get(&[("cookie", &cookies.join("; "))]);
    assert_anonymous(&resolver.resolve(&parts).await, AnonymousReason::Ambiguous);
}

#[tokio::test]
async fn cookie_mutation_needs_the_csrf_rule() {
    let resolver = resolver().await;
    let cookie = session_cookie(&token_for("user_b"));
    let cross_site = request(
        Method::POST,
        &[
            ("cookie", &cookie),
            ("origin", "https://evil.test"),
            ("host", "app.tabrpc.test"),
        ],
    );
    assert!(!resolver.cookie_csrf_ok(&cross_site));
    assert_anonymous(&resolver.resolve(&cross_site).await, AnonymousReason::Csrf);
    let no_signal = request(Method::POST, &[("cookie", &cookie)]);
    assert_anonymous(&resolver.resolve(&no_signal).await, AnonymousReason::Csrf);

    for ok in [
        vec![
            ("origin", "http://app.tabrpc.test"),
            ("host", "app.tabrpc.test"),
        ],
        vec![("sec-fetch-site", "same-origin")],
        vec![("x-tabrpc-csrf", "1")],
    ] {
        let mut headers = ok.clone();
        headers.push(("cookie", &cookie));
        let parts = request(Method::POST, &headers);
        assert!(tabrpc_auth::cookie_csrf_ok(&parts));
        assert_user(&resolver.resolve(&parts).await, "user_b", Source::Cookie);
    }
    // Reads are not mutations.
    let read = get(&[("cookie", &cookie), ("origin", "https://evil.test")]);
    assert_user(&resolver.resolve(&read).await, "user_b", Source::Cookie);
}

#[tokio::test]
async fn bearer_mutations_need_no_csrf_signal() {
    let resolver = resolver().await;
    let parts = request(
        Method::POST,
        &[
            ("authorization", &bearer(&token_for("user_a"))),
            ("origin", "https://evil.test"),
        ],
    );
    assert_user(&resolver.resolve(&parts).await, "user_a", Source::Header);
}

#[tokio::test]
async fn identity_comes_from_the_token_only() {
    // A header that looks like it names a user is not a credential.
    let resolver = resolver().await;
    let parts = get(&[("x-user-id", "user_admin"), ("x-viewer-id", "user_admin")]);
    assert_anonymous(&resolver.resolve(&parts).await, AnonymousReason::None);
}

#[tokio::test]
async fn the_csrf_origin_rule_compares_the_scheme() {
    let cookie = session_cookie(&token_for("user_b"));
    let from = |origin: &'static str| {
        request(
            Method::POST,
            &[
                ("cookie", cookie.as_str()),
                ("origin", origin),
                ("host", "app.tabrpc.test"),
            ],
        )
    };
    // Plain HTTP (nothing configured, no scheme in the URI): the server is `http`, so an
    // `https` page of the same host is another origin.
    let plain = resolver().await;
    assert_anonymous(&plain.resolve(&from(ORIGIN)).await, AnonymousReason::Csrf);
    assert_user(
        &plain.resolve(&from("http://app.tabrpc.test")).await,
        "user_b",
        Source::Cookie,
    );
    // Behind a TLS-terminating proxy, with the public scheme configured: the reverse.
    let verifier = verifier_builder().build().await.unwrap();
    let tls = Resolver::builder(verifier.clone())
        .public_scheme("HTTPS")
        .build()
        .unwrap();
    assert_user(&tls.resolve(&from(ORIGIN)).await, "user_b", Source::Cookie);
    assert_anonymous(
        &tls.resolve(&from("http://app.tabrpc.test")).await,
        AnonymousReason::Csrf,
    );
    let err = Resolver::builder(verifier)
        .public_scheme("ftp")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), tabrpc_auth::ErrorKind::Config);
}

#[tokio::test]
async fn twenty_thousand_session_cookies_are_ambiguous_and_a_few_are_verified() {
    let resolver = resolver().await;
    let many: String = (0..20_000)
        .map(|i| format!("__session=junk{i}; "))
        .collect();
    assert_anonymous(
        &resolver.resolve(&get(&[("cookie", &many)])).await,
        AnonymousReason::Ambiguous,
    );
    // The same valid token repeated is one cookie, verified once.
    let token = token_for("user_a");
    let repeated: String = (0..2_000).map(|_| format!("__session={token}; ")).collect();
    assert_user(
        &resolver.resolve(&get(&[("cookie", &repeated)])).await,
        "user_a",
        Source::Cookie,
    );
}

#[tokio::test]
async fn the_cookie_answers_only_for_the_account_the_tab_names() {
    let resolver = resolver().await;
    let bob = session_cookie(&token_for("bob"));
    let alice = session_cookie(&token_for("alice"));
    let account = tabrpc_core::protocol::ACCOUNT_HEADER;

    let mismatch = get(&[("cookie", &bob), (account, "alice")]);
    let identity = resolver.resolve(&mismatch).await;
    assert_anonymous(&identity, AnonymousReason::AccountMismatch);
    // Not a bad token: the 401 says other credentials were refused.
    let err = resolver.require(&identity).unwrap_err();
    assert_eq!(err.code(), tabrpc_core::ErrorCode::Unauthorized);
    assert_eq!(
        err.reason(),
        Some(tabrpc_core::ErrorReason::CredentialsRefused)
    );

    let matching = get(&[("cookie", &alice), (account, "alice")]);
    assert_user(&resolver.resolve(&matching).await, "alice", Source::Cookie);
    // An empty value, or two values, name no single account: fail closed.
    for values in [vec![""], vec!["alice", "alice"]] {
        let mut headers = vec![("cookie", alice.as_str())];
        headers.extend(values.iter().map(|v| (account, *v)));
        assert_anonymous(
            &resolver.resolve(&get(&headers)).await,
            AnonymousReason::AccountMismatch,
        );
    }
    // The marker still wins; a bearer token alone decides (the account header is not read).
    let marked = get(&[
        ("cookie", &alice),
        (account, "alice"),
        (tabrpc_auth::DEFAULT_MARKER_HEADER, "1"),
    ]);
    assert_anonymous(
        &resolver.resolve(&marked).await,
        AnonymousReason::FailClosed,
    );
    let with_bearer = get(&[
        ("authorization", &bearer(&token_for("bob"))),
        (account, "alice"),
    ]);
    assert_user(&resolver.resolve(&with_bearer).await, "bob", Source::Header);
}
