//! The JSON envelopes of tRPC v11: `{"result":{"data":…}}` and `{"error":{…}}`.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::protocol::ErrorReason;

/// The error shape, in tRPC's key order: `message`, `code`, `data`.
#[derive(Serialize)]
pub(crate) struct ErrorShape<'a> {
    message: &'a str,
    code: i32,
    data: ErrorData<'a>,
}

struct ErrorData<'a> {
    code: &'static str,
    http_status: u16,
    path: Option<&'a str>,
    reason: Option<&'static str>,
    payload: Option<&'a RawValue>,
    field_errors: Option<&'a crate::validate::FieldErrors>,
    /// The error formatter's fields, after the framework's (whose keys it cannot take).
    extra: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl Serialize for ErrorData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", self.code)?;
        map.serialize_entry("httpStatus", &self.http_status)?;
        if let Some(path) = self.path {
            map.serialize_entry("path", path)?;
        }
        if let Some(reason) = self.reason {
            map.serialize_entry("reason", reason)?;
        }
        if let Some(payload) = self.payload {
            map.serialize_entry("payload", payload)?;
        }
        if let Some(field_errors) = self.field_errors {
            map.serialize_entry("fieldErrors", field_errors)?;
        }
        for (key, value) in self.extra.into_iter().flatten() {
            if !crate::hooks::RESERVED_DATA_KEYS.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl<'a> ErrorShape<'a> {
    /// The shape of `error`; `path` is `None` for request-level errors.
    pub(crate) fn new(error: &'a Error, path: Option<&'a str>) -> Self {
        let code = error.code();
        // Internal details never reach the client: the message set on a 500 is logged only.
        let message = if code == ErrorCode::InternalServerError {
            code.name()
        } else {
            error.message()
        };
        Self {
            message,
            code: code.json_rpc_code(),
            data: ErrorData {
                code: code.name(),
                http_status: code.http_status(),
                path,
                reason: error.reason().map(ErrorReason::as_str),
                payload: error.payload(),
                field_errors: error.field_errors(),
                extra: error.data_fields(),
            },
        }
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<T> {
    error: T,
}

#[derive(Serialize)]
struct DataEnvelope<'a> {
    result: ResultData<'a>,
}

#[derive(Serialize)]
struct ResultData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
}

/// Appends `{"result":{"data":…}}`, or `{"result":{}}` for `None` (a unit output).
pub(crate) fn write_result(out: &mut Vec<u8>, data: Option<&RawValue>) {
    write(
        out,
        &DataEnvelope {
            result: ResultData { data },
        },
    );
}

/// Appends `{"error":{…}}`; with `superjson`, `{"error":{"json":{…}}}` (superjson's encoding
/// of the shape, which has no value that needs a `meta`).
pub(crate) fn write_error(out: &mut Vec<u8>, error: &Error, path: Option<&str>, superjson: bool) {
    let shape = ErrorShape::new(error, path);
    if superjson {
        write(
            out,
            &ErrorEnvelope {
                error: Superjson { json: shape },
            },
        );
    } else {
        write(out, &ErrorEnvelope { error: shape });
    }
}

#[derive(Serialize)]
struct Superjson<T> {
    json: T,
}

/// Appends the bare error shape (as used for a mid-stream error in JSONL).
pub(crate) fn write_error_shape(out: &mut Vec<u8>, error: &Error, path: Option<&str>) {
    write(out, &ErrorShape::new(error, path));
}

pub(crate) fn write<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    // Serializing these borrowed shapes cannot fail: every field is a string, a number or
    // already-valid raw JSON, and writing into a Vec does no I/O.
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(br#"{"error":{"message":"INTERNAL_SERVER_ERROR","code":-32603,"data":{"code":"INTERNAL_SERVER_ERROR","httpStatus":500}}}"#);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn error_envelope_key_order_and_default_message() {
        let err = Error::new(ErrorCode::Unauthorized);
        assert_eq!(
            text(|o| write_error(o, &err, Some("unauthorized"), false)),
            r#"{"error":{"message":"UNAUTHORIZED","code":-32001,"data":{"code":"UNAUTHORIZED","httpStatus":401,"path":"unauthorized"}}}"#
        );
        let err = Error::new(ErrorCode::BadRequest).with_message("x");
        assert_eq!(
            text(|o| write_error(o, &err, None, false)),
            r#"{"error":{"message":"x","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400}}}"#
        );
    }

    #[test]
    fn reason_follows_path() {
        let err = Error::new(ErrorCode::Forbidden).with_reason(ErrorReason::ViewerMismatch);
        assert_eq!(
            text(|o| write_error(o, &err, Some("p"), false)),
            r#"{"error":{"message":"FORBIDDEN","code":-32003,"data":{"code":"FORBIDDEN","httpStatus":403,"path":"p","reason":"viewer_mismatch"}}}"#
        );
    }

    #[test]
    fn field_errors_follow_the_payload() {
        let mut fields = crate::validate::FieldErrors::new();
        fields.insert("item".into(), vec!["length is lower than 1".into()]);
        let err = Error::invalid_fields(fields);
        assert_eq!(
            text(|o| write_error(o, &err, Some("cart.add"), false)),
            r#"{"error":{"message":"Invalid input: item: length is lower than 1","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400,"path":"cart.add","fieldErrors":{"item":["length is lower than 1"]}}}}"#
        );
    }

    #[test]
    fn result_envelopes() {
        let raw = serde_json::value::to_raw_value(&serde_json::json!({"a": 1})).ok();
        assert_eq!(
            text(|o| write_result(o, raw.as_deref())),
            r#"{"result":{"data":{"a":1}}}"#
        );
        assert_eq!(text(|o| write_result(o, None)), r#"{"result":{}}"#);
    }
}
