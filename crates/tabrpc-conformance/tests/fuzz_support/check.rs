//! The oracle: what every reply to any request must satisfy, whatever the request held.
//!
//! - no 5xx, except the 500 of the fixture's `boom` procedure (a panic on purpose);
//! - a well-formed body: a JSON envelope (or a batch array of them) whose statuses agree with
//!   the HTTP status and wire.md's codes table, a JSONL stream, or an SSE stream;
//! - `content-type: application/json` and `vary: trpc-accept, accept` on JSON replies.
//!
//! It says nothing about *which* answer is right: the conformance tests do that for known
//! requests. Every failure is a message describing what is wrong.

use serde_json::{Map, Value};

/// A reply, read (possibly only in part: see `truncated`).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Lowercased names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The reader stopped at its size cap (a long subscription) before the end of the body.
    pub truncated: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(2000).collect();
        format!(
            "status {} headers {:?} body {body:?}{}",
            self.status,
            self.headers,
            if self.truncated {
                " (cut by the reader)"
            } else {
                ""
            }
        )
    }
}

#[path = "../support/codes.rs"]
mod codes;

/// The wire.md codes table, shared with the conformance tests.
fn code_of(name: &str) -> Option<(i64, u16)> {
    codes::lookup_code(name).map(|(rpc, status)| (i64::from(rpc), status))
}

/// How the reply came back, which decides what a bodiless refusal may look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The tower service, in-process: every reply is tabrpc's own.
    Service,
    /// A socket: hyper itself may refuse what it cannot parse (a 4xx without a body).
    Socket,
}

/// Checks `reply` to `method`. `boom_allowed`: the request names the `boom` procedure, whose
/// 500 is the fixture's purpose.
pub fn check_reply(
    method: &str,
    reply: &Reply,
    via: Via,
    boom_allowed: bool,
) -> Result<(), String> {
    check_inner(method, reply, via, boom_allowed)
        .map_err(|e| format!("{e}\n  reply: {}", reply.describe()))
}

fn check_inner(method: &str, reply: &Reply, via: Via, boom_allowed: bool) -> Result<(), String> {
    let status = reply.status;
    if status >= 500 && !(status == 500 && boom_allowed) {
        return Err(format!("a {status} for a client's request"));
    }
    if !(100..600).contains(&status) || (100..200).contains(&status) {
        return Err(format!("status {status} is not a final status"));
    }
    if method.eq_ignore_ascii_case("HEAD") {
        return Ok(());
    }
    // hyper refuses what it cannot parse (a bad request line, a 64 KiB target, a bad header)
    // with a bare 4xx before any service runs.
    if via == Via::Socket && reply.body.is_empty() && (400..500).contains(&status) {
        return Ok(());
    }
    let content_type = reply.header("content-type").unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/event-stream" => {
            if status != 200 {
                return Err(format!("an event stream with status {status}"));
            }
            check_sse(reply)
        }
        "application/json" => {
            check_vary(reply)?;
            let text = std::str::from_utf8(&reply.body)
                .map_err(|_| "a JSON reply that is not UTF-8".to_owned())?;
            if looks_like_jsonl(text) {
                if status != 200 {
                    return Err(format!("a JSONL stream with status {status}"));
                }
                return check_jsonl(text, boom_allowed, reply.truncated);
            }
            if reply.truncated {
                return Err("a JSON reply larger than the reader's cap".into());
            }
            let value: Value =
                serde_json::from_str(text).map_err(|e| format!("the body is not JSON ({e})"))?;
            check_json_reply(&value, status, boom_allowed)
        }
        _ => Err(format!(
            "content-type {content_type:?} is neither JSON nor an event stream"
        )),
    }
}

fn check_vary(reply: &Reply) -> Result<(), String> {
    let mut names: Vec<String> = reply
        .headers
        .iter()
        .filter(|(n, _)| n == "vary")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    names.dedup();
    if names != ["accept", "trpc-accept"] {
        return Err(format!("vary must be `trpc-accept, accept`, is {names:?}"));
    }
    Ok(())
}

/// A JSONL head line: an object keyed by batch indexes, then a `\n`.
fn looks_like_jsonl(text: &str) -> bool {
    let Some((first, _)) = text.split_once('\n') else {
        return false;
    };
    matches!(serde_json::from_str::<Value>(first), Ok(Value::Object(head))
        if !head.is_empty() && head.keys().all(|k| k.parse::<usize>().is_ok()))
}

