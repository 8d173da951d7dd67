//! The build-time check: reserved keys found in an input's specta type.
//!
//! specta 2 (rc) keeps serde's attributes on the type (`serde:field:aliases`,
//! `serde:field:rename_deserialize`, `serde:container:tag`, …) rather than applying them, so
//! every name serde would accept for a field is visible here: the Rust name, a rename, each
//! alias. Flattened fields are walked like any nested struct (a nested key is refused too, so
//! whether serde lifts it to the top does not matter).

use specta::datatype::{
    Attributes, DataType, Enum, Fields, Generic, NamedReference, NamedReferenceType, Reference,
};

use super::Scope;
use crate::procedure::TypeInfo;

/// A reserved key found in an input type: which one, and where.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The key it reads as.
    pub(crate) scope: Scope,
    /// Where, e.g. `` field `viewer_id` at `input.filter` `` or `` serde alias `ViewerID` of
    /// field `id` at `input` ``.
    pub(crate) at: String,
}

/// Deeper than any real input; only stops a type that nests without end through generics.
const MAX_DEPTH: usize = 64;

/// Every place in the input type of `types` that reads as a reserved key.
pub(crate) fn reserved_fields(types: &TypeInfo) -> Vec<Found> {
    let mut collected = specta::Types::default();
    let input = (types.input)(&mut collected);
    let mut walk = Walk {
        types: &collected,
        stack: Vec::new(),
        found: Vec::new(),
    };
    walk.data_type(&input, None, "input", 0);
    walk.found
}

/// The generic arguments of the named type being walked, and those of the types around it.
struct Frame<'a> {
    generics: &'a [(Generic, DataType)],
    parent: Option<&'a Frame<'a>>,
}

struct Walk<'t> {
    types: &'t specta::Types,
    /// The named types being walked: a type met again inside itself is not walked twice.
    stack: Vec<NamedReference>,
    found: Vec<Found>,
}

