//! `#[tabrpc::input]`: the scope fields of a procedure input, declared.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, Field, GenericArgument, Ident, LitStr, PathArguments, Type};

use crate::fields::{Errors, named_fields, take_marker};
use crate::paths::Paths;

/// One reserved scope key: its wire name, the TypeScript it exports as, the Rust type it
/// needs, and the marker that declares it.
struct Scope {
    marker: &'static str,
    key: &'static str,
    typescript: &'static str,
    rust: &'static str,
}

const VIEWER: Scope = Scope {
    marker: "viewer",
    key: "viewerId",
    typescript: "viewerId?: string",
    rust: "Option<String>",
};

const SESSION: Scope = Scope {
    marker: "session",
    key: "sessionId",
    typescript: "sessionId: string",
    rust: "SessionId",
};

/// The struct's scope field of one kind.
struct Found {
    field: Ident,
    span: Span,
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut paths = Paths::default();
    let options = syn::meta::parser(|meta| {
        if paths.parse(&meta)? {
            Ok(())
        } else {
            Err(meta.error(
                "unknown `#[tabrpc::input]` option: expected `crate = \"…\"`, `core = \"…\"` \
                 or `sessions = \"…\"`",
            ))
        }
    });
    options.parse2(args)?;
    let mut item: DeriveInput = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[tabrpc::input]` goes on a struct with named fields (a procedure's input)",
        )
    })?;

    let mut errors = Errors::default();
    for attr in item.attrs.iter().filter(|a| a.path().is_ident("tabrpc")) {
        errors.at(
            attr.span(),
            "a scoped input takes no `#[tabrpc(…)]` of its own: options go in \
             `#[tabrpc::input(…)]`, markers on its fields",
        );
    }
    let derives = derived(&item.attrs);
    let fields = named_fields(&mut item, "a scoped input")?;
    let (mut viewer, mut session) = (None::<Found>, None::<Found>);
    for field in &mut fields.named {
        let Some(name) = field.ident.clone() else {
            continue;
        };
        let marker = match take_marker(&mut field.attrs, &["viewer", "session"], &name) {
            Ok(marker) => marker,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some(marker) = marker else {
            unmarked(field, &name, &mut errors);
            continue;
        };
        let (scope, slot) = if marker.key == VIEWER.marker {
            (&VIEWER, &mut viewer)
        } else {
            (&SESSION, &mut session)
        };
        if let Some(first) = slot {
            errors.at(
                marker.key.span(),
                format!(
                    "two `#[tabrpc({})]` fields (`{}` and `{name}`): an input has one `{}`",
                    scope.marker, first.field, scope.key
                ),
            );
            continue;
        }
        no_wire_attributes(&field.attrs, &name, scope, &mut errors);
        let shape_ok = if scope.marker == VIEWER.marker {
            is_option_string(&field.ty)
        } else {
            last_segment_is(&field.ty, "SessionId")
        };
        if !shape_ok {
            errors.at(
                field.ty.span(),
                format!(
                    "`#[tabrpc({})]` field `{name}` must be `{}` (it is `{}` in TypeScript), \
                     found `{}`",
                    scope.marker,
                    scope.rust,
                    scope.typescript,
                    field.ty.to_token_stream().to_string().replace(' ', ""),
                ),
            );
        }
        let key = scope.key;
        if scope.marker == VIEWER.marker {
            // `skip_serializing_if` keeps a `Serialize` derive in line with the optional
            // TypeScript field; `type = String` exports `string`, not `string | null`.
            field.attrs.push(syn::parse_quote!(#[serde(
                default,
                rename = #key,
                skip_serializing_if = "::core::option::Option::is_none"
            )]));
            field
                .attrs
                .push(syn::parse_quote!(#[specta(optional, type = ::std::string::String)]));
        } else {
            field.attrs.push(syn::parse_quote!(#[serde(rename = #key)]));
        }
        *slot = Some(Found {
            field: name,
            span: marker.key.span(),
        });
    }
    let missing: Vec<_> = ["Deserialize", "Type"]
        .into_iter()
        .filter(|name| !derives.iter().any(|d| d == name))
        .collect();
    if (viewer.is_some() || session.is_some()) && !missing.is_empty() {
        // Also what a misplaced macro sees: below `#[derive]`, the derives are not its input.
        errors.at(
            item.ident.span(),
            format!(
                "`#[tabrpc::input]` goes above `#[derive(Deserialize, Type)]` (those derives \
                 read the attributes it gives scope fields), but no `{}` derive follows it on \
                 `{}`",
                missing.join("` or `"),
                item.ident
            ),
        );
    }
    errors.finish()?;

    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    let ident = &item.ident;
    let viewer = viewer.map(|Found { field, span }| {
        let core = paths.core();
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics #core::ViewerInput for #ident #ty_generics #where_clause {
                fn viewer_id(&self) -> ::core::option::Option<&str> {
                    ::core::option::Option::as_deref(&self.#field)
                }
            }
        }
    });
    let session = session.map(|Found { field, span }| {
        let sessions = paths.sessions();
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics #sessions::SessionInput for #ident #ty_generics #where_clause {
                fn session_id(&self) -> &#sessions::SessionId {
                    &self.#field
                }
            }
        }
    });
    Ok(quote! {
        #item
        #viewer
        #session
    })
}

