//! `serve_with` tells HTTP/2 with prior knowledge from HTTP/1 by the connection's first bytes,
//! and closes a connection that sends nothing within the header read timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Generous: only there so that a hung server fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(10);

async fn server(config: tabrpc_axum::ServeConfig) -> SocketAddr {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tabrpc_axum::serve_with(
        listener,
        app,
        config,
        std::future::pending(),
    ));
    addr
}

async fn read_some(tcp: &mut TcpStream, at_least: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    while out.len() < at_least {
        let n = tokio::time::timeout(HANG, tcp.read(&mut chunk))
            .await
            .expect("the server answers")
            .unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    out
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served() {
    let addr = server(tabrpc_axum::ServeConfig::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The preface, sent in two parts, then an empty SETTINGS frame.
    tcp.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    tcp.write_all(b"\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let frame = read_some(&mut tcp, 9).await;
    // The server's first frame is its SETTINGS (type 4 on stream 0).
    assert!(frame.len() >= 9, "{frame:?}");
    assert_eq!(frame[3], 4, "{frame:?}");
    assert_eq!(&frame[5..9], &[0, 0, 0, 0], "{frame:?}");
}

#[tokio::test]
async fn http1_is_served() {
    let addr = server(tabrpc_axum::ServeConfig::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let response = String::from_utf8(read_some(&mut tcp, usize::MAX).await).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello"), "{response}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let config =
        tabrpc_axum::ServeConfig::default().header_read_timeout(Some(Duration::from_millis(200)));
    let addr = server(config).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    assert!(read_some(&mut tcp, 1).await.is_empty());
}
