//! Where the generated code finds tabrpc's traits: `crate = "…"`, `core = "…"`,
//! `sessions = "…"`.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{LitStr, Path, parse_quote};

/// The paths the generated impls name.
///
/// Through the facade (the default) the viewer traits are `::tabrpc::ViewerInput` and
/// `::tabrpc::ViewerContext` and the session ones live in `::tabrpc::sessions`. A user of the
/// component crates sets `core = "tabrpc_core"` and `sessions = "tabrpc_sessions"`; a user
/// who renamed the facade sets `crate = "my_tabrpc"` (then `core` is that path and `sessions`
/// is `my_tabrpc::sessions`, unless set too).
#[derive(Default)]
pub(crate) struct Paths {
    root: Option<Path>,
    core: Option<Path>,
    sessions: Option<Path>,
}

impl Paths {
    /// Reads one `crate = "…"`, `core = "…"` or `sessions = "…"`; `Ok(false)` when `meta` is
    /// none of them.
    pub(crate) fn parse(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
        let slot = if meta.path.is_ident("crate") {
            &mut self.root
        } else if meta.path.is_ident("core") {
            &mut self.core
        } else if meta.path.is_ident("sessions") {
            &mut self.sessions
        } else {
            return Ok(false);
        };
        let name = meta.path.to_token_stream().to_string();
        if slot.is_some() {
            return Err(meta.error(format!("`{name}` is set twice")));
        }
        let value: LitStr = meta.value()?.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `{name} = \"path\"`, e.g. `{name} = \"tabrpc\"`"),
            )
        })?;
        *slot = Some(value.parse()?);
        Ok(true)
    }

    fn root(&self) -> Path {
        self.root.clone().unwrap_or_else(|| parse_quote!(::tabrpc))
    }

    /// The path of `ViewerInput`, `ViewerContext` and `Error`.
    pub(crate) fn core(&self) -> Path {
        self.core.clone().unwrap_or_else(|| self.root())
    }

    /// The path of `SessionInput`, `SessionContext`, `SessionStore` and `SessionId`.
    pub(crate) fn sessions(&self) -> Path {
        self.sessions.clone().unwrap_or_else(|| {
            let mut path = self.root();
            path.segments.push(syn::PathSegment::from(syn::Ident::new(
                "sessions",
                Span::call_site(),
            )));
            path
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &str) -> syn::Result<Paths> {
        let mut paths = Paths::default();
        let parser = syn::meta::parser(|meta| {
            if paths.parse(&meta)? {
                Ok(())
            } else {
                Err(meta.error("unknown"))
            }
        });
        syn::parse::Parser::parse_str(parser, args)?;
        Ok(paths)
    }

    fn show(path: Path) -> String {
        path.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn the_facade_by_default_and_each_root_settable() {
        let paths = parsed("").unwrap_or_default();
        assert_eq!(show(paths.core()), "::tabrpc");
        assert_eq!(show(paths.sessions()), "::tabrpc::sessions");

        let paths = parsed(r#"crate = "my_rpc""#).unwrap_or_default();
        assert_eq!(show(paths.core()), "my_rpc");
        assert_eq!(show(paths.sessions()), "my_rpc::sessions");

        let paths =
            parsed(r#"core = "tabrpc_core", sessions = "::tabrpc_sessions""#).unwrap_or_default();
        assert_eq!(show(paths.core()), "tabrpc_core");
        assert_eq!(show(paths.sessions()), "::tabrpc_sessions");
    }

    #[test]
    fn a_root_set_twice_or_not_a_string_is_refused() {
        let twice = parsed(r#"crate = "a", crate = "b""#)
            .err()
            .map(|e| e.to_string());
        assert_eq!(twice.as_deref(), Some("`crate` is set twice"));
        let bare = parsed("crate = tabrpc").err().map(|e| e.to_string());
        assert_eq!(
            bare.as_deref(),
            Some("expected `crate = \"path\"`, e.g. `crate = \"tabrpc\"`")
        );
    }
}
