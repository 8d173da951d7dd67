//! Serving with connection limits ([`ServeConfig`]) and graceful shutdown.

mod activity;
mod body;
mod config;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use activity::{Activity, Tracked};
pub use body::RequestBodyTimeout;
pub use config::ServeConfig;
use tabrpc_core::wire::Shutdown;

/// hyper refuses a smaller HTTP/1 read buffer (it panics).
const MIN_HEAD_BYTES: usize = 8 * 1024;

/// The HTTP/2 connection preface (RFC 9113 section 3.4): a connection that opens with it is
/// HTTP/2 with prior knowledge, any other is HTTP/1.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2) with the default [`ServeConfig`] until
/// SIGINT or SIGTERM; then stops accepting connections and lets in-flight requests finish
/// before returning.
pub async fn serve(listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
    serve_with(listener, app, ServeConfig::default(), shutdown_signal()).await
}

/// Like [`serve`], but stops when `signal` resolves instead of on SIGINT/SIGTERM (tests, or an
/// application with its own shutdown logic). In-flight requests still finish.
pub async fn serve_until(
    listener: TcpListener,
    app: axum::Router,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, app, ServeConfig::default(), signal).await
}

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2) with `config`'s connection limits until
/// `signal` resolves; then stops accepting connections, ends the streams its requests opened
/// (subscriptions and streamed outputs), lets in-flight requests finish and closes idle
/// connections before returning.
///
/// Each server has its own [`Shutdown`](tabrpc_core::wire::Shutdown) signal, in the extensions
/// of every request it serves: stopping one server never ends another's streams.
///
/// At [`ServeConfig::max_connections`] it stops accepting until a connection closes. A failed
/// `accept` (out of file descriptors, a reset during the handshake) is logged and retried after
/// 50 ms; it never stops the server.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let config = tabrpc_axum::ServeConfig::default().idle_timeout(Some(Duration::from_secs(30)));
/// tabrpc_axum::serve_with(listener, app, config, tabrpc_axum::shutdown_signal()).await
/// # }
/// ```
pub async fn serve_with(
    listener: TcpListener,
    app: axum::Router,
    config: ServeConfig,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let protocols = Arc::new(Protocols::new(&config));
    // As `axum::serve` does: turn every handler into a route once, not on every request (a
    // `Router<()>` that is called directly boxes, clones and layers each handler per request).
    let app = app.with_state(());
    let slots = Arc::new(Semaphore::new(
        config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    // Every connection's task holds a receiver: `closed()` tells when the last one ended.
    let (shutdown, watching) = watch::channel(());
    // The streams of this server's requests end on it.
    let streams_end = Shutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        // At the cap, wait for a slot before accepting: the kernel's backlog holds the rest.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // never closed
            },
            () = signal.as_mut() => break,
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Per-connection failures (EMFILE, a reset during accept) must not stop
                    // the server; back off briefly as axum::serve does.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = signal.as_mut() => break,
        };
        let activity = Activity::new();
        let service = TowerToHyperService::new(app.clone());
        let service = Tracked {
            inner: service,
            activity: activity.clone(),
            shutdown: streams_end.clone(),
            body_timeout: config.request_body_timeout,
        };
        let protocols = protocols.clone();
        let shutdown = watching.clone();
        let timeouts = (config.header_read_timeout, config.idle_timeout);
        tokio::spawn(async move {
            serve_connection(stream, service, &protocols, &activity, timeouts, shutdown).await;
            drop(slot);
        });
    }
    drop(listener);
    drop(watching);
    // Open streams would keep their connections, and this shutdown, waiting forever.
    streams_end.trigger();
    // Wakes every connection's task, which shuts its connection down gracefully.
    shutdown.send_replace(());
    shutdown.closed().await;
    Ok(())
}

type Io = TokioIo<TcpStream>;
type Service = Tracked<TowerToHyperService<axum::Router>>;

/// hyper's HTTP/1 and HTTP/2 connection builders for `config`.
struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    fn new(config: &ServeConfig) -> Self {
        let head_bytes = config.max_head_bytes.max(MIN_HEAD_BYTES);
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .keep_alive(config.http1_keep_alive)
            .max_buf_size(head_bytes);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .keep_alive_interval(config.http2_keep_alive_interval)
            .keep_alive_timeout(config.http2_keep_alive_timeout)
            .max_concurrent_streams(config.http2_max_concurrent_streams)
            .max_header_list_size(u32::try_from(head_bytes).unwrap_or(u32::MAX));
        Self { http1, http2 }
    }
}

