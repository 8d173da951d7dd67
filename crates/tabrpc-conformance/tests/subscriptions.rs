//! wire.md section 4: subscriptions as server-sent events, for `httpSubscriptionLink`.

mod support;

use support::*;

/// The whole event stream of a GET (the fixture's subscriptions all end).
async fn sse(server: &Server, target: &str, headers: &[(&str, &str)]) -> (Reply, String) {
    let reply = get_with(server, target, headers).await;
    let text = reply.text();
    (reply, text)
}

#[tokio::test]
async fn tracked_events_then_return_with_sse_headers() {
    let server = start_default().await;
    let (reply, text) = sse(&server, "/sub?input=%7B%22n%22%3A2%7D", &[]).await;
    assert_eq!(reply.status, 200, "{text}");
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        reply.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(reply.header("x-accel-buffering"), Some("no"));
    assert_eq!(
        text,
        "event: connected\ndata: {}\n\n\
         id: 0\ndata: {\"i\":0}\n\n\
         id: 1\ndata: {\"i\":1}\n\n\
         event: return\ndata: \n\n"
    );
}

#[tokio::test]
async fn last_event_id_header_resumes_after_it() {
    let server = start_default().await;
    let (_, text) = sse(&server, "/sub", &[("last-event-id", "4")]).await;
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["5", "6", "7"], "{text}");
    // The same through the input, as the client sends it after a reconnect.
    let (_, text) = sse(
        &server,
        "/sub?input=%7B%22lastEventId%22%3A%221%22%2C%22n%22%3A1%7D",
        &[],
    )
    .await;
    assert!(text.contains("id: 2\ndata: {\"i\":2}\n\n"), "{text}");
}

#[tokio::test]
async fn an_error_mid_stream_is_a_serialized_error_and_no_return() {
    let server = start_default().await;
    let (reply, text) = sse(&server, "/subFail", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        text,
        format!(
            "event: connected\ndata: {{}}\n\ndata: \"a\"\n\nevent: serialized-error\ndata: {}\n\n",
            shape_text("sub forbidden", "FORBIDDEN", Some("subFail"))
        )
    );
}

#[tokio::test]
async fn an_error_before_the_stream_starts_is_delivered_in_stream_with_200() {
    let server = start_default().await;
    let (reply, text) = sse(&server, "/sub?input=%7B%22n%22%3A%22three%22%7D", &[]).await;
    assert_eq!(reply.status, 200, "{text}");
    assert!(
        text.starts_with("event: connected\ndata: {}\n\nevent: serialized-error\ndata: "),
        "{text}"
    );
    let data = text
        .split("event: serialized-error\ndata: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    check_shape(
        &serde_json::from_str(data).unwrap_or_default(),
        "BAD_REQUEST",
        Some("sub"),
    );
    assert!(!text.contains("event: return"), "{text}");
}

#[tokio::test]
async fn subscriptions_answer_get_only_and_never_in_batches() {
    let server = start_default().await;
    let reply = post_json(&server, "/sub", "").await;
    assert_eq!(reply.status, 405, "{}", reply.text());
    assert_eq!(reply.header("allow"), Some("GET"));
    let reply = get(&server, "/sub,hello?batch=1").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
}
