//! Server parity with tRPC v11 / rspc, over real sockets: around middleware (router-wide and
//! per procedure, an authed base, a transaction that commits or rolls back), response meta
//! (headers and cookies on success; the batch rule), the error hooks (`on_error`, the
//! formatter's fields, a generic INTERNAL_SERVER_ERROR) and the server-side caller answering
//! as HTTP does.

#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};
use tabrpc::{
    BuiltRouter, Error, ErrorCode, Next, Procedure, ProcedureBuilder, Reply, Router, ServerCaller,
};

/// What the middleware, the transaction and the hooks record, in order.
type Log = Arc<Mutex<Vec<String>>>;

#[derive(Clone)]
struct Ctx {
    user: Option<String>,
    log: Log,
}

/// The context of procedures made from the authed base.
struct Authed {
    user: String,
    log: Log,
}

/// The authed base: every procedure made from it refuses an anonymous caller.
fn authed() -> ProcedureBuilder<Ctx, Authed> {
    ProcedureBuilder::new().with(|ctx: Ctx| async move {
        let user = ctx
            .user
            .ok_or_else(|| Error::new(ErrorCode::Unauthorized))?;
        Ok(Authed { user, log: ctx.log })
    })
}

/// A stand-in transaction: `begin` before the handler, `commit` after success, `rollback`
/// after an error.
async fn transactional(
    ctx: Authed,
    next: Next<Authed, bool>,
) -> Result<tabrpc::plumbing::Output, Error> {
    let log = ctx.log.clone();
    log.lock().unwrap().push("begin".into());
    let result = next.run(ctx).await;
    let end = if result.is_ok() { "commit" } else { "rollback" };
    log.lock().unwrap().push(end.into());
    result
}

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct ErrorData {
    retryable: bool,
    signed_in: bool,
}

fn router(log: &Log) -> BuiltRouter<Ctx> {
    let hook_log = log.clone();
    Router::new()
        .procedure(
            "public.list",
            Procedure::query(|_: Ctx, (): ()| async {
                Reply::new(vec!["a", "b"]).header("cache-control", "public, max-age=60")
            }),
        )
        .procedure(
            "public.other",
            Procedure::query(|_: Ctx, (): ()| async {
                Reply::new(1).header("cache-control", "public, max-age=10")
            }),
        )
        .procedure(
            "public.same",
            Procedure::query(|_: Ctx, (): ()| async {
                Reply::new(2).header("cache-control", "public, max-age=60")
            }),
        )
        .procedure(
            "plain",
            Procedure::query(|_: Ctx, n: u32| async move { Ok(n + 1) }),
        )
        .procedure(
            "login",
            Procedure::mutation(|_: Ctx, (): ()| async {
                Reply::new(()).cookie("sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax")
            }),
        )
        .procedure(
            "theme",
            Procedure::mutation(|_: Ctx, theme: String| async move { Ok(theme) }).around(
                |ctx: Ctx, next| async move {
                    let cookie = format!("theme={}; Path=/", next.input());
                    let meta = next.meta().clone();
                    let out = next.run(ctx).await?;
                    // Set after the handler ran and succeeded.
                    meta.cookie(cookie)?;
                    Ok(out)
                },
            ),
        )
        .procedure(
            "me",
            authed().query(|ctx: Authed, (): ()| async move { Ok(ctx.user) }),
        )
        .procedure(
            "tx.write",
            // The transaction runs inside the authed check, around the handler.
            authed().wrap(
                Procedure::mutation(|_: Authed, fail: bool| async move {
                    if fail {
                        Err(Error::new(ErrorCode::Conflict).with_message("write refused"))
                    } else {
                        Ok("written")
                    }
                })
                .around(transactional),
            ),
        )
        .procedure(
            "boom",
            Procedure::query(|_: Ctx, (): ()| async {
                Err::<(), _>(
                    Error::new(ErrorCode::InternalServerError)
                        .with_message("db password is hunter2"),
                )
            }),
        )
        .procedure(
            "badHeader",
            Procedure::query(|_: Ctx, (): ()| async {
                Reply::new(1).header("content-type", "text/html")
            }),
        )
        .around(|ctx: Ctx, next| async move {
            // Router-wide: every call is recorded and marked.
            ctx.log
                .lock()
                .unwrap()
                .push(format!("call {}", next.call().path()));
            next.meta().set_header("x-served-by", "tabrpc")?;
            next.run(ctx).await
        })
        .build()
        .unwrap()
        .on_error(move |event| {
            let user = event.ctx.and_then(|ctx| ctx.user.clone());
            hook_log.lock().unwrap().push(format!(
                "error {} {} {}",
                event.path.unwrap_or("-"),
                event.error.code().name(),
                user.as_deref().unwrap_or("anonymous"),
            ));
        })
        .format_errors(|event| ErrorData {
            retryable: event.error.code() == ErrorCode::Timeout,
            signed_in: event.ctx.is_some_and(|ctx| ctx.user.is_some()),
        })
}

