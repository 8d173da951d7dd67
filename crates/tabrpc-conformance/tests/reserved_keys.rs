//! auth.md section 3 on the conformance fixture: a procedure without the viewer or session
//! guard answers 400 BAD_REQUEST (`data.reason: "reserved_input_key"`) to an input key that
//! reads as `viewerId` or `sessionId`, top-level or nested, in a single call or in its own item
//! of a batch; the same words as values pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

#[track_caller]
fn assert_refused(item: &Value) {
    assert_eq!(item["error"]["data"]["code"], "BAD_REQUEST", "{item}");
    assert_eq!(
        item["error"]["data"]["reason"], "reserved_input_key",
        "{item}"
    );
}

#[tokio::test]
async fn reserved_keys_are_refused_by_unguarded_procedures() {
    let server = start_default().await;
    for input in [
        json!({ "who": "ann", "viewerId": "bob" }),
        json!({ "who": "ann", "VIEWER_ID": "bob" }),
        json!({ "who": "ann", "meta": { "session-id": "s" } }),
    ] {
        let reply = get(
            &server,
            &format!("/hello?input={}", enc(&input.to_string())),
        )
        .await;
        assert_eq!(reply.status, 400, "{}", reply.describe());
        assert_refused(&reply.json());

        let batch = json!({ "0": { "who": "ann" }, "1": input });
        let reply = get(
            &server,
            &format!("/hello,hello?batch=1&input={}", enc(&batch.to_string())),
        )
        .await;
        assert_eq!(reply.status, 207, "{}", reply.describe());
        let items = reply.json();
        assert_eq!(items[0]["result"]["data"]["text"], "hello ann", "{items}");
        assert_refused(&items[1]);

        let reply = post_json(&server, "/optMut", &input.to_string()).await;
        assert_eq!(reply.status, 400, "{}", reply.describe());
    }
}

#[tokio::test]
async fn the_same_words_as_values_pass() {
    let server = start_default().await;
    let input = json!({ "who": "viewerId" });
    let reply = get(
        &server,
        &format!("/hello?input={}", enc(&input.to_string())),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert_eq!(reply.json()["result"]["data"]["text"], "hello viewerId");
}
