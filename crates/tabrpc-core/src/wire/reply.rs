//! Replying: the outcomes of a request's calls as an HTTP response, in JSON (one envelope or an
//! array, with the status they share or 207), JSONL (lines as calls settle) or server-sent
//! events (a subscription), and the request-level error envelope.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::meta::{self, Collected};
use crate::procedure::Output;
use crate::transform::{self, Transformer};
use crate::wire::ends::StreamEnds;
use crate::wire::schedule::{Outcome, Ran};
use crate::wire::{Config, ReplyBody, envelope, exec, jsonl, sse};

/// The response for the calls of a request, run: `headers` are those of the calls refused
/// while planning; `parts` give the bounds of the streams it opens.
pub(crate) fn reply(
    ran: Ran,
    headers: HeaderMap,
    config: &Config,
    parts: &Parts,
) -> Response<ReplyBody> {
    match ran {
        Ran::Json {
            is_batch,
            settled,
            metas,
        } => json(is_batch, settled, &metas, headers, config.transformer),
        Ran::Jsonl(outcomes) => {
            let ends = StreamEnds::of(parts);
            let count = outcomes.len();
            let items = outcomes
                .into_iter()
                .enumerate()
                .map(|(index, (path, outcome))| {
                    // Chunk ids 0..count are the items; a streamed output takes two more.
                    let ids = (count + 2 * index, count + 2 * index + 1);
                    jsonl::item(index, path, outcome, ids, &ends)
                })
                .collect();
            let body = jsonl::merge(jsonl::head(count), items);
            let mut response = Response::new(ReplyBody::Stream(body));
            *response.headers_mut() = headers;
            set_json_headers(response.headers_mut());
            response
        }
        Ran::Sse(path, setup) => {
            let ends = StreamEnds::of(parts);
            let body = sse::events(path, setup, config.sse_ping_interval, &ends);
            let mut response = Response::new(ReplyBody::Stream(body));
            *response.headers_mut() = headers;
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
    }
}

/// The JSON reply of settled calls: one envelope, or an array for a batch.
fn json(
    is_batch: bool,
    settled: Vec<(Arc<str>, Outcome)>,
    metas: &[Option<Collected>],
    mut headers: HeaderMap,
    transformer: Transformer,
) -> Response<ReplyBody> {
    let superjson = transformer == Transformer::Superjson;
    // tRPC: a single (non-batch) call whose output is a stream fails the whole request; in a
    // batch only that item fails.
    let stream_like = || {
        Error::new(ErrorCode::UnsupportedMediaType).with_message(
            "Cannot use stream-like response in non-streaming request - use httpBatchStreamLink",
        )
    };
    if !is_batch
        && matches!(
            settled.first(),
            Some((_, Ok(Output::Stream(_) | Output::Events(_))))
        )
    {
        return error_response_as(&stream_like(), transformer);
    }
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
    for (i, (path, result)) in settled.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let status = match result {
            Ok(Output::Value(raw)) => {
                envelope::write_result(&mut body, Some(&raw));
                200
            }
            Ok(Output::Unit) if superjson => {
                envelope::write_result(&mut body, Some(transform::undefined()));
                200
            }
            Ok(Output::Unit) => {
                envelope::write_result(&mut body, None);
                200
            }
            Ok(Output::Stream(_) | Output::Events(_)) => {
                write_error(&mut body, &mut headers, &stream_like(), &path, superjson)
            }
            Err(err) => write_error(&mut body, &mut headers, &err, &path, superjson),
        };
        match shared_status {
            None => shared_status = Some(status),
            Some(shared) => mixed |= shared != status,
        }
    }
    if is_batch {
        body.push(b']');
    }
    if !metas.is_empty() {
        meta::shared_headers(metas, &mut headers);
    }
    let status = match shared_status {
        Some(one) if !mixed => one,
        _ => 207,
    };
    json_reply(status, headers, Bytes::from(body))
}

/// Writes the error envelope of the call at `path`; its status.
fn write_error(
    body: &mut Vec<u8>,
    headers: &mut HeaderMap,
    err: &Error,
    path: &str,
    superjson: bool,
) -> u16 {
    merge_headers(headers, err);
    envelope::write_error(body, err, Some(path), superjson);
    err.code().http_status()
}

/// A HEAD request's answer: 204, no body.
pub(crate) fn no_content() -> Response<ReplyBody> {
    let mut response = Response::new(ReplyBody::Full(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// A request-level error as tRPC sends it (a single envelope without `data.path`, with the
/// status of its code and `content-type: application/json`), for refusals made outside a
/// [`Handler`](super::Handler): a layer in front of the endpoint answers in the same shape as
/// the endpoint.
///
/// ```
/// use tabrpc_core::Error;
/// let response = tabrpc_core::wire::error_response(&Error::bad_request("too big"));
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub fn error_response(err: &Error) -> Response<ReplyBody> {
    error_response_as(err, Transformer::Json)
}

/// [`error_response`] for an endpoint with `transformer` (superjson wraps the error shape in
/// `{"json":…}`).
pub(crate) fn error_response_as(err: &Error, transformer: Transformer) -> Response<ReplyBody> {
    let span = tracing::Span::current();
    exec::log_error(&span, "", err);
    let mut body = Vec::with_capacity(160);
    envelope::write_error(&mut body, err, None, transformer == Transformer::Superjson);
    let mut headers = HeaderMap::new();
    merge_headers(&mut headers, err);
    json_reply(err.code().http_status(), headers, Bytes::from(body))
}

/// Adds the headers `err` carries (an `Allow`, a `Retry-After`) to `into`, once each.
pub(crate) fn merge_headers(into: &mut HeaderMap, err: &Error) {
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
