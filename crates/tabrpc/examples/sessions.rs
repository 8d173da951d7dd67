//! A procedure in the session scope: the session guard resolves the input's `sessionId` before
//! the handler runs. Serves on 127.0.0.1 with an in-memory SQLite store and calls itself: two
//! visits of one session, one of another, a malformed id (400), and a visit after
//! `session.end` (404 `session_expired`). Needs no network.
//!
//! Run with: cargo run -p tabrpc --example sessions --features auth,sessions

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use specta::Type;
use tabrpc::auth::Caller;
use tabrpc::sessions::{
    SessionCtx, SessionGuard, SessionId, SessionStore, SqliteStore, StoreConfig,
};
use tabrpc::{Procedure, Router};

#[tabrpc::input]
#[derive(Deserialize, Type)]
struct VisitInput {
    #[tabrpc(session)]
    session_id: SessionId,
}

#[derive(Clone, tabrpc::Context)]
struct Ctx {
    /// Anonymous here; behind `AuthLayer` (see the `auth` example) the verified caller.
    #[tabrpc(caller)]
    caller: Caller,
    #[tabrpc(sessions)]
    sessions: Arc<dyn SessionStore>,
    /// Visits per session, in memory for the example: a `FeatureTable` keeps such rows in the
    /// store's database, so that rotation moves them and ending the session deletes them.
    visits: Arc<Mutex<HashMap<SessionId, u32>>>,
}

fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "visit",
            Procedure::mutation(|ctx: SessionCtx<Ctx>, _: VisitInput| async move {
                let mut visits = ctx.visits.lock().unwrap_or_else(|e| e.into_inner());
                let count = visits.entry(ctx.session().id().clone()).or_default();
                *count += 1;
                Ok(*count)
            })
            .guard(SessionGuard),
        )
        .nest("session", tabrpc::sessions::router())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store: Arc<dyn SessionStore> =
        Arc::new(SqliteStore::open("sqlite::memory:", StoreConfig::default()).await?);
    let visits = Arc::default();
    let endpoint =
        tabrpc::axum::Endpoint::new(router().build()?, move |parts: &http::request::Parts| {
            let ctx = Ctx {
                caller: tabrpc::auth::caller(parts),
                sessions: store.clone(),
                visits: Arc::clone(&visits),
            };
            async move { Ok(ctx) }
        });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/trpc", listener.local_addr()?);
    tokio::spawn(tabrpc::axum::serve(listener, app));

    // The client makes the ids (one per tab) and sends them as `sessionId`.
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let client = reqwest::Client::new();
    for (what, path, session_id) in [
        ("visit a", "visit", a.to_string()),
        ("visit a", "visit", a.to_string()),
        ("visit b", "visit", b.to_string()),
        (
            "visit with a malformed id",
            "visit",
            "not-a-uuid".to_owned(),
        ),
        ("end a", "session.end", a.to_string()),
        ("visit a", "visit", a.to_string()),
    ] {
        let response = client
            .post(format!("{base}/{path}"))
            .json(&serde_json::json!({ "sessionId": session_id }))
            .send()
            .await?;
        println!("{what}: {} {}", response.status(), response.text().await?);
    }
    Ok(())
}
