//! wire.md §1, server settings and request limits: batching off, `max_batch_size`, body size,
//! URL length, header size and the per-call timeout. Each is answered with an error envelope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tabrpc::wire::Config;

const BATCHING_OFF: &str = r#"{"error":{"message":"Batching is not enabled on the server","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400}}}"#;

#[tokio::test]
async fn batching_disabled_refuses_every_batch() {
    let server = start(Config::default().batching(false)).await;
    // Even a batch of one.
    let reply = get(&server, "/hello?batch=1").await;
    assert_reply(&reply, 400, BATCHING_OFF);
    let reply = get(&server, "/hello,noInput?batch=1").await;
    assert_reply(&reply, 400, BATCHING_OFF);
    let reply = post_json(&server, "/echo?batch=1", r#"{"0":"x"}"#).await;
    assert_reply(&reply, 400, BATCHING_OFF);
    let reply = get_with(
        &server,
        "/hello?batch=1",
        &[("trpc-accept", "application/jsonl")],
    )
    .await;
    assert_reply(&reply, 400, BATCHING_OFF);
}

#[tokio::test]
async fn batching_disabled_still_serves_single_calls() {
    let server = start(Config::default().batching(false)).await;
    let reply = get(&server, "/hello").await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello world"}}}"#);
    let reply = post_json(&server, "/echo", r#""x""#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"echo x"}}"#);
    // Without batch=1 a comma is just part of an unknown path.
    let reply = get(&server, "/hello,noInput").await;
    assert_reply(
        &reply,
        404,
        &err_text(
            "No procedure found on path \"hello,noInput\"",
            "NOT_FOUND",
            Some("hello,noInput"),
        ),
    );
}

fn assert_batch_too_large(reply: &Reply) {
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(reply);
    let message = check_envelope_text(&reply.text(), "BAD_REQUEST", None);
    assert!(
        message.to_lowercase().contains("batch"),
        "the message should say the batch is too large: {message}"
    );
}

#[tokio::test]
async fn max_batch_size_is_enforced_at_the_top_level() {
    let server = start(Config::default().max_batch_size(2)).await;
    let reply = get(&server, "/hello,hello,hello?batch=1").await;
    assert_batch_too_large(&reply);
    // Before any call runs: a mutation batch over the limit is refused the same way.
    let reply = post_json(&server, "/mut,mut,mut?batch=1", "").await;
    assert_batch_too_large(&reply);
    let reply = get_with(
        &server,
        "/hello,hello,hello?batch=1",
        &[("trpc-accept", "application/jsonl")],
    )
    .await;
    assert_batch_too_large(&reply);
    // At the limit: fine.
    let reply = get(&server, "/hello,noInput?batch=1").await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello world"}}},{"result":{"data":"no-input"}}]"#,
    );
    // Only batches are counted: without batch=1 the commas belong to one unknown path.
    let reply = get(&server, "/hello,hello,hello").await;
    assert_eq!(reply.status, 404, "{}", reply.text());
}

#[tokio::test]
async fn max_batch_size_defaults_to_a_safe_limit() {
    let server = start_default().await;
    let paths = |n: usize| vec!["noInput"; n].join(",");
    let reply = get(&server, &format!("/{}?batch=1", paths(100))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json().as_array().map(Vec::len), Some(100));
    let reply = get(&server, &format!("/{}?batch=1", paths(101))).await;
    assert_batch_too_large(&reply);
}

fn assert_payload_too_large(reply: &Reply) {
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_json_headers(reply);
    let value = reply.json();
    assert_eq!(value["error"]["code"], json!(-32013), "{value}");
    assert_eq!(value["error"]["data"]["code"], json!("PAYLOAD_TOO_LARGE"));
    assert_eq!(value["error"]["data"]["httpStatus"], json!(413));
    let path = value["error"]["data"]["path"].as_str();
    check_envelope_text(&reply.text(), "PAYLOAD_TOO_LARGE", path);
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let server = start(Config::default().max_body_bytes(64)).await;
    let big = format!("\"{}\"", "x".repeat(100));
    let reply = post_json(&server, "/echo", &big).await;
    assert_payload_too_large(&reply);
    // At the limit exactly: served.
    let fits = format!("\"{}\"", "x".repeat(62));
    assert_eq!(fits.len(), 64);
    let reply = post_json(&server, "/echo", &fits).await;
    assert_reply(
        &reply,
        200,
        &format!(r#"{{"result":{{"data":"echo {}"}}}}"#, "x".repeat(62)),
    );
    // A chunked body (no content-length) is counted too.
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        server.addr
    )
    .into_bytes();
    request.extend_from_slice(chunked.as_bytes());
    let bytes = raw_exchange(server.addr, &request).await;
    let reply = parse_response(&bytes).expect("a response");
    assert_payload_too_large(&reply);
    // And the server still answers.
    let reply = get(&server, "/hello").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn body_over_the_default_limit_is_413() {
    let server = start_default().await;
    let big = format!("\"{}\"", "x".repeat(2 * 1024 * 1024));
    let reply = post_json(&server, "/echo", &big).await;
    assert_payload_too_large(&reply);
}

fn assert_url_too_long(reply: &Reply) {
    assert!(
        reply.status == 414 || reply.status == 400,
        "status {}: {:?}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    assert_json_headers(reply);
    let value = reply.json();
    let name = value["error"]["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, status) = code_of(&name);
    assert_eq!(
        status, 400,
        "URL too long must be a 400-class code of the table: {value}"
    );
    check_envelope_text(&reply.text(), &name, None);
}

#[tokio::test]
async fn url_over_the_limit_is_refused_with_an_envelope() {
    let server = start(Config::default().max_url_bytes(256)).await;
    let long = input(&json!("y".repeat(300)));
    let reply = get(&server, &format!("/helloStr?{long}")).await;
    assert_url_too_long(&reply);
    // Just under the limit: served.
    let fits = format!("/helloStr?{}", input(&json!("y".repeat(200))));
    assert!(fits.len() <= 256);
    let reply = get(&server, &fits).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn url_over_the_default_limit_is_refused_with_an_envelope() {
    let server = start_default().await;
    let target = format!("/helloStr?{}", input(&json!("y".repeat(20 * 1024))));
    let reply = raw_get(&server, &target).await;
    assert_url_too_long(&reply);
}

/// Above hyper's fixed request-target limit (64 KiB) the request never reaches tabrpc: hyper
/// answers a bare 414 itself (documented in the README). It must still be an answer, not a
/// dropped connection, and the server must go on serving.
#[tokio::test]
async fn url_beyond_the_http_server_limit_is_a_414_and_the_server_keeps_serving() {
    let server = start_default().await;
    let target = format!("/helloStr?{}", input(&json!("y".repeat(70 * 1024))));
    let reply = raw_get(&server, &target).await;
    assert_eq!(reply.status, 414, "{}", reply.describe());
    let reply = get(&server, "/hello").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn oversized_headers_are_answered_with_an_envelope() {
    // wire.md: header size is one of tabrpc's limits, "each answered with an error envelope".
    let server = start_default().await;
    // Over the 64 KiB header limit, under the 128 KiB that the HTTP server buffers.
    let huge = "h".repeat(100 * 1024);
    let reply = raw(&server, "GET", "/hello", &[("x-big", &huge)], b"").await;
    assert!(
        (400..500).contains(&reply.status),
        "status {}",
        reply.status
    );
    assert_json_headers(&reply);
    let value = reply.json();
    let name = value["error"]["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check_envelope_text(&reply.text(), &name, None);
    // And the server still answers.
    let reply = get(&server, "/hello").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn headers_of_a_normal_size_are_fine() {
    let server = start_default().await;
    let cookie = "c".repeat(8 * 1024);
    let reply = get_with(&server, "/hello", &[("cookie", &cookie)]).await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello world"}}}"#);
}

#[tokio::test]
async fn call_over_the_timeout_is_408() {
    let server = start(Config::default().call_timeout(Some(Duration::from_millis(100)))).await;
    let started = Instant::now();
    let reply = get(&server, &format!("/slow?{}", input(&json!(5000)))).await;
    // The timeout cuts the call: the reply does not wait for the 5 s sleep.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert_json_headers(&reply);
    check_envelope_text(&reply.text(), "TIMEOUT", Some("slow"));
    // A call within the limit is unaffected.
    let reply = get(&server, &format!("/slow?{}", input(&json!(1)))).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"slept 1"}}"#);
}

#[tokio::test]
async fn timeout_is_per_call_in_a_batch() {
    let server = start(Config::default().call_timeout(Some(Duration::from_millis(100)))).await;
    let reply = get(
        &server,
        &format!("/slow,slow?batch=1&{}", input(&json!({"0": 5000, "1": 1}))),
    )
    .await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let items = raw_items(&reply.text());
    check_envelope_text(&items[0], "TIMEOUT", Some("slow"));
    assert_eq!(items[1], r#"{"result":{"data":"slept 1"}}"#);
}
