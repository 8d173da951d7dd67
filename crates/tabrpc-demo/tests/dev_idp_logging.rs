//! What the development identity provider logs (auth.md §4, §5): fingerprints of its session
//! and browser ids, never the ids (with a browser's cookie, a session id is enough to get a
//! token), at any level.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;
use tabrpc::auth::dev_idp::fingerprint;

#[tokio::test]
async fn sign_in_token_activate_and_sign_out_log_fingerprints_never_the_ids() {
    let (logs, _guard) = Capture::start();
    let demo = Demo::dev().await;

    // Two browsers; every route of the provider, each with a session cookie in the jar.
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let bob = sign_in(&demo, &mut jar, "bob").await;
    let mut other = Jar::default();
    let carol = sign_in(&demo, &mut other, "carol").await;
    get_token(&demo, &jar, &alice.session_id).await;
    let reply = activate(&demo, &jar, &alice.session_id).await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    jar.absorb(&reply);
    client_view(&demo, &jar).await;
    // Refused: another browser's session.
    let reply = request_token(&demo, &other, &bob.session_id).await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let reply = demo
        .idp_post("/dev-idp/sign-out", json!({ "sessionId": bob.session_id }))
        .cookies(&jar)
        .send()
        .await;
    assert_eq!(reply.status, 204, "{}", reply.describe());

    let log = logs.text();
    // The capture saw the provider: its sign-in lines, with the sessions' fingerprints.
    assert!(log.contains("dev identity provider: signed in"), "{log}");
    for session in [&alice, &bob, &carol] {
        let fp = fingerprint(&session.session_id);
        assert!(
            log.contains(&format!("session={fp}")),
            "no fingerprint {fp} in the log:\n{log}"
        );
    }
    let client = jar.get("__client").unwrap();
    assert!(
        log.contains(&format!("client={}", fingerprint(client))),
        "{log}"
    );

    let mut ids: Vec<&str> = vec![
        &alice.session_id,
        &bob.session_id,
        &carol.session_id,
        client,
        other.get("__client").unwrap(),
    ];
    // Not even the random part alone (a prefix-less or truncated form).
    let random_parts: Vec<&str> = ids
        .iter()
        .filter_map(|id| id.split_once('_').map(|(_, hex)| &hex[..16]))
        .collect();
    ids.extend(random_parts);
    for id in ids {
        assert!(!log.contains(id), "{id} was logged:\n{log}");
    }
}
