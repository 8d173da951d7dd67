//! When a request's streams end: at its [`StreamDeadline`] (its credentials) and at its
//! server's [`Shutdown`], whichever comes first.

use futures_util::stream::{self, BoxStream, StreamExt};
use http::request::Parts;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::protocol::ErrorReason;
use crate::wire::{Shutdown, StreamDeadline};

/// The bounds of the streams one request opens, read from its extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamEnds {
    pub(crate) deadline: Option<StreamDeadline>,
    pub(crate) shutdown: Option<Shutdown>,
}

impl StreamEnds {
    /// The bounds `parts` carry.
    pub(crate) fn of(parts: &Parts) -> Self {
        Self {
            deadline: StreamDeadline::of(parts),
            shutdown: Shutdown::of(parts),
        }
    }

    /// `stream`, ended at the deadline by `last` (if given) as its last item.
    pub(crate) fn until_deadline<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, T>,
        last: Option<T>,
    ) -> BoxStream<'static, T> {
        let Some(deadline) = self.deadline else {
            return stream;
        };
        let timer = Box::pin(deadline.sleep());
        stream::unfold(Some((stream, timer, last)), |state| async move {
            let (mut stream, mut timer, last) = state?;
            tokio::select! {
                // The stream first: an item ready at the deadline is still sent.
                biased;
                item = stream.next() => item.map(|item| (item, Some((stream, timer, last)))),
                () = &mut timer => last.map(|last| (last, None)),
            }
        })
        .boxed()
    }

    /// `stream`, ended at the server's shutdown by `last` (if given) as its last item.
    pub(crate) fn until_shutdown<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, T>,
        last: Option<T>,
    ) -> BoxStream<'static, T> {
        let Some(shutdown) = &self.shutdown else {
            return stream;
        };
        let closing = Box::pin(shutdown.triggered());
        stream::unfold(Some((stream, closing, last)), |state| async move {
            let (mut stream, mut closing, last) = state?;
            tokio::select! {
                // The signal first: a stream that is always ready still ends.
                biased;
                () = &mut closing => last.map(|last| (last, None)),
                item = stream.next() => item.map(|item| (item, Some((stream, closing, last)))),
            }
        })
        .boxed()
    }
}

/// The error a streamed output or pending call ends with at its deadline.
pub(crate) fn expired() -> Error {
    Error::new(ErrorCode::Unauthorized)
        .with_message("The credentials that opened this stream have expired: call again")
        .with_reason(ErrorReason::InvalidToken)
}

/// The error a streamed output ends with at its server's shutdown.
pub(crate) fn shutting_down() -> Error {
    Error::new(ErrorCode::ServiceUnavailable)
        .with_message("The server is shutting down: call again")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[tokio::test]
    async fn a_stream_ends_at_its_deadline_with_the_last_item_given() {
        let endless = stream::repeat(1u8)
            .then(|n| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                n
            })
            .boxed();
        let ends = StreamEnds {
            deadline: Some(StreamDeadline::at(
                SystemTime::now() + Duration::from_millis(100),
            )),
            shutdown: None,
        };
        let items: Vec<u8> = tokio::time::timeout(
            Duration::from_secs(5),
            ends.until_deadline(endless, Some(0)).collect(),
        )
        .await
        .unwrap_or_default();
        assert!(items.len() > 2, "{items:?}");
        assert_eq!(items.last(), Some(&0));

        let past = StreamEnds {
            deadline: Some(StreamDeadline::at_unix_secs(1)),
            shutdown: None,
        };
        let items: Vec<u8> = past
            .until_deadline(stream::pending::<u8>().boxed(), None)
            .collect()
            .await;
        assert!(items.is_empty());
    }

    #[tokio::test]
    async fn an_always_ready_stream_ends_at_shutdown() {
        let shutdown = Shutdown::new();
        let ends = StreamEnds {
            deadline: None,
            shutdown: Some(shutdown.clone()),
        };
        let mut items = ends.until_shutdown(stream::repeat(1u8).boxed(), Some(0));
        assert_eq!(items.next().await, Some(1));
        shutdown.trigger();
        assert_eq!(items.next().await, Some(0));
        assert_eq!(items.next().await, None);
    }

    #[tokio::test]
    async fn without_bounds_a_stream_is_left_alone() {
        let ends = StreamEnds::default();
        let items: Vec<u8> = ends
            .until_shutdown(
                ends.until_deadline(stream::iter([1u8, 2]).boxed(), Some(0)),
                Some(0),
            )
            .collect()
            .await;
        assert_eq!(items, [1, 2]);
    }
}
