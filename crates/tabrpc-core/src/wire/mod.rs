//! The HTTP protocol of tRPC v11 (`docs/wire.md`), on plain `http` types so that any
//! transport can serve it: [`Handler`] turns a request's parts and body into a response.

mod config;
mod deadline;
mod envelope;
mod exec;
mod jsonl;
mod request;
mod sse;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::join_all;
use futures_util::stream::BoxStream;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode};
use tracing::Instrument;

pub use config::Config;
pub use deadline::StreamDeadline;
pub use sse::close_subscriptions;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::middleware::{Call, Input};
use crate::procedure::{ErasedProcedure, Output, ProcedureKind};
use crate::router::BuiltRouter;

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

/// How one call ended.
type Outcome = Result<Output, Error>;

/// What a router lookup finds: the procedure's full path and the procedure.
type Found<'a, TCtx> = (&'a Arc<str>, &'a Arc<ErasedProcedure<TCtx>>);

/// The outcome of a call that was not run: its own failure, or the context's.
fn not_run<TCtx>(prepared: Prepared<TCtx>, ctx: Option<Result<TCtx, Error>>) -> Outcome {
    match (prepared, ctx) {
        (Prepared::Failed(err), _) | (Prepared::Run(..), Some(Err(err))) => Err(err),
        // A call that can run always has a context; nothing else reaches here.
        (Prepared::Run(..), _) => Err(Error::new(ErrorCode::InternalServerError)),
    }
}

/// A call after lookup: ready to run, or already failed.
enum Prepared<TCtx> {
    Run(Arc<ErasedProcedure<TCtx>>, Call),
    Failed(Error),
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
        if parts.method == Method::HEAD {
            return Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(ReplyBody::Full(Bytes::new()))
                .unwrap_or_else(|_| Response::new(ReplyBody::Full(Bytes::new())));
        }
        if let Err(err) = check_request_limits(&self.config, parts) {
            return self.error_response(&err);
        }
        let parsed = match request::parse(
            &self.config,
            &parts.method,
            &parts.headers,
            path,
            parts.uri.query(),
            &body,
        ) {
            Ok(parsed) => parsed,
            Err(err) => return self.error_response(&err),
        };
        let request::Parsed {
            is_batch,
            streaming,
            path,
            mut inputs,
        } = parsed;
        let paths = request::split_paths(&path, is_batch);
        span.record("calls", paths.len());

        // Each path is looked up once. Calls of different kinds cannot share a request (tRPC:
        // a top-level 400).
        let found: Vec<_> = paths.iter().map(|path| self.router.lookup(path)).collect();
        let mut kinds: [Option<ProcedureKind>; 3] = [None; 3];
        for (_, procedure) in found.iter().flatten() {
            let kind = procedure.meta.kind;
            if let Some(free) = kinds.iter_mut().find(|k| k.is_none_or(|k| k == kind)) {
                *free = Some(kind);
            }
        }
        if kinds[1].is_some() {
            let names: Vec<_> = kinds.iter().flatten().map(|k| k.as_str()).collect();
            return self.error_response(&Error::bad_request(format!(
                "Cannot mix procedure types in call: {}",
                names.join(", ")
            )));
        }

        // A single GET to a subscription is answered with server-sent events (section 4).
        if !is_batch
            && parts.method == Method::GET
            && let Some(Some(found)) = found.first()
            && found.1.meta.kind == ProcedureKind::Subscription
        {
            let found = *found;
            let path = found.0.clone();
            let input = with_last_event_id(inputs.take(0), &parts.headers);
            return self.sse_response(parts, path, found, input, make_ctx).await;
        }

        let mut extra_headers = HeaderMap::new();
        let prepared: Vec<(Arc<str>, Prepared<TCtx>)> = paths
            .into_iter()
            .zip(found)
            .enumerate()
            .map(|(index, (path, found))| {
                let prepared = self.prepare(
                    &parts.method,
                    is_batch,
                    path,
                    found,
                    inputs.take_input(index),
                );
                if let Prepared::Failed(err) = &prepared {
                    merge_headers(&mut extra_headers, err);
                }
                // A procedure's own path is the requested one, and shared.
                let path = found.map_or_else(|| Arc::from(path), |(full, _)| full.clone());
                (path, prepared)
            })
            .collect();