/// Refuses every `#[serde(…)]` and `#[specta(…)]` on a scope field: the wire name and shape
/// are the contract with the client and the guard, so nothing may rename, alias, flatten,
/// skip or default them differently.
fn no_wire_attributes(attrs: &[Attribute], name: &Ident, scope: &Scope, errors: &mut Errors) {
    for attr in attrs {
        let path = attr.path();
        let wire = path.is_ident("serde")
            || path.is_ident("specta")
            || (path.is_ident("cfg_attr") && mentions(attr, &["serde", "specta"]));
        if wire {
            errors.at(
                attr.span(),
                format!(
                    "`{name}` is the `#[tabrpc({})]` field: the wire name and shape of a scope \
                     field are fixed (`{}`), so it takes no `#[serde(…)]` or `#[specta(…)]` \
                     attribute (rename, alias, default, flatten, skip, …); remove this one",
                    scope.marker, scope.typescript
                ),
            );
        }
    }
}

/// Refuses an unmarked field that reads as a scope key (its name, or a serde rename or
/// alias): it would reach the client and the router's check as the key with no guard wired
/// to it.
fn unmarked(field: &Field, name: &Ident, errors: &mut Errors) {
    let mut names = vec![(name.to_string(), name.span())];
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Anything malformed is left for serde to report.
        let _ = attr.parse_nested_meta(|meta| {
            let renames = meta.path.is_ident("rename") || meta.path.is_ident("alias");
            if renames && meta.input.peek(syn::Token![=]) {
                let value: LitStr = meta.value()?.parse()?;
                names.push((value.value(), value.span()));
            } else if renames && meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    let value: LitStr = inner.value()?.parse()?;
                    names.push((value.value(), value.span()));
                    Ok(())
                })?;
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        });
    }
    for (found, span) in names {
        for scope in [&VIEWER, &SESSION] {
            if reads_as(&found, scope.key) {
                errors.at(
                    span,
                    format!(
                        "field `{name}` reads as the reserved key `{}`: mark it \
                         `#[tabrpc({})]` so its guard sees it, or name it otherwise",
                        scope.key, scope.marker
                    ),
                );
            }
        }
    }
}

/// Consumes the rest of one `key …` of a serde attribute, up to the next comma.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    meta.input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Whether `name` reads as `key` the way the router's check compares them: ASCII case and
/// everything but letters and digits ignored (`viewer_id`, `ViewerID`, `viewer-id`).
fn reads_as(name: &str, key: &str) -> bool {
    let letters = |s: &str| {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    letters(name) == letters(key)
}

/// The names derived on the item (the last segment of each path in `#[derive(…)]`, also
/// inside `#[cfg_attr(…, derive(…))]`).
fn derived(attrs: &[Attribute]) -> Vec<String> {
    let mut names = Vec::new();
    for attr in attrs {
        let derives = attr.path().is_ident("derive") || attr.path().is_ident("cfg_attr");
        if let (true, syn::Meta::List(list)) = (derives, &attr.meta) {
            idents(list.tokens.clone(), &mut names);
        }
    }
    names
}

fn idents(tokens: TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Group(group) => idents(group.stream(), out),
            _ => {}
        }
    }
}

