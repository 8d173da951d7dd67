//! The run-time check: an input object's keys, scanned for reserved keys before an unguarded
//! procedure reads it.
//!
//! Cost (callgrind, instructions per request, `Handler::handle` in-process on a GET batch of an
//! unguarded query whose input is `{"id":<n>,"title":"hello world"}`; no HTTP, no auth): before
//! the check 11,806 at batch 1 and 67,487 at batch 10; with it 12,869 and 77,911, ~1,040 per
//! call. Parsing every object input with the key-only visitor below cost ~1,380 per call
//! (13,202 and 81,330): the byte pre-check [`may_hold`] skips the parse for inputs none of
//! whose strings can read as a refused key. Inputs that are not objects or arrays cost nothing.

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Scope;
use crate::error::Error;
use crate::middleware::Input;
use crate::protocol::ErrorReason;

/// How deep keys are looked for: the input object's own keys are at depth 1. Deeper keys are
/// left to the build-time check of the type.
const MAX_DEPTH: u8 = 8;

/// A key of the input that reads as a reserved key, and the key.
type Hit = (String, Scope);

/// Refuses `input` with 400 BAD_REQUEST when an object in it has a key that reads as one of
/// `refused` (at most [`MAX_DEPTH`] deep), or when it cannot be read at all.
pub(crate) fn refuse_reserved_keys(input: &Input, refused: &[Scope]) -> Result<(), Error> {
    let hit = match input {
        Input::Value(value) => in_value(value, refused, 1),
        Input::Raw { text, range, .. } => in_text(text.get(range.clone()).unwrap_or(""), refused)?,
    };
    match hit {
        None => Ok(()),
        Some((key, scope)) => Err(Error::bad_request(format!(
            "Input key `{key}` reads as `{}`, which this procedure does not take: only a \
             procedure behind its guard does",
            scope.key()
        ))
        .with_reason(ErrorReason::ReservedInputKey)),
    }
}

fn in_value(value: &Value, refused: &[Scope], depth: u8) -> Option<Hit> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            hit(key, refused).or_else(|| in_value(value, refused, depth + 1))
        }),
        Value::Array(items) => items.iter().find_map(|item| in_value(item, refused, depth)),
        _ => None,
    }
}

fn in_text(json: &str, refused: &[Scope]) -> Result<Option<Hit>, Error> {
    // Most inputs are numbers, strings or absent (no keys), or objects none of whose strings
    // reads as a refused key: nothing to parse.
    if !matches!(json.trim_start().as_bytes().first(), Some(b'{' | b'['))
        || !may_hold(json.as_bytes(), refused)
    {
        return Ok(None);
    }
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let scan = Scan {
        refused,
        depth: 1,
        found: &mut found,
    };
    match scan.deserialize(&mut deserializer) {
        Ok(()) => Ok(found),
        // The request's text was checked to be JSON; what fails here is a number no `f64`
        // holds (`1e400`). Refused rather than skipped: the keys after it were not seen.
        Err(err) => found.map(Some).ok_or_else(|| {
            let detail = err.to_string();
            let detail = detail.split(" at line ").next().unwrap_or_default();
            Error::bad_request(format!("Invalid input: {detail}"))
        }),
    }
}