impl Walk<'_> {
    fn data_type(&mut self, dt: &DataType, env: Option<&Frame<'_>>, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let depth = depth + 1;
        match dt {
            DataType::Nullable(inner) => self.data_type(inner, env, path, depth),
            DataType::List(list) => self.data_type(&list.ty, env, &format!("{path}[]"), depth),
            // Map keys are data, not names the type declares; the run-time check sees them.
            DataType::Map(map) => {
                self.data_type(map.value_ty(), env, &format!("{path}{{}}"), depth)
            }
            DataType::Tuple(tuple) => {
                for (i, element) in tuple.elements.iter().enumerate() {
                    self.data_type(element, env, &format!("{path}.{i}"), depth);
                }
            }
            DataType::Intersection(parts) => {
                for part in parts {
                    self.data_type(part, env, path, depth);
                }
            }
            DataType::Struct(s) => {
                self.container_tags(&s.attributes, path);
                self.fields(&s.fields, env, path, depth);
            }
            DataType::Enum(e) => self.enumeration(e, env, path, depth),
            DataType::Generic(generic) => self.generic(generic, env, path, depth),
            DataType::Reference(Reference::Named(named)) => {
                self.named(named, env, path, depth);
            }
            DataType::Primitive(_) | DataType::Reference(Reference::Opaque(_)) => {}
        }
    }

    /// A generic parameter: the argument given for it, walked where it was given.
    fn generic(&mut self, generic: &Generic, env: Option<&Frame<'_>>, path: &str, depth: usize) {
        let mut frame = env;
        while let Some(current) = frame {
            if let Some((_, argument)) = current.generics.iter().find(|(g, _)| g == generic) {
                return self.data_type(argument, current.parent, path, depth);
            }
            frame = current.parent;
        }
    }

    fn named(&mut self, named: &NamedReference, env: Option<&Frame<'_>>, path: &str, depth: usize) {
        match &named.inner {
            NamedReferenceType::Inline { dt, .. } => self.data_type(dt, env, path, depth),
            NamedReferenceType::Reference { generics, .. } => {
                let Some(ty) = self.types.get(named).and_then(|n| n.ty.as_ref()) else {
                    return;
                };
                if self.stack.contains(named) {
                    return;
                }
                self.stack.push(named.clone());
                let frame = Frame {
                    generics,
                    parent: env,
                };
                self.data_type(ty, Some(&frame), path, depth);
                self.stack.pop();
            }
            // A type inside itself: its fields were, or are being, walked above.
            NamedReferenceType::Recursive(_) => {}
        }
    }

    fn fields(&mut self, fields: &Fields, env: Option<&Frame<'_>>, path: &str, depth: usize) {
        match fields {
            Fields::Unit => {}
            Fields::Unnamed(unnamed) => {
                for (i, field) in unnamed.fields.iter().enumerate() {
                    if let Some(ty) = &field.ty {
                        self.data_type(ty, env, &format!("{path}.{i}"), depth);
                    }
                }
            }
            Fields::Named(named) => {
                for (name, field) in &named.fields {
                    // A skipped field is still checked by its names: reading a reserved key
                    // into it by hand is what a guard is for.
                    let place = format!("field `{name}` at `{path}`");
                    self.names(name, &field.attributes, "field", &place);
                    if let Some(ty) = &field.ty {
                        self.data_type(ty, env, &format!("{path}.{name}"), depth);
                    }
                }
            }
        }
    }

    fn enumeration(&mut self, e: &Enum, env: Option<&Frame<'_>>, path: &str, depth: usize) {
        self.container_tags(&e.attributes, path);
        let untagged = flag(&e.attributes, "serde:container:untagged");
        let internally_tagged = text(&e.attributes, "serde:container:tag").is_some();
        for (name, variant) in &e.variants {
            let variant_path = format!("{path}::{name}");
            // Externally tagged (serde's default), a variant with data is `{"<name>": …}`: its
            // names are input keys. Otherwise they are values, or absent.
            let is_key = !untagged
                && !internally_tagged
                && !flag(&variant.attributes, "serde:variant:untagged")
                && !matches!(variant.fields, Fields::Unit);
            if is_key {
                let place = format!("variant `{name}` at `{path}`");
                self.names(name, &variant.attributes, "variant", &place);
            }
            self.fields(&variant.fields, env, &variant_path, depth);
        }
    }

    /// `#[serde(tag = "…", content = "…")]` name keys of the container's own.
    fn container_tags(&mut self, attributes: &Attributes, path: &str) {
        for (attribute, what) in [
            ("serde:container:tag", "serde tag"),
            ("serde:container:content", "serde content key"),
        ] {
            if let Some(name) = text(attributes, attribute) {
                self.check(name, || format!("{what} `{name}` at `{path}`"));
            }
        }
    }

    /// The names serde reads a field or variant by: its own, its rename and its aliases.
    fn names(&mut self, name: &str, attributes: &Attributes, kind: &str, place: &str) {
        self.check(name, || place.to_owned());
        if let Some(rename) = text(attributes, &format!("serde:{kind}:rename_deserialize")) {
            self.check(rename, || format!("serde rename `{rename}` of {place}"));
        }
        if let Some(aliases) =
            attributes.get_named_as::<Vec<String>>(&format!("serde:{kind}:aliases"))
        {
            for alias in aliases {
                self.check(alias, || format!("serde alias `{alias}` of {place}"));
            }
        }
    }

    fn check(&mut self, name: &str, at: impl FnOnce() -> String) {
        if let Some(scope) = Scope::ALL.iter().find(|s| s.matches(name)) {
            self.found.push(Found {
                scope: *scope,
                at: at(),
            });
        }
    }
}

fn text<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a str> {
    attributes.get_named_as::<String>(key).map(String::as_str)
}

fn flag(attributes: &Attributes, key: &str) -> bool {
    attributes
        .get_named_as::<bool>(key)
        .copied()
        .unwrap_or(false)
}
