//! wire.md §1, inputs: the `input` query parameter (single and batch), POST bodies, bad JSON,
//! inputs that do not match the procedure's type, and the unit / null outputs of §2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

const BATCH_NOT_OBJECT: &str = "\"input\" needs to be an object when doing a batch call";

#[tokio::test]
async fn single_query_input_is_url_encoded_json() {
    let server = start_default().await;
    let reply = get(
        &server,
        &format!("/hello?{}", input(&json!({"who": "bob"}))),
    )
    .await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello bob"}}}"#);
    let reply = get(
        &server,
        &format!("/helloStr?{}", input(&json!("a,b&c=d ✓"))),
    )
    .await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello a,b&c=d ✓"}}"#);
    let reply = get(
        &server,
        &format!("/post.byId?{}", input(&json!({"id": 42}))),
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"{"result":{"data":{"id":42,"title":"post 42"}}}"#,
    );
}

#[tokio::test]
async fn plus_in_input_is_a_space_and_escaped_plus_is_a_plus() {
    let server = start_default().await;
    let reply = raw_get(&server, "/helloStr?input=%22a+b%22").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello a b"}}"#);
    let reply = raw_get(&server, "/helloStr?input=%22a%2Bb%22").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello a+b"}}"#);
    // An unescaped JSON string with `+` in it, as a hand-written URL would carry it.
    let reply = raw_get(&server, "/hello?input={%22who%22:%22x+y%22}").await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello x y"}}}"#);
}

#[tokio::test]
async fn query_value_decoding_follows_form_urlencoded_rules() {
    let server = start_default().await;
    // A malformed escape in a query value is kept literally; invalid UTF-8 becomes U+FFFD.
    let reply = raw_get(&server, "/helloStr?input=%22%ZZ%22").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello %ZZ"}}"#);
    let reply = raw_get(&server, "/helloStr?input=%22%FF%22").await;
    assert_reply(&reply, 200, "{\"result\":{\"data\":\"Hello \u{FFFD}\"}}");
    // Only the first `input` parameter counts.
    let reply = raw_get(&server, "/helloStr?input=%22a%22&input=%22b%22").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"Hello a"}}"#);
}

#[tokio::test]
async fn absent_empty_or_null_input_is_no_input() {
    let server = start_default().await;
    for target in ["/helloStr", "/helloStr?input=", "/helloStr?input=null"] {
        let reply = raw_get(&server, target).await;
        assert_reply(&reply, 200, r#"{"result":{"data":"Hello world"}}"#);
    }
    for target in ["/hello", "/hello?input=", "/hello?input=null"] {
        let reply = raw_get(&server, target).await;
        assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello world"}}}"#);
    }
    let reply = get(&server, &format!("/hello?{}", input(&json!({"who": null})))).await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello world"}}}"#);
}

#[tokio::test]
async fn procedure_without_input_ignores_one() {
    let server = start_default().await;
    let reply = get(&server, &format!("/noInput?{}", input(&json!("x")))).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"no-input"}}"#);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let server = start_default().await;
    let reply = get(
        &server,
        &format!("/hello?{}", input(&json!({"who": "x", "extra": [1, 2]}))),
    )
    .await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello x"}}}"#);
}

#[tokio::test]
async fn batch_inputs_are_keyed_by_index() {
    let server = start_default().await;
    // What @trpc/client sends: undefined inputs are omitted from the object.
    let reply = get(
        &server,
        &format!(
            "/hello,helloStr,post.byId,returnUndefined?batch=1&{}",
            input(&json!({"1": "a b+c", "2": {"id": 1}}))
        ),
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"text":"hello world"}}},{"result":{"data":"Hello a b+c"}},{"result":{"data":{"id":1,"title":"post 1"}}},{"result":{}}]"#,
    );
}

