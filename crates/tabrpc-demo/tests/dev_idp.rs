//! The development identity provider (auth.md §5) over real HTTP: its JWKS, sign-in cookies,
//! the shared `__session` cookie following the most recently active tab, per-tab tokens that
//! verify, sessions bound to their browser, and sign-out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;
use tabrpc::auth::Verifier;

/// Who the demo says the caller is when it authenticates by `jar`'s cookies only.
async fn cookie_user(demo: &Demo, jar: &Jar) -> serde_json::Value {
    demo.query("profile.getUser")
        .cookies(jar)
        .send()
        .await
        .data()["id"]
        .clone()
}

#[tokio::test]
async fn jwks_serves_the_rsa_signing_key() {
    let demo = Demo::dev().await;
    let reply = demo.get("/.well-known/jwks.json").send().await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert!(
        reply
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{}",
        reply.describe()
    );
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().expect("a keys array");
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA", "{jwks}");
    assert_eq!(key["alg"], "RS256", "{jwks}");
    assert_eq!(key["use"], "sig", "{jwks}");
    assert_eq!(key["kid"], idp().kid(), "{jwks}");
    for field in ["n", "e"] {
        assert!(
            key[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {jwks}"
        );
    }
    // Never the private parts.
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none(), "{private} leaked: {jwks}");
    }
}

#[tokio::test]
async fn sign_in_sets_the_client_and_session_cookies() {
    let demo = Demo::dev().await;
    let reply = demo
        .idp_post("/dev-idp/sign-in", json!({ "account": "alice" }))
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    let cookies = reply.set_cookies();
    let client = cookies
        .iter()
        .find(|c| c.starts_with("__client="))
        .unwrap_or_else(|| panic!("no __client cookie: {cookies:?}"));
    assert!(client.contains("HttpOnly"), "{client}");
    assert!(client.contains("Path=/"), "{client}");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__session="))
        .unwrap_or_else(|| panic!("no __session cookie: {cookies:?}"));
    assert!(session.contains("Path=/"), "{session}");

    let body = reply.json();
    assert_eq!(body["userId"], "user_alice", "{body}");
    let token = body["token"].as_str().unwrap();
    let mut jar = Jar::default();
    jar.absorb(&reply);
    assert_eq!(
        jar.get("__session"),
        Some(token),
        "the cookie carries the token"
    );
    assert!(jar.get("__client").is_some_and(|c| !c.is_empty()));

    // The browser's view lists the session as the active one.
    let view = client_view(&demo, &jar).await;
    assert_eq!(view["sessions"][0]["userId"], "user_alice", "{view}");
    assert_eq!(view["lastActiveSessionId"], body["sessionId"], "{view}");

    // Unknown accounts are refused, with no cookie.
    let reply = demo
        .idp_post("/dev-idp/sign-in", json!({ "account": "mallory" }))
        .send()
        .await;
    assert_eq!(reply.status, 404, "{}", reply.describe());
    assert!(reply.set_cookies().is_empty(), "{}", reply.describe());
}

#[tokio::test]
async fn the_cookie_follows_the_most_recently_active_tab() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let client = jar.get("__client").unwrap().to_owned();
    assert_eq!(cookie_user(&demo, &jar).await, "user_alice");

    let bob = sign_in(&demo, &mut jar, "bob").await;
    assert_eq!(
        jar.get("__client"),
        Some(client.as_str()),
        "the same browser"
    );
    assert_eq!(
        cookie_user(&demo, &jar).await,
        "user_bob",
        "the last sign-in's tab is active"
    );

    // Alice's tab gets focus.
    let reply = activate(&demo, &jar, &alice.session_id).await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    jar.absorb(&reply);
    assert_eq!(cookie_user(&demo, &jar).await, "user_alice");
    let view = client_view(&demo, &jar).await;
    assert_eq!(view["lastActiveSessionId"], alice.session_id.as_str());
    assert_eq!(view["sessions"].as_array().map(Vec::len), Some(2), "{view}");

    // Whatever the cookie says, each tab's own token answers for its own account.
    for session in [&alice, &bob] {
        let token = get_token(&demo, &jar, &session.session_id).await;
        let reply = demo
            .query("profile.getUser")
            .bearer(&token.token)
            .cookies(&jar)
            .send()
            .await;
        assert_eq!(reply.data()["id"], session.user_id.as_str());
    }
}

