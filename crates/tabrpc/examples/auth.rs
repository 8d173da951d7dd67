//! A procedure in the viewer scope behind `AuthLayer`, with tokens from the development
//! identity provider: serves on 127.0.0.1, mints a token for `user_alice`, and calls itself
//! anonymously (401), as alice (200), and as alice with `viewerId` bob (403 `viewer_mismatch`).
//! Needs no network.
//!
//! Run with: cargo run -p tabrpc --example auth --features dev-idp

use std::sync::Arc;

use serde::Deserialize;
use specta::Type;
use tabrpc::auth::dev_idp::DevIdp;
use tabrpc::auth::{AuthLayer, Caller, Resolver};
use tabrpc::{Procedure, Router, ViewerGuard};

#[tabrpc::input]
#[derive(Deserialize, Type)]
struct WhoAmIInput {
    #[tabrpc(viewer)]
    viewer_id: Option<String>,
}

#[derive(Clone, tabrpc::Context)]
struct Ctx {
    #[tabrpc(caller)]
    caller: Caller,
}

fn router() -> Router<Ctx> {
    Router::new().procedure(
        "whoami",
        Procedure::query(|ctx: Ctx, _: Option<WhoAmIInput>| async move {
            Ok(ctx.caller.require()?.user_id.clone())
        })
        .guard(ViewerGuard),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // The development provider signs a token for anyone who asks: demos and tests only.
    let idp = DevIdp::generate(base.clone())?;
    let resolver = Resolver::new(idp.verifier_builder().build().await?);
    let endpoint =
        tabrpc::axum::Endpoint::new(router().build()?, |parts: &http::request::Parts| {
            let ctx = Ctx {
                caller: tabrpc::auth::caller(parts),
            };
            async move { Ok(ctx) }
        });
    let app = axum::Router::new()
        .merge(endpoint.into_router_at("/trpc"))
        .layer(AuthLayer::new(Arc::new(resolver)));
    tokio::spawn(tabrpc::axum::serve(listener, app));

    let token = idp.sign_session("user_alice", "sess_1", None)?;
    let client = reqwest::Client::new();
    for (who, input, bearer) in [
        ("anonymous", "{}", None),
        ("alice", "{}", Some(&token)),
        (
            "alice asking for bob",
            r#"{"viewerId":"user_bob"}"#,
            Some(&token),
        ),
    ] {
        let mut request = client
            .get(format!("{base}/trpc/whoami"))
            .query(&[("input", input)]);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        println!("{who}: {} {}", response.status(), response.text().await?);
    }
    Ok(())
}
