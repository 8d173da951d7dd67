//! Proptest strategies for requests: built from parts (paths, query strings, inputs, bodies,
//! methods, content types, headers, cookies), or mutated from a corpus seed.
//!
//! The parts are drawn mostly from small dictionaries of what the decoder treats specially
//! (procedure names, `,`, `%`-escapes, `batch`, `input`, JSON edge cases), with random bytes
//! mixed in, so that most cases reach deep into the decoder instead of stopping at the first
//! check.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

use super::request::Req;

/// The fixture's procedures, except `boom` (its 500 is its purpose; a few seeds cover it).
pub const PROCEDURES: &[&str] = &[
    "hello",
    "helloStr",
    "noInput",
    "returnUndefined",
    "returnNull",
    "echo",
    "mut",
    "optMut",
    "unauthorized",
    "forbiddenMsg",
    "tooMany",
    "post.byId",
    "slow",
    "iter",
    "sub",
    "subFail",
];

/// Names that are not procedures but look like something: prototype keys, parts of a dotted
/// path, case and unicode variants.
const ODD_NAMES: &[&str] = &[
    "__proto__",
    "toString",
    "constructor",
    "prototype",
    "hasOwnProperty",
    "valueOf",
    "then",
    "post",
    "byId",
    "post.",
    ".post.byId",
    "post..byId",
    "post.byId.",
    ".",
    "..",
    "",
    "HELLO",
    "hello ",
    "héllo",
    "日本語",
    "🦀",
    "a%b",
    "nope",
    "boom.x",
    "xboom",
];

/// Broken or odd percent-escapes: truncated, not hex, invalid UTF-8, NUL, an encoded `,`/`.`/`/`.
const ESCAPES: &[&str] = &[
    "%",
    "%2",
    "%G1",
    "%zz",
    "%e9",
    "%ff",
    "%00",
    "%C3%28",
    "%ED%A0%80",
    "%F0%9F%A6",
    "%2C",
    "%2c",
    "%2E",
    "%2F",
    "%25",
    "%252C",
    "%20",
    "+",
];

/// Tokens a mutation inserts into a target, header value or body.
const TOKENS: &[&str] = &[
    ",",
    "%",
    ".",
    "/",
    "//",
    "?",
    "&",
    "=",
    "+",
    "#",
    ";",
    "%2C",
    "%2E",
    "%00",
    "%ff",
    "%e9",
    "batch=1",
    "&batch=1",
    "&input=",
    "input=%7B%7D",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    "0",
    "\\",
    "\\u0000",
    "\\ud800",
    "__proto__",
    "null",
    "1e400",
    "-",
    " ",
    "\t",
    "é",
    "🦀",
    "\u{feff}",
];

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    select(items).prop_map(str::to_owned)
}

/// How a path segment or a query value is escaped.
#[derive(Debug, Clone, Copy)]
enum Escaping {
    /// As written (what is not legal in a URL is only legal over a socket).
    Raw,
    /// JavaScript's `encodeURIComponent`, as `@trpc/client` does.
    Component,
    /// Every byte as `%XX`, letters included, upper- or lowercase hex.
    Every { lower: bool },
    /// `application/x-www-form-urlencoded`: a space is `+`.
    Form,
}

fn escaping() -> impl Strategy<Value = Escaping> {
    prop_oneof![
        2 => Just(Escaping::Raw),
        5 => Just(Escaping::Component),
        1 => any::<bool>().prop_map(|lower| Escaping::Every { lower }),
        2 => Just(Escaping::Form),
    ]
}

fn escape(text: &str, how: Escaping) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        let keep = match how {
            Escaping::Raw => true,
            Escaping::Component | Escaping::Form => {
                byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte)
            }
            Escaping::Every { .. } => false,
        };
        if keep {
            out.push(byte as char);
        } else if matches!(how, Escaping::Form) && byte == b' ' {
            out.push('+');
        } else if matches!(how, Escaping::Every { lower: true }) {
            out.push_str(&format!("%{byte:02x}"));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if matches!(how, Escaping::Raw) {
        // Raw text keeps its bytes, but never the two that would end the request line.
        out = out.replace(['\r', '\n'], " ");
    }
    out
}

/// Inserts an odd escape at a position (or nowhere).
fn maybe_break(text: String) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just(text.clone()),
        1 => (any::<Index>(), pick(ESCAPES)).prop_map(move |(at, escape)| {
            insert_at(&text, at, &escape)
        }),
    ]
}

fn insert_at(text: &str, at: Index, token: &str) -> String {
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let at = boundaries[at.index(boundaries.len())];
    format!("{}{token}{}", &text[..at], &text[at..])
}

