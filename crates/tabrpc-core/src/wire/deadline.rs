//! Streams end with their credentials (auth.md section 3): a [`StreamDeadline`] in a request's
//! extensions bounds every stream the request opens (applied by `ends`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::request::Parts;

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
/// run until they end or their server shuts down (see [`Shutdown`](super::Shutdown)).
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
    pub(crate) fn sleep(self) -> tokio::time::Sleep {
        let left = self
            .0
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tokio::time::sleep(left)
    }
}
