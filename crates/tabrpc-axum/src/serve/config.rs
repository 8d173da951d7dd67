//! [`ServeConfig`]: connection limits of [`serve_with`](crate::serve_with), each with a safe
//! default.

use std::time::Duration;

/// The connection settings of [`serve_with`](crate::serve_with). Every field has a safe default
/// ([`ServeConfig::default`]); [`serve`](crate::serve) and [`serve_until`](crate::serve_until)
/// use the defaults.
///
/// ```
/// use std::time::Duration;
/// let config = tabrpc_axum::ServeConfig::default()
///     .header_read_timeout(Some(Duration::from_secs(10)))
///     .max_connections(2_000);
/// assert_eq!(config.idle_timeout, Some(Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    /// How long an HTTP/1 client has to send a request's head (request line and headers),
    /// counted from when the server starts waiting for it: when the connection opens, and
    /// again after each response on a keep-alive connection. Past it the connection is closed
    /// without an answer. Defaults to 30 s. `None` means no limit (risky: a client sending a
    /// header byte now and then holds its connection, and a file descriptor, forever).
    ///
    /// Because the clock also runs while a keep-alive connection waits for its next request,
    /// an idle HTTP/1 connection is closed after the shorter of this and
    /// [`idle_timeout`](Self::idle_timeout).
    pub header_read_timeout: Option<Duration>,
    /// How long a connection may stay open with no request in flight (HTTP/1 and HTTP/2; also
    /// a connection that has not yet sent enough bytes to tell its protocol). Past it the
    /// connection is closed gracefully (HTTP/2: `GOAWAY`). A request being answered, including
    /// an open subscription (SSE) or a streaming (JSONL) response, is in flight however long
    /// it runs and is never cut by this timeout. Defaults to 60 s. `None` means no limit
    /// (risky: idle connections pile up until [`max_connections`](Self::max_connections)).
    pub idle_timeout: Option<Duration>,
    /// How long a request's body may take to arrive, counted from when its head has arrived.
    /// Past it, reading the body fails with [`RequestBodyTimeout`](crate::RequestBodyTimeout)
    /// (the endpoint answers 408 TIMEOUT) and the connection is closed. Neither the
    /// header-read timeout (the head is complete) nor the idle timeout (a request is in flight)
    /// covers a client that announces a body and then sends nothing, so without this limit such
    /// clients hold their connections, and their slots under
    /// [`max_connections`](Self::max_connections), forever. Defaults to 30 s.
    pub request_body_timeout: Duration,
    /// Whether HTTP/1 connections are kept alive between requests. Defaults to `true`.
    pub http1_keep_alive: bool,
    /// How often an HTTP/2 connection is pinged to check the peer is still there. Defaults to
    /// 20 s. `None` sends no pings (risky: a vanished client's open streams, such as a
    /// subscription, are noticed only when the OS gives up on the socket).
    pub http2_keep_alive_interval: Option<Duration>,
    /// How long an HTTP/2 ping may go unanswered before the connection is closed. Defaults to
    /// 20 s. Only used with [`http2_keep_alive_interval`](Self::http2_keep_alive_interval).
    pub http2_keep_alive_timeout: Duration,
    /// The most concurrent streams (requests) one HTTP/2 connection may open. Defaults to 200;
    /// the client is told this limit and waits for a stream to end beyond it.
    pub http2_max_concurrent_streams: u32,
    /// The most connections served at once. At the cap the server stops accepting: new
    /// connections wait in the operating system's listen backlog (and past the backlog are
    /// refused or dropped by the OS) until a served connection closes. Defaults to 10,000 (keep
    /// it below the process's file-descriptor limit); 0 is taken as 1.
    pub max_connections: usize,
    /// The most bytes of request head (request line and headers) the HTTP server buffers per
    /// connection; more is refused by the server itself with a bare 431 (HTTP/1) or a stream
    /// reset (HTTP/2), without a tabrpc envelope. Defaults to 128 KiB: room for both wire
    /// limits (`Config::max_header_bytes`, 64 KiB, and `Config::max_url_bytes`, 16 KiB), so that
    /// a head over either of those but under this still gets the envelope `docs/wire.md`
    /// section 1 promises. Values below 8 KiB are taken as 8 KiB (hyper's minimum).
    ///
    /// Risk: memory. A connection that is still sending its head holds up to this much, so
    /// the worst case is about `max_connections × max_head_bytes` (1.25 GiB with the defaults),
    /// for at most [`header_read_timeout`](Self::header_read_timeout). Raise it with the wire
    /// limits, never far above them.
    pub max_head_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            request_body_timeout: Duration::from_secs(30),
            http1_keep_alive: true,
            http2_keep_alive_interval: Some(Duration::from_secs(20)),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 200,
            max_connections: 10_000,
            max_head_bytes: 128 * 1024,
        }
    }
}

impl ServeConfig {
    /// Sets [`ServeConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::request_body_timeout`].
    pub fn request_body_timeout(mut self, timeout: Duration) -> Self {
        self.request_body_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::http1_keep_alive`].
    pub fn http1_keep_alive(mut self, on: bool) -> Self {
        self.http1_keep_alive = on;
        self
    }

    /// Sets [`ServeConfig::http2_keep_alive_interval`].
    pub fn http2_keep_alive_interval(mut self, every: Option<Duration>) -> Self {
        self.http2_keep_alive_interval = every;
        self
    }

    /// Sets [`ServeConfig::http2_keep_alive_timeout`].
    pub fn http2_keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.http2_keep_alive_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::http2_max_concurrent_streams`].
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.http2_max_concurrent_streams = streams;
        self
    }

    /// Sets [`ServeConfig::max_connections`].
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Sets [`ServeConfig::max_head_bytes`].
    pub fn max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes;
        self
    }
}
