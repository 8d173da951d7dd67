//! Running one call: middleware and handler under a timeout, a panic guard and a span.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::Instrument;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::middleware::Call;
use crate::procedure::{ErasedProcedure, Output};

/// Runs `procedure` for `call` with `ctx`. A panic becomes an INTERNAL_SERVER_ERROR for this
/// call only; exceeding `timeout` becomes a TIMEOUT. One `rpc.call` span per call records the
/// path, kind, outcome and duration.
pub(crate) async fn run<TCtx>(
    procedure: Arc<ErasedProcedure<TCtx>>,
    ctx: TCtx,
    call: Call,
    timeout: Option<Duration>,
) -> Result<Output, Error>
where
    TCtx: Send + 'static,
{
    let mut slot = Some((ctx, call));
    let started = std::future::poll_fn(|cx| match slot.take() {
        Some((ctx, call)) => Poll::Ready(Some(start(&procedure, ctx, call, timeout, cx))),
        None => Poll::Ready(None),
    })
    .await;
    match started {
        Some(Started::Done(result)) => result,
        Some(Started::Pending(future)) => future.await,
        None => Err(Error::new(ErrorCode::InternalServerError)),
    }
}

/// A call begun by [`start`]: finished on its first poll, or still to be awaited.
pub(crate) enum Started {
    /// The call's outcome (most procedures finish without ever waiting).
    Done(Result<Output, Error>),
    /// The rest of the call, under its timeout, panic guard and span.
    Pending(BoxFuture<'static, Result<Output, Error>>),
}

/// Begins a call: runs the procedure up to its first `Pending`, on the caller's task (`cx`),
/// under the panic guard and the call's span. Only a call that is still pending then gets a
/// boxed future and a timer (the timeout counts from there), so a call that answers at once
/// costs no allocation or clock read for them. A panic becomes an INTERNAL_SERVER_ERROR for this
/// call only; exceeding `timeout` a TIMEOUT. One `rpc.call` span per call records the path,
/// kind, outcome and duration.
pub(crate) fn start<TCtx>(
    procedure: &ErasedProcedure<TCtx>,
    ctx: TCtx,
    call: Call,
    timeout: Option<Duration>,
    cx: &mut Context<'_>,
) -> Started
where
    TCtx: Send + 'static,
{
    let span = tracing::info_span!(
        "rpc.call",
        path = %call.path(),
        kind = call.kind().as_str(),
        outcome = tracing::field::Empty,
        duration_us = tracing::field::Empty,
    );
    // Only a recorded span needs the duration (two clock reads per call otherwise).
    let started = (!span.is_disabled()).then(Instant::now);
    let path: Arc<str> = call.shared_path();
    // The handler is called inside the guard so that a panic in its synchronous part is caught.
    let first = {
        let _entered = span.enter();
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut future = (procedure.exec)(ctx, call);
            match future.as_mut().poll(cx) {
                Poll::Ready(result) => Ok(result),
                Poll::Pending => Err(future),
            }
        }))
    };
    match first {
        Ok(Ok(result)) => Started::Done(finish(&span, &path, started, result)),
        Err(panic) => {
            let err = {
                let _entered = span.enter();
                panicked(panic)
            };
            Started::Done(finish(&span, &path, started, Err(err)))
        }
        Ok(Err(future)) => Started::Pending(Box::pin(async move {
            let guarded = AssertUnwindSafe(future).catch_unwind();
            let outcome = async {
                let result = match timeout {
                    Some(limit) => match tokio::time::timeout(limit, guarded).await {
                        Ok(result) => result,
                        Err(_) => {
                            return Err(Error::new(ErrorCode::Timeout).with_message(format!(
                                "The call took longer than the server's limit of {} ms",
                                limit.as_millis()
                            )));
                        }
                    },
                    None => guarded.await,
                };
                result.unwrap_or_else(|panic| Err(panicked(panic)))
            }
            .instrument(span.clone())
            .await;
            finish(&span, &path, started, outcome)
        })),
    }
}

/// The error of a call that panicked; the panic's message goes to the log only.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %message, "procedure panicked");
    Error::new(ErrorCode::InternalServerError)
}

/// Records the call's outcome and duration on its span, and logs a failure.
fn finish(
    span: &tracing::Span,
    path: &str,
    started: Option<Instant>,
    outcome: Result<Output, Error>,
) -> Result<Output, Error> {
    if let Some(started) = started {
        span.record("duration_us", started.elapsed().as_micros() as u64);
    }
    match &outcome {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(err) => {
            span.record("outcome", err.code().name());
            log_error(span, path, err);
        }
    }
    outcome
}

/// Internal errors are logged with their cause at `error`; client mistakes at `debug` only, so
/// that bad traffic cannot flood the logs.
pub(crate) fn log_error(span: &tracing::Span, path: &str, err: &Error) {
    let _entered = span.enter();
    if err.code() == ErrorCode::InternalServerError {
        match err.cause() {
            Some(cause) if err.has_message() => {
                tracing::error!(path, message = err.message(), error = %cause, "call failed");
            }
            Some(cause) => tracing::error!(path, error = %cause, "call failed"),
            None => tracing::error!(path, message = err.message(), "call failed"),
        }
    } else {
        tracing::debug!(
            path,
            code = err.code().name(),
            message = err.message(),
            "call rejected"
        );
    }
}
