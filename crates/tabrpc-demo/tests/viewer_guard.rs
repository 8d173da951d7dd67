//! The viewer guard (auth.md §3) over real HTTP: `viewerId` is checked against the verified
//! caller and never trusted. A mismatch is 403 FORBIDDEN `viewer/session mismatch` and the
//! procedure body does not run; an anonymous caller with a `viewerId` is 401; without a
//! `viewerId` there is no check; a batch keeps each item's own outcome.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;

#[track_caller]
fn assert_forbidden_mismatch(reply: &Reply) {
    assert_eq!(reply.status, 403, "{}", reply.describe());
    let json = reply.json();
    assert_eq!(json["error"]["data"]["code"], "FORBIDDEN", "{}", reply.text);
    assert_eq!(json["error"]["data"]["httpStatus"], 403, "{}", reply.text);
    assert_eq!(json["error"]["code"], -32003, "{}", reply.text);
    assert_eq!(
        json["error"]["message"], "viewer/session mismatch",
        "{}",
        reply.text
    );
    assert_eq!(
        json["error"]["data"]["reason"], "viewer_mismatch",
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn matching_viewer_id_is_answered() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    let reply = demo
        .query("onboarding.getProgress")
        .input(json!({ "viewerId": "user_alice" }))
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": [], "next": "welcome" }),
        "{}",
        reply.describe()
    );
    let reply = demo
        .query("profile.getUser")
        .input(json!({ "viewerId": "user_alice" }))
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.data()["id"], "user_alice", "{}", reply.describe());
}

#[tokio::test]
async fn other_viewer_id_is_forbidden() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    for path in ["onboarding.getProgress", "profile.getUser"] {
        for viewer in ["user_bob", "USER_ALICE", "user_alice ", ""] {
            let reply = demo
                .query(path)
                .input(json!({ "viewerId": viewer }))
                .bearer(&alice)
                .send()
                .await;
            assert_eq!(
                reply.status,
                403,
                "{path} with viewerId {viewer:?}: {}",
                reply.describe()
            );
            assert_forbidden_mismatch(&reply);
        }
    }
}

#[tokio::test]
async fn a_mismatched_save_does_not_run() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    let reply = demo
        .mutation(
            "onboarding.saveStep",
            json!({ "step": "welcome", "viewerId": "user_bob" }),
        )
        .bearer(&alice)
        .send()
        .await;
    assert_forbidden_mismatch(&reply);
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": [], "next": "welcome" }),
        "the refused save must not have stored alice's step"
    );
    assert_eq!(
        progress(&demo, "user_bob").await,
        json!({ "completed": [], "next": "welcome" }),
        "nor bob's"
    );

    // Control: the same save with the right viewerId is stored.
    let reply = demo
        .mutation(
            "onboarding.saveStep",
            json!({ "step": "welcome", "viewerId": "user_alice" }),
        )
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": ["welcome"], "next": "profile" })
    );
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["welcome"], "next": "profile" })
    );
}

#[tokio::test]
async fn viewer_id_with_an_anonymous_caller_is_unauthorized() {
    let demo = Demo::dev().await;
    let expired = token_builder("user_alice")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let callers: [(&str, Vec<(String, String)>); 3] = [
        ("no credentials", vec![]),
        (
            "an expired token",
            vec![("authorization".to_owned(), bearer(&expired))],
        ),
        (
            "the fail-closed marker with alice's cookie",
            vec![
                ("x-tabrpc-auth-required".to_owned(), "1".to_owned()),
                (
                    "cookie".to_owned(),
                    session_cookie(&token_for("user_alice")),
                ),
            ],
        ),
    ];
    for (case, sent) in &callers {
        // Even the public procedure: an anonymous caller cannot be the viewer it names.
        for path in ["onboarding.getProgress", "profile.getUser"] {
            let reply = demo
                .query(path)
                .input(json!({ "viewerId": "user_alice" }))
                .headers(sent)
                .send()
                .await;
            assert_eq!(reply.status, 401, "{path}, {case}: {}", reply.describe());
            assert_eq!(
                reply.error_code().as_deref(),
                Some("UNAUTHORIZED"),
                "{path}, {case}: {}",
                reply.describe()
            );
            assert!(
                reply
                    .header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{path}, {case}: {}",
                reply.describe()
            );
        }
        let reply = demo
            .mutation(
                "onboarding.saveStep",
                json!({ "step": "welcome", "viewerId": "user_alice" }),
            )
            .headers(sent)
            .send()
            .await;
        assert_eq!(reply.status, 401, "saveStep, {case}: {}", reply.describe());
    }
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": [], "next": "welcome" })
    );
}

