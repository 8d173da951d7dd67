//! Shared helpers of the black-box conformance tests: start the fixture on a real socket, send
//! requests (with reqwest, or byte for byte over raw TCP when the URL must reach the server
//! exactly as written), and build the envelopes wire.md sections 1–3 promise.
//!
//! The codes table (`codes.rs`) is copied from wire.md on purpose instead of using the server's own
//! `ErrorCode`, so that a drift between the two is caught.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod codes;
pub use codes::lookup_code;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tabrpc::wire::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound on any single network step, so a hung server fails the test instead of hanging.
pub const STEP: Duration = Duration::from_secs(10);

/// The fixture served in-process on `127.0.0.1:0`. Dropping it stops the server task.
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// `base` + `path_and_query` (which should start with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }
}

/// Starts the fixture with `config`.
pub async fn start(config: Config) -> Server {
    let app = tabrpc_conformance::app(config).expect("the fixture router builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = tabrpc::axum::serve_until(listener, app, std::future::pending()).await;
    });
    Server {
        addr,
        base: format!("http://{addr}"),
        task,
    }
}

/// Starts the fixture with the default configuration.
pub async fn start_default() -> Server {
    start(Config::default()).await
}

/// A reply, read completely.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Header names lowercased, in arrival order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("the body is UTF-8")
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn describe(&self) -> String {
        format!(
            "status {} headers {:?} body {:?}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// A reqwest client that never follows redirects and never adds an `accept` header.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

async fn read_reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = tokio::time::timeout(STEP, response.bytes())
        .await
        .expect("body within the step timeout")
        .expect("body read")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// Sends a request built from `builder`, reads the whole reply.
pub async fn send(builder: reqwest::RequestBuilder) -> Reply {
    let response = tokio::time::timeout(STEP, builder.send())
        .await
        .expect("reply within the step timeout")
        .expect("request sent");
    read_reply(response).await
}

/// `GET base + path_and_query`.
pub async fn get(server: &Server, path_and_query: &str) -> Reply {
    send(client().get(server.url(path_and_query))).await
}

/// `GET` with extra headers.
pub async fn get_with(server: &Server, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = client().get(server.url(path_and_query));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder).await
}

/// `POST` with `content-type: application/json` and `body`.
pub async fn post_json(server: &Server, path_and_query: &str, body: &str) -> Reply {
    post(
        server,
        path_and_query,
        &[("content-type", "application/json")],
        body,
    )
    .await
}

/// `POST` with exactly these headers and `body`.
pub async fn post(
    server: &Server,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    request(server, "POST", path_and_query, headers, body).await
}

/// Any method, exactly these headers, `body`.
pub async fn request(
    server: &Server,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut builder = client()
        .request(method, server.url(path_and_query))
        .body(body.to_owned());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder).await
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over TCP: the request target reaches the server byte for byte.
// ---------------------------------------------------------------------------------------------

/// Writes `request` on a fresh connection and reads until the server closes it (or the step
/// timeout). Returns everything read; an empty vector means the server closed without answering.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = tokio::time::timeout(STEP, TcpStream::connect(addr))
        .await
        .expect("connect within the step timeout")
        .expect("connect");
    // The server may refuse mid-write (for a huge request); what it answered is still readable.
    let _ = stream.write_all(request).await;
    read_to_close(&mut stream).await
}