#[tokio::test]
async fn tokens_from_the_token_endpoint_verify() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let carol = sign_in(&demo, &mut jar, "carol").await;
    let reply = request_token(&demo, &jar, &carol.session_id).await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert!(
        reply.set_cookies().is_empty(),
        "getToken does not move the shared cookie: {}",
        reply.describe()
    );
    let fresh = get_token(&demo, &jar, &carol.session_id).await;
    assert_eq!(fresh.user_id, "user_carol");

    // By the demo itself.
    let reply = demo
        .query("onboarding.getProgress")
        .bearer(&fresh.token)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());

    // And by an independent verifier that knows only the issuer and the served JWKS URL.
    let verifier = Verifier::builder()
        .issuer(ISSUER)
        .jwks_url(demo.url("/.well-known/jwks.json"))
        .build()
        .await
        .unwrap();
    let claims = verifier.verify(&fresh.token).await.unwrap();
    assert_eq!(claims.sub, "user_carol");
    assert_eq!(claims.sid.as_deref(), Some(carol.session_id.as_str()));
    assert_eq!(claims.iss, ISSUER);
    let lifetime = claims.exp - claims.iat.expect("iat");
    assert!((1..=60).contains(&lifetime), "short-lived: {lifetime}s");

    // `azp` is the requesting page's origin.
    let reply = demo
        .idp_post("/dev-idp/token", json!({ "sessionId": carol.session_id }))
        .cookies(&jar)
        .header("origin", ORIGIN)
        .send()
        .await;
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.azp.as_deref(), Some(ORIGIN));
}

#[tokio::test]
async fn another_browsers_session_gets_no_token() {
    let demo = Demo::dev().await;
    let mut ours = Jar::default();
    let alice = sign_in(&demo, &mut ours, "alice").await;

    let mut theirs = Jar::default();
    sign_in(&demo, &mut theirs, "bob").await;
    let strangers = [
        ("a browser with its own client", theirs),
        ("no cookies", Jar::default()),
    ];
    for (case, jar) in &strangers {
        for route in ["/dev-idp/token", "/dev-idp/activate", "/dev-idp/sign-out"] {
            let reply = demo
                .idp_post(route, json!({ "sessionId": alice.session_id }))
                .cookies(jar)
                .send()
                .await;
            assert_eq!(reply.status, 401, "{route}, {case}: {}", reply.describe());
            assert!(
                !reply.text.contains("eyJ"),
                "{route}, {case}: a token was handed out: {}",
                reply.text
            );
            assert!(reply.set_cookies().is_empty(), "{route}, {case}");
        }
    }
    // Made-up session ids are refused too, even from a real browser.
    let reply = request_token(&demo, &ours, "sess_made_up").await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    // Alice's own browser still can.
    assert_eq!(
        get_token(&demo, &ours, &alice.session_id).await.user_id,
        "user_alice"
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let bob = sign_in(&demo, &mut jar, "bob").await;

    // Bob's session is the active one: signing it out clears the shared cookie.
    let reply = demo
        .idp_post("/dev-idp/sign-out", json!({ "sessionId": bob.session_id }))
        .cookies(&jar)
        .send()
        .await;
    assert_eq!(reply.status, 204, "{}", reply.describe());
    jar.absorb(&reply);
    assert_eq!(jar.get("__session"), None, "{:?}", reply.set_cookies());

    let reply = request_token(&demo, &jar, &bob.session_id).await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let reply = activate(&demo, &jar, &bob.session_id).await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let view = client_view(&demo, &jar).await;
    let sessions = view["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{view}");
    assert_eq!(
        sessions[0]["sessionId"],
        alice.session_id.as_str(),
        "{view}"
    );

    // Alice's session, in the same browser, is untouched.
    assert_eq!(
        get_token(&demo, &jar, &alice.session_id).await.user_id,
        "user_alice"
    );
    // Without a session cookie the browser is anonymous by cookie.
    assert_eq!(cookie_user(&demo, &jar).await, "");
}
