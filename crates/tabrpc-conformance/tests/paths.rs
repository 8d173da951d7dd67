//! wire.md §1, URL paths: slashes, percent-decoding, batch splitting, malformed escapes and
//! unknown procedures. Every request goes over raw TCP so the path reaches the server exactly as
//! written (an HTTP client library would normalise some of these URLs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

fn not_found(path: &str) -> String {
    err_text(
        &format!(
            "No procedure found on path {}",
            serde_json::Value::from(path)
        ),
        "NOT_FOUND",
        Some(path),
    )
}

#[tokio::test]
async fn leading_and_trailing_slashes_are_ignored() {
    let server = start_default().await;
    let hello = r#"{"result":{"data":{"text":"hello world"}}}"#;
    for target in ["/hello", "/hello/", "//hello", "/hello//"] {
        let reply = raw_get(&server, target).await;
        assert_reply(&reply, 200, hello);
    }
    let reply = raw_get(&server, "/post.byId/?input=%7B%22id%22%3A7%7D").await;
    assert_reply(
        &reply,
        200,
        r#"{"result":{"data":{"id":7,"title":"post 7"}}}"#,
    );
}

#[tokio::test]
async fn path_is_percent_decoded() {
    let server = start_default().await;
    let reply = raw_get(&server, "/hel%6Co").await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello world"}}}"#);
    // `%2E` is a dot: the dotted path of a nested procedure.
    let reply = raw_get(&server, "/post%2EbyId?input=%7B%22id%22%3A1%7D").await;
    assert_reply(
        &reply,
        200,
        r#"{"result":{"data":{"id":1,"title":"post 1"}}}"#,
    );
    let reply = raw_get(&server, "/post%2ebyId?input=%7B%22id%22%3A2%7D").await;
    assert_reply(
        &reply,
        200,
        r#"{"result":{"data":{"id":2,"title":"post 2"}}}"#,
    );
}

#[tokio::test]
async fn decoded_path_is_reported_as_given_when_unknown() {
    let server = start_default().await;
    // UTF-8 escapes decode to the character.
    let reply = raw_get(&server, "/caf%C3%A9").await;
    assert_reply(&reply, 404, &not_found("café"));
    // A slash inside the path (escaped or not) is part of the name, not a separator.
    let reply = raw_get(&server, "/post/byId").await;
    assert_reply(&reply, 404, &not_found("post/byId"));
    let reply = raw_get(&server, "/post%2FbyId").await;
    assert_reply(&reply, 404, &not_found("post/byId"));
    // `+` in a path is not a space (only form-urlencoded query values use that rule).
    let reply = raw_get(&server, "/hel+lo").await;
    assert_reply(&reply, 404, &not_found("hel+lo"));
}

#[tokio::test]
async fn escaped_comma_splits_a_batch() {
    let server = start_default().await;
    let reply = raw_get(&server, "/hello,noInput%2ChelloStr?batch=1").await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello world"}}},{"result":{"data":"no-input"}},{"result":{"data":"Hello world"}}]"#,
    );
}

#[tokio::test]
async fn escaped_comma_without_batch_is_one_path() {
    let server = start_default().await;
    let reply = raw_get(&server, "/hello%2CnoInput").await;
    assert_reply(&reply, 404, &not_found("hello,noInput"));
}

#[tokio::test]
async fn comma_without_batch_is_one_unknown_path() {
    let server = start_default().await;
    let reply = raw_get(&server, "/a,b").await;
    assert_reply(&reply, 404, &not_found("a,b"));
    let reply = raw_get(&server, "/hello,noInput").await;
    assert_reply(&reply, 404, &not_found("hello,noInput"));
}