fn mentions(attr: &Attribute, words: &[&str]) -> bool {
    let mut found = Vec::new();
    if let syn::Meta::List(list) = &attr.meta {
        idents(list.tokens.clone(), &mut found);
    }
    found.iter().any(|f| words.contains(&f.as_str()))
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && s.arguments.is_none())
}

/// `Option<String>`, however its paths are spelled (`std::option::Option<std::string::String>`).
fn is_option_string(ty: &Type) -> bool {
    let Some(option) = last_segment(ty).filter(|s| s.ident == "Option") else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &option.arguments else {
        return false;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => last_segment_is(inner, "String"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of `#[tabrpc::input(args)] item`, or its errors' messages.
    fn expand_str(args: &str, item: &str) -> Result<String, Vec<String>> {
        let args: TokenStream = args.parse().unwrap_or_default();
        let item: TokenStream = item.parse().unwrap_or_default();
        expand(args, item)
            .map(|out| out.to_string())
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    fn errors(args: &str, item: &str) -> Vec<String> {
        expand_str(args, item).err().unwrap_or_default()
    }

    const DERIVES: &str = "#[derive(Deserialize, specta::Type)]";

    #[test]
    fn a_viewer_field_gets_its_wire_name_and_the_impl() {
        let out = expand_str(
            "",
            &format!("{DERIVES} #[serde(rename_all = \"snake_case\")] struct A {{ #[tabrpc(viewer)] who: Option<String>, n: u32 }}"),
        )
        .unwrap_or_default();
        assert!(out.contains("rename = \"viewerId\""), "{out}");
        assert!(out.contains("specta (optional"), "{out}");
        assert!(!out.contains("tabrpc (viewer)"), "{out}");
        assert!(out.contains("impl :: tabrpc :: ViewerInput for A"), "{out}");
        assert!(out.contains("as_deref (& self . who)"), "{out}");
    }

    #[test]
    fn a_session_field_gets_its_wire_name_and_the_impl() {
        let out = expand_str(
            r#"crate = "my_rpc""#,
            &format!("{DERIVES} struct A<T> {{ #[tabrpc(session)] id: my_rpc::sessions::SessionId, t: T }}"),
        )
        .unwrap_or_default();
        assert!(out.contains("# [serde (rename = \"sessionId\")]"), "{out}");
        assert!(
            out.contains("impl < T > my_rpc :: sessions :: SessionInput for A < T >"),
            "{out}"
        );
    }

    #[test]
    fn scope_fields_of_the_wrong_type_are_refused() {
        let errs = errors(
            "",
            &format!(
                "{DERIVES} struct A {{ #[tabrpc(viewer)] v: String, #[tabrpc(session)] s: Option<SessionId> }}"
            ),
        );
        assert_eq!(
            errs,
            [
                "`#[tabrpc(viewer)]` field `v` must be `Option<String>` (it is `viewerId?: string` in TypeScript), found `String`",
                "`#[tabrpc(session)]` field `s` must be `SessionId` (it is `sessionId: string` in TypeScript), found `Option<SessionId>`",
            ]
        );
        let ok = format!(
            "{DERIVES} struct A {{ #[tabrpc(viewer)] v: ::std::option::Option<std::string::String> }}"
        );
        assert!(expand_str("", &ok).is_ok());
    }

    #[test]
    fn serde_or_specta_attributes_on_a_scope_field_are_refused() {
        for attr in [
            "#[serde(rename = \"v\")]",
            "#[serde(alias = \"v\")]",
            "#[serde(flatten)]",
            "#[serde(skip)]",
            "#[serde(default)]",
            "#[specta(optional)]",
            "#[cfg_attr(test, serde(alias = \"v\"))]",
        ] {
            let errs = errors(
                "",
                &format!("{DERIVES} struct A {{ #[tabrpc(viewer)] {attr} v: Option<String> }}"),
            );
            assert_eq!(errs.len(), 1, "{attr}: {errs:?}");
            assert!(
                errs[0].starts_with("`v` is the `#[tabrpc(viewer)]` field: the wire name and shape of a scope field are fixed (`viewerId?: string`)"),
                "{attr}: {errs:?}"
            );
        }
    }

    #[test]
    fn two_scope_fields_of_a_kind_are_refused() {
        let errs = errors(
            "",
            &format!(
                "{DERIVES} struct A {{ #[tabrpc(viewer)] a: Option<String>, #[tabrpc(viewer)] b: Option<String> }}"
            ),
        );
        assert_eq!(
            errs,
            ["two `#[tabrpc(viewer)]` fields (`a` and `b`): an input has one `viewerId`"]
        );
    }

    #[test]
    fn unknown_markers_and_options_are_refused() {
        assert_eq!(
            errors(
                "",
                &format!("{DERIVES} struct A {{ #[tabrpc(caller)] a: Option<String> }}")
            ),
            [
                "unknown tabrpc field attribute on `a`: expected `#[tabrpc(viewer)]` or `#[tabrpc(session)]`"
            ]
        );
        assert_eq!(
            errors(
                "",
                &format!("{DERIVES} struct A {{ #[tabrpc(viewer, session)] a: Option<String> }}")
            ),
            ["field `a` is already marked `viewer`: a field has one tabrpc marker"]
        );
        assert_eq!(
            errors(
                "",
                &format!("{DERIVES} struct A {{ #[tabrpc(viewer = \"x\")] a: Option<String> }}")
            ),
            ["`viewer` takes no value: write `#[tabrpc(viewer)]`"]
        );
        assert_eq!(
            errors("krate = \"x\"", &format!("{DERIVES} struct A {{}}")),
            [
                "unknown `#[tabrpc::input]` option: expected `crate = \"…\"`, `core = \"…\"` or `sessions = \"…\"`"
            ]
        );
    }

    #[test]
    fn only_structs_with_named_fields_are_inputs() {
        for (item, kind) in [
            ("enum A { B }", "an enum"),
            ("struct A(Option<String>);", "a tuple struct"),
            ("struct A;", "a unit struct"),
            ("union A { a: u32 }", "a union"),
        ] {
            assert_eq!(
                errors("", &format!("{DERIVES} {item}")),
                [format!(
                    "a scoped input is a struct with named fields, not {kind}"
                )]
            );
        }
        assert_eq!(
            errors("", "fn f() {}"),
            ["`#[tabrpc::input]` goes on a struct with named fields (a procedure's input)"]
        );
    }

    #[test]
    fn an_unmarked_field_that_reads_as_a_scope_key_is_refused() {
        let errs = errors(
            "",
            &format!(
                "{DERIVES} struct A {{ viewer_id: Option<String>, #[serde(alias = \"Session-ID\")] s: String }}"
            ),
        );
        assert_eq!(
            errs,
            [
                "field `viewer_id` reads as the reserved key `viewerId`: mark it `#[tabrpc(viewer)]` so its guard sees it, or name it otherwise",
                "field `s` reads as the reserved key `sessionId`: mark it `#[tabrpc(session)]` so its guard sees it, or name it otherwise",
            ]
        );
    }

    #[test]
    fn scope_fields_need_the_derives_that_read_their_attributes() {
        let errs = errors(
            "",
            "#[derive(Deserialize)] struct A { #[tabrpc(viewer)] v: Option<String> }",
        );
        assert_eq!(
            errs,
            [
                "`#[tabrpc::input]` goes above `#[derive(Deserialize, Type)]` (those derives read the attributes it gives scope fields), but no `Type` derive follows it on `A`"
            ]
        );
        // Also what the macro sees when placed below `#[derive]`.
        let errs = errors("", "struct A { #[tabrpc(session)] s: SessionId }");
        assert_eq!(
            errs,
            [
                "`#[tabrpc::input]` goes above `#[derive(Deserialize, Type)]` (those derives read the attributes it gives scope fields), but no `Deserialize` or `Type` derive follows it on `A`"
            ]
        );
        // Without scope fields there is nothing to read: a pass-through.
        assert!(expand_str("", "struct A { n: u32 }").is_ok());
    }
}