#[tokio::test]
async fn absent_viewer_id_is_not_checked_and_identity_stays_the_token() {
    let demo = Demo::dev().await;
    let bob = token_for("user_bob");
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "welcome" }))
        .bearer(&bob)
        .send()
        .await;
    assert_eq!(
        reply.data(),
        json!({ "completed": ["welcome"], "next": "profile" })
    );
    for input in [None, Some(json!({})), Some(json!({ "viewerId": null }))] {
        let mut call = demo.query("onboarding.getProgress").bearer(&bob);
        if let Some(input) = &input {
            call = call.input(input.clone());
        }
        let reply = call.send().await;
        assert_eq!(
            reply.data(),
            json!({ "completed": ["welcome"], "next": "profile" }),
            "input {input:?}: {}",
            reply.describe()
        );
    }
    // Anonymous without viewerId: the public procedure answers, the protected one is 401.
    let reply = demo.query("profile.getUser").send().await;
    assert_eq!(reply.data()["signedIn"], false);
    let reply = demo.query("onboarding.getProgress").send().await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
}

#[tokio::test]
async fn a_batch_keeps_each_items_outcome() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    let reply = demo
        .batch_query(&[
            ("profile.getUser", json!({ "viewerId": "user_alice" })),
            ("onboarding.getProgress", json!({ "viewerId": "user_bob" })),
            ("onboarding.getProgress", json!({})),
        ])
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.status, 207, "{}", reply.describe());
    let items = reply.json();
    assert_eq!(items[0]["result"]["data"]["id"], "user_alice", "{items}");
    assert_eq!(items[1]["error"]["data"]["code"], "FORBIDDEN", "{items}");
    assert_eq!(
        items[1]["error"]["message"], "viewer/session mismatch",
        "{items}"
    );
    assert_eq!(
        items[1]["error"]["data"]["path"], "onboarding.getProgress",
        "{items}"
    );
    assert_eq!(items[2]["result"]["data"]["next"], "welcome", "{items}");

    // Mutations: the mismatched item does not run, its neighbour does.
    let reply = demo
        .batch_mutation(&[
            (
                "onboarding.saveStep",
                json!({ "step": "welcome", "viewerId": "user_bob" }),
            ),
            (
                "onboarding.saveStep",
                json!({ "step": "profile", "viewerId": "user_alice" }),
            ),
        ])
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.status, 207, "{}", reply.describe());
    let items = reply.json();
    assert_eq!(items[0]["error"]["data"]["code"], "FORBIDDEN", "{items}");
    assert_eq!(
        items[1]["result"]["data"]["completed"],
        json!(["profile"]),
        "{items}"
    );
    assert_eq!(
        progress(&demo, "user_alice").await,
        json!({ "completed": ["profile"], "next": "welcome" }),
        "only the matching item saved"
    );
    assert_eq!(
        progress(&demo, "user_bob").await,
        json!({ "completed": [], "next": "welcome" })
    );

    // All items agreeing share one status.
    let reply = demo
        .batch_query(&[
            ("profile.getUser", json!({ "viewerId": "user_bob" })),
            ("onboarding.getProgress", json!({ "viewerId": "user_bob" })),
        ])
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.status, 403, "{}", reply.describe());
}

/// auth.md section 3: a procedure without the viewer guard refuses an input key that reads as
/// `viewerId` (in any spelling) with 400 `reserved_input_key`, before it runs.
#[tokio::test]
async fn a_viewer_id_to_a_procedure_without_the_guard_is_refused() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    let session = uuid::Uuid::new_v4().to_string();
    for key in ["viewerId", "viewer_id", "ViewerID"] {
        let mut input = json!({ "sessionId": session, "item": "pear" });
        input[key] = json!("user_bob");
        let reply = demo.mutation("cart.add", input).bearer(&alice).send().await;
        assert_eq!(reply.status, 400, "{key}: {}", reply.describe());
        let json = reply.json();
        assert_eq!(
            json["error"]["data"]["code"], "BAD_REQUEST",
            "{}",
            reply.text
        );
        assert_eq!(
            json["error"]["data"]["reason"], "reserved_input_key",
            "{}",
            reply.text
        );
    }
    // Nothing was added for anyone.
    let reply = demo
        .query("cart.get")
        .input(json!({ "sessionId": session }))
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert_eq!(reply.data()["lines"], json!([]), "{}", reply.describe());
}
