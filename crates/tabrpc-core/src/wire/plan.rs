//! Planning: a request decoded into the calls to run and the shape of the reply, before any
//! context is made or procedure runs. Request-level problems (limits, content type, batch
//! rules, mixed kinds) refuse the whole request here; a call's own problems (unknown path,
//! wrong method, unreadable input) become that call's error and the others still run.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::middleware::{Call, Input};
use crate::procedure::{ErasedProcedure, ProcedureKind};
use crate::router::BuiltRouter;
use crate::transform::{self, Transformer};
use crate::wire::reply::merge_headers;
use crate::wire::{Config, request};

/// What a request will run, and how it will be answered.
pub(crate) struct Plan<TCtx> {
    pub(crate) reply: ReplyKind,
    /// Every call in request order, with the path it answers for (the procedure's own, shared,
    /// or the requested one when there is none).
    pub(crate) calls: Vec<(Arc<str>, Planned<TCtx>)>,
    /// Headers of the calls refused while planning (`Allow` of a 405).
    pub(crate) headers: HeaderMap,
}

/// The shape of the reply (wire.md sections 2 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyKind {
    /// One JSON body: a single envelope, or an array of them for a batch.
    Json { is_batch: bool },
    /// The JSONL streaming batch: calls written as they settle.
    Jsonl,
    /// A subscription as server-sent events; its one call is the subscription.
    Sse,
}

/// A call after lookup: ready to run, or already failed.
pub(crate) enum Planned<TCtx> {
    Run(Arc<ErasedProcedure<TCtx>>, Call),
    Failed(Error),
}

impl<TCtx> Plan<TCtx> {
    /// Whether a call can run, and so the request needs its context.
    pub(crate) fn needs_context(&self) -> bool {
        self.calls
            .iter()
            .any(|(_, call)| matches!(call, Planned::Run(..)))
    }
}

/// Plans the request of `parts` for `path` (below the endpoint's base, still percent-encoded)
/// and `body`.
///
/// # Errors
///
/// A request-level error, to answer as one envelope without `data.path`.
pub(crate) fn plan<TCtx>(
    router: &BuiltRouter<TCtx>,
    config: &Config,
    parts: &Parts,
    path: &str,
    body: &[u8],
) -> Result<Plan<TCtx>, Error> {
    check_request_limits(config, parts)?;
    let method = &parts.method;
    let request::Parsed {
        is_batch,
        streaming,
        path,
        mut inputs,
    } = request::parse(
        config,
        method,
        &parts.headers,
        path,
        parts.uri.query(),
        body,
    )?;
    let paths = request::split_paths(&path, is_batch);

    // Each path is looked up once.
    let found: Vec<_> = paths.iter().map(|path| router.lookup(path)).collect();
    check_one_kind(&found)?;

    // A single GET to a subscription is answered with server-sent events (section 4).
    if !is_batch
        && *method == Method::GET
        && let Some(&Some(first)) = found.first()
        && first.1.meta.kind == ProcedureKind::Subscription
    {
        let input = with_last_event_id(inputs.take(0), &parts.headers).map(Input::Value);
        let call = prepare(config, method, false, first.0, Some(first), input);
        return Ok(Plan {
            reply: ReplyKind::Sse,
            calls: vec![(first.0.clone(), call)],
            headers: HeaderMap::new(),
        });
    }

    // superjson inputs are for JSON replies only (`transform.rs`).
    let superjson = config.transformer == Transformer::Superjson && !streaming;
    let mut headers = HeaderMap::new();
    let calls = paths
        .into_iter()
        .zip(found)
        .enumerate()
        .map(|(index, (path, found))| {
            let call = prepare(
                config,
                method,
                is_batch,
                path,
                found,
                decoded(inputs.take_input(index), superjson),
            );
            if let Planned::Failed(err) = &call {
                merge_headers(&mut headers, err);
            }
            // A procedure's own path is the requested one, and shared.
            let path = found.map_or_else(|| Arc::from(path), |(full, _)| full.clone());
            (path, call)
        })
        .collect();
    let reply = if streaming {
        ReplyKind::Jsonl
    } else {
        ReplyKind::Json { is_batch }
    };
    Ok(Plan {
        reply,
        calls,
        headers,
    })
}

