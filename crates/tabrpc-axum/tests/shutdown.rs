//! Shutdown belongs to the server that owns the streams: two servers in one process, and
//! stopping one ends only the streams (subscriptions, streamed outputs) of its own requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream;
use http::request::Parts;
use tabrpc_axum::Endpoint;
use tabrpc_core::{Error, Procedure, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generous: only there so that a hung server fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Ctx;

/// 0, 1, 2, … one every 10 ms, forever.
fn ticks() -> impl futures_util::Stream<Item = Result<u64, Error>> + Send + 'static {
    stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Some((Ok(n), n + 1))
    })
}

/// A server with an endless subscription (`ticks`) and an endless streamed output
/// (`tickStream`), stopped by the returned sender; its task ends when `serve_until` returns.
async fn server() -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let built = Router::new()
        .procedure(
            "ticks",
            Procedure::subscription(|_: Ctx, (): ()| async { Ok::<_, Error>(ticks()) }),
        )
        .procedure(
            "tickStream",
            Procedure::stream(|_: Ctx, (): ()| async { Ok::<_, Error>(ticks()) }),
        )
        .build()
        .unwrap();
    let app = Endpoint::new(built, |_: &Parts| async { Ok(Ctx) }).into_router();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(tabrpc_axum::serve_until(listener, app, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// An open streaming response: the connection and what it has sent so far.
struct Open {
    conn: TcpStream,
    seen: String,
}

impl Open {
    /// Sends `GET target` with `headers` and reads until `ready` is in the response.
    async fn get(addr: SocketAddr, target: &str, headers: &str, ready: &str) -> Self {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let head = format!("GET {target} HTTP/1.1\r\nhost: test\r\n{headers}\r\n");
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut open = Self {
            conn,
            seen: String::new(),
        };
        let ended = open.read_until(|seen| seen.contains(ready)).await;
        assert!(!ended, "the stream ended early: {}", open.seen);
        open
    }

    /// Reads until `done` holds for what was seen; whether the connection was closed.
    async fn read_until(&mut self, done: impl Fn(&str) -> bool) -> bool {
        let mut chunk = [0u8; 4096];
        while !done(&self.seen) {
            let read = tokio::time::timeout(HANG, self.conn.read(&mut chunk)).await;
            match read.expect("the stream went silent") {
                Ok(0) | Err(_) => return true,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
        false
    }

    /// Reads to the end of the connection; what was sent after `from` bytes.
    async fn read_to_end(&mut self) -> String {
        let from = self.seen.len();
        let ended = self.read_until(|_| false).await;
        assert!(ended);
        self.seen[from..].to_owned()
    }

    /// Whether new `marker`s keep arriving: waits for `count` more than already seen.
    async fn still_streaming(&mut self, marker: &str, count: usize) -> bool {
        let target = self.seen.matches(marker).count() + count;
        !self
            .read_until(|seen| seen.matches(marker).count() >= target)
            .await
    }
}

const SSE: (&str, &str, &str) = ("/ticks", "", "data: 0\n");
const JSONL: (&str, &str, &str) = (
    "/tickStream?batch=1",
    "trpc-accept: application/jsonl\r\n",
    ",1,[[0]]]\n",
);

#[tokio::test]
async fn stopping_one_server_ends_only_its_own_streams() {
    let (addr_a, stop_a, task_a) = server().await;
    let (addr_b, stop_b, task_b) = server().await;
    let mut sse_a = Open::get(addr_a, SSE.0, SSE.1, SSE.2).await;
    let mut sse_b = Open::get(addr_b, SSE.0, SSE.1, SSE.2).await;
    let mut jsonl_a = Open::get(addr_a, JSONL.0, JSONL.1, JSONL.2).await;
    let mut jsonl_b = Open::get(addr_b, JSONL.0, JSONL.1, JSONL.2).await;

    stop_a.send(()).unwrap();
    // Server A returns: its endless streams no longer hold their connections.
    let ended = tokio::time::timeout(HANG, task_a).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    // Its subscription ended without `event: return` (clients reconnect elsewhere) …
    let rest = sse_a.read_to_end().await;
    assert!(!rest.contains("event: return"), "{rest}");
    // … and its streamed output failed with SERVICE_UNAVAILABLE.
    let rest = jsonl_a.read_to_end().await;
    assert!(rest.contains("\"SERVICE_UNAVAILABLE\""), "{rest}");

    // Server B's streams run on.
    assert!(sse_b.still_streaming("\ndata: ", 3).await, "{}", sse_b.seen);
    assert!(
        jsonl_b.still_streaming(",1,[[", 3).await,
        "{}",
        jsonl_b.seen
    );
    assert!(!task_b.is_finished());

    stop_b.send(()).unwrap();
    let ended = tokio::time::timeout(HANG, task_b).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    assert!(!sse_b.read_to_end().await.contains("event: return"));
}
