//! Serving with graceful shutdown.

use std::future::Future;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// How many bytes of request head (request line and headers) hyper buffers before it refuses
/// the request itself with a bare 431. Set well above `Config::max_header_bytes` (64 KiB by
/// default) so that tabrpc's own limit, answered with an error envelope, is the one clients meet.
/// hyper's limit on the request target (64 KiB) is fixed and answered 414 without an envelope.
const MAX_HEAD_BYTES: usize = 1024 * 1024;

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2) until SIGINT or SIGTERM; then stops
/// accepting connections and lets in-flight requests finish before returning.
pub async fn serve(listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
    serve_until(listener, app, shutdown_signal()).await
}

/// Like [`serve`], but stops when `signal` resolves instead of on SIGINT/SIGTERM (tests, or an
/// application with its own shutdown logic). In-flight requests still finish.
pub async fn serve_until(
    listener: TcpListener,
    app: axum::Router,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .max_header_list_size(u32::try_from(MAX_HEAD_BYTES).unwrap_or(u32::MAX));
    // As `axum::serve` does: turn every handler into a route once, not on every request (a
    // `Router<()>` that is called directly boxes, clones and layers each handler per request).
    let app = app.with_state(());
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Per-connection failures (EMFILE, a reset during accept) must not stop
                    // the server; back off briefly as axum::serve does.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = signal.as_mut() => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Open subscriptions would keep their connections, and this shutdown, waiting forever.
    tabrpc_core::wire::close_subscriptions();
    graceful.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM. If a signal handler cannot be installed
/// that signal is ignored (logged), never a panic.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
