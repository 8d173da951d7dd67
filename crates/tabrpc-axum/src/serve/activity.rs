//! Whether a connection has a request in flight, and since when it has not: what the idle
//! timeout of [`ServeConfig`](super::ServeConfig) is measured on. The same per-request hook
//! hands every request its server's [`Shutdown`] signal.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::{Request, Response};
use hyper::body::{Body, Frame, SizeHint};
use tabrpc_core::wire::Shutdown;

use super::body::DeadlineBody;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One connection's requests in flight. A request is in flight from when the service is
/// called until its response body is dropped (sent to the end, or abandoned), so a long
/// stream counts for as long as it is open.
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// When the last request ended (or the connection opened).
    idle_since: Mutex<Instant>,
    /// Woken when the last request in flight ends, so the idle clock is re-armed.
    pub(crate) ended: Notify,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            ended: Notify::new(),
        })
    }

    /// When the connection will have been idle for `timeout`; `None` while a request is in
    /// flight.
    pub(crate) fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(since + timeout)
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// A request in flight; ends when dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        // Stamped before the count drops, so whoever sees no request in flight sees this time.
        *activity
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // `notify_one` keeps the wake-up if the connection's task is not waiting yet.
            activity.ended.notify_one();
        }
    }
}

/// A hyper service that counts its requests in flight on an [`Activity`], and puts its
/// server's [`Shutdown`] in each request's extensions (the streams a request opens end when it
/// fires).
#[derive(Clone)]
pub(crate) struct Tracked<S> {
    pub(crate) inner: S,
    pub(crate) activity: Arc<Activity>,
    pub(crate) shutdown: Shutdown,
    /// [`ServeConfig::request_body_timeout`](super::ServeConfig::request_body_timeout).
    pub(crate) body_timeout: Duration,
}

impl<S, B, ResBody> hyper::service::Service<Request<B>> for Tracked<S>
where
    S: hyper::service::Service<Request<DeadlineBody<B>>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<TrackedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn call(&self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.shutdown.clone());
        let in_flight = self.activity.begin();
        let timeout = self.body_timeout;
        let response = self
            .inner
            .call(request.map(|body| DeadlineBody::new(body, timeout)));
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that keeps its request in flight until it is dropped.
pub(crate) struct TrackedBody<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
