//! The HTTP protocol of tRPC v11 (`docs/wire.md`), on plain `http` types so that any
//! transport can serve it: [`Handler`] turns a request's parts and body into a response.

//!
//! A request goes through three steps, one module each: `plan` decodes it into the calls to
//! run, `schedule` runs them (the one place that decides how), and `reply` writes their
//! outcomes as JSON, JSONL or server-sent events.

mod config;
mod deadline;
mod ends;
mod envelope;
mod exec;
mod jsonl;
mod plan;
mod reply;
mod request;
mod schedule;
mod shutdown;
mod sse;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use http::request::Parts;
use http::{Method, Response};
use tracing::Instrument;

pub use crate::transform::Transformer;
pub use config::Config;
pub use deadline::StreamDeadline;
pub use plan::check_request_limits;
pub use reply::error_response;
pub use shutdown::Shutdown;

pub(crate) use exec::run as run_call;

use crate::error::Error;
use crate::router::BuiltRouter;
use crate::transform;

/// A response body: all at once, or (for the JSONL streaming batch) line by line.
pub enum ReplyBody {
    /// The whole body.
    Full(Bytes),
    /// Lines sent as calls settle.
    Stream(BoxStream<'static, Bytes>),
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyBody::Full(bytes) => f.debug_tuple("Full").field(bytes).finish(),
            ReplyBody::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Serves a [`BuiltRouter`] over HTTP by the tRPC v11 protocol.
///
/// The transport reads the body (enforcing [`Config::max_body_bytes`]; see
/// [`Handler::error_response`] for its refusal) and calls [`Handler::handle`] with the path
/// below the endpoint's base. The context is made once per request, only when at least one call
/// can run, by the `make_ctx` function given to `handle`.
pub struct Handler<TCtx> {
    router: BuiltRouter<TCtx>,
    config: Arc<Config>,
}

impl<TCtx> Clone for Handler<TCtx> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            config: self.config.clone(),
        }
    }
}

impl<TCtx: Clone + Send + Sync + 'static> Handler<TCtx> {
    /// A handler for `router` with `config`.
    pub fn new(router: BuiltRouter<TCtx>, config: Config) -> Self {
        Self {
            router,
            config: Arc::new(config),
        }
    }

    /// The handler's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The router it serves.
    pub fn router(&self) -> &BuiltRouter<TCtx> {
        &self.router
    }

    /// Answers one HTTP request. `path` is the URL path below the endpoint's base (still
    /// percent-encoded), `body` the whole request body. Never panics; every failure is an error
    /// envelope with the status of its code.
    pub async fn handle<F, Fut>(
        &self,
        parts: &Parts,
        path: &str,
        body: Bytes,
        make_ctx: F,
    ) -> Response<ReplyBody>
    where
        F: FnOnce(&Parts) -> Fut,
        Fut: Future<Output = Result<TCtx, Error>>,
    {
        let span = tracing::info_span!(
            "rpc.request",
            method = %parts.method,
            calls = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        let response = self
            .handle_inner(parts, path, body, make_ctx, &span)
            .instrument(span.clone())
            .await;
        span.record("status", response.status().as_u16());
        response
    }

    async fn handle_inner<F, Fut>(
        &self,
        parts: &Parts,
        path: &str,
        body: Bytes,
        make_ctx: F,
        span: &tracing::Span,
    ) -> Response<ReplyBody>
    where
        F: FnOnce(&Parts) -> Fut,
        Fut: Future<Output = Result<TCtx, Error>>,
    {
        // HEAD runs nothing.
        if parts.method == Method::HEAD {
            return reply::no_content();
        }
        // 1. Plan: the calls, looked up and checked; a request-level problem refuses it whole.
        let plan = match plan::plan(&self.router, &self.config, parts, path, &body) {
            Ok(plan) => plan,
            Err(err) => return self.error_response(&err),
        };
        span.record("calls", plan.calls.len());
        // 2. The context: made once, and only when a call can run.
        let ctx = if plan.needs_context() {
            Some(make_ctx(parts).await)
        } else {
            None
        };
        // 3. Run the calls.
        let plan::Plan {
            reply: kind,
            calls,
            headers,
        } = plan;
        let hooks = self.router.hooks();
        let hook_ctx = if hooks.is_empty() {
            None
        } else {
            ctx.as_ref().and_then(|ctx| ctx.as_ref().ok()).cloned()
        };
        let transformer = match kind {
            plan::ReplyKind::Json { .. } => self.config.transformer,
            _ => Transformer::Json,
        };
        let ran = transform::scoped(
            transformer,
            schedule::run(calls, kind, ctx, self.config.call_timeout),
        )
        .await;
        // 4. The error hooks, when the router has any.
        let ran = if hooks.is_empty() {
            ran
        } else {
            self.report(ran, hook_ctx)
        };
        // 5. Reply.
        reply::reply(ran, headers, &self.config, parts)
    }

    /// A request-level error as tRPC sends it: a single envelope without `data.path`, with the
    /// status of its code. Transports use it for refusals of their own (a body over the limit).
    /// The router's error hooks ([`BuiltRouter::on_error`], [`BuiltRouter::format_errors`])
    /// run for it.
    pub fn error_response(&self, err: &Error) -> Response<ReplyBody> {
        let hooks = self.router.hooks();
        let transformer = self.config.transformer;
        if hooks.is_empty() {
            return reply::error_response_as(err, transformer);
        }
        reply::error_response_as(&hooks.apply(err.clone(), None, None, None), transformer)
    }

    /// Runs the error hooks on every error of `ran` (for a streamed reply, as each call
    /// settles; an error ending a stream midway is not reported).
    fn report(&self, ran: schedule::Ran, ctx: Option<TCtx>) -> schedule::Ran {
        use futures_util::FutureExt;
        use schedule::Ran;
        let router = self.router.clone();
        let ctx = Arc::new(ctx);
        let report = move |path: &str, outcome: schedule::Outcome| {
            outcome.map_err(|err| {
                let kind = router.get(path).map(|(_, p)| p.meta().kind);
                router
                    .hooks()
                    .apply(err, Some(path), kind, Option::as_ref(&ctx))
            })
        };
        match ran {
            Ran::Json {
                is_batch,
                settled,
                metas,
            } => Ran::Json {
                is_batch,
                settled: settled
                    .into_iter()
                    .map(|(path, outcome)| {
                        let outcome = report(&path, outcome);
                        (path, outcome)
                    })
                    .collect(),
                metas,
            },
            Ran::Jsonl(calls) => Ran::Jsonl(
                calls
                    .into_iter()
                    .map(|(path, call)| {
                        let report = report.clone();
                        let at = path.clone();
                        let call = call.map(move |outcome| report(&at, outcome)).boxed();
                        (path, call)
                    })
                    .collect(),
            ),
            Ran::Sse(path, setup) => {
                let at = path.clone();
                Ran::Sse(path, setup.map(move |outcome| report(&at, outcome)).boxed())
            }
        }
    }
}
