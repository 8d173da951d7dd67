//! The superjson transformer (opt-in, [`Transformer::Superjson`]): inputs and outputs as
//! superjson writes them, `{"json":…,"meta":{"values":{"<path>":["bigint"]},"v":1}}`, so that
//! 64-bit integers above 2^53 and dates reach JavaScript as `bigint` and `Date` (what
//! `@trpc/client` with `transformer: superjson` reads, and our client's `superjsonLink`).
//!
//! Outputs: every `i64`, `u64`, `i128`, `u128` (and `isize`, `usize`) is written as a decimal
//! string annotated `bigint`, every [`Timestamp`] as an ISO 8601 string annotated `Date`; the
//! types exported with the transformer on say `bigint` and `Date` for them. Inputs: the
//! annotations are applied before the input is deserialized (`bigint` strings become numbers,
//! `undefined` drops the key); an annotation of a type Rust has no match for (`Map`, `Set`,
//! `regexp`, a class) or a `bigint` outside 64 bits is a 400.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{self, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use crate::error::Error;

mod ser_value;

/// How a tabrpc endpoint encodes inputs and outputs on the wire
/// ([`Config::transformer`](crate::wire::Config::transformer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transformer {
    /// Plain JSON, as tRPC without a transformer (the default): 64-bit integers are JSON
    /// numbers, which JavaScript rounds above 2^53.
    #[default]
    Json,
    /// superjson's `{ json, meta }`, for JSON replies (`httpLink`, `httpBatchLink`), error
    /// envelopes included. Streamed outputs (JSONL) and subscriptions stay plain JSON.
    Superjson,
}

tokio::task_local! {
    /// Set while the calls of a superjson request run: their outputs are serialized with
    /// superjson annotations.
    static SUPERJSON: ();
}

/// Runs `future` with outputs encoded by `transformer`.
pub(crate) async fn scoped<F: Future>(transformer: Transformer, future: F) -> F::Output {
    match transformer {
        Transformer::Json => future.await,
        Transformer::Superjson => SUPERJSON.scope((), future).await,
    }
}

/// Whether the current call's output is to be encoded with superjson.
pub(crate) fn superjson_active() -> bool {
    SUPERJSON.try_with(|()| ()).is_ok()
}

/// Serializes an output for the current request: plain JSON, or `{json, meta}` under
/// [`Transformer::Superjson`].
pub(crate) fn to_raw<T: Serialize>(value: &T) -> Result<Box<RawValue>, Error> {
    if superjson_active() {
        encode(value)
    } else {
        serde_json::value::to_raw_value(value).map_err(Error::internal)
    }
}

/// `value` as superjson's `{json, meta}`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, Error> {
    #[derive(serde::Serialize)]
    struct Encoded {
        json: ser_value::Json,
        #[serde(skip_serializing_if = "Option::is_none")]
        meta: Option<Meta>,
    }
    #[derive(serde::Serialize)]
    struct Meta {
        values: ser_value::Annotations,
        v: u8,
    }
    let mut state = ser_value::State::default();
    let json = value.serialize(&mut state).map_err(Error::internal)?;
    let meta = state.annotations().map(|values| Meta { values, v: 1 });
    serde_json::value::to_raw_value(&Encoded { json, meta }).map_err(Error::internal)
}

/// The superjson encoding of a unit output (JavaScript's `undefined`): `{"result":{}}` would
/// make superjson read a missing `data`, which it cannot.
pub(crate) fn undefined() -> &'static RawValue {
    const UNDEFINED: &str = r#"{"json":null,"meta":{"values":["undefined"],"v":1}}"#;
    static RAW: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    RAW.get_or_init(|| {
        RawValue::from_string(UNDEFINED.to_owned()).unwrap_or_else(|_| Box::<RawValue>::default())
    })
}

/// A call's input sent as superjson's `{json, meta}`, as plain JSON for its deserializer. An
/// absent input (`null`) stays `null`.
pub(crate) fn decode_input(input: Value) -> Result<Value, Error> {
    let mut envelope = match input {
        Value::Null => return Ok(Value::Null),
        Value::Object(map) => map,
        _ => return Err(bad("expected superjson's `{ json, meta }`")),
    };
    if envelope.keys().any(|k| k != "json" && k != "meta") {
        return Err(bad("expected superjson's `{ json, meta }`"));
    }
    let mut json = envelope.remove("json").unwrap_or(Value::Null);
    let Some(meta) = envelope.remove("meta") else {
        return Ok(json);
    };
    let Value::Object(meta) = meta else {
        return Err(bad("`meta` must be an object"));
    };
    // Version 1 escapes `\` in keys as `\\`; earlier versions escape only `.`.
    let legacy = meta.get("v").and_then(Value::as_u64).unwrap_or(0) < 1;
    if let Some(values) = meta.get("values") {
        let mut edits = Vec::new();
        collect(values, &[], legacy, &mut edits)?;
        for (path, kind) in edits {
            apply(&mut json, &path, &kind)?;
        }
    }
    Ok(json)
}