/// A single envelope, a batch array of them, and the HTTP status they imply.
fn check_json_reply(value: &Value, status: u16, boom_allowed: bool) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err("an empty batch array".into());
            }
            let mut statuses = Vec::new();
            for item in items {
                statuses.push(check_envelope(item, boom_allowed, true)?);
            }
            statuses.dedup();
            let expected = if let [one] = statuses.as_slice() {
                *one
            } else {
                207
            };
            if status != expected {
                return Err(format!(
                    "batch items say {statuses:?} (so {expected}), the HTTP status is {status}"
                ));
            }
            Ok(())
        }
        Value::Object(_) => {
            let implied = check_envelope(value, boom_allowed, false)?;
            if status != implied {
                return Err(format!(
                    "the envelope says {implied}, the HTTP status is {status}"
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "the body is neither an envelope nor a batch: {other}"
        )),
    }
}

/// `{"result":{…}}` (200) or `{"error":shape}` (its `httpStatus`); returns the status it implies.
fn check_envelope(value: &Value, boom_allowed: bool, in_batch: bool) -> Result<u16, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("an envelope must be an object: {value}"))?;
    match (object.get("result"), object.get("error"), object.len()) {
        (Some(result), None, 1) => {
            let result = result
                .as_object()
                .ok_or_else(|| format!("`result` must be an object: {value}"))?;
            if result.keys().any(|k| k != "data") {
                return Err(format!("`result` has keys other than `data`: {value}"));
            }
            Ok(200)
        }
        (None, Some(shape), 1) => check_shape(shape, boom_allowed, in_batch),
        _ => Err(format!(
            "an envelope has exactly one of `result`, `error`: {value}"
        )),
    }
}

/// An error shape: `message` (string), `code` (number), `data.code`, `data.httpStatus` by the
/// codes table, `data.path` a string when present (required for a batch item).
fn check_shape(shape: &Value, boom_allowed: bool, in_batch: bool) -> Result<u16, String> {
    let shape = shape
        .as_object()
        .ok_or_else(|| format!("an error shape must be an object: {shape}"))?;
    let message = shape.get("message").and_then(Value::as_str);
    let code = shape.get("code").and_then(Value::as_i64);
    let data = shape.get("data").and_then(Value::as_object);
    let (Some(message), Some(code), Some(data)) = (message, code, data) else {
        return Err(format!(
            "an error needs a string `message`, a number `code` and a `data` object: {shape:?}"
        ));
    };
    if message.is_empty() {
        return Err("an error's message is empty (it should fall back to the code's name)".into());
    }
    let name = data.get("code").and_then(Value::as_str).unwrap_or("");
    let (rpc, http) =
        code_of(name).ok_or_else(|| format!("`data.code` {name:?} is not in the codes table"))?;
    if code != rpc {
        return Err(format!("{name} must have code {rpc}, has {code}"));
    }
    if data.get("httpStatus").and_then(Value::as_u64) != Some(u64::from(http)) {
        return Err(format!("{name} must have httpStatus {http}: {data:?}"));
    }
    if let Some(path) = data.get("path")
        && !path.is_string()
    {
        return Err(format!("`data.path` must be a string: {path}"));
    }
    if in_batch && data.get("path").is_none() {
        return Err(format!("a batch item's error has no `data.path`: {data:?}"));
    }
    if http >= 500 && !(http == 500 && boom_allowed) {
        return Err(format!("a {name} for a client's request"));
    }
    if data.contains_key("stack") {
        return Err("an error carries a `stack`".into());
    }
    Ok(http)
}

