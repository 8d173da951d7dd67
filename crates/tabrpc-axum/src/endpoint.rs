//! The axum endpoint: reads the body within its limit and hands the request to the core.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
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
/// Mount it with [`axum::Router::nest`]; the path below the nest is the procedure path.
pub struct Endpoint<TCtx> {
    handler: Handler<TCtx>,
    make_ctx: MakeCtx<TCtx>,
}

impl<TCtx> Clone for Endpoint<TCtx> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler.clone(),
            make_ctx: self.make_ctx.clone(),
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
            handler: Handler::new(router, Config::default()),
            make_ctx: Arc::new(move |parts| Box::pin(make_ctx(parts))),
        }
    }

    /// Replaces the endpoint's [`Config`].
    pub fn with_config(self, config: Config) -> Self {
        Self {
            handler: Handler::new(self.handler.router().clone(), config),
            make_ctx: self.make_ctx,
        }
    }

    /// The axum router serving every procedure path (`/hello`, `/a,b?batch=1`, …).
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> axum::Router<S> {
        let root = self.clone();
        axum::Router::new()
            .route("/", any(move |req: Request| root.clone().call(req)))
            .route("/{*path}", any(move |req: Request| self.clone().call(req)))
    }

    /// Answers one request (what the routes of [`Endpoint::into_router`] run).
    pub async fn call(self, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let limit = self.handler.config().max_body_bytes;
        let bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => {
                let error = if err.downcast_ref::<LengthLimitError>().is_some() {
                    Error::new(ErrorCode::PayloadTooLarge).with_message(format!(
                        "The request body is larger than the server's limit of {limit} bytes"
                    ))
                } else {
                    Error::bad_request("The request body could not be read")
                };
                return into_axum(self.handler.error_response(&error));
            }
        };
        let path = parts.uri.path().to_owned();
        let make_ctx = self.make_ctx.clone();
        let response = self
            .handler
            .handle(&parts, &path, bytes, move |parts| make_ctx(parts))
            .await;
        into_axum(response)
    }
}

fn into_axum(response: http::Response<ReplyBody>) -> Response {
    response.map(|body| match body {
        ReplyBody::Full(bytes) => Body::from(bytes),
        ReplyBody::Stream(lines) => Body::from_stream(lines.map(Ok::<_, Infallible>)),
    })
}