/// The 400 of a malformed superjson input.
fn bad(detail: &str) -> Error {
    Error::bad_request(format!("Invalid superjson input: {detail}"))
}

/// Flattens an annotation tree into `(path, type)` pairs, children before their node (as
/// superjson applies them).
fn collect(
    tree: &Value,
    at: &[String],
    legacy: bool,
    out: &mut Vec<(Vec<String>, String)>,
) -> Result<(), Error> {
    match tree {
        Value::Array(node) => {
            if let Some(Value::Object(children)) = node.get(1) {
                collect_children(children, at, legacy, out)?;
            }
            match node.first() {
                Some(Value::String(kind)) => out.push((at.to_vec(), kind.clone())),
                Some(Value::Array(custom)) => {
                    let kind = custom.first().and_then(Value::as_str).unwrap_or("custom");
                    out.push((at.to_vec(), kind.to_owned()));
                }
                _ => return Err(bad("malformed `meta.values`")),
            }
            Ok(())
        }
        Value::Object(children) => collect_children(children, at, legacy, out),
        _ => Err(bad("malformed `meta.values`")),
    }
}

fn collect_children(
    children: &Map<String, Value>,
    at: &[String],
    legacy: bool,
    out: &mut Vec<(Vec<String>, String)>,
) -> Result<(), Error> {
    for (key, subtree) in children {
        let mut path = at.to_vec();
        path.extend(parse_path(key, legacy)?);
        collect(subtree, &path, legacy, out)?;
    }
    Ok(())
}

/// Splits a superjson path on its unescaped dots.
fn parse_path(path: &str, legacy: bool) -> Result<Vec<String>, Error> {
    let mut segments = Vec::new();
    let mut segment = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                segment.push('.');
            }
            '\\' if !legacy && chars.peek() == Some(&'\\') => {
                chars.next();
                segment.push('\\');
            }
            '\\' if !legacy => return Err(bad("malformed path in `meta.values`")),
            '.' => segments.push(std::mem::take(&mut segment)),
            c => segment.push(c),
        }
    }
    segments.push(segment);
    Ok(segments)
}

/// Applies one annotation to the value at `path`.
fn apply(json: &mut Value, path: &[String], kind: &str) -> Result<(), Error> {
    let shown = || path.join(".");
    if kind == "undefined" {
        // A key whose value is `undefined` is a key that is absent.
        match path.split_last() {
            None => *json = Value::Null,
            Some((last, parent)) => match locate(json, parent) {
                Some(Value::Object(map)) => {
                    map.remove(last);
                }
                Some(other) => {
                    if let Some(slot) = locate(other, std::slice::from_ref(last)) {
                        *slot = Value::Null;
                    }
                }
                None => {}
            },
        }
        return Ok(());
    }
    let Some(slot) = locate(json, path) else {
        return Err(bad(&format!(
            "`meta.values` names `{}`, which is absent",
            shown()
        )));
    };
    match kind {
        "bigint" => {
            let number = slot
                .as_str()
                .and_then(|text| {
                    text.parse::<i64>()
                        .map(Number::from)
                        .or_else(|_| text.parse::<u64>().map(Number::from))
                        .ok()
                })
                .ok_or_else(|| {
                    bad(&format!(
                        "the bigint at `{}` is not an integer in the 64-bit range",
                        shown()
                    ))
                })?;
            *slot = Value::Number(number);
            Ok(())
        }
        // An ISO 8601 string, read by `Timestamp`.
        "Date" => Ok(()),
        other => Err(bad(&format!(
            "superjson type `{other}` (at `{}`) has no Rust equivalent here",
            shown()
        ))),
    }
}

fn locate<'a>(mut value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    for segment in path {
        value = match value {
            Value::Object(map) => map.get_mut(segment)?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The name under which [`Timestamp`] serializes, which the superjson encoder recognises.
pub(crate) const TIMESTAMP: &str = "$tabrpc::Timestamp";

/// An instant, as JavaScript's `Date` holds it (milliseconds since 1970 UTC): an ISO 8601 string
/// on the wire (`"2024-05-01T12:00:00.000Z"`). Exported as `string` in plain JSON and as
/// `Date` with the superjson transformer, which revives it on the client. Reads any RFC 3339
/// time (an offset is converted to UTC); a malformed one is a 400 naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z (negative: before).
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self { millis }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub const fn unix_millis(self) -> i64 {
        self.millis
    }

    /// The current time.
    pub fn now() -> Self {
        let now = time::OffsetDateTime::now_utc();
        Self::from_unix_millis((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    fn to_datetime(self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.millis) * 1_000_000).ok()
    }
}

const ISO: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .to_datetime()
            .and_then(|dt| dt.format(ISO).ok())
            .ok_or(fmt::Error)?;
        f.write_str(&text)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = time::error::Parse;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let dt = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)?;
        Ok(Self::from_unix_millis(
            (dt.unix_timestamp_nanos() / 1_000_000) as i64,
        ))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self
            .to_datetime()
            .and_then(|dt| dt.format(ISO).ok())
            .ok_or_else(|| ser::Error::custom("timestamp out of range"))?;
        serializer.serialize_newtype_struct(TIMESTAMP, &text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            de::Error::custom(format!(
                "expected an ISO 8601 date and time, such as \"2024-05-01T12:00:00.000Z\", got {text:?}"
            ))
        })
    }
}

