//! `onboarding.*` over real HTTP: progress belongs to the verified user; a `sessionId` input is
//! refused (the key is reserved for session procedures); a mutation authenticated by the shared
//! cookie needs a same-origin signal or the CSRF header.

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

/// `sessionId` is reserved for session procedures (auth.md section 3): `saveStep` used to keep a
/// deprecated field by that name, and now refuses the key before it runs, saving nothing.
#[tokio::test]
async fn save_step_refuses_a_session_id() {
    let demo = Demo::dev().await;
    let mut jar = Jar::default();
    let alice = sign_in(&demo, &mut jar, "alice").await;
    let bob = sign_in(&demo, &mut Jar::default(), "bob").await;
    let alice_token = get_token(&demo, &jar, &alice.session_id).await.token;
    for input in [
        json!({ "step": "welcome", "sessionId": bob.session_id }),
        json!({ "step": "welcome", "session_id": { "id": "x" } }),
    ] {
        let reply = demo
            .mutation("onboarding.saveStep", input)
            .bearer(&alice_token)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{}", reply.describe());
        assert_eq!(
            reply.json().pointer("/error/data/reason"),
            Some(&json!("reserved_input_key")),
            "{}",
            reply.describe()
        );
    }
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": [], "next": "welcome" })
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
