//! Session procedures over real HTTP (the axum transport on 127.0.0.1:0): the guard's answers
//! for invalid ids (400), sessions of another account (403) and ended sessions (404), the
//! `session.rotate` and `session.end` procedures, and the `session` scope.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::{cart_add, cart_of, id, user};
use tabrpc_core::{Error, ErrorCode, Procedure, Router, Scope, ViewerContext};
use tabrpc_sessions::{
    SessionContext, SessionCtx, SessionGuard, SessionId, SessionInput, SessionStore,
};

#[derive(Clone)]
struct Ctx {
    /// The verified caller: a test header stands in for the auth layer.
    user: Option<String>,
    sessions: Arc<dyn SessionStore>,
}

impl ViewerContext for Ctx {
    fn viewer(&self) -> Result<&str, Error> {
        self.user
            .as_deref()
            .ok_or_else(|| Error::new(ErrorCode::Unauthorized))
    }
}

impl SessionContext for Ctx {
    fn session_store(&self) -> &dyn SessionStore {
        self.sessions.as_ref()
    }
}

#[derive(serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct AddInput {
    session_id: SessionId,
    item: String,
}

impl SessionInput for AddInput {
    fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

#[derive(serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct GetInput {
    session_id: SessionId,
}

impl SessionInput for GetInput {
    fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "cart.add",
            Procedure::mutation(|ctx: SessionCtx<Ctx>, input: AddInput| async move {
                cart_add(ctx.session_store(), ctx.session().id(), &input.item, 1).await?;
                Ok(cart_of(ctx.session_store(), ctx.session().id()).await)
            })
            .guard(SessionGuard),
        )
        .procedure(
            "cart.get",
            Procedure::query(|ctx: SessionCtx<Ctx>, _: GetInput| async move {
                Ok(cart_of(ctx.session_store(), ctx.session().id()).await)
            })
            .guard(SessionGuard),
        )
        .nest("session", tabrpc_sessions::router())
}

struct Server {
    base: String,
    client: reqwest::Client,
    _task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(store: Arc<dyn SessionStore>) -> Self {
        let built = router().build().unwrap();
        let endpoint = tabrpc_axum::Endpoint::new(built, move |parts: &http::request::Parts| {
            let ctx = Ctx {
                user: parts
                    .headers
                    .get("x-test-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                sessions: store.clone(),
            };
            async move { Ok(ctx) }
        });
        let app = axum::Router::new().nest("/trpc", endpoint.into_router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/trpc", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = tabrpc_axum::serve(listener, app).await;
        });
        Self {
            base,
            client: reqwest::Client::new(),
            _task: task,
        }
    }