        let mut ctx = if prepared.iter().any(|(_, p)| matches!(p, Prepared::Run(..))) {
            Some(make_ctx(parts).await)
        } else {
            None
        };
        let timeout = self.config.call_timeout;
        let last = prepared.len().saturating_sub(1);
        // The last call takes the context itself: a single call never clones it.
        let mut ctx_for = move |index: usize| {
            if index == last {
                ctx.take()
            } else {
                ctx.clone()
            }
        };

        if streaming {
            let outcomes = prepared
                .into_iter()
                .enumerate()
                .map(|(index, (path, prepared))| {
                    let ctx = ctx_for(index);
                    // Boxed: the call's future is large (context, input, timer, span) and
                    // collecting would otherwise copy it several times per call.
                    let future: futures_util::future::BoxFuture<'static, _> =
                        Box::pin(async move {
                            match (prepared, ctx) {
                                (Prepared::Run(procedure, call), Some(Ok(ctx))) => {
                                    exec::run(procedure, ctx, call, timeout).await
                                }
                                (prepared, ctx) => not_run(prepared, ctx),
                            }
                        });
                    (path, future)
                })
                .collect();
            return self.jsonl_response(outcomes, extra_headers, StreamDeadline::of(parts));
        }

        // Every call is begun right here, on this task, up to its first wait: most answer at
        // once. Only the calls still pending then are boxed, timed and joined (they run
        // concurrently from there).
        let mut prepared = Some(prepared);
        let (mut settled, pending) = std::future::poll_fn(|cx| {
            let prepared = prepared.take().unwrap_or_default();
            // Per call: its path and, unless still pending, its outcome.
            let mut settled: Vec<(Arc<str>, Option<Outcome>)> = Vec::with_capacity(prepared.len());
            let mut pending = Vec::new();
            for (index, (path, prepared)) in prepared.into_iter().enumerate() {
                let result = match (prepared, ctx_for(index)) {
                    (Prepared::Run(procedure, call), Some(Ok(ctx))) => {
                        match exec::start(&procedure, ctx, call, timeout, cx) {
                            exec::Started::Done(result) => Some(result),
                            exec::Started::Pending(future) => {
                                pending.push((index, future));
                                None
                            }
                        }
                    }
                    (prepared, ctx) => Some(not_run(prepared, ctx)),
                };
                settled.push((path, result));
            }
            std::task::Poll::Ready((settled, pending))
        })
        .await;
        // Only the pending ones are joined: joining every call, the finished ones too, costs
        // 2.5% of the server's instructions at batch 10 (callgrind: 137.3k against 133.6k).
        for (index, result) in join_all(
            pending
                .into_iter()
                .map(|(index, future)| async move { (index, future.await) }),
        )
        .await
        {
            if let Some(slot) = settled.get_mut(index) {
                slot.1 = Some(result);
            }
        }
        let settled = settled
            .into_iter()
            .map(|(path, result)| {
                let result =
                    result.unwrap_or_else(|| Err(Error::new(ErrorCode::InternalServerError)));
                (path, result)
            })
            .collect();
        self.finish_json(is_batch, settled, extra_headers)
    }

    /// The JSON reply of a (non-streaming) request whose calls all settled.
    fn finish_json(
        &self,
        is_batch: bool,
        settled: Vec<(Arc<str>, Outcome)>,
        extra_headers: HeaderMap,
    ) -> Response<ReplyBody> {
        let stream_like = || {
            Error::new(ErrorCode::UnsupportedMediaType).with_message(
                "Cannot use stream-like response in non-streaming request - use httpBatchStreamLink",
            )
        };
        // tRPC: a single (non-batch) call whose output is a stream fails the whole request;
        // in a batch only that item fails.
        if !is_batch
            && matches!(
                settled.first(),
                Some((_, Ok(Output::Stream(_) | Output::Events(_))))
            )
        {
            return self.error_response(&stream_like());
        }
        let settled = settled
            .into_iter()
            .map(|(path, result)| match result {
                Ok(Output::Stream(_) | Output::Events(_)) => (path, Err(stream_like())),
                other => (path, other),
            })
            .collect();
        self.json_response(is_batch, settled, extra_headers)
    }

    /// Readies the call of `path`, whose lookup in the router gave `found`.
    fn prepare(
        &self,
        method: &Method,
        is_batch: bool,
        path: &str,
        found: Option<Found<'_, TCtx>>,
        input: Result<Input, Error>,
    ) -> Prepared<TCtx> {
        let Some((full_path, procedure)) = found else {
            return Prepared::Failed(
                Error::new(ErrorCode::NotFound)
                    .with_message(format!("No procedure found on path \"{path}\"")),
            );
        };
        let kind = procedure.meta.kind;
        let (allowed, ok): (&'static str, bool) = match kind {
            ProcedureKind::Query if self.config.allow_method_override => (
                "GET, POST",
                *method == Method::GET || *method == Method::POST,
            ),
            ProcedureKind::Query | ProcedureKind::Subscription => ("GET", *method == Method::GET),
            ProcedureKind::Mutation => ("POST", *method == Method::POST),
        };
        if !ok {
            return Prepared::Failed(
                Error::new(ErrorCode::MethodNotSupported)
                    .with_message(format!(
                        "Unsupported {method}-request to {kind} procedure at path \"{path}\""
                    ))
                    .with_header(header::ALLOW, HeaderValue::from_static(allowed)),
            );
        }
        if kind == ProcedureKind::Subscription && is_batch {
            return Prepared::Failed(Error::bad_request("Cannot batch subscription calls"));
        }
        // Inputs are read lazily, as in tRPC: a procedure that reads none never sees a failure
        // to read them.
        let input = if procedure.meta.reads_input {
            input
        } else {
            Ok(Input::Value(serde_json::Value::Null))
        };
        match input {
            Ok(input) => Prepared::Run(
                procedure.clone(),
                Call::with_input(full_path.clone(), kind, input),
            ),
            Err(err) => Prepared::Failed(err),
        }
    }

    async fn sse_response<F, Fut>(
        &self,
        parts: &Parts,
        path: Arc<str>,
        found: Found<'_, TCtx>,
        input: Result<serde_json::Value, Error>,
        make_ctx: F,
    ) -> Response<ReplyBody>
    where
        F: FnOnce(&Parts) -> Fut,
        Fut: Future<Output = Result<TCtx, Error>>,
    {
        let setup: futures_util::future::BoxFuture<'static, Result<Output, Error>> = match self
            .prepare(
                &parts.method,
                false,
                &path,
                Some(found),
                input.map(Input::Value),
            ) {
            Prepared::Failed(err) => Box::pin(std::future::ready(Err(err))),
            Prepared::Run(procedure, call) => match make_ctx(parts).await {
                Ok(ctx) => Box::pin(exec::run(procedure, ctx, call, self.config.call_timeout)),
                Err(err) => Box::pin(std::future::ready(Err(err))),
            },
        };
        let deadline = StreamDeadline::of(parts);
        let body = sse::events(path, setup, self.config.sse_ping_interval, deadline);
        let mut response = Response::new(ReplyBody::Stream(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        );
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }

    fn json_response(
        &self,
        is_batch: bool,
        settled: Vec<(Arc<str>, Outcome)>,
        mut headers: HeaderMap,
    ) -> Response<ReplyBody> {
        // Room for the envelopes around the values; errors may still grow it.
        let capacity = settled
            .iter()
            .map(|(_, result)| match result {
                Ok(Output::Value(raw)) => raw.get().len() + 24,
                _ => 160,
            })
            .sum::<usize>()
            + 2;
        let mut body = Vec::with_capacity(capacity);
        // tRPC: one status shared by every item, or 207 when they differ.
        let mut shared_status: Option<u16> = None;
        let mut mixed = false;
        if is_batch {
            body.push(b'[');
        }
        for (i, (path, result)) in settled.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            match result {
                Ok(Output::Value(raw)) => envelope::write_result(&mut body, Some(raw)),
                Ok(_) => envelope::write_result(&mut body, None),
                Err(err) => {
                    merge_headers(&mut headers, err);
                    envelope::write_error(&mut body, err, Some(path));
                }
            }
            let status = result
                .as_ref()
                .map_or_else(|e| e.code().http_status(), |_| 200);
            match shared_status {
                None => shared_status = Some(status),
                Some(shared) => mixed |= shared != status,
            }
        }
        if is_batch {
            body.push(b']');
        }
        let status = match shared_status {
            Some(one) if !mixed => one,
            _ => 207,
        };
        json_reply(status, headers, Bytes::from(body))
    }

    fn jsonl_response(
        &self,
        outcomes: Vec<(
            Arc<str>,
            impl Future<Output = Result<Output, Error>> + Send + 'static,
        )>,
        headers: HeaderMap,
        deadline: Option<StreamDeadline>,
    ) -> Response<ReplyBody> {
        let count = outcomes.len();
        let items = outcomes
            .into_iter()
            .enumerate()
            .map(|(index, (path, future))| {
                // Chunk ids 0..count are the items; a streamed output takes two more.
                let ids = (count + 2 * index, count + 2 * index + 1);
                jsonl::item(index, path, future, ids, deadline)
            })
            .collect();
        let stream = jsonl::merge(jsonl::head(count), items);
        let mut response = Response::new(ReplyBody::Stream(stream));
        *response.headers_mut() = headers;
        set_json_headers(response.headers_mut());
        response
    }

    /// A request-level error as tRPC sends it: a single envelope without `data.path`, with the
    /// status of its code. Transports use it for refusals of their own (a body over the limit).
    pub fn error_response(&self, err: &Error) -> Response<ReplyBody> {
        error_response(err)
    }
}

