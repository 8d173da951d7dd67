//! The JSONL streaming batch of tRPC v11 (`httpBatchStreamLink`): a head line of placeholders,
//! then one line per settled item, in completion order.
//!
//! Chunk lines are `[chunkId, status, encoded]`. For a settled promise the status is 0 and the
//! value is `[[value]]`; for an async iterable the status is 1 per yielded value (`[[v]]`), 0 at
//! the end (`[[]]`) and 2 with an error shape on failure.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, SelectAll, StreamExt};
use serde_json::value::RawValue;

use crate::error::Error;
use crate::procedure::Output;
use crate::wire::ends::{self, StreamEnds};
use crate::wire::envelope;

const PROMISE: u8 = 0;
const ITERABLE: u8 = 1;
const FULFILLED: u8 = 0;
const YIELD: u8 = 1;
const ERROR: u8 = 2;

fn line(build: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut out = Vec::with_capacity(64);
    build(&mut out);
    out.push(b'\n');
    Bytes::from(out)
}

/// `{"0":[[0],[null,0,0]],"1":[[0],[null,0,1]],…}`: item i is a promise with chunk id i.
pub(crate) fn head(count: usize) -> Bytes {
    line(|out| {
        out.push(b'{');
        for i in 0..count {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(format!("\"{i}\":[[0],[null,{PROMISE},{i}]]").as_bytes());
        }
        out.push(b'}');
    })
}

/// One call as a stream of lines. `outcome` settles the call; `ids` are the two chunk ids a
/// streamed output needs (for its `result` promise and its `data` iterable). At the request's
/// deadline a call still pending, or a streamed output still running, fails (see
/// [`StreamDeadline`](super::StreamDeadline)); at its server's shutdown a streamed output
/// still running fails (see [`Shutdown`](super::Shutdown)), a pending call is left to finish.
pub(crate) fn item<F>(
    index: usize,
    path: Arc<str>,
    outcome: F,
    ids: (usize, usize),
    ends: &StreamEnds,
) -> BoxStream<'static, Bytes>
where
    F: Future<Output = Result<Output, Error>> + Send + 'static,
{
    let outcome = stream::once(outcome).boxed();
    let ends = ends.clone();
    ends.until_deadline(outcome, Some(Err(ends::expired())))
        .flat_map(move |result| match result {
            Ok(Output::Value(raw)) => single(index, |out| envelope::write_result(out, Some(&raw))),
            Ok(Output::Unit) => single(index, |out| envelope::write_result(out, None)),
            Err(err) => single(index, |out| {
                envelope::write_error(out, &err, Some(&path), false)
            }),
            Ok(Output::Stream(values)) => {
                iterable(index, path.clone(), bounded(&ends, values), ids)
            }
            // Subscriptions are refused in batches before they run; should one get here, its
            // values stream like any other.
            Ok(Output::Events(events)) => {
                let values = events.map(|event| event.map(|e| e.data)).boxed();
                iterable(index, path.clone(), bounded(&ends, values), ids)
            }
        })
        .boxed()
}

/// A streamed output's values, failed at the request's deadline or its server's shutdown.
fn bounded(ends: &StreamEnds, values: Values) -> Values {
    let values = ends.until_deadline(values, Some(Err(ends::expired())));
    ends.until_shutdown(values, Some(Err(ends::shutting_down())))
}

/// A streamed output's values.
type Values = BoxStream<'static, Result<Box<RawValue>, Error>>;

fn single(index: usize, write: impl FnOnce(&mut Vec<u8>)) -> BoxStream<'static, Bytes> {
    let bytes = line(|out| {
        out.extend_from_slice(format!("[{index},{FULFILLED},[[").as_bytes());
        write(out);
        out.extend_from_slice(b"]]]");
    });
    stream::once(std::future::ready(bytes)).boxed()
}

fn iterable(
    index: usize,
    path: Arc<str>,
    values: Values,
    (result_id, data_id): (usize, usize),
) -> BoxStream<'static, Bytes> {
    let opening = [
        line(|out| {
            out.extend_from_slice(
                format!(
                    "[{index},{FULFILLED},[[{{\"result\":0}}],[\"result\",{PROMISE},{result_id}]]]"
                )
                .as_bytes(),
            );
        }),
        line(|out| {
            out.extend_from_slice(
                format!(
                    "[{result_id},{FULFILLED},[[{{\"data\":0}}],[\"data\",{ITERABLE},{data_id}]]]"
                )
                .as_bytes(),
            );
        }),
    ];
    // Values until the first error, which ends the iterable; a clean end sends the return line.
    let body = stream::unfold(Some(values), move |state| {
        let path = path.clone();
        async move {
            let mut values = state?;
            match values.next().await {
                Some(Ok(raw)) => Some((
                    line(|out| {
                        out.extend_from_slice(format!("[{data_id},{YIELD},[[").as_bytes());
                        out.extend_from_slice(raw.get().as_bytes());
                        out.extend_from_slice(b"]]]");
                    }),
                    Some(values),
                )),
                Some(Err(err)) => Some((
                    line(|out| {
                        out.extend_from_slice(format!("[{data_id},{ERROR},").as_bytes());
                        envelope::write_error_shape(out, &err, Some(&path));
                        out.push(b']');
                    }),
                    None,
                )),
                None => Some((
                    line(|out| {
                        out.extend_from_slice(format!("[{data_id},{FULFILLED},[[]]]").as_bytes())
                    }),
                    None,
                )),
            }
        }
    });
    stream::iter(opening).chain(body).boxed()
}

/// Merges the items' line streams: whatever settles first is written first.
pub(crate) fn merge(
    head: Bytes,
    items: Vec<BoxStream<'static, Bytes>>,
) -> BoxStream<'static, Bytes> {
    let merged: SelectAll<_> = stream::select_all(items);
    stream::once(std::future::ready(head)).chain(merged).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: BoxStream<'static, Bytes>) -> String {
        let chunks: Vec<Bytes> = futures::executor::block_on(s.collect());
        chunks
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn head_line() {
        assert_eq!(
            &head(2)[..],
            b"{\"0\":[[0],[null,0,0]],\"1\":[[0],[null,0,1]]}\n"
        );
    }

    #[test]
    fn streamed_output_lines() {
        let values = stream::iter([1, 2])
            .map(|v| serde_json::value::to_raw_value(&v).map_err(Error::internal))
            .boxed();
        let out = collect(item(
            0,
            "iter".into(),
            async { Ok(Output::Stream(values)) },
            (1, 2),
            &StreamEnds::default(),
        ));
        assert_eq!(
            out,
            "[0,0,[[{\"result\":0}],[\"result\",0,1]]]\n[1,0,[[{\"data\":0}],[\"data\",1,2]]]\n[2,1,[[1]]]\n[2,1,[[2]]]\n[2,0,[[]]]\n"
        );
    }

    #[test]
    fn mid_stream_error_ends_the_iterable() {
        let values = stream::iter([
            serde_json::value::to_raw_value(&"a").map_err(Error::internal),
            Err(Error::new(crate::ErrorCode::Forbidden).with_message("no")),
            serde_json::value::to_raw_value(&"never").map_err(Error::internal),
        ])
        .boxed();
        let out = collect(item(
            0,
            "s".into(),
            async { Ok(Output::Stream(values)) },
            (1, 2),
            &StreamEnds::default(),
        ));
        assert!(out.ends_with("[2,1,[[\"a\"]]]\n[2,2,{\"message\":\"no\",\"code\":-32003,\"data\":{\"code\":\"FORBIDDEN\",\"httpStatus\":403,\"path\":\"s\"}}]\n"), "{out}");
    }
}
