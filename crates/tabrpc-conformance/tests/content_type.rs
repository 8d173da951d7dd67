//! wire.md §1–2, content types: what a request must declare, and the JSON content type of every
//! reply (top-level errors included).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;
use tabrpc::wire::Config;

fn assert_415(reply: &Reply) -> String {
    assert_eq!(reply.status, 415, "{}", reply.text());
    assert_json_headers(reply);
    // Top level: a single object without data.path, even for a batch.
    check_envelope_text(&reply.text(), "UNSUPPORTED_MEDIA_TYPE", None)
}

#[tokio::test]
async fn post_without_content_type_is_415() {
    let server = start_default().await;
    let reply = post(&server, "/echo", &[], r#""x""#).await;
    assert_415(&reply);
    let reply = post(&server, "/echo,mut?batch=1", &[], r#"{"0":"x"}"#).await;
    assert_415(&reply);
    let reply = post(&server, "/mut", &[], "").await;
    assert_415(&reply);
}

#[tokio::test]
async fn missing_content_type_message_matches_trpc() {
    // tRPC 11.25.2 (http/contentType.ts): `Missing content-type header`.
    let server = start_default().await;
    let reply = post(&server, "/echo", &[], r#""x""#).await;
    let message = assert_415(&reply);
    assert_eq!(message, "Missing content-type header");
}

#[tokio::test]
async fn unsupported_content_type_is_415_naming_it() {
    let server = start_default().await;
    for ct in [
        "text/plain",
        "application/jsonx",
        "application/x-www-form-urlencoded",
        "text/json",
        "application/json-patch+json",
    ] {
        let reply = post(&server, "/echo", &[("content-type", ct)], r#""x""#).await;
        let message = assert_415(&reply);
        // tRPC: `Unsupported content-type "<raw header value>` (its closing quote is missing;
        // either form is accepted here).
        let expected = format!("Unsupported content-type \"{ct}");
        assert!(
            message == expected || message == format!("{expected}\""),
            "{ct}: {message}"
        );
    }
}

#[tokio::test]
async fn json_content_type_parameters_and_case_are_ignored() {
    let server = start_default().await;
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "APPLICATION/JSON ;charset=utf-8",
        "Application/Json",
        " application/json ",
    ] {
        let reply = post(&server, "/echo", &[("content-type", ct)], r#""x""#).await;
        assert_reply(&reply, 200, r#"{"result":{"data":"echo x"}}"#);
    }
}

#[tokio::test]
async fn get_is_read_as_json_whatever_its_content_type() {
    let server = start_default().await;
    let q = input(&json!({"who": "ct"}));
    for ct in [
        None,
        Some("text/html"),
        Some("text/plain"),
        Some("application/xml"),
        Some("application/json"),
        Some("nonsense"),
    ] {
        let headers: Vec<(&str, &str)> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let reply = get_with(&server, &format!("/hello?{q}"), &headers).await;
        assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello ct"}}}"#);
    }
}

#[tokio::test]
async fn every_json_reply_has_the_json_content_type_and_vary() {
    let server = start_default().await;
    let replies = [
        ("success", get(&server, "/hello").await),
        ("batch", get(&server, "/hello,noInput?batch=1").await),
        ("207", get(&server, "/hello,nope?batch=1").await),
        ("per-call error", get(&server, "/unauthorized").await),
        ("404", get(&server, "/nope").await),
        ("405", get(&server, "/mut").await),
        ("500", get(&server, "/boom").await),
        ("mutation", post_json(&server, "/mut", "").await),
        // Top-level errors.
        ("415", post(&server, "/mut", &[], "").await),
        ("mixed kinds", get(&server, "/hello,mut?batch=1").await),
        ("bad path", raw_get(&server, "/hel%ZZlo").await),
        (
            "stream not batched",
            get_with(&server, "/hello", &[("trpc-accept", "application/jsonl")]).await,
        ),
    ];
    for (what, reply) in replies {
        assert!(!reply.body.is_empty(), "{what}");
        let _ = reply.json();
        assert_json_headers(&reply);
        assert_eq!(
            reply.header_all("content-type"),
            ["application/json"],
            "{what}"
        );
    }
}

#[tokio::test]
async fn server_setting_errors_have_the_json_content_type() {
    let server = start(
        Config::default()
            .batching(false)
            .max_body_bytes(16)
            .max_url_bytes(256),
    )
    .await;
    let replies = [
        ("batching off", get(&server, "/hello?batch=1").await),
        (
            "body too large",
            post_json(&server, "/echo", &format!("\"{}\"", "x".repeat(64))).await,
        ),
        (
            "URL too long",
            get(
                &server,
                &format!("/helloStr?{}", input(&json!("y".repeat(400)))),
            )
            .await,
        ),
    ];
    for (what, reply) in replies {
        assert!(reply.status >= 400, "{what}: {}", reply.status);
        let _ = reply.json();
        assert_json_headers(&reply);
        assert_eq!(
            reply.header_all("content-type"),
            ["application/json"],
            "{what}"
        );
    }
}