/// Serves one accepted connection with the protocol it opens with. `timeouts` are the header
/// read and idle timeouts.
///
/// The protocol is told by peeking, not reading, and each protocol has its own connection
/// future. hyper-util's `auto` builder used before read the first 24 bytes to tell, then handed
/// them to hyper's HTTP/1 side as a first read of their own, after which hyper grew that
/// connection's read buffer from 8 to 16 KiB for its lifetime; and its connection future held
/// both protocols' state (5.4 KiB a task, 2.7 KiB now). Measured with `bench/live` (10,000 open
/// `live.events` streams on one server, glibc malloc): 25.9 KiB → 15.4 KiB of server memory
/// (RSS) per open stream.
async fn serve_connection(
    stream: TcpStream,
    service: Service,
    protocols: &Protocols,
    activity: &Activity,
    (header_read_timeout, idle_timeout): (Option<Duration>, Option<Duration>),
    mut shutdown: watch::Receiver<()>,
) {
    // Before its first bytes a connection is both reading a head and idle: the shorter limit.
    let silent_limit = match (header_read_timeout, idle_timeout) {
        (Some(read), Some(idle)) => Some(read.min(idle)),
        (read, idle) => read.or(idle),
    };
    let is_http2 = tokio::select! {
        sniffed = opens_with_http2_preface(&stream, silent_limit) => sniffed,
        _ = shutdown.changed() => return,
    };
    let io = TokioIo::new(stream);
    match is_http2 {
        Some(true) => {
            // Boxed: its driving future is larger than HTTP/1's and would set the size of
            // every connection's task (17.1 KiB per open HTTP/1 stream unboxed).
            let connection = Box::pin(protocols.http2.serve_connection(io, service));
            drive(connection, activity, idle_timeout, shutdown).await;
        }
        Some(false) => {
            let connection = protocols
                .http1
                .serve_connection(io, service)
                .with_upgrades();
            drive(connection, activity, idle_timeout, shutdown).await;
        }
        None => tracing::debug!("closing a connection that sent nothing"),
    }
}

/// Whether `stream` opens with the HTTP/2 preface, peeked so that the protocol's first read
/// gets the bytes; `None` if nothing told within `timeout`.
async fn opens_with_http2_preface(stream: &TcpStream, timeout: Option<Duration>) -> Option<bool> {
    let sniff = async {
        let mut start = [0u8; H2_PREFACE.len()];
        loop {
            // An error or the end of the stream counts as HTTP/1, whose first read ends the
            // connection.
            let n = stream.peek(&mut start).await.unwrap_or(0);
            let seen = start.get(..n).unwrap_or_default();
            if n == 0 || !H2_PREFACE.starts_with(seen) {
                return false;
            }
            if n == H2_PREFACE.len() {
                return true;
            }
            // A preface cut short: peeking again returns at once until more bytes arrive.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, sniff).await.ok(),
        None => Some(sniff.await),
    }
}

/// A served connection of either protocol.
trait Served: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl Served for http1::UpgradeableConnection<Io, Service> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl Served for Pin<Box<http2::Connection<Io, Service, TokioExecutor>>> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http2::Connection::graceful_shutdown(self.get_mut().as_mut());
    }
}

/// Runs one connection to its end: shuts it down gracefully when the server stops, or once it
/// has had no request in flight for `idle_timeout`.
async fn drive(
    connection: impl Served,
    activity: &Activity,
    idle_timeout: Option<Duration>,
    mut shutdown: watch::Receiver<()>,
) {
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    loop {
        let idle_at = match idle_timeout {
            Some(timeout) if !closing => activity.idle_deadline(timeout),
            _ => None,
        };
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(%err, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.ended.notified(), if !closing => {}
            () = tokio::time::sleep_until(idle_at.unwrap_or_else(tokio::time::Instant::now)),
                if idle_at.is_some() =>
            {
                // A request may have begun since the deadline was computed.
                let still_idle = idle_timeout
                    .and_then(|timeout| activity.idle_deadline(timeout))
                    .is_some_and(|at| at <= tokio::time::Instant::now());
                if still_idle {
                    tracing::debug!("closing an idle connection");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
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