/// A request-level error as tRPC sends it (a single envelope without `data.path`, with the
/// status of its code and `content-type: application/json`), for refusals made outside a
/// [`Handler`]: a layer in front of the endpoint answers in the same shape as the endpoint.
///
/// ```
/// use tabrpc_core::Error;
/// let response = tabrpc_core::wire::error_response(&Error::bad_request("too big"));
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub fn error_response(err: &Error) -> Response<ReplyBody> {
    let span = tracing::Span::current();
    exec::log_error(&span, "", err);
    let mut body = Vec::with_capacity(160);
    envelope::write_error(&mut body, err, None);
    let mut headers = HeaderMap::new();
    merge_headers(&mut headers, err);
    json_reply(err.code().http_status(), headers, Bytes::from(body))
}

/// Checks the request's head against [`Config::max_url_bytes`] and
/// [`Config::max_header_bytes`] (each header counts its name, its value and 4 bytes of
/// framing). Cheap: it reads lengths only, never a value, so a layer can run it before any
/// credential is read.
///
/// # Errors
///
/// A 400 BAD_REQUEST whose message names the limit, to answer with [`error_response`].
pub fn check_request_limits(config: &Config, parts: &Parts) -> Result<(), Error> {
    let url_len = uri_len(&parts.uri);
    if url_len > config.max_url_bytes {
        return Err(Error::bad_request(format!(
            "The URL is {url_len} bytes long; the server's limit is {} (send a smaller batch)",
            config.max_url_bytes
        )));
    }
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > config.max_header_bytes {
        return Err(Error::bad_request(format!(
            "The request headers are {header_bytes} bytes; the server's limit is {}",
            config.max_header_bytes
        )));
    }
    Ok(())
}