#[tokio::test]
async fn batch_missing_key_means_no_input_for_that_item() {
    let server = start_default().await;
    let reply = get(
        &server,
        &format!("/helloStr,helloStr?batch=1&{}", input(&json!({"1": "z"}))),
    )
    .await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":"Hello world"}},{"result":{"data":"Hello z"}}]"#,
    );
    // Keys beyond the batch are not read.
    let reply = get(
        &server,
        &format!("/helloStr?batch=1&{}", input(&json!({"1": "z", "x": "y"}))),
    )
    .await;
    assert_reply(&reply, 200, r#"[{"result":{"data":"Hello world"}}]"#);
}

#[tokio::test]
async fn batch_without_inputs_or_with_empty_object() {
    let server = start_default().await;
    let expected =
        r#"[{"result":{"data":"Hello world"}},{"result":{"data":{"text":"hello world"}}}]"#;
    for query in ["batch=1", "batch=1&input=", "batch=1&input=%7B%7D"] {
        let reply = raw_get(&server, &format!("/helloStr,hello?{query}")).await;
        assert_reply(&reply, 200, expected);
    }
}

#[tokio::test]
async fn batch_input_that_is_not_an_object_is_a_per_item_400() {
    let server = start_default().await;
    for bad in [json!([1]), json!(5), json!(null), json!("s"), json!(true)] {
        let reply = get(&server, &format!("/helloStr,hello?batch=1&{}", input(&bad))).await;
        assert_reply(
            &reply,
            400,
            &format!(
                "[{},{}]",
                err_text(BATCH_NOT_OBJECT, "BAD_REQUEST", Some("helloStr")),
                err_text(BATCH_NOT_OBJECT, "BAD_REQUEST", Some("hello"))
            ),
        );
    }
}

#[tokio::test]
async fn bad_json_in_query_input_is_a_per_item_400() {
    let server = start_default().await;
    for raw_input in ["{bad", "bad", "%7B%220%22%3A", "%22unterminated"] {
        let reply = raw_get(&server, &format!("/helloStr?input={raw_input}")).await;
        assert_eq!(reply.status, 400, "{raw_input}: {}", reply.text());
        assert_json_headers(&reply);
        let message = check_parse_error(&reply.text(), "helloStr");
        assert!(
            mentions_word(&message, "input"),
            "the message should name the `input` parameter: {message}"
        );
    }
}

#[tokio::test]
async fn bad_json_in_batch_query_input_fails_each_item() {
    let server = start_default().await;
    let reply = raw_get(&server, "/helloStr,hello?batch=1&input={bad").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(&reply);
    let items = raw_items(&reply.text());
    assert_eq!(items.len(), 2);
    for (item, path) in items.iter().zip(["helloStr", "hello"]) {
        check_parse_error(item, path);
    }
}

#[tokio::test]
async fn bad_input_on_an_unknown_path_is_still_404() {
    let server = start_default().await;
    let reply = raw_get(&server, "/nope?input={bad").await;
    assert_reply(
        &reply,
        404,
        &err_text(
            "No procedure found on path \"nope\"",
            "NOT_FOUND",
            Some("nope"),
        ),
    );
}

/// tRPC parses the input lazily, the first time a procedure that reads input asks for it: a
/// procedure without an input parser never sees a parse failure (trpc-behaviour.md D5, §7).
#[tokio::test]
async fn input_is_only_parsed_for_procedures_that_read_it() {
    let server = start_default().await;
    let reply = raw_get(&server, "/noInput?input={bad").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"no-input"}}"#);

    let reply = raw_get(&server, "/helloStr,noInput?batch=1&input={bad").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let items = raw_items(&reply.text());
    check_parse_error(&items[0], "helloStr");
    assert_eq!(items[1], r#"{"result":{"data":"no-input"}}"#);

    let reply = raw_get(&server, "/helloStr,noInput?batch=1&input=%5B1%5D").await;
    assert_reply(
        &reply,
        207,
        &format!(
            r#"[{},{{"result":{{"data":"no-input"}}}}]"#,
            err_text(BATCH_NOT_OBJECT, "BAD_REQUEST", Some("helloStr"))
        ),
    );

    let reply = post_json(&server, "/mut", "{bad").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"mutation"}}"#);
}