    async fn mutate(&self, path: &str, input: Value, user: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/{path}", self.base))
            .json(&input);
        if let Some(user) = user {
            request = request.header("x-test-user", user);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn query(&self, path: &str, input: Value, user: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .get(format!("{}/{path}", self.base))
            .query(&[("input", input.to_string())]);
        if let Some(user) = user {
            request = request.header("x-test-user", user);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

fn error(body: &Value) -> (&str, &str) {
    (
        body["error"]["data"]["code"].as_str().unwrap_or_default(),
        body["error"]["message"].as_str().unwrap_or_default(),
    )
}

#[test]
fn session_procedures_are_in_the_session_scope() {
    let built = router().build().unwrap();
    for path in ["cart.add", "cart.get", "session.rotate", "session.end"] {
        let (_, procedure) = built.get(path).unwrap();
        assert_eq!(procedure.meta().scopes(), [Scope::Session], "{path}");
    }
}

#[tokio::test]
async fn invalid_session_ids_are_a_bad_request_naming_the_field() {
    let db = support::temp_db("http-invalid");
    let store = support::sqlite_store(&db, support::config()).await;
    let server = Server::start(Arc::new(store)).await;
    for bad in [
        json!("not-a-uuid"),
        json!("00000000-0000-0000-0000-000000000000"),
        json!(7),
    ] {
        let (status, body) = server
            .mutate(
                "cart.add",
                json!({ "sessionId": bad, "item": "apple" }),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (code, message) = error(&body);
        assert_eq!(code, "BAD_REQUEST");
        assert!(message.contains("`sessionId`"), "{message}");
        if bad.is_string() {
            assert!(
                message.contains("Invalid session id: expected a UUID v4"),
                "{message}"
            );
        }
    }
}

#[tokio::test]
async fn a_cart_moves_to_the_account_at_sign_in_and_is_deleted_at_sign_out() {
    let db = support::temp_db("http-flow");
    let store = support::sqlite_store(&db, support::config()).await;
    let server = Server::start(Arc::new(store)).await;
    let alice = user("alice");
    let bob = user("bob");
    let tab = id();
    let sid = tab.as_str();

    let (status, body) = server
        .mutate("cart.add", json!({"sessionId": sid, "item": "apple"}), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["data"], json!([["apple", 1]]));

    // Sign-in: the client made a new id and rotates while the old one is current.
    let signed_in = id();
    let new_sid = signed_in.as_str();
    let (status, body) = server
        .mutate(
            "session.rotate",
            json!({"sessionId": sid, "newSessionId": new_sid}),
            Some(&alice),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["data"], json!({"moved": 1, "linked": true}));
    let (status, body) = server
        .query("cart.get", json!({"sessionId": new_sid}), Some(&alice))
        .await;
    assert_eq!(
        (status, &body["result"]["data"]),
        (200, &json!([["apple", 1]]))
    );

    // The old id is over.
    let (status, body) = server
        .query("cart.get", json!({"sessionId": sid}), None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        error(&body),
        (
            "NOT_FOUND",
            "session expired or revoked (rotated): start a new session"
        )
    );

    // Alice's session answers neither bob nor an anonymous caller.
    for caller in [Some(bob.as_str()), None] {
        let (status, body) = server
            .query("cart.get", json!({"sessionId": new_sid}), caller)
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(
            error(&body),
            ("FORBIDDEN", tabrpc_sessions::SESSION_WRONG_OWNER)
        );
        let (status, _) = server
            .mutate(
                "cart.add",
                json!({"sessionId": new_sid, "item": "stolen"}),
                caller,
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = server
            .mutate("session.end", json!({"sessionId": new_sid}), caller)
            .await;
        assert_eq!(status, 403);
    }

    // Sign-out: alice ends the session before dropping her token; its data is gone.
    let (status, body) = server
        .mutate("session.end", json!({"sessionId": new_sid}), Some(&alice))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .query("cart.get", json!({"sessionId": new_sid}), Some(&alice))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        error(&body).1,
        "session expired or revoked (ended): start a new session"
    );
}

#[tokio::test]
async fn revoked_and_expired_sessions_answer_not_found_over_http() {
    let config = support::config()
        .idle_timeout(std::time::Duration::from_millis(100))
        .touch_interval(std::time::Duration::ZERO);
    let db = support::temp_db("http-ended");
    let store: Arc<dyn SessionStore> = Arc::new(support::sqlite_store(&db, config).await);
    let server = Server::start(store.clone()).await;
    let carol = user("carol");
    let (revoked, expired) = (id(), id());
    let (status, _) = server
        .mutate(
            "cart.add",
            json!({"sessionId": revoked.as_str(), "item": "x"}),
            Some(&carol),
        )
        .await;
    assert_eq!(status, 200);
    store.revoke_user(&carol).await.unwrap();
    let (status, body) = server
        .query(
            "cart.get",
            json!({"sessionId": revoked.as_str()}),
            Some(&carol),
        )
        .await;
    assert_eq!(
        (status, error(&body).1),
        (
            404,
            "session expired or revoked (revoked): start a new session"
        )
    );

    // A write creates the session (a query would store nothing).
    let (status, _) = server
        .mutate(
            "cart.add",
            json!({"sessionId": expired.as_str(), "item": "x"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    store.sweep().await.unwrap();
    let (status, body) = server
        .query("cart.get", json!({"sessionId": expired.as_str()}), None)
        .await;
    assert_eq!(
        (status, error(&body).1),
        (
            404,
            "session expired or revoked (expired): start a new session"
        )
    );
}