fn procedure_name() -> impl Strategy<Value = String> {
    prop_oneof![
        14 => pick(PROCEDURES),
        2 => pick(ODD_NAMES),
        1 => "[a-zA-Z0-9_.$-]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// A JSON value: mostly what the fixture's inputs expect, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..200).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        pick(&[
            "",
            "world",
            "ann",
            "0",
            "1",
            "-1",
            "__proto__",
            "é🦀",
            "a\u{0}b",
            "\u{feff}"
        ])
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(
                pick(&[
                    "who",
                    "id",
                    "n",
                    "lastEventId",
                    "0",
                    "1",
                    "__proto__",
                    "text",
                    ""
                ]),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A single input's JSON text: valid, edge-case, deeply nested, huge, or broken.
fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => json_value().prop_map(|v| v.to_string()),
        3 => pick(&[
            "", " ", "null", "undefined", "{", "[", "}", "\"", "\"\\ud800\"", "\"\\udc00\\ud800\"",
            "\"\\u0000\"", "1e400", "-1e400", "18446744073709551616", "-0", "1e-400", "NaN",
            "Infinity", "{\"who\":1,\"who\":2}", "{\"__proto__\":{\"who\":\"x\"}}", "\u{feff}{}",
            "{}garbage", "[1,]", "{'who':1}", "tru", "\"\\x\"", "{\"id\":1e400}",
            "{\"id\":2147483648}", "{\"id\":-2147483649}", "{\"n\":4294967296}",
            "{\"lastEventId\":\"-1\"}", "{\"lastEventId\":\"4294967294\"}", "4294967296",
        ]),
        1 => (1usize..3000, any::<bool>()).prop_map(|(depth, array)| nested(depth, array)),
        1 => (1usize..40_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
    ]
}

fn nested(depth: usize, array: bool) -> String {
    if array {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    }
}

