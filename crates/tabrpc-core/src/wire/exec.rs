//! Running one call: middleware and handler under a timeout, a panic guard and a span.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
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
    let exec = procedure.exec.clone();
    // The handler is called inside the guarded future so that a panic in its synchronous part
    // is caught too.
    let guarded = AssertUnwindSafe(async move { exec(ctx, call).await }).catch_unwind();
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
        result.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            tracing::error!(panic = %message, "procedure panicked");
            Err(Error::new(ErrorCode::InternalServerError))
        })
    }
    .instrument(span.clone())
    .await;

    if let Some(started) = started {
        span.record("duration_us", started.elapsed().as_micros() as u64);
    }
    match &outcome {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(err) => {
            span.record("outcome", err.code().name());
            log_error(&span, &path, err);
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
