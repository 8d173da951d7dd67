//! Subscriptions as server-sent events (wire.md section 4; tRPC's `httpSubscriptionLink`).
//!
//! The body is `event: connected` first, then one `data:` event per value (with `id:` for a
//! tracked subscription), `event: ping` keep-alives when enabled, and either `event: return` on
//! normal completion (without it the browser's `EventSource` would reconnect forever) or
//! `event: serialized-error` with the error shape. Errors before the stream starts (bad input,
//! a refused caller) are delivered the same way, with HTTP 200, as tRPC does.
//!
//! At the request's [`StreamDeadline`](super::StreamDeadline) (its token's expiry) the stream
//! ends without `return`: the client reconnects with a fresh token and `Last-Event-ID`, a
//! cursor that the procedure gets as `lastEventId`, never a credential (the new request's
//! caller is the one answered). At its server's [`Shutdown`](super::Shutdown) it ends the same
//! way, and the client reconnects to another instance.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::procedure::{Event, Output};
use crate::wire::ends::StreamEnds;
use crate::wire::envelope;

fn connected() -> Bytes {
    Bytes::from_static(b"event: connected\ndata: {}\n\n")
}

fn value(event: &Event) -> Bytes {
    let mut out = Vec::with_capacity(event.data.get().len() + 32);
    // Serialized JSON has no raw newlines, so one `data:` line carries it whole. An id with a
    // line break would end the field early: such ids are dropped rather than sent broken.
    if let Some(id) = event.id.as_deref().filter(|id| !id.contains(['\n', '\r'])) {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(event.data.get().as_bytes());
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn ended() -> Bytes {
    Bytes::from_static(b"event: return\ndata: \n\n")
}

fn failed(err: &Error, path: &str) -> Bytes {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"event: serialized-error\ndata: ");
    envelope::write_error_shape(&mut out, err, Some(path));
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn ping() -> Bytes {
    Bytes::from_static(b"event: ping\ndata: \n\n")
}

/// The event stream of one subscription call: `setup` runs the procedure up to its stream;
/// `ends` are the request's bounds.
pub(crate) fn events<F>(
    path: Arc<str>,
    setup: F,
    ping_every: Option<Duration>,
    ends: &StreamEnds,
) -> BoxStream<'static, Bytes>
where
    F: Future<Output = Result<Output, Error>> + Send + 'static,
{
    let body = stream::once(setup).flat_map(move |outcome| -> BoxStream<'static, Bytes> {
        let path = path.clone();
        match outcome {
            Ok(Output::Events(events)) => {
                // A panic while producing a value ends the stream with an internal error,
                // like a panic in any call.
                let events = AssertUnwindSafe(events)
                    .catch_unwind()
                    .map(|item| {
                        item.unwrap_or_else(|_| {
                            tracing::error!("subscription panicked");
                            Err(Error::new(ErrorCode::InternalServerError))
                        })
                    })
                    .boxed();
                // Values until the stream ends (`return`) or fails (`serialized-error`);
                // either is the last event.
                stream::unfold(Some(events), move |state| {
                    let path = path.clone();
                    async move {
                        let mut events = state?;
                        Some(match events.next().await {
                            Some(Ok(event)) => (value(&event), Some(events)),
                            Some(Err(err)) => (failed(&err, &path), None),
                            None => (ended(), None),
                        })
                    }
                })
                .boxed()
            }
            Ok(_) => stream::once(std::future::ready(failed(
                &Error::new(ErrorCode::InternalServerError),
                &path,
            )))
            .boxed(),
            Err(err) => stream::once(std::future::ready(failed(&err, &path))).boxed(),
        }
    });
    let body = stream::once(std::future::ready(connected())).chain(body);
    let body: BoxStream<'static, Bytes> = match ping_every {
        None => body.boxed(),
        Some(every) => {
            // Pings run beside the body and stop with it.
            let pings = stream::unfold((), move |()| async move {
                tokio::time::sleep(every).await;
                Some((Some(ping()), ()))
            });
            let body = body.map(Some).chain(stream::once(std::future::ready(None)));
            stream::select(body, pings)
                .take_while(|item| std::future::ready(item.is_some()))
                .filter_map(std::future::ready)
                .boxed()
        }
    };
    // Both end the body without `return`, so that clients reconnect (with fresh credentials,
    // or to another instance).
    ends.until_shutdown(ends.until_deadline(body, None), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::to_raw_value;

    fn event(id: Option<&str>, v: i32) -> Result<Event, Error> {
        Ok(Event {
            id: id.map(str::to_owned),
            data: to_raw_value(&v).unwrap_or_default(),
        })
    }

    async fn text(setup: Result<Output, Error>) -> String {
        let chunks: Vec<Bytes> =
            events("sub".into(), async { setup }, None, &StreamEnds::default())
                .collect()
                .await;
        chunks
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn values_then_return() {
        let items = stream::iter(vec![event(Some("0"), 1), event(None, 2)]).boxed();
        assert_eq!(
            text(Ok(Output::Events(items))).await,
            "event: connected\ndata: {}\n\nid: 0\ndata: 1\n\ndata: 2\n\nevent: return\ndata: \n\n"
        );
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_without_return() {
        let items = stream::iter(vec![
            event(None, 1),
            Err(Error::new(ErrorCode::Forbidden).with_message("no")),
            event(None, 3),
        ])
        .boxed();
        assert_eq!(
            text(Ok(Output::Events(items))).await,
            "event: connected\ndata: {}\n\ndata: 1\n\nevent: serialized-error\ndata: \
             {\"message\":\"no\",\"code\":-32003,\"data\":{\"code\":\"FORBIDDEN\",\"httpStatus\":403,\"path\":\"sub\"}}\n\n"
        );
    }

    #[tokio::test]
    async fn pings_fill_the_silence_when_enabled() {
        let silent = stream::pending::<Result<Event, Error>>().boxed();
        let chunks: Vec<Bytes> = events(
            "sub".into(),
            async { Ok(Output::Events(silent)) },
            Some(Duration::from_millis(5)),
            &StreamEnds::default(),
        )
        .take(3)
        .collect()
        .await;
        assert_eq!(chunks[0], connected());
        assert_eq!(&chunks[1..], [ping(), ping()]);
    }

    #[tokio::test]
    async fn shutdown_ends_open_streams_without_return() {
        let silent = stream::pending::<Result<Event, Error>>().boxed();
        let shutdown = crate::wire::Shutdown::new();
        let ends = StreamEnds {
            deadline: None,
            shutdown: Some(shutdown.clone()),
        };
        let stream = events(
            "sub".into(),
            async { Ok(Output::Events(silent)) },
            None,
            &ends,
        );
        let collected = tokio::spawn(stream.collect::<Vec<Bytes>>());
        tokio::time::sleep(Duration::from_millis(20)).await;
        shutdown.trigger();
        let chunks = tokio::time::timeout(Duration::from_secs(5), collected).await;
        assert!(
            matches!(chunks, Ok(Ok(ref c)) if c == &[connected()]),
            "{chunks:?}"
        );
    }

    #[tokio::test]
    async fn the_deadline_ends_the_stream_without_return() {
        let items = stream::iter(vec![event(None, 1)])
            .chain(stream::pending())
            .boxed();
        let deadline = crate::wire::StreamDeadline::at(
            std::time::SystemTime::now() + Duration::from_millis(50),
        );
        let ends = StreamEnds {
            deadline: Some(deadline),
            shutdown: None,
        };
        let chunks = events(
            "sub".into(),
            async { Ok(Output::Events(items)) },
            Some(Duration::from_millis(5)),
            &ends,
        )
        .collect::<Vec<Bytes>>();
        let chunks = tokio::time::timeout(Duration::from_secs(5), chunks).await;
        let text: String = chunks
            .unwrap_or_default()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(text.contains("data: 1\n\n"), "{text}");
        assert!(text.contains("event: ping"), "{text}");
        assert!(!text.contains("event: return"), "{text}");
    }

    #[tokio::test]
    async fn a_failure_before_the_stream_is_sent_in_stream() {
        let out = text(Err(Error::bad_request("bad input"))).await;
        assert!(out.starts_with("event: connected\n"), "{out}");
        assert!(
            out.contains("event: serialized-error\ndata: {\"message\":\"bad input\""),
            "{out}"
        );
        assert!(!out.contains("event: return"), "{out}");
    }
}
