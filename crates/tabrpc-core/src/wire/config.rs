//! Server settings of the wire protocol, with safe defaults.

use std::time::Duration;

use crate::transform::Transformer;

/// Settings of a tabrpc endpoint. Every field has a safe default ([`Config::default`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Whether `batch=1` requests are served. Defaults to `true`. When off, a batch request
    /// answers a top-level 400 `Batching is not enabled on the server`.
    pub batching: bool,
    /// The most calls one batch may carry. Defaults to 100; a larger batch answers a top-level
    /// 400 before any call runs.
    pub max_batch_size: usize,
    /// Whether queries may also be sent as POST (inputs in the body). Defaults to `false`.
    /// Mutations are never served to GET.
    pub allow_method_override: bool,
    /// The largest request body read, in bytes. Defaults to 1 MiB; larger answers 413
    /// PAYLOAD_TOO_LARGE.
    pub max_body_bytes: usize,
    /// The longest request URL (path and query), in bytes. Defaults to 16 KiB; longer answers
    /// 400 BAD_REQUEST.
    pub max_url_bytes: usize,
    /// The most bytes of request headers (names and values) accepted. Defaults to 64 KiB;
    /// more answers 400 BAD_REQUEST. (The HTTP server has a hard limit of its own above this:
    /// `tabrpc_axum::serve` lets hyper buffer up to 1 MiB of request head by default, so
    /// this limit decides.) `tabrpc_axum`'s `AuthLayer` checks it too, before reading any
    /// credential.
    pub max_header_bytes: usize,
    /// How long one call may wait before it answers 408 TIMEOUT, counted from its first wait
    /// (an `.await` that is not ready): like any async timeout it cannot stop code that never
    /// yields. Defaults to 30 s; `None` means no limit (risky: a stuck procedure then holds its
    /// connection forever).
    pub call_timeout: Option<Duration>,
    /// How often a subscription stream sends an `event: ping` keep-alive while it has nothing
    /// else to send. Defaults to `None` (no pings, as tRPC); set it when a proxy closes idle
    /// connections.
    pub sse_ping_interval: Option<Duration>,
    /// How inputs and outputs are encoded: plain JSON, or superjson's `{ json, meta }`
    /// (opt-in: 64-bit integers and [`Timestamp`](crate::Timestamp)s reach JavaScript as
    /// `bigint` and `Date`; export the bindings with the same setting). Applies to JSON replies
    /// (`httpLink`, `httpBatchLink`) and every error envelope; streamed outputs and
    /// subscriptions stay plain JSON. Defaults to [`Transformer::Json`].
    pub transformer: Transformer,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            batching: true,
            max_batch_size: 100,
            allow_method_override: false,
            max_body_bytes: 1024 * 1024,
            max_url_bytes: 16 * 1024,
            max_header_bytes: 64 * 1024,
            call_timeout: Some(Duration::from_secs(30)),
            sse_ping_interval: None,
            transformer: Transformer::Json,
        }
    }
}

impl Config {
    /// Sets [`Config::batching`].
    pub fn batching(mut self, on: bool) -> Self {
        self.batching = on;
        self
    }

    /// Sets [`Config::max_batch_size`].
    pub fn max_batch_size(mut self, calls: usize) -> Self {
        self.max_batch_size = calls;
        self
    }

    /// Sets [`Config::allow_method_override`].
    pub fn allow_method_override(mut self, on: bool) -> Self {
        self.allow_method_override = on;
        self
    }

    /// Sets [`Config::max_body_bytes`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`Config::max_url_bytes`].
    pub fn max_url_bytes(mut self, bytes: usize) -> Self {
        self.max_url_bytes = bytes;
        self
    }

    /// Sets [`Config::max_header_bytes`].
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`Config::sse_ping_interval`].
    pub fn sse_ping_interval(mut self, every: Option<Duration>) -> Self {
        self.sse_ping_interval = every;
        self
    }

    /// Sets [`Config::call_timeout`].
    pub fn call_timeout(mut self, limit: Option<Duration>) -> Self {
        self.call_timeout = limit;
        self
    }

    /// Sets [`Config::transformer`].
    pub fn transformer(mut self, transformer: Transformer) -> Self {
        self.transformer = transformer;
        self
    }
}
