//! Reading a tRPC v11 request: method, content type, paths, batch flag and inputs.

use std::borrow::Cow;

use http::{HeaderMap, Method, header};
use serde_json::{Map, Value};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::wire::Config;

/// What a request asks for, before any procedure is looked up.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) is_batch: bool,
    pub(crate) streaming: bool,
    pub(crate) paths: Vec<String>,
    pub(crate) inputs: Inputs,
}

/// The inputs of all calls, or the reason none can be read. Reading errors are per call
/// (tRPC reports them on each item, not on the request).
#[derive(Debug)]
pub(crate) enum Inputs {
    /// No input for any call.
    None,
    /// A single call's input.
    Single(Value),
    /// A batch: inputs keyed `"0"`, `"1"`, …
    Batch(Map<String, Value>),
    /// The inputs could not be read; every call answers this error.
    Invalid(Error),
}

impl Inputs {
    /// Takes the input of call `index` (`null` when it has none).
    pub(crate) fn take(&mut self, index: usize) -> Result<Value, Error> {
        match self {
            Inputs::None => Ok(Value::Null),
            Inputs::Single(value) => Ok(if index == 0 {
                value.take()
            } else {
                Value::Null
            }),
            Inputs::Batch(map) => Ok(map.remove(&index.to_string()).unwrap_or(Value::Null)),
            Inputs::Invalid(err) => Err(err.clone()),
        }
    }
}

fn top_level(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Error {
    Error::new(code).with_message(message)
}

/// Whether the client asked for the JSONL streaming batch (`trpc-accept: application/jsonl`,
/// or an `accept` list that contains it).
fn wants_jsonl(headers: &HeaderMap) -> bool {
    let has = |name: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',').any(|item| {
                    item.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .eq_ignore_ascii_case("application/jsonl")
                })
            })
        })
    };
    // As tRPC's getAcceptHeader: when `trpc-accept` is present its value alone decides.
    if headers.contains_key("trpc-accept") {
        has("trpc-accept")
    } else {
        has(header::ACCEPT.as_str())
    }
}

/// `application/json`, ignoring parameters and case.
fn is_json_content_type(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    Some(essence.eq_ignore_ascii_case("application/json"))
}

/// Splits the path after the endpoint's base into procedure paths. `raw_path` is still
/// percent-encoded; leading and trailing `/` are ignored.
pub(crate) fn procedure_paths(raw_path: &str, is_batch: bool) -> Result<Vec<String>, Error> {
    let trimmed = raw_path.trim_matches('/');
    let decoded = decode_path(trimmed)?;
    Ok(if is_batch {
        decoded.split(',').map(str::to_owned).collect()
    } else {
        vec![decoded]
    })
}

fn decode_path(raw: &str) -> Result<String, Error> {
    // percent-encoding's decoder passes malformed escapes through; tRPC (decodeURIComponent)
    // rejects them, so check first.
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(invalid_encoding(raw));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| invalid_encoding(raw))
}

