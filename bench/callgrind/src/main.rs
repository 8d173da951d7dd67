//! Serves the conformance fixture with `tabrpc::axum::serve_with` and sends it `N` identical
//! keep-alive HTTP/1.1 requests from a client in the same process, on one thread (a
//! current-thread runtime, so callgrind sees no scheduling noise). Every answer is checked.
//!
//! `tabrpc-callgrind <single|batch10> <N>`; `run.sh` runs it under callgrind for two values of
//! `N` and divides the difference in instructions by the difference in requests, so that
//! start-up and shutdown cancel out.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `GET /hello?input={"who":"ann"}`.
const SINGLE: &str = "/hello?input=%7B%22who%22%3A%22ann%22%7D";
const SINGLE_BODY: &str = r#"{"result":{"data":{"text":"hello ann"}}}"#;

fn batch10() -> (String, String) {
    let paths = vec!["hello"; 10].join(",");
    let inputs: Vec<String> = (0..10)
        .map(|i| format!("%22{i}%22%3A%7B%22who%22%3A%22u{i}%22%7D"))
        .collect();
    let target = format!("/{paths}?batch=1&input=%7B{}%7D", inputs.join("%2C"));
    let items: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"result":{{"data":{{"text":"hello u{i}"}}}}}}"#))
        .collect();
    (target, format!("[{}]", items.join(",")))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "single".to_owned());
    let count: usize = args.next().unwrap_or_else(|| "100".to_owned()).parse()?;
    let (target, expected) = match workload.as_str() {
        "single" => (SINGLE.to_owned(), SINGLE_BODY.to_owned()),
        "batch10" => batch10(),
        other => return Err(format!("unknown workload {other}").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&target, &expected, count))
}

async fn run(target: &str, expected: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let app = tabrpc_conformance::app(tabrpc::wire::Config::default())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tabrpc::axum::serve_with(
        listener,
        app,
        tabrpc::axum::ServeConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let mut conn = TcpStream::connect(addr).await?;
    conn.set_nodelay(true)?;
    let request = format!("GET {target} HTTP/1.1\r\nhost: bench\r\n\r\n");
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..count {
        conn.write_all(request.as_bytes()).await?;
        let body = read_response(&mut conn, &mut buf).await?;
        if body != expected.as_bytes() {
            return Err(format!("unexpected answer: {}", String::from_utf8_lossy(&body)).into());
        }
    }
    drop(conn);
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Reads one response with a `content-length` (all the fixture's JSON answers have one) and
/// returns its body, after checking the status is 200.
async fn read_response(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?;
            if !head.starts_with("HTTP/1.1 200") {
                return Err(format!("unexpected status: {head}").into());
            }
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .ok_or("no content-length")?;
            while buf.len() < end + 4 + length {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Err("connection closed".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(buf[end + 4..end + 4 + length].to_vec());
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