/// A batch's inputs: an object keyed by index (or by wrong keys), or not an object at all.
fn batch_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => (0usize..4).prop_map(|i| i.to_string()),
        1 => pick(&["01", "-1", "a", "1.0", "99", "99999999999999999999", " 0", "", "__proto__"]),
    ];
    prop_oneof![
        6 => vec((key, json_text()), 0..4).prop_map(|items| {
            let fields: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), if v.trim().is_empty() { "null" } else { v }))
                .collect();
            format!("{{{}}}", fields.join(","))
        }),
        2 => json_text(),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        50 => Just("GET".to_owned()),
        30 => Just("POST".to_owned()),
        4 => Just("HEAD".to_owned()),
        6 => pick(&["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
        2 => pick(&["get", "post", "FOO", "M-SEARCH"]),
    ]
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        30 => Just(None),
        40 => Just(Some(b"application/json".to_vec())),
        15 => pick(&[
            "APPLICATION/JSON; charset=UTF-8", "application/json;charset=latin1",
            "application/json;;;", "application/json ;", "application/jsonl", "text/plain",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/octet-stream", "", ";", "application/json, text/plain", "*/*",
            "application/vnd.api+json", "text/event-stream",
        ]).prop_map(|s| Some(s.into_bytes())),
        2 => vec(any::<u8>(), 0..40).prop_map(Some),
    ]
}

/// A session cookie header: many `__session` pairs, other cookies, malformed pairs.
fn cookie() -> impl Strategy<Value = Vec<u8>> {
    let pair = prop_oneof![
        6 => pick(&["aaa.bbb.ccc", "", "null", "\"quoted\"", "x=y", "eyJhbGciOiJub25lIn0.e30."])
            .prop_map(|v| format!("__session={v}")),
        2 => pick(&["__client=abc", "other=1", "__Session=x", "__session", "=", ";", "==", "__session==", " __session = x "]),
        1 => "[ -~]{0,30}",
    ];
    prop_oneof![
        8 => vec(pair, 0..6).prop_map(|p| p.join("; ").into_bytes()),
        1 => (1usize..3000).prop_map(|n| vec!["__session=a.b.c"; n].join("; ").into_bytes()),
        1 => (1usize..5000).prop_map(|n| format!("__session={}", "a".repeat(n)).into_bytes()),
    ]
}

fn header() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let one = |name: &'static str, values: &'static [&'static str]| {
        pick(values).prop_map(move |v| vec![(name.to_owned(), v.into_bytes())])
    };
    prop_oneof![
        4 => one("trpc-accept", &["application/jsonl", "application/json", "APPLICATION/JSONL", "application/jsonl, text/plain", "", "jsonl"]),
        3 => one("accept", &["application/jsonl", "text/event-stream", "*/*", "application/json;q=0.9, application/jsonl", "application/jsonl;q=0", ","]),
        3 => one("authorization", &["Bearer abc", "bearer x.y.z", "Bearer ", "Bearer null", "Bearer undefined", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.e30.", "", "Bearer a b", "BEARER", "Bearer ..."]),
        2 => one("x-tabrpc-auth-required", &["1", "0", "true", "", "11"]),
        2 => one("x-tabrpc-account", &["user_alice", "", "user_bob", "../x", "🦀"]),
        3 => cookie().prop_map(|c| vec![("cookie".to_owned(), c)]),
        2 => one("last-event-id", &["0", "-1", "abc", "99999999999999999999", "", "4294967294", "4294967295"]),
        1 => (1usize..300).prop_map(|n| (0..n).map(|i| (format!("x-h{i}"), b"v".to_vec())).collect()),
        1 => (60_000usize..80_000).prop_map(|n| vec![("x-big".to_owned(), vec![b'a'; n])]),
        2 => ("[a-z][a-z0-9-]{0,20}", vec(32u8..127, 0..40)).prop_map(|(n, v)| vec![(n, v)]),
        1 => vec(128u8..=255, 1..20).prop_map(|v| vec![("x-bytes".to_owned(), v)]),
    ]
}

/// A string leaf: the dictionary's odd strings, or any unicode.
fn string() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => pick(&["", "world", "ann", "0", "1", "-1", "__proto__", "é🦀", "a\u{0}b", "\u{feff}", " ", "\\", "\"", "%", "+"]),
        3 => any::<String>(),
        1 => "[a-z]{100,2000}",
    ]
    .prop_map(Value::from)
}

/// An input of the shape procedure `name` expects, with odd values.
fn shaped(name: &str) -> BoxedStrategy<String> {
    let small = prop_oneof![4 => 0i64..10, 1 => any::<i64>(), 1 => Just(i64::from(u32::MAX) + 1)];
    match name {
        "hello" => prop_oneof![
            4 => string().prop_map(|who| serde_json::json!({ "who": who })),
            1 => Just(serde_json::json!({ "who": null })),
            1 => Just(serde_json::json!({})),
        ]
        .prop_map(|v| v.to_string())
        .boxed(),
        "helloStr" | "echo" | "optMut" => string().prop_map(|v| v.to_string()).boxed(),
        "post.byId" => small
            .prop_map(|id| serde_json::json!({ "id": id }).to_string())
            .boxed(),
        // `slow` sleeps its input in milliseconds: mostly short.
        "slow" => prop_oneof![8 => 0u32..20, 1 => 250u32..400]
            .prop_map(|ms| ms.to_string())
            .boxed(),
        "sub" => (
            small.clone(),
            prop_oneof![
                Just(Value::Null),
                small.prop_map(|n| Value::from(n.to_string())),
                string()
            ],
        )
            .prop_map(|(n, last)| {
                serde_json::json!({ "n": n.clamp(0, 50), "lastEventId": last }).to_string()
            })
            .boxed(),
        _ => Just("null".to_owned()).boxed(),
    }
}

/// One call of a request: a procedure name and its input's JSON text (`None`: no input).
fn call() -> impl Strategy<Value = (String, Option<String>)> {
    procedure_name().prop_flat_map(|name| {
        let input = prop_oneof![
            8 => shaped(&name).prop_map(Some),
            2 => json_text().prop_map(Some),
            2 => Just(None),
        ];
        (Just(name), input)
    })
}

/// `/<name>[,<name>…]` with slashes, escapes and separators varied.
fn path(names: Vec<String>) -> impl Strategy<Value = String> {
    (
        escaping(),
        select(&[",", ",", ",", ",", "%2C", ",,", ", "][..]),
        select(&["/", "/", "/", "/", "//", "/./"][..]),
        select(&["", "", "", "", "/", "//", ","][..]),
    )
        .prop_flat_map(move |(how, sep, lead, trail)| {
            // A raw path keeps its `,` and `/`; escaping them is a variant of its own (`sep`).
            let how = if matches!(how, Escaping::Every { .. } | Escaping::Form) {
                Escaping::Component
            } else {
                how
            };
            let joined = names
                .iter()
                .map(|n| escape(n, how))
                .collect::<Vec<_>>()
                .join(sep);
            maybe_break(format!("{lead}{joined}{trail}"))
        })
}

/// The inputs' JSON text: a single call's own, or a batch's object keyed by index (sometimes
/// replaced by wrong keys or a non-object).
fn inputs(calls: &[(String, Option<String>)], batch: bool) -> BoxedStrategy<Option<String>> {
    if !batch {
        return Just(calls[0].1.clone()).boxed();
    }
    let fields: Vec<String> = calls
        .iter()
        .enumerate()
        .filter_map(|(i, (_, input))| {
            Some(format!(
                "\"{i}\":{}",
                input.as_deref().filter(|t| !t.trim().is_empty())?
            ))
        })
        .collect();
    let object = format!("{{{}}}", fields.join(","));
    prop_oneof![
        8 => Just(Some(object)),
        1 => Just(None),
        2 => batch_text().prop_map(Some),
    ]
    .boxed()
}

/// The `batch` parameter: `1`, or a near miss.
fn batch_param(batch: bool) -> impl Strategy<Value = Option<String>> {
    if batch {
        prop_oneof![
            10 => Just(Some("batch=1".to_owned())),
            1 => pick(&["batch=0", "batch=true", "batch=", "batch", "batch=01", "batch=%31", "batch=1+", "BATCH=1", "batch=1&batch=1", "batch=0&batch=1"]).prop_map(Some),
        ]
        .boxed()
    } else {
        prop_oneof![10 => Just(None), 1 => pick(&["batch=0", "batch=2", "batch=", "batch"]).prop_map(Some)].boxed()
    }
}

/// Where the inputs go.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// In the query for a GET, in the body otherwise (what a client does).
    Natural,
    Query,
    Body,
    Both,
}