/// tRPC's message (`decodeURIComponent` failing) for a bad escape or bad UTF-8 in the path.
fn invalid_encoding(raw: &str) -> Error {
    top_level(
        ErrorCode::BadRequest,
        format!("Invalid URL-encoding in path \"{raw}\""),
    )
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value, Error> {
    serde_json::from_slice(bytes).map_err(|err| {
        Error::new(ErrorCode::ParseError)
            .with_message(format!("Failed to parse {what} as JSON: {err}"))
    })
}

/// Reads a request. `raw_path` is the part of the URL path after the endpoint's base, `query`
/// the raw query string. Returns a top-level error for request-level problems.
pub(crate) fn parse(
    config: &Config,
    method: &Method,
    headers: &HeaderMap,
    raw_path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Parsed, Error> {
    let mut batch_param = None;
    let mut input_param = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "batch" if batch_param.is_none() => batch_param = Some(value),
            "input" if input_param.is_none() => input_param = Some(value),
            _ => {}
        }
    }
    let is_batch = batch_param.as_deref() == Some("1");
    let streaming = wants_jsonl(headers);

    // Content type: a GET is read as JSON whatever it says; anything else must be JSON.
    if *method != Method::GET && is_json_content_type(headers) != Some(true) {
        let message = match headers.get(header::CONTENT_TYPE) {
            None => "Missing content-type header".to_owned(),
            Some(value) => format!(
                "Unsupported content-type \"{}\"",
                String::from_utf8_lossy(value.as_bytes())
            ),
        };
        return Err(top_level(ErrorCode::UnsupportedMediaType, message));
    }
    if is_batch && !config.batching {
        return Err(top_level(
            ErrorCode::BadRequest,
            "Batching is not enabled on the server",
        ));
    }
    if streaming && !is_batch {
        return Err(top_level(
            ErrorCode::BadRequest,
            "Streaming requests must be batched (you can do a batch of 1)",
        ));
    }
    let paths = procedure_paths(raw_path, is_batch)?;
    if is_batch && paths.len() > config.max_batch_size {
        return Err(top_level(
            ErrorCode::BadRequest,
            format!(
                "Batch of {} calls is larger than the server's limit of {}",
                paths.len(),
                config.max_batch_size
            ),
        ));
    }

    let raw_inputs = if *method == Method::GET {
        match input_param.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => parse_json(text.as_bytes(), "the \"input\" query parameter").map(Some),
        }
    } else if body.is_empty() {
        // Only a 0-byte body means "no input": tRPC hands anything else, whitespace
        // included, to `JSON.parse`.
        Ok(None)
    } else {
        parse_json(body, "the request body").map(Some)
    };
    let inputs = match raw_inputs {
        Err(err) => Inputs::Invalid(err),
        Ok(None) => Inputs::None,
        Ok(Some(value)) if !is_batch => Inputs::Single(value),
        Ok(Some(Value::Object(map))) => Inputs::Batch(map),
        Ok(Some(_)) => Inputs::Invalid(Error::bad_request(
            "\"input\" needs to be an object when doing a batch call",
        )),
    };
    Ok(Parsed {
        is_batch,
        streaming,
        paths,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn get(path: &str, query: &str) -> Result<Parsed, Error> {
        parse(
            &Config::default(),
            &Method::GET,
            &HeaderMap::new(),
            path,
            Some(query),
            b"",
        )
    }

    #[test]
    fn paths_are_trimmed_decoded_and_split_only_in_batches() {
        assert_eq!(
            get("/a,b/", "").map(|p| p.paths).ok(),
            Some(vec!["a,b".to_owned()])
        );
        assert_eq!(
            get("a%2Cb", "batch=1").map(|p| p.paths).ok(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            get("post%2EbyId", "").map(|p| p.paths).ok(),
            Some(vec!["post.byId".to_owned()])
        );
        assert_eq!(
            get("a%zz", "").err().map(|e| e.code()),
            Some(ErrorCode::BadRequest)
        );
        assert_eq!(
            get("a%ff", "").err().map(|e| e.code()),
            Some(ErrorCode::BadRequest)
        );
    }

    #[test]
    fn plus_in_input_is_a_space() {
        let mut parsed = get("hello", "input=%22a+b%22")
            .ok()
            .unwrap_or_else(|| panic!("parse"));
        assert_eq!(
            parsed.inputs.take(0).ok(),
            Some(Value::String("a b".into()))
        );
    }

    #[test]
    fn batch_input_must_be_an_object() {
        let mut parsed = get("a,b", "batch=1&input=[1]")
            .ok()
            .unwrap_or_else(|| panic!("parse"));
        let err = parsed.inputs.take(1).err().map(|e| e.message().to_owned());
        assert_eq!(
            err.as_deref(),
            Some("\"input\" needs to be an object when doing a batch call")
        );
    }

    #[test]
    fn non_get_needs_json() {
        let mut headers = HeaderMap::new();
        let post = |h: &HeaderMap| parse(&Config::default(), &Method::POST, h, "m", None, b"");
        assert_eq!(
            post(&headers).err().map(|e| e.code()),
            Some(ErrorCode::UnsupportedMediaType)
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(post(&headers).is_ok());
    }
}
