//! Middleware, response meta, error hooks and the server-side caller: an "authed" base
//! procedure, a transaction that commits or rolls back around a handler, a timing middleware for
//! every call, a public query with `Cache-Control`, a sign-in that sets a cookie, an
//! `on_error` reporter and an error formatter. Served on 127.0.0.1:3000 under `/trpc`, after
//! calling itself in-process once.
//!
//! Run with: cargo run -p tabrpc --example middleware
//!
//! Then:
//! - `curl -i http://127.0.0.1:3000/trpc/posts.list` answers with `cache-control: public, max-age=60`;
//! - `curl -i -X POST -H 'content-type: application/json' http://127.0.0.1:3000/trpc/signIn -d '"ann"'`
//!   sets the `user` cookie;
//! - `curl -i -X POST -H 'content-type: application/json' -H 'cookie: user=ann' http://127.0.0.1:3000/trpc/posts.add -d '"hi"'`
//!   adds a post (without the cookie: 401, with an empty title: 400 and a rollback).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tabrpc::plumbing::Output;
use tabrpc::{Error, ErrorCode, Next, Procedure, ProcedureBuilder, Reply, Router};

/// The posts, as a stand-in for a database.
type Posts = Arc<Mutex<Vec<String>>>;

#[derive(Clone)]
struct Ctx {
    user: Option<String>,
    posts: Posts,
}

/// What procedures made from [`authed`] get.
struct Authed {
    user: String,
    posts: Posts,
}

/// The base of every procedure that needs a signed-in caller.
fn authed() -> ProcedureBuilder<Ctx, Authed> {
    ProcedureBuilder::new().with(|ctx: Ctx| async move {
        let user = ctx
            .user
            .ok_or_else(|| Error::new(ErrorCode::Unauthorized).with_message("sign in first"))?;
        Ok(Authed {
            user,
            posts: ctx.posts,
        })
    })
}

/// A transaction around the handler: its writes are kept only if it succeeds.
async fn in_transaction(ctx: Authed, next: Next<Authed, String>) -> Result<Output, Error> {
    let before = ctx.posts.lock().map(|p| p.len()).unwrap_or(0);
    let posts = ctx.posts.clone();
    let result = next.run(ctx).await;
    if result.is_err() {
        // Roll back what the handler wrote.
        if let Ok(mut posts) = posts.lock() {
            posts.truncate(before);
        }
    }
    result
}

async fn add_post(ctx: Authed, title: String) -> Result<usize, Error> {
    let mut posts = ctx
        .posts
        .lock()
        .map_err(|_| Error::new(ErrorCode::InternalServerError))?;
    posts.push(format!("{title} (by {})", ctx.user));
    if title.trim().is_empty() {
        // Refused after the write: the transaction rolls it back.
        return Err(Error::bad_request("a post needs a title"));
    }
    Ok(posts.len())
}

#[derive(serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct ErrorData {
    /// Whether trying again later may work.
    retryable: bool,
}

fn router() -> Result<tabrpc::BuiltRouter<Ctx>, tabrpc::BuildError> {
    let router = Router::new()
        .procedure(
            "posts.list",
            Procedure::query(|ctx: Ctx, (): ()| async move {
                let posts = ctx.posts.lock().map(|p| p.clone()).unwrap_or_default();
                Reply::new(posts).header("cache-control", "public, max-age=60")
            }),
        )
        .procedure(
            "posts.add",
            authed().wrap(Procedure::mutation(add_post).around(in_transaction)),
        )
        .procedure(
            "signIn",
            Procedure::mutation(|_: Ctx, name: String| async move {
                Reply::new(()).cookie(format!("user={name}; Path=/; HttpOnly; SameSite=Lax"))
            }),
        )
        .around(|ctx: Ctx, next| async move {
            let path = next.call().path().to_owned();
            let started = Instant::now();
            let result = next.run(ctx).await;
            println!(
                "{path}: {} us, ok: {}",
                started.elapsed().as_micros(),
                result.is_ok()
            );
            result
        })
        .build()?
        .on_error(|event| {
            let user = event.ctx.and_then(|ctx| ctx.user.as_deref()).unwrap_or("-");
            eprintln!(
                "error on {}: {} (caller {user})",
                event.path.unwrap_or("the request"),
                event.error
            );
        })
        .format_errors(|event| ErrorData {
            retryable: matches!(
                event.error.code(),
                ErrorCode::Timeout | ErrorCode::TooManyRequests
            ),
        });
    Ok(router)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let posts = Posts::default();
    let router = router()?;

    // In-process, through the same middleware and hooks as over HTTP.
    let ann = router.caller(Ctx {
        user: Some("ann".into()),
        posts: posts.clone(),
    });
    let count: usize = ann.call("posts.add", "first post").await?;
    println!("in-process: {count} post(s)");

    let endpoint = tabrpc::axum::Endpoint::new(router, move |parts: &http::request::Parts| {
        // A stand-in for real authentication (see the `auth` example): the `user` cookie.
        let user = parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix("user=").map(str::to_owned));
        let ctx = Ctx {
            user,
            posts: posts.clone(),
        };
        async move { Ok(ctx) }
    });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/trpc", listener.local_addr()?);
    tabrpc::axum::serve(listener, app).await?;
    Ok(())
}
