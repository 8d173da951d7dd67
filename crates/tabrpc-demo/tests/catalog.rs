//! `catalog.list` over real HTTP: cursor pagination reads every item once, in order, for an
//! anonymous caller and a signed-in one alike; a bad limit or cursor is a 400, never a 500.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn pages_follow_next_cursor_to_the_end() {
    let demo = Demo::dev().await;
    let mut cursor = Value::Null;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let reply = demo
            .query("catalog.list")
            .input(json!({ "cursor": cursor, "limit": 25 }))
            .send()
            .await;
        assert_eq!(reply.status, 200, "{}", reply.describe());
        let page = reply.data();
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 25);
        ids.extend(items.iter().map(|item| item["id"].as_u64().expect("id")));
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(pages < 10, "the cursor never ends: {}", reply.describe());
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (1..=60).collect::<Vec<u64>>());

    // No input: the first 10; a signed-in caller reads the same public catalog.
    let first = demo.query("catalog.list").send().await.data();
    let signed_in = demo
        .query("catalog.list")
        .input(json!({}))
        .bearer(&token_for("user_alice"))
        .send()
        .await
        .data();
    assert_eq!(first["items"].as_array().map(Vec::len), Some(10));
    assert_eq!(first, signed_in);
    assert_eq!(first["nextCursor"], json!(10));
    assert_eq!(
        first["items"][0],
        json!({ "id": 1, "name": "Red Mug", "priceCents": 387 })
    );
}

#[tokio::test]
async fn bad_limits_and_cursors_are_bad_requests() {
    let demo = Demo::dev().await;
    for input in [
        json!({ "limit": 0 }),
        json!({ "limit": 51 }),
        json!({ "limit": -1 }),
        json!({ "cursor": 61 }),
        json!({ "cursor": "abc" }),
        json!({ "cursor": 4294967296u64 }),
        json!({ "page": 2 }),
    ] {
        let reply = demo.query("catalog.list").input(input.clone()).send().await;
        assert_eq!(reply.status, 400, "{input}: {}", reply.describe());
        assert_eq!(
            reply.error_code().as_deref(),
            Some("BAD_REQUEST"),
            "{input}"
        );
    }
    // The last page's own end is a valid, empty page.
    let end = demo
        .query("catalog.list")
        .input(json!({ "cursor": 60 }))
        .send()
        .await;
    assert_eq!(end.data(), json!({ "items": [], "nextCursor": null }));
}