/// A call's input, revived from superjson's `{json, meta}` when `superjson`.
fn decoded(input: Result<Input, Error>, superjson: bool) -> Result<Input, Error> {
    if !superjson {
        return input;
    }
    let value = input?.into_value()?;
    transform::decode_input(value).map(Input::Value)
}

/// What a router lookup finds: the procedure's full path and the procedure.
type Found<'a, TCtx> = Option<(&'a Arc<str>, &'a Arc<ErasedProcedure<TCtx>>)>;

/// Calls of different kinds cannot share a request (tRPC: a top-level 400).
fn check_one_kind<TCtx>(found: &[Found<'_, TCtx>]) -> Result<(), Error> {
    let mut kinds: [Option<ProcedureKind>; 3] = [None; 3];
    for (_, procedure) in found.iter().flatten() {
        let kind = procedure.meta.kind;
        if let Some(free) = kinds.iter_mut().find(|k| k.is_none_or(|k| k == kind)) {
            *free = Some(kind);
        }
    }
    if kinds[1].is_none() {
        return Ok(());
    }
    let names: Vec<_> = kinds.iter().flatten().map(|k| k.as_str()).collect();
    Err(Error::bad_request(format!(
        "Cannot mix procedure types in call: {}",
        names.join(", ")
    )))
}

/// Readies the call of `path`, whose lookup in the router gave `found`: the method rules of
/// its kind, then its input.
fn prepare<TCtx>(
    config: &Config,
    method: &Method,
    is_batch: bool,
    path: &str,
    found: Found<'_, TCtx>,
    input: Result<Input, Error>,
) -> Planned<TCtx> {
    let Some((full_path, procedure)) = found else {
        return Planned::Failed(
            Error::new(ErrorCode::NotFound)
                .with_message(format!("No procedure found on path \"{path}\"")),
        );
    };
    let kind = procedure.meta.kind;
    let (allowed, ok): (&'static str, bool) = match kind {
        ProcedureKind::Query if config.allow_method_override => (
            "GET, POST",
            *method == Method::GET || *method == Method::POST,
        ),
        ProcedureKind::Query | ProcedureKind::Subscription => ("GET", *method == Method::GET),
        ProcedureKind::Mutation => ("POST", *method == Method::POST),
    };
    if !ok {
        return Planned::Failed(
            Error::new(ErrorCode::MethodNotSupported)
                .with_message(format!(
                    "Unsupported {method}-request to {kind} procedure at path \"{path}\""
                ))
                .with_header(header::ALLOW, HeaderValue::from_static(allowed)),
        );
    }
    if kind == ProcedureKind::Subscription && is_batch {
        return Planned::Failed(Error::bad_request("Cannot batch subscription calls"));
    }
    // Inputs are read lazily, as in tRPC: a procedure that reads none never sees a failure
    // to read them.
    let input = if procedure.meta.reads_input {
        input
    } else {
        Ok(Input::Value(serde_json::Value::Null))
    };
    match input {
        Ok(input) => Planned::Run(
            procedure.clone(),
            Call::with_input(full_path.clone(), kind, input)
                .with_meta(procedure.meta.response_meta),
        ),
        Err(err) => Planned::Failed(err),
    }
}

/// Checks the request's head against [`Config::max_url_bytes`] and
/// [`Config::max_header_bytes`] (each header counts its name, its value and 4 bytes of
/// framing). Cheap: it reads lengths only, never a value, so a layer can run it before any
/// credential is read.
///
/// # Errors
///
/// A 400 BAD_REQUEST whose message names the limit, to answer with
/// [`error_response`](super::error_response).
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

/// tRPC: on reconnect the browser sends `Last-Event-ID`, which reaches the procedure as the
/// input's `lastEventId` (set on an object input, or the whole input when there is none).
/// A resume id is a cursor, never a credential: the resumed stream is answered for the caller
/// of this request, whoever opened the stream it continues.
fn with_last_event_id(
    input: Result<serde_json::Value, Error>,
    headers: &HeaderMap,
) -> Result<serde_json::Value, Error> {
    let Some(id) = headers
        .get(crate::protocol::LAST_EVENT_ID_HEADER)
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