/// Reads until EOF or a connection reset; panics when the server keeps the connection open
/// silently for longer than the step timeout.
pub async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server neither answered nor closed the connection; read so far: {:?}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Parses an HTTP/1.1 response (content-length, chunked, or read-to-close bodies).
pub fn parse_response(bytes: &[u8]) -> Option<Reply> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some((_, len)) = headers.iter().find(|(n, _)| n == "content-length") {
        let len: usize = len.parse().ok()?;
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Sends `METHOD target HTTP/1.1` with `Host`, `Connection: close`, `headers` and `body`
/// (with a `content-length` when the body is non-empty), exactly as given.
pub async fn raw(
    server: &Server,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
        server.addr
    )
    .into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() {
        request.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    let bytes = raw_exchange(server.addr, &request).await;
    parse_response(&bytes).unwrap_or_else(|| {
        panic!(
            "no parsable HTTP response to {method} {target}: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// `GET target` over raw TCP.
pub async fn raw_get(server: &Server, target: &str) -> Reply {
    raw(server, "GET", target, &[], b"").await
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Percent-encodes like JavaScript's `encodeURIComponent` (what `@trpc/client` uses).
pub fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `input=<encodeURIComponent(JSON)>`.
pub fn input(value: &Value) -> String {
    format!("input={}", enc(&value.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Envelopes (wire.md section 2)
// ---------------------------------------------------------------------------------------------

/// The codes table of wire.md: name → (JSON-RPC code, HTTP status).
pub fn code_of(name: &str) -> (i32, u16) {
    lookup_code(name).unwrap_or_else(|| panic!("{name} is not in wire.md's codes table"))
}

/// `{"result":{"data":data}}`.
pub fn ok(data: Value) -> Value {
    json!({ "result": { "data": data } })
}

/// The error envelope as exact text, in wire.md's key order (`message`, `code`, `data`; in
/// `data`: `code`, `httpStatus`, then `path` for per-call errors only).
pub fn err_text(message: &str, name: &str, path: Option<&str>) -> String {
    format!("{{\"error\":{}}}", shape_text(message, name, path))
}

/// The bare error shape as exact text.
pub fn shape_text(message: &str, name: &str, path: Option<&str>) -> String {
    let (code, status) = code_of(name);
    let path = path
        .map(|p| format!(",\"path\":{}", Value::from(p)))
        .unwrap_or_default();
    format!(
        "{{\"message\":{},\"code\":{code},\"data\":{{\"code\":\"{name}\",\"httpStatus\":{status}{path}}}}}",
        Value::from(message)
    )
}

/// The error envelope as a JSON value.
pub fn err(message: &str, name: &str, path: Option<&str>) -> Value {
    serde_json::from_str(&err_text(message, name, path)).expect("valid envelope")
}

/// Asserts the standard JSON reply headers: `content-type: application/json` and
/// `vary: trpc-accept, accept`.
pub fn assert_json_headers(reply: &Reply) {
    let ct = reply.header("content-type");
    assert!(
        ct.is_some_and(|ct| ct.split(';').next().map(str::trim) == Some("application/json")),
        "content-type must be application/json: {}",
        reply.describe()
    );
    let vary = reply.header_all("vary").join(", ");
    let mut names: Vec<String> = vary
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["accept", "trpc-accept"],
        "vary must be `trpc-accept, accept`: {}",
        reply.describe()
    );
}

/// Asserts status, JSON headers and the exact body text.
#[track_caller]
pub fn assert_reply(reply: &Reply, status: u16, body: &str) {
    assert_eq!(
        (reply.status, String::from_utf8_lossy(&reply.body).as_ref()),
        (status, body),
        "{}",
        reply.describe()
    );
    assert_json_headers(reply);
}

/// Asserts status, JSON headers and the body as a JSON value (key order not checked).
#[track_caller]
pub fn assert_reply_json(reply: &Reply, status: u16, body: &Value) {
    assert_eq!(reply.status, status, "{}", reply.describe());
    assert_eq!(&reply.json(), body, "{}", reply.describe());
    assert_json_headers(reply);
}

/// Checks an error shape whose message is server-specific: exact keys and order, code, status,
/// path; returns the message for further checks.
#[track_caller]
pub fn check_shape(shape: &Value, name: &str, path: Option<&str>) -> String {
    let message = shape["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error.message must be a string: {shape}"))
        .to_owned();
    let expected = err(&message, name, path);
    assert_eq!(shape, &expected["error"], "error shape");
    message
}

/// Checks a whole error envelope (see [`check_shape`]); also checks the raw key order.
#[track_caller]
pub fn check_envelope_text(text: &str, name: &str, path: Option<&str>) -> String {
    let value: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let message = check_shape(&value["error"], name, path);
    assert_eq!(text, err_text(&message, name, path), "key order");
    message
}

/// Whether `word` appears in `text` as a whole word (letters, digits and `_` delimit words).
pub fn mentions_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|token| token == word)
}

// ---------------------------------------------------------------------------------------------
// JSONL (wire.md section 3)
// ---------------------------------------------------------------------------------------------

/// Reads a streaming reply line by line, as the bytes arrive.
pub struct LineReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    done: bool,
}

impl LineReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// The next `\n`-terminated line (without the `\n`), or `None` at the end of the body.
    /// Panics if a final line lacks its `\n` (the client drops such a line).
    pub async fn next_line(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                return Some(
                    String::from_utf8(line[..line.len() - 1].to_vec()).expect("UTF-8 line"),
                );
            }
            if self.done {
                assert!(
                    self.buffer.is_empty(),
                    "the body ended with an unterminated line: {:?}",
                    String::from_utf8_lossy(&self.buffer)
                );
                return None;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("next line within the deadline")
                .expect("body chunk");
            match chunk {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => self.done = true,
            }
        }
    }

    /// Every remaining line.
    pub async fn rest(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = self.next_line(STEP).await {
            lines.push(line);
        }
        lines
    }
}

/// Starts a streaming request (`trpc-accept: application/jsonl` unless `headers` says
/// otherwise) and returns the response head without reading the body.
pub async fn start_stream(
    builder: reqwest::RequestBuilder,
) -> (u16, Vec<(String, String)>, LineReader) {
    let response = tokio::time::timeout(STEP, builder.send())
        .await
        .expect("head within the step timeout")
        .expect("request sent");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    (status, headers, LineReader::new(response))
}

/// A whole JSONL reply: head, then every line.
pub struct Jsonl {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub lines: Vec<String>,
}

impl Jsonl {
    pub fn reply_headers(&self) -> Reply {
        Reply {
            status: self.status,
            headers: self.headers.clone(),
            body: Vec::new(),
        }
    }

    /// The parsed lines.
    pub fn values(&self) -> Vec<Value> {
        self.lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
            .collect()
    }
}

/// `GET` with `trpc-accept: application/jsonl`, read to the end.
pub async fn get_jsonl(server: &Server, path_and_query: &str) -> Jsonl {
    let builder = client()
        .get(server.url(path_and_query))
        .header("trpc-accept", "application/jsonl");
    read_jsonl(builder).await
}

/// Sends `builder` and reads the whole JSONL body.
pub async fn read_jsonl(builder: reqwest::RequestBuilder) -> Jsonl {
    let (status, headers, mut reader) = start_stream(builder).await;
    let lines = reader.rest().await;
    Jsonl {
        status,
        headers,
        lines,
    }
}

/// What one JSONL item decodes to, the way `@trpc/client`'s decoder sees it: promises are
/// replaced by their settled value, async iterables by
/// `{"$yield":[…],"$return":…}` or `{"$yield":[…],"$error":shape}`, a rejected promise by
/// `{"$rejected":shape}`. A key whose value is `undefined` is dropped, so the flat
/// (`[[{"result":{"data":X}}]]`) and the nested (`{"result":0}` + placeholders) encodings of the
/// same item decode to the same value.
pub fn decode_jsonl(lines: &[String]) -> Vec<Option<Value>> {
    let values: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect();
    let head = values
        .first()
        .and_then(Value::as_object)
        .expect("the first line is the head object");
    let chunks: Vec<(u64, u64, Value)> = values[1..]
        .iter()
        .map(|v| {
            let a = v
                .as_array()
                .filter(|a| a.len() == 3)
                .unwrap_or_else(|| panic!("chunk line must be [id, status, value]: {v}"));
            (
                a[0].as_u64().unwrap_or_else(|| panic!("chunk id: {v}")),
                a[1].as_u64().unwrap_or_else(|| panic!("chunk status: {v}")),
                a[2].clone(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..head.len() {
        let encoded = head
            .get(&i.to_string())
            .unwrap_or_else(|| panic!("the head has no key {i}: {head:?}"));
        out.push(decode_value(encoded, &chunks, 0));
    }
    out
}

fn decode_value(encoded: &Value, chunks: &[(u64, u64, Value)], depth: usize) -> Option<Value> {
    assert!(depth < 32, "placeholder cycle");
    let parts = encoded
        .as_array()
        .unwrap_or_else(|| panic!("encoded value must be an array: {encoded}"));
    let first = parts
        .first()
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("encoded value must start with [value] or []: {encoded}"));
    let mut value = first.first().cloned();
    for placeholder in &parts[1..] {
        let p = placeholder
            .as_array()
            .filter(|p| p.len() == 3)
            .unwrap_or_else(|| panic!("placeholder must be [key, type, id]: {placeholder}"));
        let id = p[2].as_u64().expect("placeholder chunk id");
        let resolved = match p[1].as_u64() {
            Some(0) => decode_promise(id, chunks, depth),
            Some(1) => Some(decode_iterable(id, chunks, depth)),
            other => panic!("placeholder type {other:?}"),
        };
        match &p[0] {
            Value::Null => value = resolved,
            Value::String(key) => {
                let object = value
                    .as_mut()
                    .and_then(Value::as_object_mut)
                    .unwrap_or_else(|| panic!("keyed placeholder on a non-object: {encoded}"));
                match resolved {
                    Some(v) => {
                        object.insert(key.clone(), v);
                    }
                    None => {
                        object.remove(key);
                    }
                }
            }
            other => panic!("placeholder key {other}"),
        }
    }
    value
}

fn decode_promise(id: u64, chunks: &[(u64, u64, Value)], depth: usize) -> Option<Value> {
    let settled: Vec<_> = chunks.iter().filter(|(c, _, _)| *c == id).collect();
    assert_eq!(settled.len(), 1, "promise {id} must settle exactly once");
    let (_, status, value) = settled[0];
    match status {
        0 => decode_value(value, chunks, depth + 1),
        1 => Some(json!({ "$rejected": value })),
        other => panic!("promise status {other}"),
    }
}

fn decode_iterable(id: u64, chunks: &[(u64, u64, Value)], depth: usize) -> Value {
    let mut yields = Vec::new();
    for (_, status, value) in chunks.iter().filter(|(c, _, _)| *c == id) {
        match status {
            1 => yields.push(decode_value(value, chunks, depth + 1).unwrap_or(Value::Null)),
            0 => {
                let ret = decode_value(value, chunks, depth + 1).unwrap_or(Value::Null);
                return json!({ "$yield": yields, "$return": ret });
            }
            2 => return json!({ "$yield": yields, "$error": value }),
            other => panic!("iterable status {other}"),
        }
    }
    panic!("iterable {id} never ended")
}

/// The header of a JSONL reply, as a [`Reply`] without a body.
pub fn jsonl_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The raw text of each element of a JSON array body (key order preserved).
pub fn raw_items(text: &str) -> Vec<String> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("body is not a JSON array ({e}): {text}"));
    items.iter().map(|raw| raw.get().to_owned()).collect()
}
