//! `#[derive(tabrpc::Context)]`: a request context's viewer and session impls, delegated to
//! the fields that hold the caller and the session store.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, Type};

use crate::fields::{Errors, named_fields, take_marker};
use crate::paths::Paths;

struct Found {
    field: Ident,
    ty: Type,
    span: Span,
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut item: DeriveInput = syn::parse2(input)?;
    let mut errors = Errors::default();
    let mut paths = Paths::default();
    for attr in item.attrs.iter().filter(|a| a.path().is_ident("tabrpc")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if paths.parse(&meta)? {
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `#[tabrpc(…)]` option on a context: expected `crate = \"…\"`, \
                     `core = \"…\"` or `sessions = \"…\"`",
                ))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    let ident = item.ident.clone();
    let fields = named_fields(&mut item, "a `#[derive(tabrpc::Context)]` context")?;
    let (mut caller, mut sessions) = (None::<Found>, None::<Found>);
    let mut misused = false;
    for field in &mut fields.named {
        let Some(name) = field.ident.clone() else {
            continue;
        };
        let marker = match take_marker(&mut field.attrs, &["caller", "sessions"], &name) {
            Ok(Some(marker)) => marker,
            Ok(None) => continue,
            Err(e) => {
                errors.push(e);
                misused = true;
                continue;
            }
        };
        let slot = if marker.key == "caller" {
            &mut caller
        } else {
            &mut sessions
        };
        if let Some(first) = slot {
            errors.at(
                marker.key.span(),
                format!(
                    "two `#[tabrpc({})]` fields (`{}` and `{name}`): a context has one",
                    marker.key, first.field
                ),
            );
            continue;
        }
        *slot = Some(Found {
            field: name,
            ty: field.ty.clone(),
            span: marker.key.span(),
        });
    }
    match (&caller, &sessions) {
        (None, Some(sessions)) => errors.at(
            sessions.span,
            format!(
                "`#[tabrpc(sessions)]` needs a `#[tabrpc(caller)]` field too: a session context \
                 is also a viewer context (`SessionContext: ViewerContext`), so `{ident}` must \
                 say which field holds the verified caller"
            ),
        ),
        (None, None) if !misused => errors.at(
            ident.span(),
            format!(
                "`#[derive(tabrpc::Context)]` on `{ident}` has nothing to derive: mark the field \
                 that holds the verified caller `#[tabrpc(caller)]` (and the session store's \
                 `#[tabrpc(sessions)]`)"
            ),
        ),
        _ => {}
    }
    errors.finish()?;

    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    let core = paths.core();
    let generic = !item.generics.params.is_empty();
    let viewer = caller.map(|Found { field, ty, span }| {
        let mut where_clause = where_clause.cloned();
        if generic {
            // A field type that names the context's parameters may need the bound; a concrete
            // one is checked at the call below, where rustc's error points at the field type.
            where_clause
                .get_or_insert_with(|| syn::parse_quote!(where))
                .predicates
                .push(syn::parse_quote_spanned!(ty.span()=> #ty: #core::ViewerContext));
        }
        let call = quote_spanned!(ty.span()=> <#ty as #core::ViewerContext>::viewer(&self.#field));
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics #core::ViewerContext for #ident #ty_generics #where_clause {
                fn viewer(&self) -> ::core::result::Result<&str, #core::Error> {
                    #call
                }
            }
        }
    });
    let session = sessions.map(|Found { field, ty, span }| {
        let sessions = paths.sessions();
        // `&*` then the unsized coercion: `Arc<dyn SessionStore>` gives the trait object as
        // it is, `Arc<SqliteStore>` (any store behind a `Deref`) becomes one here.
        let store = quote_spanned!(ty.span()=> &*self.#field);
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics #sessions::SessionContext for #ident #ty_generics #where_clause {
                fn session_store(&self) -> &dyn #sessions::SessionStore {
                    #store
                }
            }
        }
    });
    Ok(quote! {
        #viewer
        #session
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(item: &str) -> Result<String, Vec<String>> {
        expand(item.parse().unwrap_or_default())
            .map(|out| out.to_string())
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    fn errors(item: &str) -> Vec<String> {
        expand_str(item).err().unwrap_or_default()
    }

    #[test]
    fn caller_and_sessions_fields_are_delegated_to() {
        let out = expand_str(
            "struct Ctx { db: Db, #[tabrpc(caller)] caller: Caller, #[tabrpc(sessions)] store: Arc<dyn SessionStore> }",
        )
        .unwrap_or_default();
        assert!(
            out.contains("impl :: tabrpc :: ViewerContext for Ctx {"),
            "{out}"
        );
        assert!(
            out.contains("< Caller as :: tabrpc :: ViewerContext > :: viewer (& self . caller)"),
            "{out}"
        );
        assert!(
            out.contains("impl :: tabrpc :: sessions :: SessionContext for Ctx"),
            "{out}"
        );
        assert!(out.contains("& * self . store"), "{out}");
    }

    #[test]
    fn sessions_without_a_caller_is_refused() {
        assert_eq!(
            errors("struct Ctx { #[tabrpc(sessions)] store: Arc<dyn SessionStore> }"),
            [
                "`#[tabrpc(sessions)]` needs a `#[tabrpc(caller)]` field too: a session context is also a viewer context (`SessionContext: ViewerContext`), so `Ctx` must say which field holds the verified caller"
            ]
        );
        assert_eq!(
            errors("struct Ctx { db: Db }"),
            [
                "`#[derive(tabrpc::Context)]` on `Ctx` has nothing to derive: mark the field that holds the verified caller `#[tabrpc(caller)]` (and the session store's `#[tabrpc(sessions)]`)"
            ]
        );
    }

    #[test]
    fn duplicates_unknown_keys_and_non_structs_are_refused() {
        assert_eq!(
            errors("struct Ctx { #[tabrpc(caller)] a: Caller, #[tabrpc(caller)] b: Caller }"),
            ["two `#[tabrpc(caller)]` fields (`a` and `b`): a context has one"]
        );
        assert_eq!(
            errors("struct Ctx { #[tabrpc(viewer)] a: Caller }"),
            [
                "unknown tabrpc field attribute on `a`: expected `#[tabrpc(caller)]` or `#[tabrpc(sessions)]`"
            ]
        );
        assert_eq!(
            errors("#[tabrpc(krate = \"x\")] struct Ctx { #[tabrpc(caller)] a: Caller }"),
            [
                "unknown `#[tabrpc(…)]` option on a context: expected `crate = \"…\"`, `core = \"…\"` or `sessions = \"…\"`"
            ]
        );
        assert_eq!(
            errors("enum Ctx { A }"),
            ["a `#[derive(tabrpc::Context)]` context is a struct with named fields, not an enum"]
        );
    }

    #[test]
    fn the_paths_can_name_the_component_crates() {
        let out = expand_str(
            "#[tabrpc(core = \"tabrpc_core\", sessions = \"tabrpc_sessions\")] struct Ctx<S> { #[tabrpc(caller)] c: C, #[tabrpc(sessions)] s: S }",
        )
        .unwrap_or_default();
        assert!(
            out.contains("impl < S > tabrpc_core :: ViewerContext for Ctx < S > where C : tabrpc_core :: ViewerContext {"),
            "{out}"
        );
        assert!(
            out.contains("impl < S > tabrpc_sessions :: SessionContext for Ctx < S >"),
            "{out}"
        );
    }
}