#[tokio::test]
async fn bad_json_in_the_body_is_a_per_item_400() {
    let server = start_default().await;
    let reply = post_json(&server, "/echo", "{bad").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(&reply);
    let message = check_parse_error(&reply.text(), "echo");
    assert!(
        mentions_word(&message, "body"),
        "the message should name the request body: {message}"
    );

    let reply = post_json(&server, "/echo,optMut?batch=1", "{bad").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(&reply);
    let items = raw_items(&reply.text());
    assert_eq!(items.len(), 2, "{items:?}");
    check_parse_error(&items[0], "echo");
    check_parse_error(&items[1], "optMut");
}

#[tokio::test]
async fn batch_body_that_is_not_an_object_is_a_per_item_400() {
    let server = start_default().await;
    let reply = post_json(&server, "/echo,optMut?batch=1", r#"["x"]"#).await;
    assert_reply(
        &reply,
        400,
        &format!(
            "[{},{}]",
            err_text(BATCH_NOT_OBJECT, "BAD_REQUEST", Some("echo")),
            err_text(BATCH_NOT_OBJECT, "BAD_REQUEST", Some("optMut"))
        ),
    );
}

#[tokio::test]
async fn input_type_mismatch_names_the_field() {
    let server = start_default().await;
    let reply = get(
        &server,
        &format!("/post.byId?{}", input(&json!({"id": "x"}))),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(&reply);
    let message = check_envelope_text(&reply.text(), "BAD_REQUEST", Some("post.byId"));
    assert!(mentions_word(&message, "id"), "{message}");

    let reply = get(&server, &format!("/hello?{}", input(&json!({"who": 5})))).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let message = check_envelope_text(&reply.text(), "BAD_REQUEST", Some("hello"));
    assert!(mentions_word(&message, "who"), "{message}");
}

#[tokio::test]
async fn a_batched_input_is_refused_in_the_same_words_as_a_single_one() {
    // Batched GET inputs are deserialized straight from the query text, single ones from a
    // parsed value: the caller sees the same message, without a position in the text.
    let server = start_default().await;
    for bad in [
        json!({"id": "x"}),
        json!({}),
        json!({"id": 1.5}),
        json!("x"),
    ] {
        let single = get(&server, &format!("/post.byId?{}", input(&bad))).await;
        let batch = get(
            &server,
            &format!(
                "/post.byId,post.byId?batch=1&{}",
                input(&json!({"0": bad, "1": {"id": 2}}))
            ),
        )
        .await;
        assert_eq!(single.status, 400, "{}", single.text());
        assert_eq!(batch.status, 207, "{}", batch.text());
        let single: Value = serde_json::from_str(&single.text()).unwrap();
        let batch: Value = serde_json::from_str(&batch.text()).unwrap();
        assert_eq!(batch[0], single, "{bad}");
        assert!(
            !single["error"]["message"]
                .as_str()
                .unwrap()
                .contains("line 1"),
            "{single}"
        );
        assert_eq!(
            batch[1],
            json!({"result": {"data": {"id": 2, "title": "post 2"}}})
        );
    }
}

#[tokio::test]
async fn a_number_too_large_for_a_float_fails_only_its_own_call() {
    let server = start_default().await;
    // Hand-written: serde_json would not produce `1e400`.
    let text = r#"{"0":{"id":1e400},"1":{"id":3}}"#;
    let reply = get(
        &server,
        &format!("/post.byId,post.byId?batch=1&input={}", enc(text)),
    )
    .await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let items: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(items[0]["error"]["data"]["code"], "BAD_REQUEST", "{items}");
    assert_eq!(
        items[1],
        json!({"result": {"data": {"id": 3, "title": "post 3"}}})
    );
}

#[tokio::test]
async fn input_of_the_wrong_type_or_missing_is_bad_request() {
    let server = start_default().await;
    // A required input that is absent.
    let reply = get(&server, "/post.byId").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    check_envelope_text(&reply.text(), "BAD_REQUEST", Some("post.byId"));
    // A string where a number is expected.
    let reply = get(&server, &format!("/slow?{}", input(&json!("x")))).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    check_envelope_text(&reply.text(), "BAD_REQUEST", Some("slow"));
    // A number where a string is expected, in a body.
    let reply = post_json(&server, "/echo", "5").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    check_envelope_text(&reply.text(), "BAD_REQUEST", Some("echo"));
}

#[tokio::test]
async fn mutation_input_is_the_body() {
    let server = start_default().await;
    let reply = post_json(&server, "/echo", r#""x""#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"echo x"}}"#);
    let reply = post_json(&server, "/optMut", r#""y""#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"got":"y"}}}"#);
    let reply = post_json(&server, "/echo,optMut,mut?batch=1", r#"{"0":"x"}"#).await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":"echo x"}},{"result":{"data":{"got":null}}},{"result":{"data":"mutation"}}]"#,
    );
    let reply = post_json(&server, "/optMut,echo?batch=1", r#"{"0":"a","1":"b"}"#).await;
    assert_reply(
        &reply,
        200,
        r#"[{"result":{"data":{"got":"a"}}},{"result":{"data":"echo b"}}]"#,
    );
}

#[tokio::test]
async fn post_ignores_the_input_query_parameter() {
    let server = start_default().await;
    let q = input(&json!("y"));
    let reply = post_json(&server, &format!("/echo?{q}"), r#""x""#).await;
    assert_reply(&reply, 200, r#"{"result":{"data":"echo x"}}"#);
    let reply = post_json(&server, &format!("/optMut?{q}"), "").await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"got":null}}}"#);
}

#[tokio::test]
async fn empty_post_body_is_no_input() {
    let server = start_default().await;
    let reply = post_json(&server, "/optMut", "").await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"got":null}}}"#);
    let reply = post_json(&server, "/mut", "").await;
    assert_reply(&reply, 200, r#"{"result":{"data":"mutation"}}"#);
    // A batch with an empty body or `{}`: no inputs at all.
    for body in ["", "{}"] {
        let reply = post_json(&server, "/optMut,mut?batch=1", body).await;
        assert_reply(
            &reply,
            200,
            r#"[{"result":{"data":{"got":null}}},{"result":{"data":"mutation"}}]"#,
        );
    }
    // `echo` needs its input: no input is a validation failure for it alone.
    let reply = post_json(&server, "/echo,optMut?batch=1", "").await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let items = raw_items(&reply.text());
    check_envelope_text(&items[0], "BAD_REQUEST", Some("echo"));
    assert_eq!(items[1], r#"{"result":{"data":{"got":null}}}"#);
}

/// tRPC only treats a 0-byte body as "no input"; a body of whitespace goes to `JSON.parse` and
/// fails (`Unexpected end of JSON input`, trpc-behaviour.md §7).
#[tokio::test]
async fn whitespace_only_body_is_not_an_empty_body() {
    let server = start_default().await;
    let reply = post_json(&server, "/optMut", " ").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    check_parse_error(&reply.text(), "optMut");
}

#[tokio::test]
async fn unit_output_has_no_data_and_null_output_has_null_data() {
    let server = start_default().await;
    let reply = get(&server, "/returnUndefined").await;
    assert_reply(&reply, 200, r#"{"result":{}}"#);
    let reply = get(&server, "/returnNull").await;
    assert_reply(&reply, 200, r#"{"result":{"data":null}}"#);
    let reply = get(&server, "/returnUndefined,returnNull?batch=1").await;
    assert_reply(&reply, 200, r#"[{"result":{}},{"result":{"data":null}}]"#);
}

/// A per-item input parse failure: BAD_REQUEST, or PARSE_ERROR (also allowed by wire.md for
/// unparsable bytes), on `path`, with a non-empty message. Returns the message.
#[track_caller]
fn check_parse_error(text: &str, path: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let name = value["error"]["data"]["code"].as_str().unwrap_or_default();
    assert!(
        name == "BAD_REQUEST" || name == "PARSE_ERROR",
        "expected BAD_REQUEST or PARSE_ERROR: {text}"
    );
    let message = check_envelope_text(text, name, Some(path));
    assert!(!message.is_empty());
    message
}
