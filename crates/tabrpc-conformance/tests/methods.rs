//! wire.md §1, HTTP methods: queries are GET, mutations POST, 405 with `Allow`, the method
//! override setting, HEAD, and batches that mix procedure kinds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;
use tabrpc::wire::Config;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

fn unsupported(method: &str, kind: &str, path: &str) -> String {
    err_text(
        &format!("Unsupported {method}-request to {kind} procedure at path \"{path}\""),
        "METHOD_NOT_SUPPORTED",
        Some(path),
    )
}

fn mix(kinds: &str) -> String {
    err_text(
        &format!("Cannot mix procedure types in call: {kinds}"),
        "BAD_REQUEST",
        None,
    )
}

#[tokio::test]
async fn get_to_a_mutation_is_405_with_allow_post() {
    let server = start_default().await;
    let reply = get(&server, "/mut").await;
    assert_reply(
        &reply,
        405,
        r#"{"error":{"message":"Unsupported GET-request to mutation procedure at path \"mut\"","code":-32005,"data":{"code":"METHOD_NOT_SUPPORTED","httpStatus":405,"path":"mut"}}}"#,
    );
    assert_eq!(reply.header_all("allow"), ["POST"]);
    // Even with an input in the query, a mutation never runs on GET.
    let reply = get(&server, &format!("/echo?{}", input(&json!("x")))).await;
    assert_reply(&reply, 405, &unsupported("GET", "mutation", "echo"));
    assert_eq!(reply.header_all("allow"), ["POST"]);
}

#[tokio::test]
async fn post_to_a_query_is_405_with_allow_get() {
    let server = start_default().await;
    let reply = post_json(&server, "/hello", r#"{"who":"x"}"#).await;
    assert_reply(&reply, 405, &unsupported("POST", "query", "hello"));
    assert_eq!(reply.header_all("allow"), ["GET"]);
    let reply = post_json(&server, "/noInput", "").await;
    assert_reply(&reply, 405, &unsupported("POST", "query", "noInput"));
    assert_eq!(reply.header_all("allow"), ["GET"]);
}

#[tokio::test]
async fn put_patch_delete_are_405() {
    let server = start_default().await;
    for method in ["PUT", "PATCH", "DELETE", "OPTIONS"] {
        let reply = request(&server, method, "/mut", JSON, "").await;
        assert_reply(&reply, 405, &unsupported(method, "mutation", "mut"));
        assert_eq!(reply.header_all("allow"), ["POST"], "{method}");

        let reply = request(&server, method, "/hello", JSON, "").await;
        assert_reply(&reply, 405, &unsupported(method, "query", "hello"));
        assert_eq!(reply.header_all("allow"), ["GET"], "{method}");
    }
}

#[tokio::test]
async fn put_without_content_type_is_415_first() {
    // tRPC checks the content type before the method of each call.
    let server = start_default().await;
    for method in ["PUT", "PATCH", "DELETE"] {
        let reply = request(&server, method, "/mut", &[], "").await;
        assert_eq!(reply.status, 415, "{method}: {}", reply.text());
        assert_json_headers(&reply);
        check_envelope_text(&reply.text(), "UNSUPPORTED_MEDIA_TYPE", None);
    }
}

#[tokio::test]
async fn allow_header_only_on_405() {
    let server = start_default().await;
    let replies = [
        get(&server, "/hello").await,
        post_json(&server, "/mut", "").await,
        get(&server, "/nope").await,
        get(&server, "/unauthorized").await,
        post(&server, "/mut", &[], "").await,
    ];
    for reply in replies {
        assert_eq!(reply.header("allow"), None, "{}", reply.text());
    }
}

#[tokio::test]
async fn batch_of_mutations_on_get_is_405_per_item() {
    let server = start_default().await;
    let reply = get(&server, "/mut,echo?batch=1").await;
    assert_reply(
        &reply,
        405,
        &format!(
            "[{},{}]",
            unsupported("GET", "mutation", "mut"),
            unsupported("GET", "mutation", "echo")
        ),
    );
    assert_eq!(reply.header_all("allow"), ["POST"]);
}

#[tokio::test]
async fn allow_header_is_set_on_a_207_with_a_405_item() {
    let server = start_default().await;
    let reply = get(&server, "/nope,mut?batch=1").await;
    assert_reply(
        &reply,
        207,
        &format!(
            "[{},{}]",
            err_text(
                "No procedure found on path \"nope\"",
                "NOT_FOUND",
                Some("nope")
            ),
            unsupported("GET", "mutation", "mut")
        ),
    );
    assert_eq!(reply.header_all("allow"), ["POST"]);

    // Unknown items do not count as a kind: POST of an unknown path and a mutation is fine.
    let reply = post_json(&server, "/nope,mut?batch=1", "").await;
    assert_reply(
        &reply,
        207,
        &format!(
            r#"[{},{{"result":{{"data":"mutation"}}}}]"#,
            err_text(
                "No procedure found on path \"nope\"",
                "NOT_FOUND",
                Some("nope")
            )
        ),
    );
    assert_eq!(reply.header("allow"), None);
}

#[tokio::test]
async fn head_is_204_with_an_empty_body() {
    let server = start_default().await;
    for path in [
        "/hello",
        "/mut",
        "/nope",
        "/hello,mut?batch=1",
        "/",
        "/hel%ZZlo",
    ] {
        let reply = request(&server, "HEAD", path, &[], "").await;
        assert_eq!(reply.status, 204, "HEAD {path}");
        assert!(reply.body.is_empty(), "HEAD {path}: {:?}", reply.body);
        assert_eq!(reply.header("content-type"), None, "HEAD {path}");
        assert_eq!(reply.header("allow"), None, "HEAD {path}");
    }
    // Over raw TCP too: no body bytes follow the head.
    let reply = raw(&server, "HEAD", "/hello", &[], b"").await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty(), "{:?}", reply.body);
}