impl specta::Type for Timestamp {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <TimestampType as specta::Type>::definition(types)
    }
}

// What `Timestamp` exports: a named type `Timestamp = string` that the exporter turns into
// `Date` when the transformer is on. Its doc comment is the one the bindings show.
/// An instant: an ISO 8601 string (`"2024-05-01T12:00:00.000Z"`) in plain JSON, a `Date` with
/// the superjson transformer.
#[derive(serde::Serialize, specta::Type)]
#[serde(rename = "Timestamp")]
#[allow(dead_code)]
struct TimestampType(String);

/// Whether `name` and `module_path` are those of [`Timestamp`]'s exported type.
pub fn is_timestamp_type(name: &str, module_path: &str) -> bool {
    name == "Timestamp" && module_path.starts_with("tabrpc_core")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Serialize)]
    struct Out {
        small: u32,
        big: u64,
        neg: i64,
        when: Timestamp,
        list: Vec<i64>,
        #[serde(rename = "a.b")]
        dotted: Option<u64>,
        unit: (),
    }

    #[test]
    fn outputs_are_annotated_by_type_as_superjson_writes_them() {
        let out = Out {
            small: 1,
            big: u64::MAX,
            neg: i64::MIN,
            when: Timestamp::from_unix_millis(1_700_000_000_123),
            list: vec![1],
            dotted: Some(2),
            unit: (),
        };
        let raw = encode(&out).unwrap();
        assert_eq!(
            raw.get(),
            r#"{"json":{"small":1,"big":"18446744073709551615","neg":"-9223372036854775808","when":"2023-11-14T22:13:20.123Z","list":["1"],"a.b":"2","unit":null},"meta":{"values":{"big":["bigint"],"neg":["bigint"],"when":["Date"],"list.0":["bigint"],"a\\.b":["bigint"]},"v":1}}"#
        );
        assert_eq!(
            encode(&5u64).unwrap().get(),
            r#"{"json":"5","meta":{"values":["bigint"],"v":1}}"#
        );
        assert_eq!(encode(&"x").unwrap().get(), r#"{"json":"x"}"#);
    }

    #[test]
    fn inputs_are_revived_from_their_annotations() {
        let input = json!({
            "json": {"a": "9223372036854775807", "n": {"x.y": ["18446744073709551615"]}, "d": "1970-01-01T00:00:00.000Z", "u": null},
            "meta": {"values": {"a": ["bigint"], "d": ["Date"], "n.x\\.y.0": ["bigint"], "u": ["undefined"]}, "v": 1}
        });
        assert_eq!(
            decode_input(input).unwrap(),
            json!({"a": i64::MAX, "n": {"x.y": [u64::MAX]}, "d": "1970-01-01T00:00:00.000Z"})
        );
        assert_eq!(
            decode_input(json!({"json": "5", "meta": {"values": ["bigint"], "v": 1}})).unwrap(),
            json!(5)
        );
        assert_eq!(
            decode_input(json!({"json": null, "meta": {"values": ["undefined"], "v": 1}})).unwrap(),
            Value::Null
        );
        assert_eq!(
            decode_input(json!({"json": {"a": 1}})).unwrap(),
            json!({"a": 1})
        );
        assert_eq!(decode_input(Value::Null).unwrap(), Value::Null);
    }

    #[test]
    fn malformed_inputs_are_bad_requests_that_say_why() {
        for (input, words) in [
            (
                json!({"item": "x"}),
                "expected superjson's `{ json, meta }`",
            ),
            (json!([1]), "expected superjson's `{ json, meta }`"),
            (
                json!({"json": {"a": "1e3"}, "meta": {"values": {"a": ["bigint"]}}}),
                "the bigint at `a` is not an integer in the 64-bit range",
            ),
            (
                json!({"json": {"a": "18446744073709551616"}, "meta": {"values": {"a": ["bigint"]}}}),
                "64-bit range",
            ),
            (
                json!({"json": {}, "meta": {"values": {"a": ["bigint"]}}}),
                "names `a`, which is absent",
            ),
            (
                json!({"json": {"m": []}, "meta": {"values": {"m": ["map"]}}}),
                "superjson type `map`",
            ),
            (
                json!({"json": {}, "meta": {"values": 3}}),
                "malformed `meta.values`",
            ),
        ] {
            let err = decode_input(input.clone()).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::BadRequest);
            assert!(err.message().contains(words), "{input}: {}", err.message());
        }
    }

    #[test]
    fn timestamps_read_rfc3339_and_write_javascript_iso() {
        let t: Timestamp = "2024-05-01T14:00:00.5+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-05-01T12:00:00.500Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2024-05-01T12:00:00.500Z""#
        );
        let err = serde_json::from_str::<Timestamp>(r#""yesterday""#).unwrap_err();
        assert!(err.to_string().contains("ISO 8601"), "{err}");
    }
}
