//! wire.md §3, the JSONL streaming batch (`httpBatchStreamLink`): head line, items in
//! completion order while the slow ones still run, the encoding of a streamed output, errors as
//! fulfilled chunks, and request-level failures as ordinary non-2xx JSON.
//!
//! Item lines are checked through a decoder that resolves placeholders the way `@trpc/client`
//! does ([`decode_jsonl`]), so both the flat form of wire.md (`[i,0,[[{"result":{"data":X}}]]]`)
//! and tRPC's nested form (`{"result":0}` + placeholders) pass; the head, the iterable encoding
//! and error lines are checked byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use tabrpc::wire::Config;

const JSONL: (&str, &str) = ("trpc-accept", "application/jsonl");
const STREAM_LIKE: &str =
    "Cannot use stream-like response in non-streaming request - use httpBatchStreamLink";
const NOT_BATCHED: &str = r#"{"error":{"message":"Streaming requests must be batched (you can do a batch of 1)","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400}}}"#;

fn head_of(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!("\"{i}\":[[0],[null,0,{i}]]"))
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Asserts the reply head of a stream: 200, JSON content type, vary.
fn assert_stream_head(stream: &Jsonl) {
    let head = stream.reply_headers();
    assert_eq!(stream.status, 200, "{:?}", stream.lines);
    assert_json_headers(&head);
}

/// The item a chunk line settles, when its chunk id is an item id (`< n`).
fn item_of(line: &str, n: usize) -> Option<usize> {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let id = value[0]
        .as_u64()
        .unwrap_or_else(|| panic!("chunk id: {line}")) as usize;
    (id < n).then_some(id)
}

#[tokio::test]
async fn head_line_then_one_settled_item_each() {
    let server = start_default().await;
    let stream = get_jsonl(&server, "/hello,noInput?batch=1").await;
    assert_stream_head(&stream);
    let head: Value = serde_json::from_str(&stream.lines[0]).unwrap();
    let keys: Vec<&String> = head.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["0", "1"], "{head}");
    assert_eq!(
        decode_jsonl(&stream.lines),
        [
            Some(ok(json!({"text": "hello world"}))),
            Some(ok(json!("no-input")))
        ]
    );
}

#[tokio::test]
async fn head_line_of_pending_items_is_placeholders() {
    let server = start_default().await;
    let stream = get_jsonl(
        &server,
        &format!(
            "/slow,slow,slow?batch=1&{}",
            input(&json!({"0": 50, "1": 50, "2": 50}))
        ),
    )
    .await;
    assert_stream_head(&stream);
    assert_eq!(stream.lines[0], head_of(3));
}

#[tokio::test]
async fn a_fast_item_arrives_while_a_slow_one_still_runs() {
    let server = start_default().await;
    let builder = client()
        .get(server.url(&format!(
            "/slow,slow?batch=1&{}",
            input(&json!({"0": 5000, "1": 1}))
        )))
        .header(JSONL.0, JSONL.1);
    let (status, headers, mut reader) = start_stream(builder).await;
    assert_eq!(status, 200);
    assert_eq!(
        jsonl_header(&headers, "content-type"),
        Some("application/json")
    );
    let head = reader
        .next_line(Duration::from_secs(2))
        .await
        .expect("head");
    assert_eq!(head, head_of(2));
    // Item 1 sleeps 1 ms, item 0 sleeps 5 s: item 1's line must come well before item 0 could
    // finish. A server that buffers until the slowest item misses this deadline.
    let first = reader
        .next_line(Duration::from_millis(2500))
        .await
        .expect("the fast item's line");
    assert_eq!(item_of(&first, 2), Some(1), "{first}");
    // Collect item 1's remaining lines (a nested encoding may use more than one); none of them
    // may belong to item 0.
    let mut lines = vec![head, first];
    while let Ok(Some(line)) =
        tokio::time::timeout(Duration::from_millis(200), reader.next_line(STEP)).await
    {
        assert_ne!(
            item_of(&line, 2),
            Some(0),
            "the slow item cannot be done yet"
        );
        lines.push(line);
    }
}

#[tokio::test]
async fn items_are_written_in_completion_order() {
    let server = start_default().await;
    let stream = get_jsonl(
        &server,
        &format!(
            "/slow,slow,slow?batch=1&{}",
            input(&json!({"0": 400, "1": 0, "2": 200}))
        ),
    )
    .await;
    assert_stream_head(&stream);
    let order: Vec<usize> = stream.lines[1..]
        .iter()
        .filter_map(|line| item_of(line, 3))
        .collect();
    assert_eq!(order, [1, 2, 0], "{:?}", stream.lines);
    assert_eq!(
        decode_jsonl(&stream.lines),
        [
            Some(ok(json!("slept 400"))),
            Some(ok(json!("slept 0"))),
            Some(ok(json!("slept 200")))
        ]
    );
}

