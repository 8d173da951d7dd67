//! A tracked subscription (server-sent events) that resumes after the last event a client saw,
//! and a streamed query. Serves on 127.0.0.1:3000 under `/trpc`.
//!
//! Run with: cargo run -p tabrpc --example subscriptions
//!
//! Then: `curl -N 'http://127.0.0.1:3000/trpc/ticks'` prints one event a second, each with its
//! `id:`; `curl -N -H 'Last-Event-ID: 4' 'http://127.0.0.1:3000/trpc/ticks'` resumes at 5.
//! `curl -H 'trpc-accept: application/jsonl' 'http://127.0.0.1:3000/trpc/countdown?batch=1&input=%7B%220%22%3A3%7D'`
//! streams 3, 2, 1 (tRPC's streamed batch format: a batch of one).

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use specta::Type;
use tabrpc::{Procedure, Router, Tracked};

#[derive(Clone)]
struct Ctx;

#[derive(Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct TicksInput {
    /// The id of the last event the client saw (the browser sends `Last-Event-ID`).
    #[serde(default)]
    last_event_id: Option<String>,
}

fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "ticks",
            Procedure::tracked_subscription(|_: Ctx, input: Option<TicksInput>| async move {
                let first = match input.unwrap_or_default().last_event_id {
                    Some(last) => {
                        last.parse::<u64>().map_err(|_| {
                            tabrpc::Error::bad_request("lastEventId is not a number")
                        })? + 1
                    }
                    None => 0,
                };
                Ok(futures_util::stream::iter(first..).then(|n| async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok(Tracked::new(n.to_string(), n))
                }))
            }),
        )
        .procedure(
            "countdown",
            Procedure::stream(|_: Ctx, from: u32| async move {
                Ok(futures_util::stream::iter((1..=from).rev().map(Ok)))
            }),
        )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let endpoint =
        tabrpc::axum::Endpoint::new(router().build()?, |_: &http::request::Parts| async {
            Ok(Ctx)
        });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/trpc", listener.local_addr()?);
    tabrpc::axum::serve(listener, app).await?;
    Ok(())
}
