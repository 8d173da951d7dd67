//! The development identity provider's memory is bounded: a loop of sign-ins, from new
//! browsers or from one browser, cannot grow it, and the provider keeps answering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use serde_json::json;
use support::*;
use tabrpc_demo::idp::Limits;
use tabrpc_demo::{Auth, DevProvider};

/// The demo with a provider of these limits (and the shared key), and that provider.
async fn demo_with_limits(limits: Limits) -> (Demo, Arc<DevProvider>) {
    let mut auth = Auth::from_settings(&dev_settings(), ISSUER)
        .await
        .expect("auth from settings");
    let provider = Arc::new(DevProvider::new(idp().clone()).with_limits(limits));
    auth.provider = Some(provider.clone());
    (Demo::start(auth).await, provider)
}

#[tokio::test]
async fn one_browser_keeps_at_most_16_sessions_and_ends_the_oldest() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let mut sessions = Vec::new();
    for i in 0..40 {
        let account = ["alice", "bob", "carol"][i % 3];
        sessions.push(sign_in(&demo, &mut jar, account).await);
    }
    let view = client_view(&demo, &jar).await;
    let listed: Vec<&str> = view["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    let newest: Vec<&str> = sessions[24..]
        .iter()
        .map(|s| s.session_id.as_str())
        .collect();
    assert_eq!(
        listed, newest,
        "the 16 most recent sessions, in order: {view}"
    );
    assert_eq!(
        view["lastActiveSessionId"],
        sessions[39].session_id.as_str(),
        "{view}"
    );
    // The oldest ones are ended; the newest still get tokens.
    let reply = request_token(&demo, &jar, &sessions[0].session_id).await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let reply = request_token(&demo, &jar, &sessions[23].session_id).await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    assert_eq!(
        get_token(&demo, &jar, &sessions[24].session_id)
            .await
            .user_id,
        sessions[24].user_id
    );
}

#[tokio::test]
async fn new_browsers_beyond_1024_forget_the_least_recently_used() {
    let demo = Demo::dev().await;
    let mut first = Jar::default();
    let alice = sign_in(&demo, &mut first, "alice").await;
    let mut second = Jar::default();
    let bob = sign_in(&demo, &mut second, "bob").await;
    // 1023 more browsers: 1025 in all. The first stays in use, so the second is the least
    // recently used one when the table is full.
    for i in 0..1023 {
        if i % 100 == 0 {
            get_token(&demo, &first, &alice.session_id).await;
        }
        let reply = demo
            .idp_post("/dev-idp/sign-in", json!({ "account": "carol" }))
            .send()
            .await;
        assert_eq!(reply.status, 200, "browser {i}: {}", reply.describe());
    }
    let reply = request_token(&demo, &second, &bob.session_id).await;
    assert_eq!(reply.status, 401, "forgotten: {}", reply.describe());
    assert_eq!(client_view(&demo, &second).await["sessions"], json!([]));
    assert_eq!(
        get_token(&demo, &first, &alice.session_id).await.user_id,
        "user_alice"
    );
}

#[tokio::test]
async fn a_sign_in_loop_stays_within_the_limits_and_the_provider_keeps_answering() {
    let limits = Limits {
        clients: 8,
        sessions_per_client: 3,
    };
    let (demo, provider) = demo_with_limits(limits).await;

    // One browser signing in again and again.
    let mut jar = Jar::default();
    for _ in 0..50 {
        sign_in(&demo, &mut jar, "alice").await;
    }
    assert_eq!(provider.usage().clients, 1);
    assert_eq!(provider.usage().sessions, 3);

    // New browsers (no cookies), far more than the limit.
    for i in 0..200 {
        let reply = demo
            .idp_post("/dev-idp/sign-in", json!({ "account": "bob" }))
            .send()
            .await;
        assert_eq!(reply.status, 200, "browser {i}: {}", reply.describe());
        let usage = provider.usage();
        assert!(usage.clients <= 8, "after browser {i}: {usage:?}");
        assert!(usage.sessions <= 8 * 3, "after browser {i}: {usage:?}");
    }
    assert_eq!(provider.usage().clients, 8);

    // A made-up `__client` cookie is not remembered: it gets a new browser id instead.
    let reply = demo
        .idp_post("/dev-idp/sign-in", json!({ "account": "carol" }))
        .header("cookie", "__client=client_chosen_by_the_caller")
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__client=client_") && !c.contains("chosen")),
        "{:?}",
        reply.set_cookies()
    );
    assert_eq!(provider.usage().clients, 8);

    // Still answering, for new and for remembered browsers.
    let mut fresh = Jar::default();
    let carol = sign_in(&demo, &mut fresh, "carol").await;
    assert_eq!(
        get_token(&demo, &fresh, &carol.session_id).await.user_id,
        "user_carol"
    );
    let reply = demo.get("/.well-known/jwks.json").send().await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
}
