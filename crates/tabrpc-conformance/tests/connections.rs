//! Connection limits of `tabrpc_axum::serve_with` over real sockets, with small values so each
//! test takes a second or two: slow-drip and idle connections are closed, a request or stream
//! in flight is never cut by the idle timeout, and the connection cap holds new connections
//! until a slot frees while 1,000+ idle connections under the default cap lock nobody out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tabrpc::wire::Config;
use tabrpc_axum::ServeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: only there so that a connection the server never closes fails the test instead of
/// hanging it.
const HANG: Duration = Duration::from_secs(15);

/// The fixture served in-process with `config`; the server task ends with the test's runtime.
async fn start(config: ServeConfig) -> SocketAddr {
    let app = tabrpc_conformance::app(Config::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tabrpc_axum::serve_with(
        listener,
        app,
        config,
        std::future::pending(),
    ));
    addr
}

/// Settings with every timeout off but the ones a test sets, so each test sees one mechanism.
fn quiet() -> ServeConfig {
    ServeConfig::default()
        .header_read_timeout(None)
        .idle_timeout(None)
}

/// Sends a keep-alive GET and reads its response (status and body, by `content-length`).
async fn request(stream: &mut TcpStream, target: &str, extra: &str) -> (u16, String) {
    let head = format!("GET {target} HTTP/1.1\r\nhost: test\r\n{extra}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .map(|v| v.trim().parse().unwrap())
        .expect("a content-length");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (
        status,
        String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
    )
}

/// Resolves once the server has closed `stream` (end of file or reset); whatever it sent
/// before is returned.
async fn closed_by_server(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_slow_drip_client_is_closed_after_the_header_read_timeout() {
    let addr = start(quiet().header_read_timeout(Some(Duration::from_millis(800)))).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header byte at a time, never finishing the head.
    let drip = tokio::spawn(async move {
        let head = format!(
            "GET /hello HTTP/1.1\r\nhost: test\r\nx-pad: {}",
            "a".repeat(1000)
        );
        for byte in head.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(HANG, reader.read_to_end(&mut seen)).await;
    assert!(closed.is_ok(), "the slow-drip connection is still open");
    assert!(
        !String::from_utf8_lossy(&seen).contains("200 OK"),
        "{seen:?}"
    );
    drip.abort();
}

/// Regression (found by the hostile-traffic run): a request whose head arrived but whose body
/// never did held its connection forever: neither the header-read timeout nor the idle timeout
/// applies, and 10,000 such connections filled the connection cap.
#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_the_connection_closed() {
    let config = ServeConfig::default().request_body_timeout(Duration::from_millis(800));
    let addr = start(config).await;
    for partial in [
        // A content-length announced, a few bytes sent.
        "POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n\"ec",
        // A chunk announced, part of it sent.
        "POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n200000\r\n\"ec",
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(partial.as_bytes()).await.unwrap();
        let (status, body) = tokio::time::timeout(HANG, read_response(&mut stream))
            .await
            .expect("an answer to the late body");
        assert_eq!(status, 408, "{body}");
        assert!(body.contains("\"code\":\"TIMEOUT\""), "{body}");
        assert!(body.contains("did not arrive"), "{body}");
        tokio::time::timeout(HANG, closed_by_server(&mut stream))
            .await
            .expect("the connection closed after the 408");
    }
    // A whole body is still read, and a normal client still answered.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, _) = request(&mut stream, "/hello", "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let addr = start(quiet().idle_timeout(Some(Duration::from_millis(500)))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(request(&mut stream, "/noInput", "").await.0, 200);
    // Kept alive: the next request on it is served.
    assert_eq!(request(&mut stream, "/noInput", "").await.0, 200);
    let seen = tokio::time::timeout(HANG, closed_by_server(&mut stream))
        .await
        .expect("the idle connection is closed");
    assert!(seen.is_empty(), "{:?}", String::from_utf8_lossy(&seen));
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_after_the_idle_timeout() {
    let addr = start(quiet().idle_timeout(Some(Duration::from_millis(500)))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(HANG, closed_by_server(&mut stream))
        .await
        .expect("the silent connection is closed");
}

#[tokio::test]
async fn a_long_request_and_an_open_stream_are_not_cut_by_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let addr = start(
        quiet()
            .idle_timeout(Some(idle))
            .header_read_timeout(Some(idle)),
    )
    .await;
    // A query that takes five idle timeouts.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, body) = tokio::time::timeout(HANG, request(&mut stream, "/slow?input=1500", ""))
        .await
        .unwrap();
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"result":{"data":"slept 1500"}}"#)
    );

    // A streaming (JSONL) batch whose head is sent at once and whose lines come later.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let target = "/slow,slow?batch=1&input=%7B%220%22%3A600%2C%221%22%3A1500%7D";
    let head = format!(
        "GET {target} HTTP/1.1\r\nhost: test\r\ntrpc-accept: application/jsonl\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let seen = tokio::time::timeout(HANG, closed_by_server(&mut stream))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("slept 600") && text.contains("slept 1500"),
        "{text}"
    );
}

#[tokio::test]
async fn a_thousand_idle_connections_do_not_lock_out_a_normal_client() {
    let addr = start(ServeConfig::default()).await;
    let mut idle = Vec::new();
    for _ in 0..1_100 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, _) = tokio::time::timeout(HANG, request(&mut stream, "/noInput", ""))
        .await
        .expect("a normal client is answered");
    assert_eq!(status, 200);
    drop(idle);
}

#[tokio::test]
async fn at_the_connection_cap_a_new_connection_waits_for_a_slot() {
    let addr = start(quiet().max_connections(2)).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert_eq!(request(&mut first, "/noInput", "").await.0, 200);
    assert_eq!(request(&mut second, "/noInput", "").await.0, 200);

    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /noInput HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(500), read_response(&mut third)).await;
    assert!(
        waiting.is_err(),
        "a third connection was served at a cap of 2"
    );

    drop(first);
    let (status, _) = tokio::time::timeout(HANG, read_response(&mut third))
        .await
        .expect("served once a slot frees");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_head_buffer_is_configurable() {
    let addr = start(quiet().max_head_bytes(16 * 1024)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let big = format!("x-big: {}\r\n", "b".repeat(32 * 1024));
    let (status, _) = tokio::time::timeout(HANG, request(&mut stream, "/noInput", &big))
        .await
        .unwrap();
    assert_eq!(status, 431);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let small = format!("x-small: {}\r\n", "s".repeat(4 * 1024));
    assert_eq!(request(&mut stream, "/noInput", &small).await.0, 200);
}