#[tokio::test]
async fn mixed_query_and_mutation_batch_is_a_top_level_400() {
    let server = start_default().await;
    let reply = get(&server, "/hello,mut?batch=1").await;
    assert_reply(
        &reply,
        400,
        r#"{"error":{"message":"Cannot mix procedure types in call: query, mutation","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400}}}"#,
    );
    // Whatever the method, and with unknown paths around.
    let reply = post_json(&server, "/hello,mut?batch=1", "").await;
    assert_reply(&reply, 400, &mix("query, mutation"));
    let reply = get(&server, "/nope,hello,nope2,echo?batch=1").await;
    assert_reply(&reply, 400, &mix("query, mutation"));
}

#[tokio::test]
async fn mixed_kinds_are_listed_in_order_of_first_appearance() {
    let server = start_default().await;
    let reply = get(&server, "/mut,hello,echo,noInput?batch=1").await;
    assert_reply(&reply, 400, &mix("mutation, query"));
}

#[tokio::test]
async fn method_override_lets_queries_be_posted() {
    let server = start(Config::default().allow_method_override(true)).await;
    let reply = post_json(&server, "/hello", r#"{"who":"ov"}"#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello ov"}}}"#);
    let reply = post_json(
        &server,
        "/hello,noInput,helloStr?batch=1",
        r#"{"0":{"who":"a"},"2":"b"}"#,
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello a"}}},{"result":{"data":"no-input"}},{"result":{"data":"Hello b"}}]"#,
    );
    // GET still works, with the input in the query.
    let reply = get(&server, &format!("/hello?{}", input(&json!({"who": "g"})))).await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello g"}}}"#);
    // Mutations are unchanged.
    let reply = post_json(&server, "/echo", r#""m""#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"echo m"}}"#);
}

#[tokio::test]
async fn method_override_never_allows_get_mutations() {
    let server = start(Config::default().allow_method_override(true)).await;
    let reply = get(&server, "/mut").await;
    assert_reply(&reply, 405, &unsupported("GET", "mutation", "mut"));
    assert_eq!(reply.header_all("allow"), ["POST"]);
    let reply = request(&server, "PUT", "/hello", JSON, "").await;
    assert_reply(&reply, 405, &unsupported("PUT", "query", "hello"));
    assert_eq!(reply.header_all("allow"), ["GET, POST"]);
}

#[tokio::test]
async fn method_override_posted_query_reads_body_not_query() {
    let server = start(Config::default().allow_method_override(true)).await;
    let reply = post_json(
        &server,
        &format!("/helloStr?{}", input(&json!("query"))),
        r#""body""#,
    )
    .await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello body"}}"#);
    // A posted query still needs a JSON content type.
    let reply = post(&server, "/hello", &[], "").await;
    assert_eq!(reply.status, 415, "{}", reply.text());
    check_envelope_text(&reply.text(), "UNSUPPORTED_MEDIA_TYPE", None);
    // And a posted mixed batch is still refused.
    let reply = post_json(&server, "/hello,mut?batch=1", "").await;
    assert_reply(&reply, 400, &mix("query, mutation"));
}

/// wire.md §1: "A subscription inside a batch: per-item 400 `Cannot batch subscription calls`".
/// Needs the `sub` procedure of the fixture (wire.md §5).
#[tokio::test]
async fn subscription_in_a_batch_is_a_per_item_400() {
    let server = start_default().await;
    let reply = get(&server, "/sub?batch=1").await;
    assert_reply(
        &reply,
        400,
        &format!(
            "[{}]",
            err_text(
                "Cannot batch subscription calls",
                "BAD_REQUEST",
                Some("sub")
            )
        ),
    );
}