/// Whether a string of the JSON `text` (key or value) may read as one of `refused`: `false`
/// only when none can. An escape (`\u0076iewerId`) answers `true`, since the text then differs
/// from the string.
///
/// Each key's last letter is looked for (`d` of `viewerId` and `sessionId`, either case), and
/// from each one found the string's letters and digits are compared backwards with the key's:
/// most texts have few such letters and fail at the second.
fn may_hold(text: &[u8], refused: &[Scope]) -> bool {
    // The keys' last letters, lower case; `| 0x20` lowers an ASCII letter and leaves no other
    // byte JSON text holds equal to one.
    let mut last = [0u8; Scope::ALL.len()];
    for (slot, scope) in last.iter_mut().zip(refused) {
        *slot = scope
            .key()
            .as_bytes()
            .last()
            .map_or(0, u8::to_ascii_lowercase);
    }
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| {
        rest.iter()
            .position(|&b| b == b'\\' || last.contains(&(b | 0x20)))
    }) {
        let at = from + found;
        if text.get(at) == Some(&b'\\') {
            return true;
        }
        if refused
            .iter()
            .any(|scope| ends_string_reading_as(text, at, scope.key().as_bytes()))
        {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Whether `text[at]` is the last letter of a string whose letters and digits are `key`'s
/// (ASCII case ignored): backwards from `at`, the key's letters, then the string's opening
/// quote with no other letter or digit on the way; forwards, the closing quote likewise.
fn ends_string_reading_as(text: &[u8], at: usize, key: &[u8]) -> bool {
    let after = text.get(at + 1..).unwrap_or_default();
    let closed = after
        .iter()
        .find(|b| **b == b'"' || b.is_ascii_alphanumeric())
        == Some(&b'"');
    if !closed {
        return false;
    }
    let mut before = text.get(..=at).unwrap_or_default().iter().rev();
    let mut letters = key.iter().rev();
    loop {
        let next = before.find(|b| **b == b'"' || b.is_ascii_alphanumeric());
        match (next, letters.next()) {
            (Some(b'"'), None) => return true,
            (Some(found), Some(wanted)) if found.eq_ignore_ascii_case(wanted) => {}
            _ => return false,
        }
    }
}

fn hit(key: &str, refused: &[Scope]) -> Option<Hit> {
    refused
        .iter()
        .find(|scope| scope.matches(key))
        .map(|scope| (key.to_owned(), *scope))
}

/// Visits one JSON value, recording the first reserved key of its objects in `found`.
struct Scan<'r> {
    refused: &'r [Scope],
    depth: u8,
    found: &'r mut Option<Hit>,
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH || self.found.is_some() {
            deserializer.deserialize_ignored_any(IgnoredAny).map(|_| ())
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key(self.refused))? {
            if self.found.is_none() {
                *self.found = key;
            }
            map.next_value_seed(Scan {
                refused: self.refused,
                depth: self.depth + 1,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Scan {
                refused: self.refused,
                depth: self.depth,
                found: &mut *self.found,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An object key: a hit when it reads as a refused key. Compared where it lies in the text
/// (serde_json lends keys without escapes); copied only on a hit.
struct Key<'r>(&'r [Scope]);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<Hit>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Hit>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<Hit>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<Hit>, E> {
        Ok(hit(key, self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const BOTH: &[Scope] = &[Scope::Viewer, Scope::Session];

    fn raw(json: &str) -> Input {
        // Inside a larger text, as a batch's part.
        let text = format!("{{\"0\":{json}}}");
        Input::raw(Arc::from(text), 5..5 + json.len())
    }

    fn refused_key(input: &Input, refused: &[Scope]) -> Option<String> {
        refuse_reserved_keys(input, refused)
            .err()
            .map(|e| e.message().to_owned())
    }

    #[test]
    fn reserved_keys_in_any_spelling_are_refused_in_text_and_values() {
        for json in [
            r#"{"viewerId":"bob"}"#,
            r#"{"id":1,"ViewerID":"bob"}"#,
            r#"{"viewer_id":null}"#,
            r#"{"filter":{"by":[{"VIEWER-ID":"bob"}]}}"#,
            r#"[{"sessionId":"x"}]"#,
            r#"{"\u0076iewerId":"bob"}"#,
            r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"viewerId":1}}}}}}}}"#,
        ] {
            let value: Value = serde_json::from_str(json).unwrap_or_default();
            for input in [raw(json), Input::Value(value)] {
                let message = refused_key(&input, BOTH).unwrap_or_default();
                assert!(message.contains("reads as `"), "{json}: {message}");
            }
        }
    }

    #[test]
    fn values_other_keys_and_guarded_scopes_pass() {
        for json in [
            r#"{"who":"viewerId"}"#,
            r#"["viewerId"]"#,
            r#""viewerId""#,
            "42",
            "null",
            "",
            r#"{"viewer":1,"newSessionId":"x","id":2}"#,
            // Deeper than the scan looks.
            r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"viewerId":1}}}}}}}}}"#,
        ] {
            assert_eq!(refused_key(&raw(json), BOTH), None, "{json}");
        }
        assert_eq!(
            refused_key(&raw(r#"{"viewerId":"me"}"#), &[Scope::Session]),
            None
        );
        let message = refused_key(
            &raw(r#"{"viewerId":"me","sessionId":"s"}"#),
            &[Scope::Session],
        );
        assert!(message.is_some_and(|m| m.contains("`sessionId`")));
    }

    #[test]
    fn the_pre_check_passes_only_texts_without_such_a_string() {
        for (text, expected) in [
            (r#"{"id":1,"title":"hello world"}"#, false),
            (r#"{"viewer":"id"}"#, false),
            (r#"{"a":"ses","sessionId":1}"#, true),
            (r#"{"who":"viewer id"}"#, true),
            (r#"{"_VIEWER-ID":1}"#, true),
            (r#"{"x_VIEWER-ID":1}"#, false),
            (r#"{"viewerIdx":1}"#, false),
            (r#"{"\u0041":1}"#, true),
        ] {
            assert_eq!(may_hold(text.as_bytes(), BOTH), expected, "{text}");
        }
        assert!(!may_hold(br#"{"viewerId":1}"#, &[Scope::Session]));
    }

    #[test]
    fn a_key_after_an_unreadable_number_is_not_missed() {
        let input = raw(r#"{"x":1e400,"viewerId":"bob"}"#);
        let err = refuse_reserved_keys(&input, BOTH).err();
        assert_eq!(err.map(|e| e.code()), Some(crate::ErrorCode::BadRequest));
    }
}
