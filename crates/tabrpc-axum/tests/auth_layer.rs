//! `AuthLayer` over real sockets: the request limits it enforces before reading any credential
//! (on every route it covers, with the endpoint's error envelope), and whose account the
//! session cookie answers for (`auth.md` §1 rule 4).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::request::Parts;
use serde_json::Value;
use tabrpc_auth::dev_idp::DevIdp;
use tabrpc_auth::{Caller, Resolver};
use tabrpc_axum::Endpoint;
use tabrpc_axum::auth::{AuthLayer, CurrentCaller, caller};
use tabrpc_core::protocol::{ACCOUNT_HEADER, MARKER_HEADER};
use tabrpc_core::{Procedure, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Generous: only there so that a hung server fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(30);

fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| DevIdp::generate("https://idp.tabrpc.test").unwrap())
}

#[derive(Clone)]
struct Ctx {
    caller: Caller,
}

/// `/trpc` (a public `hello` and a `me` that needs a user) and a plain `/static` route, all
/// behind `layer`.
async fn serve(layer: impl FnOnce(Arc<Resolver>) -> AuthLayer) -> SocketAddr {
    let verifier = idp().verifier_builder().build().await.unwrap();
    let resolver = Arc::new(Resolver::new(verifier));
    let built = Router::new()
        .procedure(
            "hello",
            Procedure::query(|_: Ctx, (): ()| async { Ok("hi") }),
        )
        .procedure(
            "me",
            Procedure::query(|ctx: Ctx, (): ()| async move {
                ctx.caller.require().map(|who| who.user_id.clone())
            }),
        )
        .build()
        .unwrap();
    let endpoint = Endpoint::new(built, |parts: &Parts| {
        let caller = caller(parts);
        async move { Ok(Ctx { caller }) }
    });
    let app = axum::Router::new()
        .nest("/trpc", endpoint.into_router())
        .route(
            "/static",
            axum::routing::get(|CurrentCaller(_): CurrentCaller| async { "static" }),
        )
        .layer(layer(resolver));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tabrpc_axum::serve_until(
        listener,
        app,
        std::future::pending(),
    ));
    addr
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 GET with these extra headers, read to the end.
async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut request = format!("GET {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        // The server may answer (and close) before it has read a huge head: ignore write errors.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = tokio::time::timeout(HANG, exchange)
        .await
        .expect("the server answers");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {response:?}"));
    Reply {
        status: head[9..12].parse().unwrap(),
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

#[track_caller]
fn assert_limit_envelope(reply: &Reply, limit: &str) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.head.contains("content-type: application/json"),
        "{}",
        reply.head
    );
    let error = &reply.json()["error"];
    assert_eq!(error["data"]["code"], "BAD_REQUEST", "{error}");
    assert_eq!(error["data"]["httpStatus"], 400, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(limit), "{message}");
}

fn session_cookies(count: usize) -> String {
    (0..count)
        .map(|i| format!("__session=junk{i}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn twenty_thousand_session_cookies_are_refused_and_the_server_stays_responsive() {
    let addr = serve(AuthLayer::new).await;
    let cookie = session_cookies(20_000);
    for target in ["/static", "/trpc/me"] {
        let reply = get(addr, target, &[("cookie", &cookie)]).await;
        // Over the HTTP server's head limit (431) or tabrpc's header limit (400): refused
        // either way, before any cookie is read.
        assert!(
            matches!(reply.status, 400 | 431),
            "{target}: {} {}",
            reply.status,
            reply.body
        );
    }
    let normal = get(addr, "/trpc/hello", &[]).await;
    assert_eq!(normal.status, 200, "{}", normal.body);
}

#[tokio::test]
async fn headers_over_the_limit_are_refused_with_an_envelope_on_every_route() {
    let addr = serve(AuthLayer::new).await;
    // About 70 KiB: over the 64 KiB default, under what the HTTP server buffers.
    let cookie = session_cookies(5_000);
    assert!((64 * 1024..100 * 1024).contains(&cookie.len()));
    for target in ["/static", "/trpc/hello", "/trpc/me", "/nowhere"] {
        let reply = get(addr, target, &[("cookie", &cookie)]).await;
        assert_limit_envelope(&reply, "65536");
    }
    assert_eq!(get(addr, "/static", &[]).await.status, 200);
}

#[tokio::test]
async fn the_limits_are_configurable() {
    let addr = serve(|resolver| {
        AuthLayer::new(resolver)
            .max_header_bytes(1024)
            .max_url_bytes(100)
    })
    .await;
    let cookie = session_cookies(100);
    assert_limit_envelope(&get(addr, "/static", &[("cookie", &cookie)]).await, "1024");
    let long_url = format!("/static?{}", "x".repeat(200));
    assert_limit_envelope(&get(addr, &long_url, &[]).await, "100");
    assert_eq!(
        get(addr, "/static", &[("cookie", "__session=a")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_default_limits_are_the_wire_configs() {
    let defaults = tabrpc_core::wire::Config::default();
    let addr =
        serve(|resolver| AuthLayer::new(resolver).limits(&defaults.clone().max_header_bytes(2048)))
            .await;
    let cookie = session_cookies(200);
    assert_limit_envelope(&get(addr, "/static", &[("cookie", &cookie)]).await, "2048");
}

#[tokio::test]
async fn a_cookie_for_another_account_answers_401_over_http() {
    let addr = serve(AuthLayer::new).await;
    let cookie = |sub: &str| {
        format!(
            "__session={}",
            idp()
                .sign_session(sub, &format!("sess_{sub}"), None)
                .unwrap()
        )
    };
    let bob = cookie("bob");
    let alice = cookie("alice");

    let reply = get(
        addr,
        "/trpc/me",
        &[("cookie", &bob), (ACCOUNT_HEADER, "alice")],
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(
        reply.json()["error"]["data"]["reason"],
        "credentials_refused"
    );

    let reply = get(
        addr,
        "/trpc/me",
        &[("cookie", &alice), (ACCOUNT_HEADER, "alice")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["result"]["data"], "alice");

    let reply = get(
        addr,
        "/trpc/me",
        &[
            ("cookie", &alice),
            (ACCOUNT_HEADER, "alice"),
            (MARKER_HEADER, "1"),
        ],
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}
