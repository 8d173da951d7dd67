//! How Rust types map to JSON: serde's attributes, plus our policy for wide integers and docs.

use std::borrow::Cow;

use specta::datatype::{DataType, Field, Fields, NamedReferenceType, Primitive, Reference};
use specta::{FormatError, Types};

/// specta-serde's unified format (one shape for both directions: `rename_all`, `default`,
/// `skip_serializing_if`, …), followed by [`normalize`].
pub(crate) struct JsonFormat {
    /// The superjson transformer is on: wide integers are `bigint`, `Timestamp` is `Date`.
    pub(crate) superjson: bool,
}

impl specta::Format for JsonFormat {
    fn map_types(&'_ self, types: &Types) -> Result<Cow<'_, Types>, FormatError> {
        let mapped = specta_serde::Format.map_types(types)?.into_owned();
        Ok(Cow::Owned(mapped.map(|mut ndt| {
            unindent_docs(&mut ndt.docs);
            if self.superjson && tabrpc_core::is_timestamp_type(&ndt.name, &ndt.module_path) {
                ndt.ty = Some(DataType::Reference(specta_typescript::define("Date")));
            } else if let Some(ty) = ndt.ty.as_mut() {
                normalize(ty, self.superjson);
            }
            ndt
        })))
    }

    fn map_type(&'_ self, types: &Types, dt: &DataType) -> Result<Cow<'_, DataType>, FormatError> {
        let mut mapped = specta_serde::Format.map_type(types, dt)?.into_owned();
        normalize(&mut mapped, self.superjson);
        Ok(Cow::Owned(mapped))
    }
}

/// Applies our two policies to `dt` and everything inside it:
///
/// - Every integer wider than 32 bits (`i64`, `u64`, `isize`, `usize`, `i128`, `u128`) becomes
///   TypeScript's `number`. specta refuses them because `JSON.parse` rounds integers beyond
///   2^53 − 1; but serde_json sends them as plain JSON numbers, so `number` is what a client
///   actually receives, and the precision risk is documented on the crate instead of failing
///   every router that counts something in a `u64`.
/// - Field and variant docs lose the space that follows `///`, which the JSDoc comments would
///   otherwise double (`/**  text */`).
pub(crate) fn normalize(dt: &mut DataType, superjson: bool) {
    match dt {
        DataType::Primitive(
            Primitive::i64
            | Primitive::u64
            | Primitive::isize
            | Primitive::usize
            | Primitive::i128
            | Primitive::u128,
        ) => {
            let types = &mut Types::default();
            *dt = if superjson {
                <specta_typescript::BigInt as specta::Type>::definition(types)
            } else {
                <specta_typescript::Number as specta::Type>::definition(types)
            };
        }
        DataType::Primitive(_)
        | DataType::Generic(_)
        | DataType::Reference(Reference::Opaque(_)) => {}
        DataType::List(list) => normalize(&mut list.ty, superjson),
        DataType::Map(map) => {
            normalize(map.key_ty_mut(), superjson);
            normalize(map.value_ty_mut(), superjson);
        }
        DataType::Struct(strct) => normalize_fields(&mut strct.fields, superjson),
        DataType::Enum(enm) => {
            for (_, variant) in &mut enm.variants {
                unindent_docs(&mut variant.docs);
                normalize_fields(&mut variant.fields, superjson);
            }
        }
        DataType::Tuple(tuple) => tuple
            .elements
            .iter_mut()
            .for_each(|dt| normalize(dt, superjson)),
        DataType::Nullable(inner) => normalize(inner, superjson),
        DataType::Intersection(parts) => parts.iter_mut().for_each(|dt| normalize(dt, superjson)),
        DataType::Reference(Reference::Named(named)) => match &mut named.inner {
            NamedReferenceType::Inline { dt, .. } => normalize(dt, superjson),
            NamedReferenceType::Reference { generics, .. } => {
                generics
                    .iter_mut()
                    .for_each(|(_, dt)| normalize(dt, superjson));
            }
            NamedReferenceType::Recursive(_) => {}
        },
    }
}

fn normalize_fields(fields: &mut Fields, superjson: bool) {
    match fields {
        Fields::Unit => {}
        Fields::Unnamed(unnamed) => unnamed
            .fields
            .iter_mut()
            .for_each(|field| normalize_field(field, superjson)),
        Fields::Named(named) => named
            .fields
            .iter_mut()
            .for_each(|(_, field)| normalize_field(field, superjson)),
    }
}

fn normalize_field(field: &mut Field, superjson: bool) {
    unindent_docs(&mut field.docs);
    if let Some(ty) = field.ty.as_mut() {
        normalize(ty, superjson);
    }
}

/// Removes one leading space from every line: rustdoc keeps the space after `///`.
fn unindent_docs(docs: &mut Cow<'static, str>) {
    if docs.lines().any(|line| line.starts_with(' ')) {
        let lines: Vec<&str> = docs
            .lines()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect();
        *docs = Cow::Owned(lines.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use specta::Type;
    use specta_typescript::{Exporter, Typescript};

    use super::*;

    #[derive(Serialize, Type)]
    #[serde(rename_all = "camelCase")]
    struct Wide {
        signed: i64,
        unsigned: u64,
        len: usize,
        offset: isize,
        nested: Vec<Option<u64>>,
        narrow: u32,
    }

    fn render(format: impl specta::Format) -> Result<String, specta_typescript::Error> {
        let types = Types::default().register::<Wide>();
        Exporter::from(Typescript::default())
            .framework_prelude("")
            .export(&types, format)
    }

    #[test]
    fn sixty_four_bit_integers_export_as_number() {
        let ts = render(JsonFormat { superjson: false }).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            ts,
            "export type Wide = {\n\tsigned: number,\n\tunsigned: number,\n\tlen: number,\n\toffset: number,\n\tnested: (number | null)[],\n\tnarrow: number,\n};\n"
        );
    }

    #[test]
    fn with_superjson_they_export_as_bigint_and_timestamps_as_date() {
        #[derive(Serialize, Type)]
        struct Dated {
            at: tabrpc_core::Timestamp,
            id: u64,
        }
        let ts = render(JsonFormat { superjson: true }).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            ts,
            "export type Wide = {\n\tsigned: bigint,\n\tunsigned: bigint,\n\tlen: bigint,\n\toffset: bigint,\n\tnested: (bigint | null)[],\n\tnarrow: number,\n};\n"
        );
        let types = Types::default().register::<Dated>();
        let export = |superjson| {
            Exporter::from(Typescript::default())
                .framework_prelude("")
                .export(&types, JsonFormat { superjson })
                .unwrap_or_else(|err| panic!("{err}"))
        };
        let (plain, superjson) = (export(false), export(true));
        assert!(plain.contains("export type Timestamp = string;"), "{plain}");
        assert!(plain.contains("\tid: number,"), "{plain}");
        assert!(
            superjson.contains("export type Timestamp = Date;"),
            "{superjson}"
        );
        assert!(
            superjson.contains("\tat: Timestamp,\n\tid: bigint,"),
            "{superjson}"
        );
    }

    #[test]
    fn specta_alone_refuses_them() {
        // What `normalize` is for: without it the same struct does not export at all.
        let err = render(specta_serde::Format)
            .err()
            .map(|err| err.to_string());
        assert!(err.is_some_and(|err| err.contains("BigInt")));
    }
}
