//! One fuzzed request, its corpus file format, and its two encodings: an `http::Request` for the
//! in-process tower service, and raw HTTP/1.1 bytes for a real socket.
//!
//! Corpus format (`fuzz-corpus/**/*.http`): an HTTP/1.1 request as text, lines ending in `\n`
//! or `\r\n`: the request line, the headers, a blank line, then the body verbatim (a single
//! final `\n` after the body is not part of it). `content-length` is never written in a seed:
//! it is computed when the request is sent, so a seed cannot make the server wait for bytes
//! that never come. Lines before the request line starting with `#` are comments.

use std::path::Path;

/// A request as the fuzzer builds it: every part may hold bytes that no real client would send
/// (but never CR or LF in the method, target or headers, which would change the framing).
#[derive(Clone, PartialEq, Eq)]
pub struct Req {
    pub method: String,
    /// The request target as written on the request line (`/a,b?batch=1&input=…`).
    pub target: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The request as its corpus file would read, bodies cut short: the text a failing case
        // prints is the seed to keep.
        let mut text = self.to_corpus();
        if text.len() > 4000 {
            let cut = (0..=4000)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            text.truncate(cut);
            text.push_str("…(cut)");
        }
        write!(f, "\n{text}")
    }
}

impl Req {
    pub fn get(target: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "GET".into(),
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Parses a corpus file.
    pub fn parse_corpus(text: &[u8]) -> Result<Self, String> {
        let mut rest = text;
        // Comment lines before the request line.
        while rest.first() == Some(&b'#') {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            rest = &rest[(end + 1).min(rest.len())..];
        }
        let mut lines = Vec::new();
        loop {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("no blank line after the headers")?;
            let mut line = &rest[..end];
            rest = &rest[end + 1..];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let (first, headers) = lines.split_first().ok_or("no request line")?;
        let mut parts = first.splitn(3, |&b| b == b' ');
        let method = String::from_utf8(parts.next().ok_or("no method")?.to_vec())
            .map_err(|_| "the method is not UTF-8")?;
        let target = parts.next().ok_or("no target")?.to_vec();
        let headers = headers
            .iter()
            .map(|line| {
                let colon = line
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or("a header line without a colon")?;
                let name = String::from_utf8(line[..colon].to_vec())
                    .map_err(|_| "a header name is not UTF-8")?;
                let value = line[colon + 1..].trim_ascii_start().to_vec();
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let body = rest.strip_suffix(b"\n").unwrap_or(rest).to_vec();
        Ok(Self {
            method,
            target,
            headers,
            body,
        })
    }

    /// The request as a corpus file (see the module docs).
    pub fn to_corpus(&self) -> String {
        let mut text = format!(
            "{} {} HTTP/1.1\n",
            self.method,
            String::from_utf8_lossy(&self.target)
        );
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&self.body));
        text
    }

    /// Reads every `*.http` file of `dir` (sorted by name; none if the folder is missing).
    pub fn load_dir(dir: &Path) -> Vec<(String, Self)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "http"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                let req = Self::parse_corpus(&bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, req)
            })
            .collect()
    }

    /// The request for the in-process service, or `None` when the `http` crate refuses one of
    /// its parts (such a request can only be sent as bytes over a socket).
    pub fn to_http(&self) -> Option<http::Request<axum::body::Body>> {
        let uri = http::Uri::try_from(self.target.as_slice()).ok()?;
        // An absolute-form or authority-form target is legal HTTP, but never reaches the
        // endpoint in-process the way hyper would hand it over.
        if uri.scheme().is_some() || uri.authority().is_some() {
            return None;
        }
        let method = http::Method::from_bytes(self.method.as_bytes()).ok()?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::HOST, "fuzz.test");
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
            // hyper computes these from the bytes on the wire; in-process the body is given.
            if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
                continue;
            }
            let value = http::HeaderValue::from_bytes(value).ok()?;
            builder = builder.header(name, value);
        }
        builder.body(axum::body::Body::from(self.body.clone())).ok()
    }

    /// The request as HTTP/1.1 bytes: `connection: close`, the right `content-length` (or, with
    /// `chunked`, the body in two chunks), every header byte for byte.
    pub fn to_wire(&self, chunked: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.target.len() + self.body.len() + 256);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            out.extend_from_slice(b"host: fuzz.test\r\n");
        }
        out.extend_from_slice(b"connection: close\r\n");
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
                || name.eq_ignore_ascii_case("connection")
            {
                continue;
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if chunked {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            let (a, b) = self.body.split_at(self.body.len() / 2);
            for chunk in [a, b] {
                if !chunk.is_empty() {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(
                format!("content-length: {}\r\n\r\n", self.body.len()).as_bytes(),
            );
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// Whether the target names the fixture's `boom` procedure (after percent-decoding, as one
    /// of the `,`-separated paths): the one request whose 500 is expected.
    pub fn names_boom(&self) -> bool {
        // A fragment (`/boom#x`) never reaches the server: the path ends at `?` or `#`.
        let path = self
            .target
            .split(|&b| b == b'?' || b == b'#')
            .next()
            .unwrap_or_default();
        percent_decode(path)
            .split(|&b| b == b',' || b == b'/')
            .any(|name| name == b"boom")
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(text) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(text, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