/// wire.md section 3: a head object keyed `"0"…"n-1"`, then `[id, status, value]` lines; every
/// line `\n`-terminated; every promise placeholder of the head settled once (unless cut).
fn check_jsonl(text: &str, boom_allowed: bool, truncated: bool) -> Result<(), String> {
    if !truncated && !text.ends_with('\n') {
        return Err("the JSONL body ends without a `\\n`".into());
    }
    let mut lines = text.split_terminator('\n');
    let head: Map<String, Value> = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("the JSONL head is not an object")?;
    for i in 0..head.len() {
        if !head.contains_key(&i.to_string()) {
            return Err(format!("the JSONL head has no key {i}: {head:?}"));
        }
    }
    let mut pending = std::collections::BTreeSet::new();
    for encoded in head.values() {
        collect_placeholders(encoded, &mut pending, boom_allowed)?;
    }
    let mut iterables = std::collections::BTreeSet::new();
    let lines: Vec<&str> = lines.collect();
    let complete = if truncated {
        lines.len().saturating_sub(1)
    } else {
        lines.len()
    };
    for line in &lines[..complete] {
        let chunk: Value =
            serde_json::from_str(line).map_err(|e| format!("JSONL line {line:?}: {e}"))?;
        let parts = chunk
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| format!("a JSONL chunk must be [id, status, value]: {line}"))?;
        let (Some(id), Some(state)) = (parts[0].as_u64(), parts[1].as_u64()) else {
            return Err(format!("a JSONL chunk's id and status are numbers: {line}"));
        };
        match state {
            0 | 1 => collect_placeholders(&parts[2], &mut pending, boom_allowed)?,
            2 => {
                check_shape(&parts[2], boom_allowed, false)?;
            }
            other => return Err(format!("JSONL chunk status {other}: {line}")),
        }
        // A promise settles once; an iterable's id repeats (status 1 per value, then 0 or 2).
        if pending.remove(&id) && state == 1 {
            iterables.insert(id);
        } else if iterables.contains(&id) && state != 1 {
            iterables.remove(&id);
        }
    }
    if !truncated && !pending.is_empty() {
        return Err(format!("JSONL chunks never settled: {pending:?}"));
    }
    Ok(())
}

/// Records the chunk ids of the placeholders in an encoded value `[[value], [key, type, id]…]`,
/// and checks an inlined envelope.
fn collect_placeholders(
    encoded: &Value,
    pending: &mut std::collections::BTreeSet<u64>,
    boom_allowed: bool,
) -> Result<(), String> {
    let parts = encoded
        .as_array()
        .ok_or_else(|| format!("an encoded JSONL value must be an array: {encoded}"))?;
    let first = parts
        .first()
        .and_then(Value::as_array)
        .ok_or_else(|| format!("an encoded JSONL value starts with [value] or []: {encoded}"))?;
    if let Some(Value::Object(inline)) = first.first()
        && let Some(shape) = inline.get("error")
    {
        check_shape(shape, boom_allowed, false)?;
    }
    for placeholder in &parts[1..] {
        let id = placeholder
            .as_array()
            .filter(|p| p.len() == 3)
            .and_then(|p| p[2].as_u64())
            .ok_or_else(|| format!("a placeholder must be [key, type, id]: {placeholder}"))?;
        pending.insert(id);
    }
    Ok(())
}

/// wire.md section 4: events of `field: value` lines separated by blank lines, `connected`
/// first, JSON data, and (unless the reader cut it) `return` or `serialized-error` last.
fn check_sse(reply: &Reply) -> Result<(), String> {
    let text = std::str::from_utf8(&reply.body).map_err(|_| "an event stream that is not UTF-8")?;
    let mut events: Vec<(String, String)> = Vec::new();
    let blocks: Vec<&str> = text.split("\n\n").collect();
    let complete = if reply.truncated || !text.ends_with("\n\n") {
        blocks.len().saturating_sub(1)
    } else {
        blocks.len()
    };
    if !reply.truncated && !text.ends_with("\n\n") {
        return Err("the event stream ends in the middle of an event".into());
    }
    for block in &blocks[..complete] {
        if block.is_empty() {
            continue;
        }
        let mut event = "message".to_owned();
        let mut data = Vec::new();
        for line in block.split('\n') {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = value.to_owned(),
                "data" => data.push(value),
                "id" | "retry" => {}
                other => return Err(format!("unknown SSE field {other:?} in {block:?}")),
            }
        }
        let data = data.join("\n");
        // `return` carries no data in tRPC's stream (the client ignores it).
        if event != "ping" && !(event == "return" && data.is_empty()) {
            serde_json::from_str::<Value>(&data)
                .map_err(|e| format!("SSE data of `{event}` is not JSON ({e}): {data:?}"))?;
        }
        if event == "serialized-error" {
            let shape: Value = serde_json::from_str(&data).unwrap_or_default();
            check_shape(&shape, false, false)?;
        }
        events.push((event, data));
    }
    match events.first() {
        Some((event, _)) if event == "connected" => {}
        None if reply.truncated => {}
        other => return Err(format!("the first event must be `connected`: {other:?}")),
    }
    if !reply.truncated {
        match events.last() {
            Some((event, _)) if event == "return" || event == "serialized-error" => {}
            other => {
                return Err(format!(
                    "an event stream ends with `return` or `serialized-error`: {other:?}"
                ));
            }
        }
    }
    Ok(())
}