/// tRPC: on reconnect the browser sends `Last-Event-ID`, which reaches the procedure as the
/// input's `lastEventId` (set on an object input, or the whole input when there is none).
/// A resume id is a cursor, never a credential: the resumed stream is answered for the caller
/// of this request, whoever opened the stream it continues.
fn with_last_event_id(
    input: Result<serde_json::Value, Error>,
    headers: &HeaderMap,
) -> Result<serde_json::Value, Error> {
    let Some(id) = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return input;
    };
    input.map(|value| match value {
        serde_json::Value::Object(mut map) => {
            map.insert("lastEventId".into(), serde_json::Value::String(id));
            serde_json::Value::Object(map)
        }
        serde_json::Value::Null => serde_json::json!({ "lastEventId": id }),
        other => other,
    })
}

/// The length of `uri` as its `Display` writes it, without writing it.
fn uri_len(uri: &http::Uri) -> usize {
    uri.scheme_str()
        .map_or(0, |scheme| scheme.len() + "://".len())
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path().len()
        + uri.query().map_or(0, |query| query.len() + 1)
}

fn merge_headers(into: &mut HeaderMap, err: &Error) {
    if let Some(headers) = err.headers() {
        for (name, value) in headers {
            let present = into.get_all(name).iter().any(|v| v == value);
            if !present {
                into.append(name.clone(), value.clone());
            }
        }
    }
}

fn set_json_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("trpc-accept, accept"),
    );
}

fn json_reply(status: u16, mut headers: HeaderMap, body: Bytes) -> Response<ReplyBody> {
    set_json_headers(&mut headers);
    let mut response = Response::new(ReplyBody::Full(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_len_is_the_length_of_the_written_uri() {
        for text in [
            "/trpc/a,b?batch=1&input=%7B%7D",
            "/trpc/hello",
            "/",
            "http://example.test:8080/trpc/a?x=1",
            "https://example.test",
            "/a?",
        ] {
            let uri: http::Uri = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(uri_len(&uri), uri.to_string().len(), "{text}");
        }
    }
}
