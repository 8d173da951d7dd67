//! What the demo logs (auth.md §4) while serving tokens, cookies and bad tokens at TRACE
//! level: never a token, an `Authorization` value or a cookie value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn tokens_authorization_and_cookie_values_never_reach_the_log() {
    let (logs, _guard) = Capture::start();
    let demo = Demo::dev().await;

    // The provider's flow: sign-in, per-tab tokens, activation, a cookie call.
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let bob = sign_in(&demo, &mut jar, "bob").await;
    let alice_tab = get_token(&demo, &jar, &alice.session_id).await;
    let activated = activate(&demo, &jar, &alice.session_id).await;
    jar.absorb(&activated);
    let activated_token = activated.json()["token"].as_str().unwrap().to_owned();

    let mut secrets: Vec<String> = Vec::new();
    for token in [&alice.token, &bob.token, &alice_tab.token, &activated_token] {
        secrets.extend(secret_pieces(token));
    }
    secrets.push(jar.get("__client").unwrap().to_owned());

    // Good credentials: header, cookie, header with another cookie.
    let reply = demo
        .query("profile.getUser")
        .bearer(&alice_tab.token)
        .send()
        .await;
    assert_eq!(reply.data()["id"], "user_alice");
    let reply = demo
        .query("onboarding.getProgress")
        .cookies(&jar)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "welcome" }))
        .bearer(&bob.token)
        .cookies(&jar)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());

    // Bad credentials of every kind.
    let expired = token_builder("user_alice")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let forged = token_builder("user_alice")
        .signed_by(attacker())
        .sign()
        .unwrap();
    let wrong_issuer = token_builder("user_alice")
        .claim("iss", "https://evil.test")
        .claim("email", "alice@private.test")
        .sign()
        .unwrap();
    let bad_kid = token_builder("user_alice")
        .header("kid", "../../etc/passwd")
        .sign()
        .unwrap();
    let garbage = "not.a-jwt.but-a-secret-looking-value".to_owned();
    for token in [&expired, &forged, &wrong_issuer, &bad_kid, &garbage] {
        secrets.extend(secret_pieces(token));
        let reply = demo
            .query("onboarding.getProgress")
            .bearer(token)
            .send()
            .await;
        assert_eq!(reply.status, 401, "{}", reply.describe());
        let reply = demo
            .query("profile.getUser")
            .header("cookie", session_cookie(token))
            .send()
            .await;
        assert_eq!(reply.data()["signedIn"], false, "{}", reply.describe());
    }
    let reply = demo
        .query("onboarding.getProgress")
        .header("authorization", bearer(&alice_tab.token))
        .header("authorization", bearer(&bob.token))
        .send()
        .await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let reply = demo
        .query("onboarding.getProgress")
        .header("authorization", "Basic dXNlcjpzZWNyZXQtcGFzc3dvcmQ=")
        .send()
        .await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    secrets.push("dXNlcjpzZWNyZXQtcGFzc3dvcmQ".to_owned());
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "profile" }))
        .cookies(&jar)
        .header("origin", "https://evil.test")
        .send()
        .await;
    assert_eq!(reply.status, 401, "CSRF: {}", reply.describe());

    let log = logs.text();
    // The capture really saw the requests: auth decisions and HTTP spans are in it.
    assert!(log.contains("outcome=\"authenticated\""), "{log}");
    assert!(log.contains("reason=\"expired\""), "{log}");
    assert!(log.contains("reason=\"bad_signature\""), "{log}");
    assert!(log.contains("dev identity provider: signed in"), "{log}");
    assert!(log.contains("reason=\"csrf\""), "{log}");
    assert!(log.contains("reason=\"ambiguous\""), "{log}");
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");

    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret ({}…) was logged:\n{log}",
            &secret[..12.min(secret.len())]
        );
    }
    for header in ["Bearer", "bearer ", "__session=", "__client=", "Basic "] {
        assert!(!log.contains(header), "{header:?} was logged:\n{log}");
    }
    for claim in ["alice@private.test", "evil.test", "passwd"] {
        assert!(!log.contains(claim), "{claim:?} was logged:\n{log}");
    }
}
