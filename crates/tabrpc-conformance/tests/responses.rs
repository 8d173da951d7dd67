//! wire.md §2, responses: envelopes and their key order, batch arrays in request order, the
//! shared status / 207 rule, top-level errors, and internal failures that do not leak.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::*;

const HELLO: &str = r#"{"result":{"data":{"text":"hello world"}}}"#;
const UNAUTHORIZED: &str = r#"{"error":{"message":"UNAUTHORIZED","code":-32001,"data":{"code":"UNAUTHORIZED","httpStatus":401,"path":"unauthorized"}}}"#;

#[tokio::test]
async fn success_envelope() {
    let server = start_default().await;
    let reply = get(&server, "/hello").await;
    assert_reply(&reply, 200, HELLO);
    let reply = get(&server, "/noInput").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"no-input"}}"#);
    let reply = get(&server, "/returnUndefined").await;
    assert_reply(&reply, 200, r#"{"result":{}}"#);
    let reply = get(&server, "/returnNull").await;
    assert_reply(&reply, 200, r#"{"result":{"data":null}}"#);
}

#[tokio::test]
async fn error_without_message_uses_the_code_name() {
    let server = start_default().await;
    let reply = get(&server, "/unauthorized").await;
    assert_reply(&reply, 401, UNAUTHORIZED);
    let reply = get(&server, "/tooMany").await;
    assert_reply(
        &reply,
        429,
        r#"{"error":{"message":"TOO_MANY_REQUESTS","code":-32029,"data":{"code":"TOO_MANY_REQUESTS","httpStatus":429,"path":"tooMany"}}}"#,
    );
}

#[tokio::test]
async fn error_with_message_keeps_it() {
    let server = start_default().await;
    let reply = get(&server, "/forbiddenMsg").await;
    assert_reply(
        &reply,
        403,
        r#"{"error":{"message":"nope","code":-32003,"data":{"code":"FORBIDDEN","httpStatus":403,"path":"forbiddenMsg"}}}"#,
    );
}

#[tokio::test]
async fn error_shape_has_no_stack_and_only_the_documented_keys() {
    let server = start_default().await;
    for path in [
        "/unauthorized",
        "/forbiddenMsg",
        "/boom",
        "/tooMany",
        "/nope",
        "/mut",
    ] {
        let reply = get(&server, path).await;
        let body = reply.json();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&body), ["error"], "{path}");
        assert_eq!(keys(&body["error"]), ["code", "data", "message"], "{path}");
        assert_eq!(
            keys(&body["error"]["data"]),
            ["code", "httpStatus", "path"],
            "{path}"
        );
        assert!(body["error"]["code"].is_i64(), "{path}");
        assert!(!reply.text().contains("stack"), "{path}: {}", reply.text());
    }
}

#[tokio::test]
async fn internal_failure_is_500_without_leaking_the_panic() {
    let server = start_default().await;
    let reply = get(&server, "/boom").await;
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_json_headers(&reply);
    let message = check_envelope_text(&reply.text(), "INTERNAL_SERVER_ERROR", Some("boom"));
    assert!(!message.is_empty());
    for leak in ["boom:", "unexpected failure", "panic", "procedure", ".rs"] {
        assert!(
            !message.to_lowercase().contains(leak),
            "the message leaks internals ({leak}): {message}"
        );
    }
}

#[tokio::test]
async fn a_failing_item_does_not_stop_the_others() {
    let server = start_default().await;
    let reply = get(&server, "/hello,boom,noInput?batch=1").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    assert_json_headers(&reply);
    let items = raw_items(&reply.text());
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], HELLO);
    check_envelope_text(&items[1], "INTERNAL_SERVER_ERROR", Some("boom"));
    assert_eq!(items[2], r#"{"result":{"data":"no-input"}}"#);
}

#[tokio::test]
async fn server_keeps_serving_after_panics() {
    let server = start_default().await;
    for _ in 0..20 {
        let reply = get(&server, "/boom").await;
        assert_eq!(reply.status, 500);
    }
    let booms: Vec<_> = (0..20)
        .map(|_| {
            let url = server.url("/boom,boom?batch=1");
            tokio::spawn(async move { send(client().get(url)).await.status })
        })
        .collect();
    for boom in booms {
        assert_eq!(boom.await.unwrap(), 500);
    }
    let reply = get(&server, "/hello").await;
    assert_reply(&reply, 200, HELLO);
}