/// A body that is not the inputs: bytes, invalid UTF-8, a BOM, a body over the limit.
fn odd_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..256),
        4 => pick(&["\u{feff}\"x\"", "\"x\"\n", "  \"x\"  ", "{\"0\":", "null", "[]"]).prop_map(String::into_bytes),
        3 => Just(vec![b'"', 0xff, 0xfe, b'"']),
        1 => (1_000_000usize..1_100_000).prop_map(|n| {
            let mut body = vec![b' '; n];
            body[0] = b'"';
            body[n - 1] = b'"';
            body
        }),
    ]
}

/// The kind of the first call decides the natural method.
fn natural_method(name: &str) -> &'static str {
    if matches!(name, "echo" | "mut" | "optMut") {
        "POST"
    } else {
        "GET"
    }
}

/// A request built from parts: calls (names and inputs), then how they are written.
pub fn built() -> impl Strategy<Value = Req> {
    // Without `batch=1`, `a,b` is one unknown path: mostly one name then.
    let calls = any::<bool>().prop_flat_map(|batch| {
        let count = if batch {
            prop_oneof![12 => 1usize..4, 1 => 90usize..130].boxed()
        } else {
            prop_oneof![8 => Just(1usize), 1 => 2usize..4].boxed()
        };
        (count.prop_flat_map(|n| vec(call(), n)), Just(batch))
    });
    calls.prop_flat_map(|(calls, batch)| {
        let names: Vec<String> = calls.iter().map(|(n, _)| n.clone()).collect();
        let natural = natural_method(&names[0]);
        (
            path(names),
            inputs(&calls, batch),
            batch_param(batch),
            escaping(),
            prop_oneof![7 => Just(Placement::Natural), 1 => Just(Placement::Query), 1 => Just(Placement::Body), 1 => Just(Placement::Both)],
            prop_oneof![8 => Just(natural.to_owned()), 3 => method()],
            prop_oneof![12 => Just(None), 1 => odd_body().prop_map(Some)],
            vec(pick(&["", "&", "=", "foo=bar", "input", "input=", "Input=1", "input[]=x", "%=%", "batch=1", "input=%7B%7D"]), 0..2),
            (content_type(), vec(header(), 0..4), any::<bool>(), any::<bool>()),
        )
            .prop_map(|(path, inputs, batch, how, placement, method, odd_body, noise, (content_type, headers, duplicate, reversed))| {
                let in_query = match placement {
                    Placement::Natural => method == "GET" || method == "HEAD",
                    Placement::Query | Placement::Both => true,
                    Placement::Body => false,
                };
                let in_body = matches!(placement, Placement::Body | Placement::Both) || !in_query;
                let mut params: Vec<String> = batch.into_iter().collect();
                if let (true, Some(text)) = (in_query, &inputs) {
                    params.push(format!("input={}", escape(text, how)));
                }
                params.extend(noise);
                if reversed {
                    params.reverse();
                }
                let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
                let mut req = Req::get(format!("{path}{query}"));
                req.method = method;
                // A natural POST says what it sends.
                let content_type = match (&content_type, req.method.as_str()) {
                    (None, "POST") if matches!(placement, Placement::Natural) => Some(b"application/json".to_vec()),
                    _ => content_type,
                };
                if let Some(ct) = content_type {
                    req.headers.push(("content-type".into(), ct));
                }
                for group in &headers {
                    req.headers.extend(group.iter().cloned());
                    if duplicate {
                        req.headers.extend(group.iter().take(1).cloned());
                    }
                }
                req.body = match (odd_body, in_body, inputs) {
                    (Some(body), _, _) => body,
                    (None, true, Some(text)) => text.into_bytes(),
                    _ => Vec::new(),
                };
                req
            })
    })
}

