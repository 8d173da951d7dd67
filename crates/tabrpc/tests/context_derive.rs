//! `#[derive(tabrpc::Context)]`: a context's `ViewerContext` is its caller field's and its
//! `SessionContext` serves its store field, for a `dyn` store and a concrete one alike, so
//! session procedures resolve, link and refuse sessions through the derived impls.

#![cfg(all(feature = "auth", feature = "sessions"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use specta::Type;
use tabrpc::auth::{Caller, Identity, Source};
use tabrpc::sessions::{
    SessionContext, SessionCtx, SessionGuard, SessionId, SessionStore, SqliteStore, StoreConfig,
};
use tabrpc::wire::{Config, Handler, ReplyBody};
use tabrpc::{ErrorCode, Procedure, Router, ViewerContext};

/// The store as a trait object, as the demo holds it.
#[derive(Clone, tabrpc::Context)]
struct DynCtx {
    #[tabrpc(caller)]
    caller: Caller,
    #[tabrpc(sessions)]
    sessions: Arc<dyn SessionStore>,
    /// A field the macro leaves alone.
    label: &'static str,
}

/// A concrete store behind an `Arc`: `&*` coerces it to the trait object.
#[derive(Clone, tabrpc::Context)]
struct SqliteCtx {
    #[tabrpc(caller)]
    caller: Caller,
    #[tabrpc(sessions)]
    sessions: Arc<SqliteStore>,
}

/// A generic context: the derive keeps its parameters and bounds.
#[derive(Clone, tabrpc::Context)]
struct GenericCtx<S: SessionStore> {
    #[tabrpc(caller)]
    caller: Caller,
    #[tabrpc(sessions)]
    sessions: Arc<S>,
}

/// Only a caller: a viewer context, no session one.
#[derive(Clone, tabrpc::Context)]
struct ViewerOnly {
    #[tabrpc(caller)]
    caller: Caller,
}

#[tabrpc::input]
#[derive(Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct Touch {
    #[tabrpc(session)]
    session_id: SessionId,
}

const ID: &str = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";

fn caller(user: Option<&str>) -> Caller {
    Caller::new(match user {
        Some(user) => Identity::dangerous_unverified(user, None, Source::Header),
        None => Identity::anonymous(tabrpc::auth::AnonymousReason::None),
    })
}

fn session_context<C: SessionContext>() {}

#[test]
fn every_store_kind_and_generic_contexts_are_session_contexts() {
    session_context::<DynCtx>();
    session_context::<SqliteCtx>();
    session_context::<GenericCtx<SqliteStore>>();
    let ctx = ViewerOnly {
        caller: caller(Some("alice")),
    };
    assert_eq!(ctx.viewer().ok(), Some("alice"));
    let anonymous = ViewerOnly {
        caller: caller(None),
    };
    assert_eq!(
        anonymous.viewer().err().map(|e| e.code()),
        Some(ErrorCode::Unauthorized)
    );
}

/// `session.touch` (creates the session, linked to a signed-in caller) and `session.owner`.
fn router<C: SessionContext + Clone>() -> Router<C> {
    Router::new()
        .procedure(
            "session.touch",
            Procedure::mutation(|ctx: SessionCtx<C>, _: Touch| async move {
                Ok(ctx.session().user_id().map(str::to_owned))
            })
            .guard(SessionGuard),
        )
        .procedure(
            "session.owner",
            Procedure::query(|ctx: SessionCtx<C>, _: Touch| async move {
                Ok(ctx.session().user_id().map(str::to_owned))
            })
            .guard(SessionGuard),
        )
}

async fn call<C: Clone + Send + Sync + 'static>(
    handler: &Handler<C>,
    ctx: C,
    mutation: bool,
) -> (u16, Value) {
    let input = format!(r#"{{"sessionId":"{ID}"}}"#);
    let (request, body) = if mutation {
        let request = http::Request::post("/session.touch")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        (request, Bytes::from(input))
    } else {
        let input: String = input
            .bytes()
            .map(|b| match b {
                b'{' => "%7B".into(),
                b'}' => "%7D".into(),
                b'"' => "%22".into(),
                b':' => "%3A".into(),
                b => char::from(b).to_string(),
            })
            .collect();
        let target = format!("/session.owner?input={input}");
        (http::Request::get(target).body(()).unwrap(), Bytes::new())
    };
    let (parts, ()) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let response = handler
        .handle(&parts, &path, body, move |_| async move { Ok(ctx) })
        .await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        ReplyBody::Full(bytes) => serde_json::from_slice(&bytes).unwrap(),
        ReplyBody::Stream(_) => panic!("a stream"),
    };
    (status, body)
}

#[tokio::test]
async fn session_procedures_resolve_through_the_derived_impls() {
    let store = Arc::new(
        SqliteStore::open("sqlite::memory:", StoreConfig::default())
            .await
            .unwrap(),
    );
    let dyn_ctx = |user| DynCtx {
        caller: caller(user),
        sessions: store.clone(),
        label: "dyn",
    };
    let handler = Handler::new(router::<DynCtx>().build().unwrap(), Config::default());
    // Created and linked to alice through `session_store()` and `viewer()`.
    let (status, body) = call(&handler, dyn_ctx(Some("alice")), true).await;
    assert_eq!(
        (status, &body["result"]["data"]),
        (200, &Value::from("alice")),
        "{body}"
    );
    let (status, body) = call(&handler, dyn_ctx(Some("bob")), false).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(dyn_ctx(None).label, "dyn");

    // The same store, held as its concrete type.
    let handler = Handler::new(router::<SqliteCtx>().build().unwrap(), Config::default());
    let sqlite_ctx = |user| SqliteCtx {
        caller: caller(user),
        sessions: store.clone(),
    };
    let (status, body) = call(&handler, sqlite_ctx(Some("alice")), false).await;
    assert_eq!(
        (status, &body["result"]["data"]),
        (200, &Value::from("alice")),
        "{body}"
    );
    let (status, _) = call(&handler, sqlite_ctx(None), false).await;
    assert_eq!(status, 403);
}