struct Server {
    base: String,
    log: Log,
    router: BuiltRouter<Ctx>,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The router served on a real socket; the caller is `x-user` (a test stand-in for a verified
/// caller).
async fn server() -> Server {
    let log: Log = Arc::default();
    let router = router(&log);
    let ctx_log = log.clone();
    let endpoint =
        tabrpc::axum::Endpoint::new(router.clone(), move |parts: &http::request::Parts| {
            let user = parts
                .headers
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let ctx = Ctx {
                user,
                log: ctx_log.clone(),
            };
            async move { Ok(ctx) }
        });
    let app = axum::Router::new().merge(endpoint.into_router_at("/trpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tabrpc::axum::serve_until(listener, app, async {
        let _ = stopped.await;
    }));
    Server {
        base: format!("http://{addr}/trpc"),
        log,
        router,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

impl Server {
    async fn send(&self, request: reqwest::RequestBuilder, user: Option<&str>) -> Answer {
        let request = match user {
            Some(user) => request
                .header("x-user", user)
                .header("authorization", "Bearer secret-token"),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A single query over GET.
    async fn query(&self, path: &str, input: Option<Value>, user: Option<&str>) -> Answer {
        let request = self.http.get(format!("{}/{path}", self.base));
        let request = match input {
            Some(input) => request.query(&[("input", input.to_string())]),
            None => request,
        };
        self.send(request, user).await
    }

    /// A single mutation over POST.
    async fn mutation(&self, path: &str, input: Option<Value>, user: Option<&str>) -> Answer {
        let request = self
            .http
            .post(format!("{}/{path}", self.base))
            .header("content-type", "application/json");
        let request = match input {
            Some(input) => request.body(input.to_string()),
            None => request,
        };
        self.send(request, user).await
    }

    /// A batch of queries over GET, without inputs.
    async fn batch(&self, paths: &[&str]) -> Answer {
        let url = format!("{}/{}?batch=1", self.base, paths.join(","));
        self.send(self.http.get(url), None).await
    }

    fn caller(&self, user: Option<&str>) -> ServerCaller<Ctx> {
        self.router.caller(Ctx {
            user: user.map(str::to_owned),
            log: self.log.clone(),
        })
    }

    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

#[tokio::test]
async fn a_public_query_sets_cache_control_and_router_middleware_runs_for_every_call() {
    let server = server().await;
    let answer = server.query("public.list", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"result": {"data": ["a", "b"]}}));
    assert_eq!(answer.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(answer.header("x-served-by"), Some("tabrpc"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(server.take_log(), ["call public.list"]);

    let plain = server.query("plain", Some(json!(4)), None).await;
    assert_eq!(plain.body, json!({"result": {"data": 5}}));
    assert_eq!(plain.header("cache-control"), None);
}

#[tokio::test]
async fn in_a_batch_a_header_is_sent_only_when_every_call_agrees() {
    let server = server().await;
    let same = server.batch(&["public.list", "public.same"]).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(same.header("x-served-by"), Some("tabrpc"));

    let differ = server.batch(&["public.list", "public.other"]).await;
    assert_eq!(differ.header("cache-control"), None);
    assert_eq!(differ.header("x-served-by"), Some("tabrpc"));

    // A call that sets nothing, or fails, keeps the header off.
    let silent = server.batch(&["public.list", "me"]).await;
    assert_eq!(silent.status, 207);
    assert_eq!(silent.header("cache-control"), None);
    assert_eq!(silent.header("x-served-by"), None);
}

#[tokio::test]
async fn cookies_are_set_on_success_and_merged_in_a_batch() {
    let server = server().await;
    let login = server.mutation("login", None, None).await;
    assert_eq!(login.status, 200);
    assert_eq!(login.body, json!({"result": {}}));
    assert_eq!(
        login.cookies(),
        ["sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax"]
    );

    let batch = server
        .send(
            server
                .http
                .post(format!("{}/login,theme?batch=1", server.base))
                .header("content-type", "application/json")
                .body(r#"{"1":"dark"}"#),
            None,
        )
        .await;
    assert_eq!(batch.status, 200);
    assert_eq!(
        batch.cookies(),
        [
            "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax",
            "theme=dark; Path=/"
        ]
    );

    // A failing call sends no cookie: `theme` refuses a number before its handler runs.
    let failed = server.mutation("theme", Some(json!(7)), None).await;
    assert_eq!(failed.status, 400);
    assert!(failed.cookies().is_empty());
}

#[tokio::test]
async fn a_framework_header_is_refused_and_internal_details_stay_on_the_server() {
    let server = server().await;
    let bad = server.query("badHeader", None, None).await;
    assert_eq!(bad.status, 500);
    assert_eq!(bad.header("content-type"), Some("application/json"));
    assert_eq!(bad.body["error"]["message"], "INTERNAL_SERVER_ERROR");

    let boom = server.query("boom", None, Some("alice")).await;
    assert_eq!(boom.status, 500);
    assert_eq!(boom.body["error"]["message"], "INTERNAL_SERVER_ERROR");
    assert!(!boom.body.to_string().contains("hunter2"), "{}", boom.body);
}

#[tokio::test]
async fn the_authed_base_refuses_anonymous_callers_and_passes_the_user_on() {
    let server = server().await;
    let anonymous = server.query("me", None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["error"]["data"]["code"], "UNAUTHORIZED");
    let alice = server.query("me", None, Some("alice")).await;
    assert_eq!(alice.body, json!({"result": {"data": "alice"}}));
}

#[tokio::test]
async fn around_middleware_commits_on_success_and_rolls_back_on_error() {
    let server = server().await;
    let ok = server
        .mutation("tx.write", Some(json!(false)), Some("alice"))
        .await;
    assert_eq!(ok.body, json!({"result": {"data": "written"}}));
    assert_eq!(server.take_log(), ["call tx.write", "begin", "commit"]);

    let refused = server
        .mutation("tx.write", Some(json!(true)), Some("alice"))
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["error"]["message"], "write refused");
    let log = server.take_log();
    assert_eq!(log[..3], ["call tx.write", "begin", "rollback"]);
    assert_eq!(log[3..], ["error tx.write CONFLICT alice"]);

    // The authed check runs first: an anonymous call opens no transaction.
    let anonymous = server.mutation("tx.write", Some(json!(false)), None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        server.take_log(),
        ["call tx.write", "error tx.write UNAUTHORIZED anonymous"]
    );
}

#[tokio::test]
async fn error_hooks_report_and_format_every_error_without_the_token() {
    let server = server().await;
    let missing = server.query("nope", None, Some("bob")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["error"]["data"],
        json!({"code": "NOT_FOUND", "httpStatus": 404, "path": "nope", "retryable": false, "signedIn": false})
    );
    let boom = server.query("boom", None, None).await;
    assert_eq!(boom.body["error"]["data"]["signedIn"], false);
    // A request refused whole (mixed kinds) is reported without a path.
    let mixed = server.batch(&["plain", "login"]).await;
    assert_eq!(mixed.status, 400);
    assert_eq!(mixed.body["error"]["data"]["retryable"], false);
    let log = server.take_log();
    assert_eq!(
        log,
        [
            // No call could run, so no context was made.
            "error nope NOT_FOUND anonymous",
            "call boom",
            "error boom INTERNAL_SERVER_ERROR anonymous",
            "error - BAD_REQUEST anonymous",
        ]
    );
    assert!(!log.concat().contains("secret-token"));
}

/// The same calls in-process and over HTTP: the same values, the same error codes, messages
/// and formatted data.
#[tokio::test]
async fn the_server_side_caller_answers_as_http_does() {
    let server = server().await;
    type Case = (&'static str, Option<Value>, Option<&'static str>, bool);
    let cases: [Case; 10] = [
        ("public.list", None, None, false),
        ("plain", Some(json!(41)), None, false),
        ("plain", Some(json!("x")), None, false),
        ("plain", None, None, false),
        ("me", None, None, false),
        ("me", None, Some("carol"), false),
        ("tx.write", Some(json!(false)), Some("carol"), true),
        ("tx.write", Some(json!(true)), Some("carol"), true),
        ("boom", None, None, false),
        ("missing.path", None, None, false),
    ];
    for (path, input, user, mutation) in cases {
        let over_http = if mutation {
            server.mutation(path, input.clone(), user).await
        } else {
            server.query(path, input.clone(), user).await
        };
        let http_log = server.take_log();
        let in_process: Result<Value, Error> = server
            .caller(user)
            .call(path, input.clone().unwrap_or(Value::Null))
            .await;
        let caller_log = server.take_log();
        assert_eq!(
            caller_log, http_log,
            "{path} {input:?}: the same middleware and hooks ran"
        );
        match in_process {
            Ok(value) => assert_eq!(
                over_http.body,
                json!({"result": {"data": value}}),
                "{path} {input:?}"
            ),
            Err(err) => {
                let wire = &over_http.body["error"];
                assert_eq!(wire["data"]["code"], err.code().name(), "{path} {input:?}");
                assert_eq!(over_http.status, err.code().http_status());
                if err.code() != ErrorCode::InternalServerError {
                    assert_eq!(wire["message"], err.message(), "{path} {input:?}");
                }
                let fields = err.data_fields().cloned().unwrap_or_default();
                assert_eq!(wire["data"]["signedIn"], fields["signedIn"], "{path}");
            }
        }
    }

    // The response meta is there for a server renderer to copy.
    let (_, meta) = server
        .caller(None)
        .call_with_meta::<Vec<String>>("public.list", ())
        .await
        .unwrap();
    assert_eq!(
        meta.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"public, max-age=60"[..])
    );
}
