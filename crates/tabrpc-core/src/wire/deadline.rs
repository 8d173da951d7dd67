//! Streams end with their credentials (auth.md section 3): a [`StreamDeadline`] in a request's
//! extensions bounds every stream the request opens.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, BoxStream, StreamExt};
use http::request::Parts;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::protocol::ErrorReason;

/// The time by which every stream a request opens must end: the subscription (server-sent
/// events) or streamed outputs (JSONL) it answers with. Core has no notion of credentials;
/// whatever authenticates requests puts one in the request's extensions (`http::Extensions`)
/// before [`Handler::handle`](super::Handler::handle) runs. The axum endpoint of
/// `tabrpc-axum`, with its `auth` feature, sets it to the verified token's `exp` (not
/// `exp` plus the verifier's leeway: the spec says "no later than the token expires").
///
/// At the deadline:
///
/// - a subscription's event stream simply ends, without `event: return`, so that clients
///   (`@trpc/client`'s `httpSubscriptionLink`, ours) reconnect, with a fresh token, and resume
///   after the last event id they saw (`Last-Event-ID`). A resume id is a cursor, never a
///   credential: the resumed stream is answered for the caller of the new request;
/// - a streamed output (JSONL) and a call still pending fail with 401 UNAUTHORIZED,
///   `data.reason: "invalid_token"` (fetch a fresh token and call again); JSONL has no resume.
///
/// A deadline already past ends the stream at once. Without one (anonymous callers) streams
/// run until they end or the server shuts down.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tabrpc_core::wire::StreamDeadline;
///
/// let mut request = http::Request::new(());
/// let exp = SystemTime::now() + Duration::from_secs(300);
/// request.extensions_mut().insert(StreamDeadline::at(exp));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamDeadline(SystemTime);

impl StreamDeadline {
    /// A deadline at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self(time)
    }

    /// A deadline at `secs` seconds after the Unix epoch (a JWT's `exp`).
    pub fn at_unix_secs(secs: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// When it is.
    pub fn time(&self) -> SystemTime {
        self.0
    }

    /// The deadline a request carries, if any.
    pub(crate) fn of(parts: &Parts) -> Option<Self> {
        parts.extensions.get::<Self>().copied()
    }

    /// The deadline as a timer, from the wall clock now.
    fn sleep(self) -> tokio::time::Sleep {
        let left = self
            .0
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tokio::time::sleep(left)
    }
}

/// The error a streamed output or pending call ends with at its deadline.
pub(crate) fn expired() -> Error {
    Error::new(ErrorCode::Unauthorized)
        .with_message("The credentials that opened this stream have expired: call again")
        .with_reason(ErrorReason::InvalidToken)
}

/// `stream`, ended at `deadline` by `at_deadline` (if given) as its last item.
pub(crate) fn until<T: Send + 'static>(
    stream: BoxStream<'static, T>,
    deadline: Option<StreamDeadline>,
    at_deadline: Option<T>,
) -> BoxStream<'static, T> {
    let Some(deadline) = deadline else {
        return stream;
    };
    let timer = Box::pin(deadline.sleep());
    stream::unfold(Some((stream, timer, at_deadline)), |state| async move {
        let (mut stream, mut timer, at_deadline) = state?;
        tokio::select! {
            // The stream first: an item ready at the deadline is still sent.
            biased;
            item = stream.next() => item.map(|item| (item, Some((stream, timer, at_deadline)))),
            () = &mut timer => at_deadline.map(|last| (last, None)),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_ends_at_its_deadline_with_the_last_item_given() {
        let endless = stream::repeat(1u8)
            .then(|n| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                n
            })
            .boxed();
        let deadline = StreamDeadline::at(SystemTime::now() + Duration::from_millis(100));
        let items: Vec<u8> = tokio::time::timeout(
            Duration::from_secs(5),
            until(endless, Some(deadline), Some(0)).collect(),
        )
        .await
        .unwrap_or_default();
        assert!(items.len() > 2, "{items:?}");
        assert_eq!(items.last(), Some(&0));

        let past = StreamDeadline::at_unix_secs(1);
        let items: Vec<u8> = until(stream::pending::<u8>().boxed(), Some(past), None)
            .collect()
            .await;
        assert!(items.is_empty());
    }
}
