//! wire.md §1 "Never a panic, never a dropped connection": malformed requests over raw TCP,
//! deeply nested JSON, clients that go away, many concurrent batches, and graceful shutdown of
//! the real binary with a call in flight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const HELLO: &str = r#"{"result":{"data":{"text":"hello world"}}}"#;

/// A malformed request must get a 4xx, or (for bytes hyper cannot parse as HTTP at all) a clean
/// close without an answer. Never a 2xx, never a 5xx, never a hang.
fn assert_refused(what: &str, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let reply = parse_response(bytes).unwrap_or_else(|| {
        panic!(
            "{what}: unparsable answer {:?}",
            String::from_utf8_lossy(bytes)
        )
    });
    assert!(
        (400..500).contains(&reply.status),
        "{what}: status {} body {:?}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
}

async fn assert_still_serving(server: &Server) {
    let reply = get(server, "/hello").await;
    assert_reply(&reply, 200, HELLO);
}

#[tokio::test]
async fn garbage_request_lines_are_refused() {
    let server = start_default().await;
    let cases: [(&str, &[u8]); 6] = [
        ("garbage", b"GARBAGE\r\n\r\n"),
        ("no version", b"GET /hello\r\n\r\n"),
        ("bad version", b"GET /hello HTTP/9.9\r\nhost: x\r\n\r\n"),
        ("binary", b"\x00\x01\x02\x03\xff\xfe\r\n\r\n"),
        (
            "space in target",
            b"GET /hel lo HTTP/1.1\r\nhost: x\r\n\r\n",
        ),
        (
            "bad header line",
            b"GET /hello HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n",
        ),
    ];
    for (what, request) in cases {
        let bytes = raw_exchange(server.addr, request).await;
        assert_refused(what, &bytes);
    }
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn huge_header_is_refused_and_the_server_survives() {
    let server = start_default().await;
    let mut request = b"GET /hello HTTP/1.1\r\nhost: x\r\nx-big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let bytes = raw_exchange(server.addr, &request).await;
    assert_refused("1 MiB header", &bytes);
    // Many headers.
    let mut request = b"GET /hello HTTP/1.1\r\nhost: x\r\n".to_vec();
    for i in 0..500 {
        request.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let bytes = raw_exchange(server.addr, &request).await;
    assert_refused("500 headers", &bytes);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn invalid_utf8_in_path_and_query_is_refused() {
    let server = start_default().await;
    let cases: [(&str, &[u8]); 3] = [
        (
            "raw byte in path",
            b"GET /hel\xfflo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ),
        (
            "raw byte in query",
            b"GET /helloStr?input=%22\xff%22 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ),
        (
            "escaped invalid UTF-8 in path",
            b"GET /hel%FF%FElo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ),
    ];
    for (what, request) in cases {
        let bytes = raw_exchange(server.addr, request).await;
        assert_refused(what, &bytes);
        // Answered by tabrpc (not refused by hyper): then it is an envelope.
        if let Some(reply) = parse_response(&bytes).filter(|r| r.header("content-type").is_some()) {
            let name = reply.json()["error"]["data"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            check_envelope_text(&reply.text(), &name, None);
        }
    }
    // Escaped invalid UTF-8 in a query value is decoded lossily (form-urlencoded rules).
    let reply = raw_get(&server, "/helloStr?input=%22%FF%FE%22").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn control_characters_in_the_decoded_path_are_just_unknown_names() {
    let server = start_default().await;
    let reply = raw_get(&server, "/hel%00lo").await;
    assert_reply(
        &reply,
        404,
        &err_text(
            "No procedure found on path \"hel\u{0}lo\"",
            "NOT_FOUND",
            Some("hel\u{0}lo"),
        ),
    );
    let reply = raw_get(&server, "/%22%5C%0A").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["data"]["path"], json!("\"\\\n"));
}

#[tokio::test]
async fn truncated_body_then_close_is_refused() {
    let server = start_default().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n\"only ten",
        )
        .await
        .unwrap();
    // Close our sending side: the server sees the body end early.
    stream.shutdown().await.unwrap();
    let bytes = read_to_close(&mut stream).await;
    assert_refused("truncated body", &bytes);
    if let Some(reply) = parse_response(&bytes) {
        // Answered by tabrpc: then it is an envelope.
        assert_json_headers(&reply);
        let name = reply.json()["error"]["data"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        check_envelope_text(&reply.text(), &name, None);
    }
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn truncated_body_with_a_hard_close_does_not_hurt_the_server() {
    let server = start_default().await;
    for _ in 0..10 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n\"abc",
            )
            .await
            .unwrap();
        drop(stream);
    }
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn deeply_nested_json_is_a_clean_400() {
    let server = start_default().await;
    let deep = "[".repeat(100_000);
    let reply = post_json(&server, "/echo", &deep).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_json_headers(&reply);
    let name = reply.json()["error"]["data"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(name == "PARSE_ERROR" || name == "BAD_REQUEST", "{name}");
    check_envelope_text(&reply.text(), &name, Some("echo"));

    // Balanced and deep, inside a batch object.
    let balanced = format!("{{\"0\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
    let reply = post_json(&server, "/echo,optMut?batch=1", &balanced).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json().as_array().map(Vec::len), Some(2));

    // In a query input (within the URL limit).
    let nested = "%5B".repeat(4000);
    let reply = raw_get(&server, &format!("/helloStr?input={nested}")).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["error"]["data"]["path"], json!("helloStr"));
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = start_default().await;
    let request = "GET /hello HTTP/1.1\r\nhost: x\r\n\r\nGET /nope HTTP/1.1\r\nhost: x\r\n\r\nGET /noInput HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let bytes = raw_exchange(server.addr, request.as_bytes()).await;
    let text = String::from_utf8_lossy(&bytes);
    let hello = text.find(HELLO).expect("hello answered");
    let nope = text
        .find("No procedure found on path")
        .expect("nope answered");
    let no_input = text.find("\"no-input\"").expect("noInput answered");
    assert!(hello < nope && nope < no_input, "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 3, "{text}");
}

#[tokio::test]
async fn client_going_away_mid_call_or_mid_stream_does_not_hurt_the_server() {
    let server = start_default().await;
    // Mid-call: the client gives up on a slow call.
    let slow = client().get(server.url(&format!("/slow?{}", input(&json!(2000)))));
    let gave_up = tokio::time::timeout(Duration::from_millis(100), slow.send()).await;
    assert!(gave_up.is_err(), "the slow call cannot be done yet");
    // Mid-stream: read the head, then drop the response.
    let builder = client()
        .get(server.url(&format!(
            "/slow,slow?batch=1&{}",
            input(&json!({"0": 2000, "1": 1}))
        )))
        .header("trpc-accept", "application/jsonl");
    let (status, _, mut reader) = start_stream(builder).await;
    assert_eq!(status, 200);
    reader.next_line(STEP).await.expect("head");
    drop(reader);
    assert_still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_batches_each_get_their_own_answers() {
    let server = start_default().await;
    let http = client();
    let tasks: Vec<_> = (0..64u32)
        .map(|i| {
            let url = server.url(&format!(
                "/helloStr,slow,post.byId,boom?batch=1&{}",
                input(&json!({"0": format!("n{i}"), "1": i % 7, "2": {"id": i}}))
            ));
            let http = http.clone();
            tokio::spawn(async move { (i, send(http.get(url)).await) })
        })
        .collect();
    for task in tasks {
        let (i, reply) = task.await.unwrap();
        assert_eq!(reply.status, 207, "{}", reply.text());
        let items = raw_items(&reply.text());
        assert_eq!(items[0], format!(r#"{{"result":{{"data":"Hello n{i}"}}}}"#));
        assert_eq!(
            items[1],
            format!(r#"{{"result":{{"data":"slept {}"}}}}"#, i % 7)
        );
        assert_eq!(
            items[2],
            format!(r#"{{"result":{{"data":{{"id":{i},"title":"post {i}"}}}}}}"#)
        );
        check_envelope_text(&items[3], "INTERNAL_SERVER_ERROR", Some("boom"));
    }
    // Streams, concurrently.
    let tasks: Vec<_> = (0..32u32)
        .map(|i| {
            let builder = http
                .get(server.url(&format!(
                    "/helloStr,iter?batch=1&{}",
                    input(&json!({"0": format!("s{i}")}))
                )))
                .header("trpc-accept", "application/jsonl");
            tokio::spawn(async move { (i, read_jsonl(builder).await) })
        })
        .collect();
    for task in tasks {
        let (i, stream) = task.await.unwrap();
        assert_eq!(stream.status, 200);
        assert_eq!(
            decode_jsonl(&stream.lines),
            [
                Some(ok(json!(format!("Hello s{i}")))),
                Some(json!({"result": {"data": {"$yield": [1, 2], "$return": null}}}))
            ]
        );
    }
    assert_still_serving(&server).await;
}

// ---------------------------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------------------------

struct Child {
    child: std::process::Child,
    base: String,
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only our own child, by its id; it is normally gone already.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn_fixture(args: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tabrpc-conformance"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the fixture binary");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the fixture prints its address");
    let base = line
        .trim()
        .strip_prefix("tabrpc-conformance listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Child { child, base }
}

async fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(status) = child.child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the fixture did not exit within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_in_flight_call_finish_then_exits_zero() {
    let mut fixture = spawn_fixture(&[]);
    let http = client();
    // One request first, so the connection is accepted and served before the signal.
    let reply = send(http.get(format!("{}/hello", fixture.base))).await;
    assert_reply(&reply, 200, HELLO);

    let url = format!("{}/slow?{}", fixture.base, input(&json!(500)));
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move { send(http.get(url)).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!in_flight.is_finished(), "the slow call cannot be done yet");

    let pid = fixture.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let reply = in_flight.await.unwrap();
    assert_reply(&reply, 200, r#"{"result":{"data":"slept 500"}}"#);
    let status = wait_exit(&mut fixture, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn binary_flags_configure_the_fixture() {
    let fixture = spawn_fixture(&[
        "--no-batching",
        "--method-override",
        "--call-timeout-ms",
        "100",
    ]);
    let http = client();
    let reply = send(http.get(format!("{}/hello?batch=1", fixture.base))).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["error"]["message"],
        json!("Batching is not enabled on the server")
    );
    let reply = send(
        http.post(format!("{}/hello", fixture.base))
            .header("content-type", "application/json")
            .body(r#"{"who":"flag"}"#),
    )
    .await;
    assert_reply(&reply, 200, r#"{"result":{"data":{"text":"hello flag"}}}"#);
    let reply = send(http.get(format!("{}/slow?{}", fixture.base, input(&json!(3000))))).await;
    assert_eq!(reply.status, 408, "{}", reply.text());
    drop(fixture);

    let fixture = spawn_fixture(&["--max-batch-size", "1"]);
    let reply = send(http.get(format!("{}/hello,hello?batch=1", fixture.base))).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let body: Value = reply.json();
    assert!(body["error"]["data"].get("path").is_none(), "{body}");
    let reply = send(http.get(format!("{}/hello?batch=1", fixture.base))).await;
    assert_eq!(reply.status, 200);
}