/// One change to a seed's parts.
#[derive(Debug, Clone)]
pub enum Mutation {
    Target(Edit),
    Body(Edit),
    HeaderValue(Index, Edit),
    DropHeader(Index),
    DuplicateHeader(Index),
    AddHeaders(Vec<(String, Vec<u8>)>),
    Method(String),
}

/// One change to a byte string.
#[derive(Debug, Clone)]
pub enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Set(Index, u8),
    Repeat(Index, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        5 => (any::<Index>(), pick(TOKENS)).prop_map(|(i, t)| Edit::Insert(i, t)),
        2 => (any::<Index>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<Index>(), 1usize..16, 2usize..200).prop_map(|(i, len, times)| Edit::Repeat(i, len, times)),
    ]
}

impl Edit {
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match self {
            Edit::Insert(i, token) => {
                let p = at(i, bytes.len());
                bytes.splice(p..p, token.bytes());
            }
            Edit::Delete(i, n) => {
                let p = at(i, bytes.len());
                let end = (p + n).min(bytes.len());
                bytes.drain(p..end);
            }
            Edit::Set(i, b) => {
                if !bytes.is_empty() {
                    let p = i.index(bytes.len());
                    bytes[p] = *b;
                }
            }
            Edit::Repeat(i, len, times) => {
                let p = at(i, bytes.len());
                let end = (p + len).min(bytes.len());
                let piece = bytes[p..end].to_vec();
                let repeated: Vec<u8> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(piece.len() * times)
                    .collect();
                bytes.splice(end..end, repeated);
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => edit().prop_map(Mutation::Target),
        4 => edit().prop_map(Mutation::Body),
        3 => (any::<Index>(), edit()).prop_map(|(i, e)| Mutation::HeaderValue(i, e)),
        1 => any::<Index>().prop_map(Mutation::DropHeader),
        1 => any::<Index>().prop_map(Mutation::DuplicateHeader),
        2 => header().prop_map(Mutation::AddHeaders),
        1 => method().prop_map(Mutation::Method),
    ]
}

/// Applies `mutations` to `seed`, keeping CR and LF out of the head (they would change the
/// framing, which the raw lane covers on its own).
pub fn mutate(seed: &Req, mutations: &[Mutation]) -> Req {
    let mut req = seed.clone();
    for m in mutations {
        match m {
            Mutation::Target(e) => e.apply(&mut req.target),
            Mutation::Body(e) => e.apply(&mut req.body),
            Mutation::HeaderValue(i, e) => {
                if !req.headers.is_empty() {
                    let h = i.index(req.headers.len());
                    e.apply(&mut req.headers[h].1);
                }
            }
            Mutation::DropHeader(i) => {
                if !req.headers.is_empty() {
                    req.headers.remove(i.index(req.headers.len()));
                }
            }
            Mutation::DuplicateHeader(i) => {
                if !req.headers.is_empty() {
                    let h = req.headers[i.index(req.headers.len())].clone();
                    req.headers.push(h);
                }
            }
            Mutation::AddHeaders(h) => req.headers.extend(h.iter().cloned()),
            Mutation::Method(m) => req.method = m.clone(),
        }
    }
    let clean = |b: &mut u8| {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    };
    req.target.iter_mut().for_each(clean);
    for (_, value) in &mut req.headers {
        value.iter_mut().for_each(clean);
    }
    req
}

/// The mutations of one case.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    vec(mutation(), 1..5)
}

/// Byte edits of a whole raw request (its framing included).
pub fn raw_edits() -> impl Strategy<Value = Vec<Edit>> {
    vec(
        prop_oneof![
            4 => edit(),
            1 => (any::<Index>(), pick(&["\r\n", "\n", "\r", "\r\n\r\n", ": ", "content-length: 5\r\n", "transfer-encoding: chunked\r\n", "HTTP/1.0", "\0"]))
                .prop_map(|(i, t)| Edit::Insert(i, t)),
        ],
        1..5,
    )
}
