//! The tabrpc side of the benchmark: the demo's `profile.getUser` (same input, guard and
//! output) behind `AuthLayer`, served by `tabrpc::axum::serve`, with the verifier the demo
//! builds for an external issuer whose keys are a JWKS file. Without the demo's SQLite
//! database, which this procedure never touches.
//!
//! The endpoint is mounted with `Endpoint::into_router_at("/trpc")`. With BENCH_TABRPC_NEST it
//! is nested instead (`nest("/trpc", endpoint.into_router())`, as the demo does), and with
//! BENCH_TABRPC_TRACE tower-http's `TraceLayer` is added (the demo has one; tabrpc's own
//! `rpc.request`/`rpc.call` spans do not need it): the `tabrpc-demo-layers` row of `run.py`
//! measures both.
//!
//! Settings: BENCH_PORT, BENCH_JWKS (the JWKS file), BENCH_ISSUER, BENCH_CACHE_CAPACITY
//! (verified-token cache entries, 0 = off; unset = the verifier's default), BENCH_TABRPC_NEST,
//! BENCH_TABRPC_TRACE, BENCH_AXUM_SERVE (serve with `axum::serve` instead), RUST_LOG (default
//! `warn`).

use std::sync::Arc;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::auth::{Algorithm, Caller, Resolver, Verifier};
use tabrpc::{Procedure, Router, ViewerGuard};

#[derive(Clone, tabrpc::Context)]
struct Ctx {
    #[tabrpc(caller)]
    caller: Caller,
}

/// Input of `profile.getUser`, as in the demo.
#[tabrpc::input]
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct GetUserInput {
    #[tabrpc(viewer)]
    viewer_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    display_name: String,
    signed_in: bool,
}

fn router() -> Router<Ctx> {
    Router::new().nest(
        "profile",
        Router::new().procedure(
            "getUser",
            Procedure::query(|ctx: Ctx, _input: Option<GetUserInput>| async move {
                Ok(match ctx.caller.user_id() {
                    Some(id) => User {
                        display_name: id.to_owned(),
                        id: id.to_owned(),
                        signed_in: true,
                    },
                    None => User {
                        id: String::new(),
                        display_name: "Anonymous".into(),
                        signed_in: false,
                    },
                })
            })
            .guard(ViewerGuard),
        ),
    )
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    tabrpc::auth::self_check()?;
    let port: u16 = env("BENCH_PORT")?.parse()?;
    // The demo's verifier for an external issuer (TABRPC_AUTH_ISSUER + TABRPC_AUTH_JWKS).
    let mut builder = Verifier::builder()
        .issuer(env("BENCH_ISSUER")?)
        .jwks_file(env("BENCH_JWKS")?)
        .algorithms([Algorithm::RS256, Algorithm::ES256]);
    if let Ok(capacity) = std::env::var("BENCH_CACHE_CAPACITY") {
        builder = builder.cache_capacity(capacity.parse().context("BENCH_CACHE_CAPACITY")?);
    }
    let resolver = Arc::new(Resolver::builder(builder.build().await?).build()?);

    let built = router().build()?;
    let endpoint = tabrpc::axum::Endpoint::new(built, |parts: &http::request::Parts| {
        let ctx = Ctx {
            caller: tabrpc::auth::caller(parts),
        };
        async move { Ok(ctx) }
    });
    let app = if std::env::var("BENCH_TABRPC_NEST").is_ok() {
        axum::Router::new().nest("/trpc", endpoint.into_router())
    } else {
        axum::Router::new().merge(endpoint.into_router_at("/trpc"))
    };
    let app = app.layer(tabrpc::auth::AuthLayer::new(resolver));
    let app = if std::env::var("BENCH_TABRPC_TRACE").is_ok() {
        app.layer(tower_http::trace::TraceLayer::new_for_http())
    } else {
        app
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("tabrpc listening on http://127.0.0.1:{port}/trpc");
    if std::env::var("BENCH_AXUM_SERVE").is_ok() {
        axum::serve(listener, app).await?;
    } else {
        tabrpc::axum::serve(listener, app).await?;
    }
    Ok(())
}
