//! The axum endpoint: reads the body within its limit and hands the request to the core.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tabrpc_core::wire::{Config, Handler, ReplyBody};
use tabrpc_core::{BuiltRouter, Error, ErrorCode};

type MakeCtx<TCtx> = Arc<dyn Fn(&Parts) -> BoxFuture<'static, Result<TCtx, Error>> + Send + Sync>;

/// A tabrpc endpoint for axum: a router, its [`Config`], and the function that makes the
/// context of each request from the request's parts.
///
/// Mount it with [`axum::Router::nest`] and [`Endpoint::into_router`] (the path below the nest
/// is the procedure path), or, a little cheaper per request, with [`axum::Router::merge`] and
/// [`Endpoint::into_router_at`]. It is also a [`tower::Service`] answering every request it is
/// given, with the whole URL path as the procedure path.
pub struct Endpoint<TCtx> {
    shared: Arc<Shared<TCtx>>,
}

struct Shared<TCtx> {
    handler: Handler<TCtx>,
    make_ctx: MakeCtx<TCtx>,
    /// The URL path the endpoint is mounted at by [`Endpoint::into_router_at`] (no trailing
    /// `/`), removed from each request's path; empty otherwise.
    base: Box<str>,
}

impl<TCtx> Clone for Endpoint<TCtx> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<TCtx: Clone + Send + Sync + 'static> Endpoint<TCtx> {
    /// An endpoint with the default [`Config`]. `make_ctx` runs once per request, and only when
    /// at least one call of the request can run; its error answers every call of the request.
    pub fn new<F, Fut>(router: BuiltRouter<TCtx>, make_ctx: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TCtx, Error>> + Send + 'static,
    {
        Self {
            shared: Arc::new(Shared {
                handler: Handler::new(router, Config::default()),
                make_ctx: Arc::new(move |parts| Box::pin(make_ctx(parts))),
                base: "".into(),
            }),
        }
    }

    /// Replaces the endpoint's [`Config`].
    pub fn with_config(self, config: Config) -> Self {
        let shared = &self.shared;
        Self {
            shared: Arc::new(Shared {
                handler: Handler::new(shared.handler.router().clone(), config),
                make_ctx: shared.make_ctx.clone(),
                base: shared.base.clone(),
            }),
        }
    }

    /// The axum router serving every procedure path (`/hello`, `/a,b?batch=1`, …), to be
    /// mounted with [`axum::Router::nest`].
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> axum::Router<S> {
        axum::Router::new()
            .route_service("/", self.clone())
            .route_service("/{*path}", self)
    }

    /// The axum router serving every procedure path below `base` (`/trpc` serves
    /// `/trpc/hello`, `/trpc/a,b?batch=1`, …), to be mounted with [`axum::Router::merge`]:
    /// the same as `Router::new().nest(base, endpoint.into_router())`, without the
    /// per-request rewriting of the URL that nesting does. A trailing `/` of `base` is ignored;
    /// an empty `base` (or `/`) serves at the root.
    ///
    /// # Panics
    ///
    /// As [`axum::Router::route`], when `base` is not a valid route path (for example when it
    /// does not start with `/`, or contains `{`); only when the router is built, never on a
    /// request.
    pub fn into_router_at<S: Clone + Send + Sync + 'static>(self, base: &str) -> axum::Router<S> {
        let base = base.trim_end_matches('/');
        if base.is_empty() {
            return self.into_router();
        }
        let endpoint = Self {
            shared: Arc::new(Shared {
                handler: self.shared.handler.clone(),
                make_ctx: self.shared.make_ctx.clone(),
                base: base.into(),
            }),
        };
        // The routes `nest` would make: the base itself and every path below it.
        axum::Router::new()
            .route_service(base, endpoint.clone())
            .route_service(&format!("{base}/{{*path}}"), endpoint)
    }

    /// Answers one request (what the routes of [`Endpoint::into_router`] run).
    pub async fn call(self, req: Request) -> Response {
        #[cfg_attr(not(feature = "auth"), allow(unused_mut))]
        let (mut parts, body) = req.into_parts();
        #[cfg(feature = "auth")]
        set_stream_deadline(&mut parts);
        let shared = &*self.shared;
        // A request without a body (every GET that httpBatchLink sends) needs no collecting.
        let bytes = if body.is_end_stream() {
            Bytes::new()
        } else {
            let limit = shared.handler.config().max_body_bytes;
            match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err) => {
                    let error = if err.downcast_ref::<LengthLimitError>().is_some() {
                        Error::new(ErrorCode::PayloadTooLarge).with_message(format!(
                            "The request body is larger than the server's limit of {limit} bytes"
                        ))
                    } else if let Some(late) = crate::RequestBodyTimeout::find(&*err) {
                        Error::new(ErrorCode::Timeout).with_message(format!(
                            "The request body did not arrive within {} s",
                            late.timeout.as_secs_f32()
                        ))
                    } else {
                        Error::bad_request("The request body could not be read")
                    };
                    return into_axum(shared.handler.error_response(&error));
                }
            }
        };
        // The routes only match paths below the base, so the prefix is there; the fallback
        // keeps a direct caller of this method from a panic.
        let path = parts.uri.path();
        let path = path.strip_prefix(&*shared.base).unwrap_or(path);
        let make_ctx = &shared.make_ctx;
        let response = shared
            .handler
            .handle(&parts, path, bytes, |parts| make_ctx(parts))
            .await;
        into_axum(response)
    }
}

