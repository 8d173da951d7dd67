//! A serde serializer to a JSON value that records superjson annotations as it goes: 64-bit
//! and wider integers become decimal strings annotated `bigint`, a `Timestamp` an ISO string
//! annotated `Date`. It is driven by the Rust types (`serialize_i64` is an `i64`, whatever its
//! value), which is what lets the exported TypeScript types say `bigint` for those fields.

use std::fmt;

use serde::ser::{self, Serialize, SerializeMap as _, SerializeSeq as _};
use serde_json::Value;

/// A JSON value whose objects keep their fields in the order serde gave them (serde_json's
/// `Map` sorts them, unlike plain JSON replies).
pub(crate) enum Json {
    Leaf(Value),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Leaf(value) => value.serialize(serializer),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// `meta.values`: `["<type>"]` for an annotated root, else path → `["<type>"]`.
pub(crate) enum Annotations {
    Root(&'static str),
    Paths(Vec<(String, &'static str)>),
}

impl Serialize for Annotations {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Annotations::Root(kind) => [kind].serialize(serializer),
            Annotations::Paths(paths) => {
                let mut map = serializer.serialize_map(Some(paths.len()))?;
                for (path, kind) in paths {
                    map.serialize_entry(path, &[kind])?;
                }
                map.end()
            }
        }
    }
}

use super::TIMESTAMP;

/// The path being serialized and the annotations found so far.
#[derive(Default)]
pub(crate) struct State {
    path: Vec<String>,
    values: Vec<(String, &'static str)>,
}

impl State {
    /// The `meta.values` of what was serialized; `None` when nothing was annotated.
    pub(crate) fn annotations(self) -> Option<Annotations> {
        match self.values.as_slice() {
            [] => None,
            [(root, kind)] if root.is_empty() => Some(Annotations::Root(kind)),
            _ => Some(Annotations::Paths(self.values)),
        }
    }

    fn annotate(&mut self, kind: &'static str) {
        // superjson's escaping: `\` as `\\`, `.` as `\.`.
        let path = self
            .path
            .iter()
            .map(|key| key.replace('\\', "\\\\").replace('.', "\\."))
            .collect::<Vec<_>>()
            .join(".");
        self.values.push((path, kind));
    }

    fn bigint(&mut self, text: String) -> Result<Json, SerError> {
        self.annotate("bigint");
        Ok(Json::Leaf(Value::String(text)))
    }

    fn child<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<Json, SerError> {
        self.path.push(key);
        let out = value.serialize(&mut *self);
        self.path.pop();
        out
    }
}

/// A value that cannot be written as JSON (a map key that is not a string or a number).
#[derive(Debug)]
pub(crate) struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn plain<T: Serialize>(value: T) -> Result<Value, SerError> {
    serde_json::to_value(value).map_err(|e| SerError(e.to_string()))
}

fn leaf(value: impl Into<Value>) -> Result<Json, SerError> {
    Ok(Json::Leaf(value.into()))
}

impl<'a> ser::Serializer for &'a mut State {
    type Ok = Json;
    type Error = SerError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Json, SerError> {
        self.bigint(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<Json, SerError> {
        self.bigint(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Json, SerError> {
        self.bigint(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<Json, SerError> {
        self.bigint(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<Json, SerError> {
        plain(v).map(Json::Leaf)
    }
    fn serialize_f64(self, v: f64) -> Result<Json, SerError> {
        plain(v).map(Json::Leaf)
    }
    fn serialize_char(self, v: char) -> Result<Json, SerError> {
        leaf(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<Json, SerError> {
        leaf(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Json, SerError> {
        plain(v).map(Json::Leaf)
    }
    fn serialize_none(self) -> Result<Json, SerError> {
        leaf(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Json, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Json, SerError> {
        leaf(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Json, SerError> {
        leaf(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Json, SerError> {
        leaf(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Json, SerError> {
        let out = value.serialize(&mut *self)?;
        if name == TIMESTAMP {
            self.annotate("Date");
        }
        Ok(out)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Json, SerError> {
        let inner = self.child(variant.to_owned(), value)?;
        Ok(Json::Object(vec![(variant.to_owned(), inner)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'a>, SerError> {
        Ok(Seq {
            state: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'a>, SerError> {
        self.path.push(variant.to_owned());
        Ok(Seq {
            state: self,
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>, SerError> {
        Ok(Object {
            state: self,
            map: Vec::new(),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>, SerError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Object<'a>, SerError> {
        self.path.push(variant.to_owned());
        Ok(Object {
            state: self,
            map: Vec::new(),
            key: None,
            variant: Some(variant),
        })
    }
}

/// An array being written (for a tuple variant, inside `{variant: […]}`).
pub(crate) struct Seq<'a> {
    state: &'a mut State,
    items: Vec<Json>,
    variant: Option<&'static str>,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        let index = self.items.len().to_string();
        let item = self.state.child(index, value)?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Json {
        let array = Json::Array(self.items);
        match self.variant {
            None => array,
            Some(variant) => {
                self.state.path.pop();
                Json::Object(vec![(variant.to_owned(), array)])
            }
        }
    }
}

macro_rules! seq_impl {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = Json;
            type Error = SerError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
                self.push(value)
            }
            fn end(self) -> Result<Json, SerError> {
                Ok(self.finish())
            }
        }
    )*};
}

seq_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object being written (for a struct variant, inside `{variant: {…}}`).
pub(crate) struct Object<'a> {
    state: &'a mut State,
    map: Vec<(String, Json)>,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl Object<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), SerError> {
        let item = self.state.child(key.clone(), value)?;
        self.map.push((key, item));
        Ok(())
    }

    fn finish(self) -> Json {
        let object = Json::Object(self.map);
        match self.variant {
            None => object,
            Some(variant) => {
                self.state.path.pop();
                Json::Object(vec![(variant.to_owned(), object)])
            }
        }
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = Json;
    type Error = SerError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        // Keys as serde_json writes them: strings, and numbers as their decimal text.
        self.key = Some(match plain(key)? {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(SerError("a map key must be a string or a number".into())),
        });
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerError("a map value without its key".into()))?;
        self.field(key, value)
    }

    fn end(self) -> Result<Json, SerError> {
        Ok(self.finish())
    }
}

macro_rules! struct_impl {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Object<'_> {
            type Ok = Json;
            type Error = SerError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), SerError> {
                self.field(key.to_owned(), value)
            }
            fn end(self) -> Result<Json, SerError> {
                Ok(self.finish())
            }
        }
    )*};
}

struct_impl!(SerializeStruct, SerializeStructVariant);
