//! The smallest tabrpc server: one query, served on 127.0.0.1:3000 under `/trpc`.
//!
//! Run with: cargo run -p tabrpc --example hello
//!
//! Then: `curl 'http://127.0.0.1:3000/trpc/hello?input=%22you%22'` answers
//! `{"result":{"data":"hello you"}}`.

use tabrpc::{Procedure, Router};

#[derive(Clone)]
struct Ctx;

async fn hello(_: Ctx, who: Option<String>) -> Result<String, tabrpc::Error> {
    Ok(format!("hello {}", who.as_deref().unwrap_or("world")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let router = Router::new()
        .procedure("hello", Procedure::query(hello))
        .build()?;
    let endpoint =
        tabrpc::axum::Endpoint::new(router, |_: &http::request::Parts| async { Ok(Ctx) });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/trpc", listener.local_addr()?);
    tabrpc::axum::serve(listener, app).await?;
    Ok(())
}