impl<TCtx: Clone + Send + Sync + 'static> tower::Service<Request> for Endpoint<TCtx> {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move { Ok(endpoint.call(req).await) })
    }
}

/// auth.md section 3: a stream ends no later than the token of the caller that opened it
/// expires (`exp`, without the verifier's leeway), so that a stream outliving its credentials
/// is reopened with fresh ones. The caller is the one `AuthLayer` resolved; an anonymous one,
/// or an identity no token vouches for (`exp` 0), sets no deadline. A deadline set earlier (by
/// another layer) is kept if it is sooner.
#[cfg(feature = "auth")]
fn set_stream_deadline(parts: &mut Parts) {
    use tabrpc_core::wire::StreamDeadline;
    let exp = parts
        .extensions
        .get::<tabrpc_auth::Caller>()
        .and_then(|caller| caller.identity().authenticated())
        .map(|who| who.claims.exp)
        .filter(|exp| *exp != 0);
    if let Some(exp) = exp {
        let deadline = StreamDeadline::at_unix_secs(exp);
        let sooner = match parts.extensions.get::<StreamDeadline>() {
            Some(set) => deadline.min(*set),
            None => deadline,
        };
        parts.extensions.insert(sooner);
    }
}

pub(crate) fn into_axum(response: http::Response<ReplyBody>) -> Response {
    response.map(|body| match body {
        ReplyBody::Full(bytes) => Body::from(bytes),
        ReplyBody::Stream(lines) => Body::from_stream(lines.map(Ok::<_, Infallible>)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use tabrpc_core::{Procedure, Router};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[derive(Clone)]
    struct Ctx;

    fn endpoint() -> Endpoint<Ctx> {
        let built = Router::new()
            .procedure(
                "hello",
                Procedure::query(|_: Ctx, who: Option<String>| async move {
                    Ok::<_, Error>(format!("hello {}", who.as_deref().unwrap_or("world")))
                }),
            )
            .procedure(
                "echo",
                Procedure::mutation(|_: Ctx, text: String| async move { Ok::<_, Error>(text) }),
            )
            .build()
            .unwrap();
        Endpoint::new(built, |_: &Parts| async { Ok(Ctx) })
    }

    /// Serves `app` on a real socket; the server stops when the returned sender is dropped.
    async fn serve(app: axum::Router) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::serve_until(listener, app, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// One HTTP/1.1 request; the status and the body.
    async fn send(
        addr: std::net::SocketAddr,
        method: &str,
        target: &str,
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    const REQUESTS: [(&str, &str, &str); 9] = [
        ("GET", "/trpc/hello", ""),
        ("GET", "/trpc/hello?input=%22ann%22", ""),
        (
            "GET",
            "/trpc/hello,hello?batch=1&input=%7B%221%22%3A%22bo%22%7D",
            "",
        ),
        ("GET", "/trpc/hello/", ""),
        ("GET", "/trpc/nope", ""),
        ("GET", "/trpc", ""),
        ("GET", "/trpc/", ""),
        ("POST", "/trpc/echo", "\"text\""),
        ("POST", "/trpc/echo,echo?batch=1", r#"{"0":"a","1":"b"}"#),
    ];

    #[tokio::test]
    async fn mounted_at_a_base_it_answers_as_when_nested() {
        let (nested, _stop_nested) =
            serve(axum::Router::new().nest("/trpc", endpoint().into_router())).await;
        let (at_base, _stop_at_base) =
            serve(axum::Router::new().merge(endpoint().into_router_at("/trpc/"))).await;
        for (method, target, body) in REQUESTS {
            let expected = send(nested, method, target, body).await;
            assert_eq!(
                send(at_base, method, target, body).await,
                expected,
                "{method} {target}"
            );
        }
        assert_eq!(
            send(at_base, "GET", "/trpc/hello?input=%22ann%22", "").await,
            (200, r#"{"result":{"data":"hello ann"}}"#.to_owned())
        );
        assert_eq!(
            send(
                at_base,
                "POST",
                "/trpc/echo,echo?batch=1",
                r#"{"0":"a","1":"b"}"#
            )
            .await,
            (
                200,
                r#"[{"result":{"data":"a"}},{"result":{"data":"b"}}]"#.to_owned()
            )
        );
        assert_eq!(send(at_base, "GET", "/other/hello", "").await.0, 404);
    }

    #[tokio::test]
    async fn an_empty_base_serves_at_the_root() {
        let (addr, _stop) = serve(axum::Router::new().merge(endpoint().into_router_at("/"))).await;
        assert_eq!(
            send(addr, "GET", "/hello", "").await,
            (200, r#"{"result":{"data":"hello world"}}"#.to_owned())
        );
    }
}
