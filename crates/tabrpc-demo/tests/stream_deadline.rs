//! auth.md section 3: a stream is answered for the caller that opened it and ends no later than
//! that caller's token expires; the client then reconnects with a fresh token. Over real
//! sockets: a subscription (server-sent events) and a streamed output (JSONL) opened with a
//! token expiring in ~2 s are closed by the server by then (the subscription without
//! `event: return`, so that clients reconnect; the JSONL stream with a 401 `invalid_token`);
//! an anonymous subscription has no deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Deserialize;
use support::*;
use tabrpc::auth::{AuthLayer, Caller, Resolver};
use tabrpc::{Procedure, Router, Tracked};

#[derive(Clone)]
struct Ctx {
    _caller: Caller,
}

#[derive(Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct TicksInput {
    last_event_id: Option<String>,
}

const TICK: Duration = Duration::from_millis(100);

/// An endless subscription of numbered ticks that resumes after `lastEventId`, and an endless
/// streamed output, behind `AuthLayer` with the test identity provider's keys.
async fn serve() -> String {
    let router = Router::new()
        .procedure(
            "ticks",
            Procedure::tracked_subscription(|_: Ctx, input: Option<TicksInput>| async move {
                let first = input
                    .and_then(|i| i.last_event_id)
                    .and_then(|id| id.parse::<u64>().ok())
                    .map_or(0, |last| last + 1);
                let ticks = futures_util::stream::iter(first..).then(|n| async move {
                    tokio::time::sleep(TICK).await;
                    Ok(Tracked::new(n.to_string(), n))
                });
                Ok(ticks)
            }),
        )
        .procedure(
            "feed",
            Procedure::stream(|_: Ctx, (): ()| async move {
                let items = futures_util::stream::iter(0u64..).then(|n| async move {
                    tokio::time::sleep(TICK).await;
                    Ok(n)
                });
                Ok(items)
            }),
        )
        .build()
        .unwrap();
    let verifier = idp().verifier_builder().build().await.unwrap();
    let resolver = Resolver::builder(verifier).build().unwrap();
    let endpoint = tabrpc::axum::Endpoint::new(router, |parts: &http::request::Parts| {
        let caller = tabrpc::auth::caller(parts);
        async move { Ok(Ctx { _caller: caller }) }
    });
    let app = axum::Router::new()
        .nest("/trpc", endpoint.into_router())
        .layer(AuthLayer::new(Arc::new(resolver)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = tabrpc::axum::serve(listener, app).await;
    });
    format!("http://{addr}/trpc")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A token for `user_stream` expiring in `secs` seconds, and its `exp`.
fn short_token(secs: i64) -> (String, u64) {
    let exp = (unix_now() as i64 + secs) as u64;
    let token = token_builder("user_stream")
        .claim("exp", exp)
        .sign()
        .unwrap();
    (token, exp)
}

/// Reads the response body until the server ends it or `limit` passes: the text, and whether
/// the server ended it.
async fn read_until_end(response: reqwest::Response, limit: Duration) -> (String, bool) {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let stop = tokio::time::sleep(limit);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            chunk = body.next() => match chunk {
                Some(Ok(bytes)) => text.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(_)) | None => return (text, true),
            },
            () = &mut stop => return (text, false),
        }
    }
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires_and_resumes_with_a_fresh_one() {
    let base = serve().await;
    let (token, exp) = short_token(2);
    let started = Instant::now();
    let response = client()
        .get(format!("{base}/ticks"))
        .header("authorization", bearer(&token))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (text, ended) = read_until_end(response, STEP).await;
    let ended_at = unix_now();
    assert!(ended, "still open after {STEP:?}: {text}");
    // No later than `exp` (a little slack for the clocks of this test and the server).
    assert!(
        ended_at <= exp as f64 + 0.25,
        "ended {ended_at} after exp {exp}"
    );
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(text.starts_with("event: connected\n"), "{text}");
    assert!(text.contains("\ndata: 0\n"), "{text}");
    // Without `return`, clients reconnect.
    assert!(!text.contains("event: return"), "{text}");
    assert!(!text.contains("serialized-error"), "{text}");

    // The reconnection, with a fresh token and the last id seen, resumes after it.
    let last = text
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .next_back()
        .unwrap()
        .to_owned();
    let (fresh, _) = short_token(60);
    let response = client()
        .get(format!("{base}/ticks"))
        .header("authorization", bearer(&fresh))
        .header("accept", "text/event-stream")
        .header("last-event-id", &last)
        .send()
        .await
        .unwrap();
    let (text, _) = read_until_end(response, Duration::from_millis(350)).await;
    let next = last.parse::<u64>().unwrap() + 1;
    assert!(
        text.contains(&format!("id: {next}\ndata: {next}\n")),
        "{text}"
    );
}

#[tokio::test]
async fn a_streamed_output_ends_when_its_token_expires() {
    let base = serve().await;
    let (token, exp) = short_token(2);
    let response = client()
        .get(format!("{base}/feed?batch=1&input=%7B%7D"))
        .header("authorization", bearer(&token))
        .header("trpc-accept", "application/jsonl")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (text, ended) = read_until_end(response, STEP).await;
    let ended_at = unix_now();
    assert!(ended, "still open after {STEP:?}: {text}");
    assert!(
        ended_at <= exp as f64 + 0.25,
        "ended {ended_at} after exp {exp}"
    );
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    // `[dataChunkId, 2 (error), shape]`.
    assert_eq!(last[1], 2, "{text}");
    assert_eq!(last[2]["data"]["code"], "UNAUTHORIZED", "{text}");
    assert_eq!(last[2]["data"]["reason"], "invalid_token", "{text}");
}

#[tokio::test]
async fn an_anonymous_subscription_has_no_deadline() {
    let base = serve().await;
    let response = client()
        .get(format!("{base}/ticks"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let (text, ended) = read_until_end(response, Duration::from_millis(3_000)).await;
    assert!(!ended, "ended: {text}");
    assert!(text.contains("\ndata: 20\n"), "{text}");
}