/// wire.md §3: `[i,0,[[{"result":0}],["result",0,k]]]`, `[k,0,[[{"data":0}],["data",1,m]]]`,
/// `[m,1,[[v]]]` per value, `[m,0,[[]]]` at the end.
#[tokio::test]
async fn streamed_output_encoding() {
    let server = start_default().await;
    let stream = get_jsonl(&server, "/iter?batch=1").await;
    assert_stream_head(&stream);
    let lines = &stream.lines;
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(lines[0], head_of(1));
    let values = stream.values();
    let k = values[1][2][1][2].as_u64().expect("result chunk id");
    let m = values[2][2][1][2].as_u64().expect("data chunk id");
    assert!(
        k != 0 && m != 0 && k != m,
        "chunk ids must be unique: {lines:?}"
    );
    assert_eq!(
        lines[1..].to_vec(),
        [
            format!(r#"[0,0,[[{{"result":0}}],["result",0,{k}]]]"#),
            format!(r#"[{k},0,[[{{"data":0}}],["data",1,{m}]]]"#),
            format!("[{m},1,[[1]]]"),
            format!("[{m},1,[[2]]]"),
            format!("[{m},0,[[]]]"),
        ]
    );
    assert_eq!(
        decode_jsonl(lines),
        [Some(
            json!({"result": {"data": {"$yield": [1, 2], "$return": null}}})
        )]
    );
}

#[tokio::test]
async fn streamed_output_next_to_other_items_has_unique_chunk_ids() {
    let server = start_default().await;
    let stream = get_jsonl(&server, "/hello,iter,noInput,iter?batch=1").await;
    assert_stream_head(&stream);
    let iterable = json!({"result": {"data": {"$yield": [1, 2], "$return": null}}});
    assert_eq!(
        decode_jsonl(&stream.lines),
        [
            Some(ok(json!({"text": "hello world"}))),
            Some(iterable.clone()),
            Some(ok(json!("no-input"))),
            Some(iterable)
        ]
    );
    // Every promise chunk id settles once, and no iterable shares an id with a promise.
    let values = stream.values();
    let mut promise_ids = Vec::new();
    let mut iterable_ids = Vec::new();
    for value in &values[1..] {
        for placeholder in value[2].as_array().unwrap().iter().skip(1) {
            let id = placeholder[2].as_u64().unwrap();
            match placeholder[1].as_u64() {
                Some(0) => promise_ids.push(id),
                _ => iterable_ids.push(id),
            }
        }
    }
    promise_ids.extend(0..4);
    let mut all = promise_ids.clone();
    all.extend(&iterable_ids);
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "chunk ids collide: {:?}", stream.lines);
}

#[tokio::test]
async fn errors_are_fulfilled_chunks_with_error_envelopes() {
    let server = start_default().await;
    let stream = get_jsonl(
        &server,
        "/returnUndefined,returnNull,unauthorized,nope?batch=1",
    )
    .await;
    // The status stays 200 even though items failed.
    assert_stream_head(&stream);
    assert_eq!(stream.lines[0], head_of(4));
    let unauthorized = err_text("UNAUTHORIZED", "UNAUTHORIZED", Some("unauthorized"));
    let nope = err_text(
        "No procedure found on path \"nope\"",
        "NOT_FOUND",
        Some("nope"),
    );
    assert_eq!(
        decode_jsonl(&stream.lines),
        [
            Some(json!({"result": {}})),
            Some(ok(Value::Null)),
            Some(serde_json::from_str(&unauthorized).unwrap()),
            Some(serde_json::from_str(&nope).unwrap())
        ]
    );
    // An error is one line, a fulfilled promise holding the error envelope (key order kept).
    assert!(
        stream.lines.contains(&format!("[2,0,[[{unauthorized}]]]")),
        "{:?}",
        stream.lines
    );
    assert!(
        stream.lines.contains(&format!("[3,0,[[{nope}]]]")),
        "{:?}",
        stream.lines
    );
}

#[tokio::test]
async fn internal_failure_and_bad_input_are_item_errors_in_a_stream() {
    let server = start_default().await;
    let stream = get_jsonl(
        &server,
        &format!(
            "/boom,hello,post.byId?batch=1&{}",
            input(&json!({"2": {"id": "x"}}))
        ),
    )
    .await;
    assert_stream_head(&stream);
    let items = decode_jsonl(&stream.lines);
    let boom = items[0].clone().unwrap();
    check_shape(&boom["error"], "INTERNAL_SERVER_ERROR", Some("boom"));
    assert!(!boom.to_string().contains("unexpected failure"), "{boom}");
    assert_eq!(items[1], Some(ok(json!({"text": "hello world"}))));
    let bad = items[2].clone().unwrap();
    let message = check_shape(&bad["error"], "BAD_REQUEST", Some("post.byId"));
    assert!(mentions_word(&message, "id"), "{message}");
    // The server keeps serving.
    let reply = get(&server, "/hello").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn method_error_in_a_stream_is_an_item_error_with_allow() {
    let server = start_default().await;
    let stream = get_jsonl(&server, "/mut?batch=1").await;
    assert_stream_head(&stream);
    assert_eq!(jsonl_header(&stream.headers, "allow"), Some("POST"));
    assert_eq!(
        stream.lines[1..],
        [format!(
            "[0,0,[[{}]]]",
            err_text(
                "Unsupported GET-request to mutation procedure at path \"mut\"",
                "METHOD_NOT_SUPPORTED",
                Some("mut")
            )
        )]
    );
}

#[tokio::test]
async fn timeout_in_a_stream_is_an_item_error() {
    let server = start(Config::default().call_timeout(Some(Duration::from_millis(100)))).await;
    let stream = get_jsonl(
        &server,
        &format!("/slow,slow?batch=1&{}", input(&json!({"0": 5000, "1": 1}))),
    )
    .await;
    assert_stream_head(&stream);
    let items = decode_jsonl(&stream.lines);
    check_shape(&items[0].clone().unwrap()["error"], "TIMEOUT", Some("slow"));
    assert_eq!(items[1], Some(ok(json!("slept 1"))));
}

#[tokio::test]
async fn mutations_can_stream() {
    let server = start_default().await;
    let builder = client()
        .post(server.url("/echo,mut,optMut?batch=1"))
        .header("content-type", "application/json")
        .header(JSONL.0, JSONL.1)
        .body(r#"{"0":"z"}"#);
    let stream = read_jsonl(builder).await;
    assert_stream_head(&stream);
    assert_eq!(
        decode_jsonl(&stream.lines),
        [
            Some(ok(json!("echo z"))),
            Some(ok(json!("mutation"))),
            Some(ok(json!({"got": null})))
        ]
    );
}

#[tokio::test]
async fn accept_list_with_jsonl_also_streams() {
    let server = start_default().await;
    for accept in [
        "application/jsonl",
        "text/html, application/jsonl",
        "application/json,application/jsonl",
    ] {
        let builder = client()
            .get(server.url("/hello?batch=1"))
            .header("accept", accept);
        let stream = read_jsonl(builder).await;
        assert_stream_head(&stream);
        assert!(stream.lines[0].starts_with('{'), "{accept}");
        assert_eq!(
            decode_jsonl(&stream.lines),
            [Some(ok(json!({"text": "hello world"})))],
            "{accept}"
        );
    }
}

#[tokio::test]
async fn trpc_accept_header_wins_over_accept() {
    // tRPC (getAcceptHeader): when `trpc-accept` is present its value decides, so
    // `trpc-accept: application/json` with `accept: application/jsonl` is not streamed.
    let server = start_default().await;
    let reply = get_with(
        &server,
        "/hello?batch=1",
        &[
            ("trpc-accept", "application/json"),
            ("accept", "application/jsonl"),
        ],
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello world"}}}]"#,
    );
}

#[tokio::test]
async fn without_a_jsonl_accept_a_batch_is_plain_json() {
    let server = start_default().await;
    let reply = get_with(&server, "/hello?batch=1", &[("accept", "application/json")]).await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello world"}}}]"#,
    );
}

#[tokio::test]
async fn streaming_without_batch_is_a_top_level_400() {
    let server = start_default().await;
    let reply = get_with(&server, "/hello", &[JSONL]).await;
    assert_reply(&reply, 400, NOT_BATCHED);
    let reply = get_with(&server, "/hello", &[("accept", "application/jsonl")]).await;
    assert_reply(&reply, 400, NOT_BATCHED);
    let reply = post(
        &server,
        "/mut",
        &[("content-type", "application/json"), JSONL],
        "",
    )
    .await;
    assert_reply(&reply, 400, NOT_BATCHED);
}

#[tokio::test]
async fn request_level_failures_are_plain_non_2xx_json() {
    let server = start_default().await;
    let replies = [
        (
            "bad content type",
            post(&server, "/echo,mut?batch=1", &[JSONL], r#"{"0":"z"}"#).await,
            415,
        ),
        (
            "mixed kinds",
            get_with(&server, "/hello,mut?batch=1", &[JSONL]).await,
            400,
        ),
        (
            "bad path",
            raw(&server, "GET", "/hello,%ZZ?batch=1", &[JSONL], b"").await,
            400,
        ),
    ];
    for (what, reply, status) in replies {
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert_json_headers(&reply);
        // One JSON document, not JSONL.
        let value = reply.json();
        assert!(value.is_object(), "{what}: {value}");
        let name = value["error"]["data"]["code"].as_str().unwrap().to_owned();
        check_envelope_text(&reply.text(), &name, None);
    }
}

#[tokio::test]
async fn batching_off_and_batch_too_large_are_plain_json_when_streaming() {
    let off = start(Config::default().batching(false)).await;
    let reply = get_with(&off, "/hello?batch=1", &[JSONL]).await;
    assert_eq!(reply.status, 400);
    assert_json_headers(&reply);
    check_envelope_text(&reply.text(), "BAD_REQUEST", None);

    let small = start(Config::default().max_batch_size(1)).await;
    let reply = get_with(&small, "/hello,hello?batch=1", &[JSONL]).await;
    assert_eq!(reply.status, 400);
    assert_json_headers(&reply);
    check_envelope_text(&reply.text(), "BAD_REQUEST", None);
}

/// The decoder these tests rely on must accept tRPC 11.25.2's own nested encoding (lines
/// recorded from `@trpc/server`, trpc-behaviour.md §10) and give the same values as for the
/// flat form, or the semantic checks above would prove nothing.
#[test]
fn decoder_accepts_trpc_nested_form() {
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    let nested = lines(
        r#"{"0":[[0],[null,0,0]],"1":[[0],[null,0,1]],"2":[[0],[null,0,2]],"3":[[0],[null,0,3]]}
[0,0,[[{"result":0}],["result",0,4]]]
[1,0,[[{"result":0}],["result",0,5]]]
[2,0,[[{"error":{"message":"UNAUTHORIZED","code":-32001,"data":{"code":"UNAUTHORIZED","httpStatus":401,"path":"unauthorized"}}}]]]
[3,0,[[{"result":0}],["result",0,6]]]
[4,0,[[{"data":0}],["data",0,7]]]
[5,0,[[{"data":0}],["data",0,8]]]
[6,0,[[{"data":0}],["data",0,9]]]
[7,0,[[]]]
[8,0,[[null]]]
[9,0,[[0],[null,1,10]]]
[10,1,[[1]]]
[10,1,[[2]]]
[10,0,[[]]]"#,
    );
    let flat = lines(
        r#"{"0":[[0],[null,0,0]],"1":[[0],[null,0,1]],"2":[[0],[null,0,2]],"3":[[0],[null,0,3]]}
[1,0,[[{"result":{"data":null}}]]]
[0,0,[[{"result":{}}]]]
[2,0,[[{"error":{"message":"UNAUTHORIZED","code":-32001,"data":{"code":"UNAUTHORIZED","httpStatus":401,"path":"unauthorized"}}}]]]
[3,0,[[{"result":0}],["result",0,4]]]
[4,0,[[{"data":0}],["data",1,5]]]
[5,1,[[1]]]
[5,1,[[2]]]
[5,0,[[]]]"#,
    );
    let expected = vec![
        Some(json!({"result": {}})),
        Some(ok(Value::Null)),
        Some(err("UNAUTHORIZED", "UNAUTHORIZED", Some("unauthorized"))),
        Some(json!({"result": {"data": {"$yield": [1, 2], "$return": null}}})),
    ];
    assert_eq!(decode_jsonl(&nested), expected);
    assert_eq!(decode_jsonl(&flat), expected);
    // An inlined head item (wire.md: "an item already finished may be inlined").
    let inlined = lines(r#"{"0":[[{"result":{"data":"A"}}]]}"#);
    assert_eq!(decode_jsonl(&inlined), [Some(ok(json!("A")))]);
}

#[tokio::test]
async fn streamed_output_in_a_plain_batch_is_a_per_item_415() {
    let server = start_default().await;
    let reply = get(&server, "/iter,hello?batch=1").await;
    assert_reply(
        &reply,
        207,
        &format!(
            r#"[{},{{"result":{{"data":{{"text":"hello world"}}}}}}]"#,
            err_text(STREAM_LIKE, "UNSUPPORTED_MEDIA_TYPE", Some("iter"))
        ),
    );
}

/// tRPC 11.25.2 (trpc-behaviour.md §10): a single call (no batch) whose output is a stream is a
/// top-level 415, so without `data.path`.
#[tokio::test]
async fn streamed_output_in_a_single_call_is_a_top_level_415() {
    let server = start_default().await;
    let reply = get(&server, "/iter").await;
    assert_reply(
        &reply,
        415,
        &err_text(STREAM_LIKE, "UNSUPPORTED_MEDIA_TYPE", None),
    );
}
