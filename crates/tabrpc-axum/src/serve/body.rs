//! The request-body deadline of [`ServeConfig::request_body_timeout`](super::ServeConfig): a
//! request whose head has arrived but whose body does not finish in time fails to read, so a
//! client cannot hold a connection (and its slot under the connection cap) by sending a
//! `Content-Length` and then nothing. Neither the header-read timeout (the head is complete) nor
//! the idle timeout (a request is in flight) covers that case.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The error a request body reports when it has not arrived whole within
/// [`ServeConfig::request_body_timeout`](crate::ServeConfig::request_body_timeout) of its
/// request's head. The endpoint answers it with 408 TIMEOUT; find it in an error's
/// [`source`](StdError::source) chain with [`RequestBodyTimeout::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBodyTimeout {
    /// The deadline that passed.
    pub timeout: Duration,
}

impl RequestBodyTimeout {
    /// The `RequestBodyTimeout` in `error` or in its chain of sources, if there is one.
    pub fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a RequestBodyTimeout> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(found) = error.downcast_ref::<RequestBodyTimeout>() {
                return Some(found);
            }
            current = error.source();
        }
        None
    }
}

impl fmt::Display for RequestBodyTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s",
            self.timeout.as_secs_f32()
        )
    }
}

impl StdError for RequestBodyTimeout {}

/// A request body that fails with [`RequestBodyTimeout`] once `timeout` has passed since the
/// request was handed to the service (its head had arrived).
pub(crate) struct DeadlineBody<B> {
    body: B,
    timeout: Duration,
    started: Instant,
    /// Made on the first poll only: a request whose body is never read (every GET) costs no
    /// timer.
    sleep: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl<B> DeadlineBody<B> {
    pub(crate) fn new(body: B, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            started: Instant::now(),
            sleep: None,
            expired: false,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        let deadline = this.started + this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(Box::new(RequestBodyTimeout {
                timeout: this.timeout,
            }))));
        }
        Pin::new(&mut this.body)
            .poll_frame(cx)
            .map(|frame| frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_is_found_through_wrapping_errors() {
        #[derive(Debug)]
        struct Wrapper(RequestBodyTimeout);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let timeout = RequestBodyTimeout {
            timeout: Duration::from_secs(3),
        };
        let wrapped = Wrapper(timeout);
        assert_eq!(RequestBodyTimeout::find(&wrapped), Some(&timeout));
        let other = std::io::Error::other("x");
        assert_eq!(RequestBodyTimeout::find(&other), None);
    }
}
