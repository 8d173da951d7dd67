//! Validated input and the superjson transformer: an order whose limits are garde rules (a
//! broken one answers 400 with `error.data.fieldErrors`), served with superjson so that its
//! 64-bit id and its timestamp reach JavaScript as `bigint` and `Date`.
//!
//! Run with: cargo run -p tabrpc --example validated
//!
//! Then (superjson input, as `superjson.serialize({ item: "", quantity: 0 })` writes it):
//! `curl -X POST http://127.0.0.1:3000/trpc/order.place -d '{"json":{"item":"","quantity":0}}'`
//! answers 400 with
//! `"fieldErrors":{"item":["length is lower than 1"],"quantity":["lower than 1"]}`, and with
//! `{"json":{"item":"tea","quantity":2}}` an order whose `id` is a `bigint` and `at` a `Date`.

use tabrpc::wire::{Config, Transformer};
use tabrpc::{Procedure, Router, Timestamp};

#[derive(Clone)]
struct Ctx;

/// What to order: the limits are declared on the fields.
#[derive(serde::Deserialize, specta::Type, garde::Validate)]
struct PlaceOrder {
    #[garde(length(min = 1, max = 100))]
    item: String,
    #[garde(range(min = 1, max = 99))]
    quantity: u32,
}

/// The order placed.
#[derive(serde::Serialize, specta::Type)]
struct Order {
    /// Above 2^53: only a `bigint` holds it exactly.
    id: u64,
    item: String,
    quantity: u32,
    at: Timestamp,
}

async fn place(_: Ctx, input: PlaceOrder) -> Result<Order, tabrpc::Error> {
    Ok(Order {
        id: u64::MAX - 1,
        item: input.item,
        quantity: input.quantity,
        at: Timestamp::now(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let router = Router::new()
        .procedure("order.place", Procedure::mutation(place).validate())
        .build()?;
    // The client's types, with the same transformer: `id: bigint`, `at: Timestamp` (= `Date`).
    let bindings = tabrpc::typescript::export_with(&router, Transformer::Superjson)?;
    assert!(bindings.contains("id: bigint"));
    let endpoint =
        tabrpc::axum::Endpoint::new(router, |_: &http::request::Parts| async { Ok(Ctx) })
            .with_config(Config::default().transformer(Transformer::Superjson));
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/trpc", listener.local_addr()?);
    tabrpc::axum::serve(listener, app).await?;
    Ok(())
}
