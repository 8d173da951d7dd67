//! `onboarding.*` over real HTTP: progress belongs to the verified user; the deprecated
//! `sessionId` input is ignored (and warned about once, without its value); a mutation
//! authenticated by the shared cookie needs a same-origin signal or the CSRF header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn progress_is_per_verified_user() {
    let demo = Demo::dev().await;
    save(&demo, "user_alice", "welcome").await;
    save(&demo, "user_alice", "profile").await;
    save(&demo, "user_bob", "preferences").await;
    // Saving a step twice keeps it once.
    let again = save(&demo, "user_alice", "welcome").await;
    assert_eq!(
        again,
        json!({ "completed": ["welcome", "profile"], "next": "preferences" })
    );

    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["welcome", "profile"], "next": "preferences" })
    );
    assert_eq!(
        progress(&demo, "user_bob").await,
        json!({ "completed": ["preferences"], "next": "welcome" })
    );
    assert_eq!(
        progress(&demo, "user_carol").await,
        json!({ "completed": [], "next": "welcome" })
    );

    // A session of the provider (sign-in, then the tab's own token) sees the same rows as any
    // other token of that user.
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let reply = demo
        .query("onboarding.getProgress")
        .bearer(&alice.token)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": ["welcome", "profile"], "next": "preferences" })
    );

    // Completing all steps.
    for step in ["preferences", "done"] {
        save(&demo, "user_alice", step).await;
    }
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["welcome", "profile", "preferences", "done"], "next": null })
    );
    assert_eq!(
        progress(&demo, "user_bob").await,
        json!({ "completed": ["preferences"], "next": "welcome" })
    );
}

#[tokio::test]
async fn unknown_steps_are_bad_requests_and_store_nothing() {
    let demo = Demo::dev().await;
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "admin" }))
        .bearer(&token_for("user_alice"))
        .send()
        .await;
    assert_eq!(reply.status, 400, "{}", reply.describe());
    assert_eq!(reply.error_code().as_deref(), Some("BAD_REQUEST"));
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": [], "next": "welcome" })
    );
}

/// The only test of this binary that sends `sessionId`: the warning is once per process.
#[tokio::test]
async fn legacy_session_id_is_ignored_and_warned_about_once() {
    let (logs, _guard) = Capture::start();
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let bob = sign_in(&demo, &mut Jar::default(), "bob").await;
    let alice_token = get_token(&demo, &jar, &alice.session_id).await.token;

    // Authenticated as alice, naming bob's session: saved for alice.
    let reply = demo
        .mutation(
            "onboarding.saveStep",
            json!({ "step": "welcome", "sessionId": bob.session_id }),
        )
        .bearer(&alice_token)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": ["welcome"], "next": "profile" }),
        "{}",
        reply.describe()
    );
    // Any JSON in the field is ignored, not just strings.
    const LEGACY_VALUE: &str = "sess_legacy_client_value_5f1c";
    let reply = demo
        .mutation(
            "onboarding.saveStep",
            json!({ "step": "profile", "sessionId": { "id": LEGACY_VALUE } }),
        )
        .bearer(&alice_token)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": ["welcome", "profile"], "next": "preferences" }),
        "{}",
        reply.describe()
    );
    assert_eq!(
        progress(&demo, "user_bob").await,
        json!({ "completed": [], "next": "welcome" }),
        "nothing saved for the session the input named"
    );
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["welcome", "profile"], "next": "preferences" })
    );

    let log = logs.text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("sessionId"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one deprecation warning for two calls:\n{log}"
    );
    assert!(
        warnings[0].contains("deprecated"),
        "the warning says why: {}",
        warnings[0]
    );
    // The ignored value is never logged, nor is bob's real session id (the provider logs
    // only fingerprints of its session ids).
    assert!(
        !log.contains(LEGACY_VALUE),
        "the ignored sessionId value was logged:\n{log}"
    );
    assert!(
        !log.contains(&bob.session_id),
        "bob's session id, sent as the ignored sessionId, was logged:\n{log}"
    );
    let mut secrets = Vec::new();
    for token in [&alice.token, &bob.token, &alice_token] {
        secrets.extend(secret_pieces(token));
    }
    secrets.extend(jar.get("__client").map(str::to_owned));
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a token or cookie value was logged ({}…):\n{log}",
            &secret[..12.min(secret.len())]
        );
    }
    assert!(
        !log.contains("Bearer"),
        "an Authorization value was logged:\n{log}"
    );
}

#[tokio::test]
async fn cookie_mutations_need_same_origin_or_the_csrf_header() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    sign_in(&demo, &mut jar, "alice").await;
    let host = demo.addr.to_string();
    let same_origin = format!("http://{host}");

    let refused: [(&str, Vec<(&str, &str)>); 5] = [
        ("no signal", vec![]),
        ("a foreign Origin", vec![("origin", "https://evil.test")]),
        ("Origin null", vec![("origin", "null")]),
        (
            "Sec-Fetch-Site: same-site",
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "Sec-Fetch-Site: cross-site",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
        ),
    ];
    for (case, extra) in &refused {
        let mut call = demo
            .mutation("onboarding.saveStep", json!({ "step": "welcome" }))
            .cookies(&jar);
        for (name, value) in extra {
            call = call.header(name, *value);
        }
        let reply = call.send().await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.describe());
        assert_eq!(
            reply.error_code().as_deref(),
            Some("UNAUTHORIZED"),
            "{case}: {}",
            reply.describe()
        );
    }
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": [], "next": "welcome" }),
        "a refused cookie mutation stored nothing"
    );

    let accepted: [(&str, &str, &str, &str); 3] = [
        ("x-tabrpc-csrf: 1", "x-tabrpc-csrf", "1", "welcome"),
        ("a same-origin Origin", "origin", &same_origin, "profile"),
        (
            "Sec-Fetch-Site: same-origin",
            "sec-fetch-site",
            "same-origin",
            "preferences",
        ),
    ];
    for (case, name, value, step) in accepted {
        let reply = demo
            .mutation("onboarding.saveStep", json!({ "step": step }))
            .cookies(&jar)
            .header(name, value)
            .send()
            .await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.describe());
        assert!(
            reply.data()["completed"]
                .as_array()
                .unwrap()
                .contains(&json!(step)),
            "{case}: {}",
            reply.describe()
        );
    }
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["welcome", "profile", "preferences"], "next": "done" })
    );

    // A bearer-authenticated mutation needs no CSRF signal: a foreign page cannot read the
    // tab's token.
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "done" }))
        .bearer(&token_for("user_bob"))
        .header("origin", "https://evil.test")
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
}