#[tokio::test]
async fn batch_flag_must_be_exactly_one() {
    let server = start_default().await;
    let single = r#"{"result":{"data":{"text":"hello world"}}}"#;
    let batch = r#"[{"result":{"data":{"text":"hello world"}}}]"#;
    for (query, expected) in [
        ("batch=1", batch),
        ("batch=true", single),
        ("batch=01", single),
        ("batch=", single),
        ("batch=0", single),
        // Only the first `batch` parameter counts (URLSearchParams.get).
        ("batch=1&batch=0", batch),
        ("batch=0&batch=1", single),
    ] {
        let reply = raw_get(&server, &format!("/hello?{query}")).await;
        assert_reply(&reply, 200, expected);
    }
}

#[tokio::test]
async fn malformed_escapes_are_a_top_level_bad_request() {
    let server = start_default().await;
    for target in [
        "/hel%ZZlo",
        "/hello%",
        "/hel%2",
        "/%",
        "/hel%FFlo",
        "/hel%C3lo",
        "/hello,%ZZ?batch=1",
    ] {
        let reply = raw_get(&server, target).await;
        assert_eq!(reply.status, 400, "{target}: {}", reply.text());
        assert_json_headers(&reply);
        // A single object (even for a batch), without data.path.
        let message = check_envelope_text(&reply.text(), "BAD_REQUEST", None);
        assert!(!message.is_empty(), "{target}");
    }
}

#[tokio::test]
async fn malformed_escape_message_matches_trpc() {
    // tRPC 11.25.2: `Invalid URL-encoding in path "<raw path after slash trimming>"`.
    let server = start_default().await;
    let reply = raw_get(&server, "/hel%ZZlo").await;
    assert_reply(
        &reply,
        400,
        &err_text(
            "Invalid URL-encoding in path \"hel%ZZlo\"",
            "BAD_REQUEST",
            None,
        ),
    );
}

#[tokio::test]
async fn unknown_path_is_404_with_the_path_as_given() {
    let server = start_default().await;
    let reply = raw_get(&server, "/nope").await;
    assert_reply(
        &reply,
        404,
        r#"{"error":{"message":"No procedure found on path \"nope\"","code":-32004,"data":{"code":"NOT_FOUND","httpStatus":404,"path":"nope"}}}"#,
    );
    // A router node is not a procedure.
    let reply = raw_get(&server, "/post").await;
    assert_reply(&reply, 404, &not_found("post"));
    // Case matters.
    let reply = raw_get(&server, "/Hello").await;
    assert_reply(&reply, 404, &not_found("Hello"));
}

#[tokio::test]
async fn root_is_an_unknown_empty_path() {
    let server = start_default().await;
    let reply = raw_get(&server, "/").await;
    assert_reply(&reply, 404, &not_found(""));
    let reply = raw_get(&server, "/?batch=1").await;
    assert_reply(&reply, 404, &format!("[{}]", not_found("")));
    let reply = raw_get(&server, "/hello,?batch=1").await;
    assert_reply(
        &reply,
        207,
        &format!(
            r#"[{{"result":{{"data":{{"text":"hello world"}}}}}},{}]"#,
            not_found("")
        ),
    );
}

#[tokio::test]
async fn prototype_names_are_just_unknown_names() {
    let server = start_default().await;
    for name in [
        "toString",
        "__proto__",
        "constructor",
        "hasOwnProperty",
        "valueOf",
    ] {
        let reply = raw_get(&server, &format!("/{name}")).await;
        assert_reply(&reply, 404, &not_found(name));
    }
    let reply = raw_get(&server, "/constructor,__proto__?batch=1").await;
    assert_reply(
        &reply,
        404,
        &format!("[{},{}]", not_found("constructor"), not_found("__proto__")),
    );
}

#[tokio::test]
async fn unknown_item_in_a_batch_fails_alone() {
    let server = start_default().await;
    let reply = raw_get(&server, "/hello,nope?batch=1").await;
    assert_reply(
        &reply,
        207,
        &format!(
            r#"[{{"result":{{"data":{{"text":"hello world"}}}}}},{}]"#,
            not_found("nope")
        ),
    );
}