#[tokio::test]
async fn batch_answers_an_array_in_request_order() {
    let server = start_default().await;
    // The first item finishes last; the array keeps request order.
    let reply = get(
        &server,
        &format!(
            "/slow,helloStr,slow,returnUndefined?batch=1&{}",
            input(&json!({"0": 150, "1": "b", "2": 1}))
        ),
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":"slept 150"}},{"result":{"data":"Hello b"}},{"result":{"data":"slept 1"}},{"result":{}}]"#,
    );
}

#[tokio::test]
async fn batch_of_one_is_still_an_array() {
    let server = start_default().await;
    let reply = get(&server, "/hello?batch=1").await;
    assert_reply(&reply, 200, &format!("[{HELLO}]"));
    let reply = get(&server, "/unauthorized?batch=1").await;
    assert_reply(&reply, 401, &format!("[{UNAUTHORIZED}]"));
}

#[tokio::test]
async fn batch_status_is_shared_or_207() {
    let server = start_default().await;
    // All successes: 200.
    let reply = get(&server, "/hello,noInput?batch=1").await;
    assert_eq!(reply.status, 200);
    // All the same error: that error's status.
    let reply = get(&server, "/unauthorized,unauthorized?batch=1").await;
    assert_reply(&reply, 401, &format!("[{UNAUTHORIZED},{UNAUTHORIZED}]"));
    let reply = get(&server, "/nope,nope2?batch=1").await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    // Success and error: 207.
    let reply = get(&server, "/hello,unauthorized?batch=1").await;
    assert_reply(&reply, 207, &format!("[{HELLO},{UNAUTHORIZED}]"));
    // Two different errors: 207.
    let reply = get(&server, "/unauthorized,forbiddenMsg?batch=1").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let reply = get(&server, "/tooMany,boom?batch=1").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let items = raw_items(&reply.text());
    assert_eq!(
        items[0],
        r#"{"error":{"message":"TOO_MANY_REQUESTS","code":-32029,"data":{"code":"TOO_MANY_REQUESTS","httpStatus":429,"path":"tooMany"}}}"#
    );
    check_envelope_text(&items[1], "INTERNAL_SERVER_ERROR", Some("boom"));
    // 404 next to 405: 207.
    let reply = get(&server, "/nope,mut?batch=1").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
}

#[tokio::test]
async fn single_call_answers_its_own_status() {
    let server = start_default().await;
    for (path, status) in [
        ("/hello", 200),
        ("/unauthorized", 401),
        ("/forbiddenMsg", 403),
        ("/nope", 404),
        ("/mut", 405),
        ("/tooMany", 429),
        ("/boom", 500),
    ] {
        let reply = get(&server, path).await;
        assert_eq!(reply.status, status, "{path}");
        if status != 200 {
            let name = reply.json()["error"]["data"]["code"]
                .as_str()
                .unwrap()
                .to_owned();
            let (code, http) = code_of(&name);
            assert_eq!(http, status, "{path}");
            assert_eq!(reply.json()["error"]["code"], json!(code), "{path}");
            assert_eq!(reply.json()["error"]["data"]["httpStatus"], json!(status));
        }
    }
}

#[tokio::test]
async fn top_level_errors_are_single_objects_without_path() {
    let server = start_default().await;
    let replies = [
        get(&server, "/hello,mut?batch=1").await,
        post(&server, "/echo,mut?batch=1", &[], r#"{"0":"x"}"#).await,
        raw_get(&server, "/hello,hel%ZZ?batch=1").await,
        get_with(&server, "/hello", &[("trpc-accept", "application/jsonl")]).await,
    ];
    for reply in replies {
        assert!(reply.status >= 400, "{}", reply.text());
        assert!(reply.json().is_object(), "{}", reply.text());
        let name = reply.json()["error"]["data"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (_, status) = code_of(&name);
        assert_eq!(status, reply.status);
        check_envelope_text(&reply.text(), &name, None);
    }
}
