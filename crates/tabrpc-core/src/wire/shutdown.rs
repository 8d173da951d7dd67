//! The shutdown of the server serving a request, as that request's streams see it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::request::Parts;
use tokio::sync::Notify;

/// A server's shutdown signal, put in the extensions (`http::Extensions`) of every request the
/// server serves: when it is triggered, the streams those requests opened end, since an
/// endless stream would otherwise keep its connection, and so the shutdown, waiting forever.
/// Calls still running are not cut: they finish, as any in-flight request does.
///
/// - a subscription's event stream simply ends, without `event: return`, so that clients
///   reconnect (to another instance) and resume after the last event id they saw;
/// - a streamed output (JSONL) fails with 503 SERVICE_UNAVAILABLE: call again.
///
/// `tabrpc_axum::serve_with` (and so `serve` and `serve_until`) makes one per server and
/// triggers it when its shutdown begins, so two servers in one process never end each other's
/// streams. A request that carries none (an endpoint served some other way, such as
/// `axum::serve`) has no shutdown signal: its streams run until they end, the client goes away
/// or the request's [`StreamDeadline`](super::StreamDeadline) passes. Such a server can make its
/// own, put a clone in every request (with axum: `.layer(axum::Extension(shutdown.clone()))`)
/// and trigger it when it stops.
///
/// Clones share one signal; cloning is cheap (an `Arc`).
///
/// ```
/// use tabrpc_core::wire::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(shutdown.clone());
/// // … when the server stops:
/// shutdown.trigger();
/// assert!(shutdown.is_triggered());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<Signal>);

#[derive(Debug, Default)]
struct Signal {
    triggered: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers the signal: every stream of every request that carries a clone of it ends.
    /// Triggering it again does nothing.
    pub fn trigger(&self) {
        self.0.triggered.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.0.triggered.load(Ordering::Acquire)
    }

    /// Resolves once the signal is triggered (at once if it already was).
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        let signal = self.0.clone();
        async move {
            loop {
                let notified = signal.notify.notified();
                let mut notified = std::pin::pin!(notified);
                // Registered before the flag is read, so a trigger in between is not missed.
                notified.as_mut().enable();
                if signal.triggered.load(Ordering::Acquire) {
                    return;
                }
                notified.await;
            }
        }
    }

    /// The signal a request carries, if any.
    pub(crate) fn of(parts: &Parts) -> Option<Self> {
        parts.extensions.get::<Self>().cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn triggered_resolves_for_clones_waiting_and_late() {
        let shutdown = Shutdown::new();
        let waiting = tokio::spawn(shutdown.clone().triggered());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        shutdown.trigger();
        let woken = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(matches!(woken, Ok(Ok(()))), "{woken:?}");
        // Late: already triggered.
        let late = tokio::time::timeout(Duration::from_secs(5), shutdown.triggered()).await;
        assert!(late.is_ok());
    }

    #[tokio::test]
    async fn separate_signals_do_not_touch_each_other() {
        let (one, other) = (Shutdown::new(), Shutdown::new());
        one.trigger();
        assert!(!other.is_triggered());
        let waited = tokio::time::timeout(Duration::from_millis(20), other.triggered()).await;
        assert!(waited.is_err(), "the other signal is not triggered");
    }
}
