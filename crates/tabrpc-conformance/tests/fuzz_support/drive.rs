//! Sends a fuzzed request to the fixture, in-process through the tower service (fast) or as
//! bytes over a real socket (so hyper's parser is in the loop), and reads the reply within the
//! hang detector's limit.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use tabrpc::wire::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::check::Reply;
use super::request::Req;

/// The hang detector: a whole exchange (head and body, up to [`BODY_CAP`]) must end within
/// this. Generous for a debug build on a busy machine; nothing here asserts on speed.
pub const HANG: Duration = Duration::from_secs(5);

/// The most body bytes read: a subscription may rightly stream for a long time (`sub` with a
/// huge `n`), so reading stops here and the reply is checked as cut.
pub const BODY_CAP: usize = 256 * 1024;

/// The fixture under the three configurations the fuzzer varies.
pub fn configs() -> [Config; 3] {
    // `slow` sleeps as long as its input says: a short call timeout answers 408 instead of
    // keeping a case for seconds (and the hang detector quiet).
    let timeout = Some(Duration::from_millis(300));
    [
        Config::default().call_timeout(timeout),
        Config::default()
            .call_timeout(timeout)
            .allow_method_override(true)
            .max_batch_size(3)
            .max_body_bytes(64 * 1024)
            .max_url_bytes(2048)
            .max_header_bytes(4096),
        Config::default().call_timeout(timeout).batching(false),
    ]
}

/// The fixture's app under each configuration, for the in-process lane.
pub struct Apps(Vec<axum::Router>);

impl Apps {
    pub fn new() -> Self {
        Self(
            configs()
                .into_iter()
                .map(|c| tabrpc_conformance::app(c).expect("the fixture builds"))
                .collect(),
        )
    }

    /// Sends `request` to the app of configuration `config` (an index into [`configs`]).
    pub async fn send(
        &self,
        config: usize,
        request: http::Request<axum::body::Body>,
    ) -> Result<Reply, String> {
        let app = self.0[config % self.0.len()].clone();
        let exchange = async move {
            let response = app
                .oneshot(request)
                .await
                .map_err(|e| format!("the service failed: {e}"))?;
            let (parts, mut body) = response.into_parts();
            let mut bytes = Vec::new();
            let mut truncated = false;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| format!("the body failed: {e}"))?;
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
                if bytes.len() >= BODY_CAP {
                    truncated = true;
                    break;
                }
            }
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            Ok(Reply {
                status: parts.status.as_u16(),
                headers,
                body: bytes,
                truncated,
            })
        };
        // A procedure that blocks its thread is polled inside this very future, so the timer
        // cannot interrupt it: the elapsed time catches that kind of hang.
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(HANG, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("no complete reply within {HANG:?} (a hang)")),
        };
        if started.elapsed() > HANG {
            return Err(format!(
                "the reply took {:?}, over the hang detector's {HANG:?}",
                started.elapsed()
            ));
        }
        result
    }
}

/// The fixture under each configuration on `127.0.0.1:0`, for the socket lanes. The server
/// tasks end when the runtime does.
pub struct Servers(Vec<SocketAddr>);

impl Servers {
    pub async fn start() -> Self {
        let mut addrs = Vec::new();
        for config in configs() {
            let app = tabrpc_conformance::app(config).expect("the fixture builds");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            addrs.push(listener.local_addr().expect("local addr"));
            tokio::spawn(async move {
                let _ = tabrpc::axum::serve_until(listener, app, std::future::pending()).await;
            });
        }
        Self(addrs)
    }

    pub fn addr(&self, config: usize) -> SocketAddr {
        self.0[config % self.0.len()]
    }

    /// Writes `bytes` (a well-framed request with `connection: close`) and reads the reply
    /// until the server closes. `Ok(None)`: the server closed without a byte of answer.
    /// With `half_close`, the write side is shut after the request, so a request whose framing
    /// the fuzzer broke (a `content-length` larger than what follows) ends at EOF instead of
    /// leaving the server rightly waiting for more.
    pub async fn exchange(
        &self,
        config: usize,
        bytes: &[u8],
        half_close: bool,
    ) -> Result<Option<Reply>, String> {
        let addr = self.addr(config);
        let exchange = async {
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            // The server may answer (and close) before it has read everything, e.g. a 413.
            let _ = stream.write_all(bytes).await;
            if half_close {
                let _ = stream.shutdown().await;
            }
            let mut out = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
                if out.len() >= BODY_CAP {
                    break;
                }
            }
            Ok::<_, String>(out)
        };
        let out = match tokio::time::timeout(HANG, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(format!(
                    "the server neither finished answering nor closed within {HANG:?} (a hang)"
                ));
            }
        };
        if out.is_empty() {
            return Ok(None);
        }
        parse_response(&out).map(Some)
    }

    /// [`Servers::exchange`] for a request the fuzzer framed itself.
    pub async fn send(&self, config: usize, req: &Req, chunked: bool) -> Result<Reply, String> {
        match self.exchange(config, &req.to_wire(chunked), false).await? {
            Some(reply) => Ok(reply),
            None => Err("the server closed the connection without an answer".into()),
        }
    }
}

/// Parses an HTTP/1.1 response: content-length, chunked, or read-to-close bodies. A body cut at
/// the reader's cap is marked `truncated`.
pub fn parse_response(bytes: &[u8]) -> Result<Reply, String> {
    let lossy = || String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]).into_owned();
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head: {:?}", lossy()))?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "a non-UTF-8 response head")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let capped = bytes.len() >= BODY_CAP;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let (body, complete) =
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            dechunk(rest)
        } else if let Some(len) = header("content-length") {
            let len: usize = len.parse().map_err(|_| format!("content-length {len:?}"))?;
            (rest[..len.min(rest.len())].to_vec(), rest.len() >= len)
        } else {
            (rest.to_vec(), !capped)
        };
    if !complete && !capped {
        return Err(format!(
            "the server closed in the middle of the body: {:?}",
            lossy()
        ));
    }
    Ok(Reply {
        status,
        headers,
        body,
        truncated: !complete,
    })
}

/// The chunks' data, and whether the last chunk was seen.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|t| usize::from_str_radix(t.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else {
            return (body, false);
        };
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (body, true);
        }
        match rest.get(..size) {
            Some(data) => body.extend_from_slice(data),
            None => {
                body.extend_from_slice(rest);
                return (body, false);
            }
        }
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}
