//! Live invalidation: a counter whose `counter.increment` tells every open tab to refetch
//! `counter.get`, through `live.events` (one server-sent event stream per tab). Serves on
//! 127.0.0.1 and calls itself: opens a stream, increments twice, prints the events, then
//! reconnects with the first event's id (`Last-Event-ID`) and gets the second again. Needs no
//! network.
//!
//! Run with: cargo run -p tabrpc --example live --features auth,live

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tabrpc::auth::Caller;
use tabrpc::live::{Live, LiveContext};
use tabrpc::sessions::{SessionStore, SqliteStore, StoreConfig};
use tabrpc::{Procedure, Router};

#[derive(Clone, tabrpc::Context)]
struct Ctx {
    /// Anonymous here; behind `AuthLayer` (see the `auth` example) the verified caller, whose
    /// account events its stream then receives too.
    #[tabrpc(caller)]
    caller: Caller,
    #[tabrpc(sessions)]
    sessions: Arc<dyn SessionStore>,
    live: Live,
    counter: Arc<AtomicU32>,
}

impl LiveContext for Ctx {
    fn live(&self) -> &Live {
        &self.live
    }
}

fn router() -> Router<Ctx> {
    Router::new()
        .procedure("live.events", tabrpc::live::events())
        .procedure(
            "counter.get",
            Procedure::query(
                |ctx: Ctx, (): ()| async move { Ok(ctx.counter.load(Ordering::SeqCst)) },
            ),
        )
        .procedure(
            "counter.increment",
            Procedure::mutation(|ctx: Ctx, (): ()| async move {
                let value = ctx.counter.fetch_add(1, Ordering::SeqCst) + 1;
                // After the change: every tab refetches `counter.get`.
                ctx.live.public().invalidate(["counter.get"]).await?;
                Ok(value)
            }),
        )
}

/// Reads `count` server-sent events (after `connected`) and prints their `id:` and data.
async fn print_events(response: reqwest::Response, count: usize) -> Option<String> {
    let mut body = response.bytes_stream();
    let (mut text, mut first_id) = (String::new(), None);
    let mut seen = 0;
    while seen < count {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next()).await;
        let Ok(Some(Ok(bytes))) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if block.contains("event: connected") {
                continue;
            }
            println!("  {}", block.trim().replace('\n', "  "));
            let id = block.lines().find_map(|l| l.strip_prefix("id: "));
            if seen == 1 {
                first_id = id.map(str::to_owned);
            }
            seen += 1;
        }
    }
    first_id
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store: Arc<dyn SessionStore> =
        Arc::new(SqliteStore::open("sqlite::memory:", StoreConfig::default()).await?);
    // One hub per server; `Live::postgres(pool).await?` shares events between instances.
    let live = Live::in_process();
    let counter = Arc::default();
    let endpoint =
        tabrpc::axum::Endpoint::new(router().build()?, move |parts: &http::request::Parts| {
            let ctx = Ctx {
                caller: tabrpc::auth::caller(parts),
                sessions: store.clone(),
                live: live.clone(),
                counter: Arc::clone(&counter),
            };
            async move { Ok(ctx) }
        });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/trpc", listener.local_addr()?);
    tokio::spawn(tabrpc::axum::serve(listener, app));

    let client = reqwest::Client::new();
    let stream = client.get(format!("{base}/live.events")).send().await?;
    for _ in 0..2 {
        client
            .post(format!("{base}/counter.increment"))
            .header("content-type", "application/json")
            .send()
            .await?;
    }
    println!("a tab's stream (ready, then one invalidation per increment):");
    let first = print_events(stream, 3).await.unwrap_or_default();
    println!("reconnecting with Last-Event-ID: {first}");
    let again = client
        .get(format!("{base}/live.events"))
        .header("last-event-id", &first)
        .send()
        .await?;
    print_events(again, 2).await;
    Ok(())
}
