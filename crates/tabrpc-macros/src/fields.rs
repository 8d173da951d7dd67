//! What both macros share: the named fields of a struct and the `#[tabrpc(…)]` marker of each.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, FieldsNamed, Ident};

/// The named fields of `item`, or an error naming what a `what` must be.
pub(crate) fn named_fields<'a>(
    item: &'a mut DeriveInput,
    what: &str,
) -> syn::Result<&'a mut FieldsNamed> {
    let (kind, span) = match &mut item.data {
        Data::Struct(data) => match &mut data.fields {
            Fields::Named(named) => return Ok(named),
            Fields::Unnamed(_) => ("a tuple struct", data.struct_token.span),
            Fields::Unit => ("a unit struct", data.struct_token.span),
        },
        Data::Enum(data) => ("an enum", data.enum_token.span),
        Data::Union(data) => ("a union", data.union_token.span),
    };
    Err(syn::Error::new(
        span,
        format!("{what} is a struct with named fields, not {kind}"),
    ))
}

/// A field's marker: the key of its `#[tabrpc(key)]`.
pub(crate) struct Marker {
    pub(crate) key: Ident,
}

/// Takes the `#[tabrpc(…)]` attributes out of `attrs` and returns the one marker they hold, if
/// any; refuses a key not in `keys`, two markers, and an empty or malformed attribute.
pub(crate) fn take_marker(
    attrs: &mut Vec<Attribute>,
    keys: &[&str],
    field: &Ident,
) -> syn::Result<Option<Marker>> {
    let expected = keys
        .iter()
        .map(|k| format!("`#[tabrpc({k})]`"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut marker: Option<Marker> = None;
    let mut errors = Errors::default();
    attrs.retain(|attr| {
        if !attr.path().is_ident("tabrpc") {
            return true;
        }
        let mut seen = false;
        let parsed = attr.parse_nested_meta(|meta| {
            seen = true;
            let Some(key) = meta
                .path
                .get_ident()
                .filter(|k| keys.iter().any(|e| *k == e))
            else {
                return Err(meta.error(format!(
                    "unknown tabrpc field attribute on `{field}`: expected {expected}"
                )));
            };
            if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error(format!("`{key}` takes no value: write `#[tabrpc({key})]`")));
            }
            if let Some(first) = &marker {
                return Err(meta.error(format!(
                    "field `{field}` is already marked `{}`: a field has one tabrpc marker",
                    first.key
                )));
            }
            marker = Some(Marker { key: key.clone() });
            Ok(())
        });
        match parsed {
            Err(e) => errors.push(e),
            Ok(()) if !seen => errors.at(
                attr.span(),
                format!("empty `#[tabrpc]` on `{field}`: expected {expected}"),
            ),
            Ok(()) => {}
        }
        false
    });
    errors.finish().map(|()| marker)
}

/// Collects errors so one expansion reports every problem at once, as rustc does.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
