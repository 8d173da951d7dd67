//! The router as a tRPC v11 router *type*, for tRPC's own clients.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use specta::Types;
use specta::datatype::DataType;
use tabrpc_core::{BuiltRouter, ProcedureKind, ProcedureMeta};

use crate::HEADER;
use crate::error::{Error, ErrorKind};
use crate::procedures::string_literal;

/// Segments tRPC refuses anywhere in a router (`router({ then: … })` throws).
const RESERVED: [&str; 3] = ["then", "call", "apply"];
/// Keys of tRPC's router object itself, which the procedures share the top level with.
const RESERVED_TOP: [&str; 2] = ["_def", "createCaller"];

/// The error shape, written once per file.
const ERROR_SHAPE: &str = r#"/**
 * An error as the server sends it (`error` of an error envelope). `data.code` tells apart the
 * codes that share a JSON-RPC number; `data.reason` is one of `ERROR_REASONS` when the server
 * gives one (match on it, never on the message); `data.payload` is the procedure's declared
 * error payload; `data.path` is absent for errors of a whole request.
 */
export type ErrorShape<TPayload = never> = {
  message: string;
  code: (typeof ERROR_CODES)[ErrorCodeName]["code"];
  data: {
    code: ErrorCodeName;
    httpStatus: (typeof ERROR_CODES)[ErrorCodeName]["httpStatus"];
    path?: string;
    reason?: ErrorReason;
    payload?: TPayload;
  };
};"#;

/// The doc comment of `AppRouter`.
const APP_ROUTER_DOC: &str = r#"/**
 * The router's type for tRPC's own clients against this tabrpc server:
 * `createTRPCClient<AppRouter>` (`@trpc/client`), `createTRPCOptionsProxy<AppRouter>` and
 * `createTRPCContext<AppRouter>` (`@trpc/tanstack-react-query`). A type only, imported with
 * `import type`: nothing of `@trpc/server` reaches a bundle, and no tRPC server runs.
 */"#;

/// One procedure in the tree of path segments.
enum Node {
    Procedure(String),
    Router(BTreeMap<String, Node>),
}

/// Exports `router` as a tRPC v11 router type: a module that imports the `Procedures` map of
/// the router's own bindings ([`export`](crate::export)) from `bindings` (a module specifier
/// such as `"./demo.js"`) and `ERROR_CODES`, `ErrorCodeName` and `ErrorReason` from
/// `./codes.js` ([`export_codes`](crate::export_codes)), all with `import type`, and declares
///
/// - `ErrorShape<TPayload>`, the error as the server sends it (`data.code`, `data.httpStatus`,
///   `data.path`, `data.reason`, `data.payload`), and
/// - `AppRouter`, a `TRPCBuiltRouter` (from `@trpc/server`, type only) with `transformer: false`
///   and that error shape, whose record nests the dotted paths (`post.byId` is `post: { byId }`)
///   and makes every procedure a `TRPCQueryProcedure`, `TRPCMutationProcedure` or
///   `TRPCSubscriptionProcedure` with the input and output of `Procedures`.
///
/// tRPC's conventions where ours differ: an input of `()` is `void`, an `Option<T>` input also
/// accepts `undefined` (the call may leave it out), an output of `()` is `undefined` (the
/// server sends no `data`), a stream's or subscription's output is an `AsyncIterable` of its items, and
/// a tracked subscription's items are `{ id: string; data: T }`, as tRPC's
/// `httpSubscriptionLink` hands them over. A procedure with a declared error payload gets
/// `ErrorShape<payload>` as its own error shape. Scoped keys (`viewerId`, `sessionId`) keep the
/// optionality they have in the bindings: tRPC's client does not fill them in.
///
/// ```
/// use tabrpc_core::{Procedure, Router};
///
/// #[derive(Clone)]
/// struct Ctx;
///
/// let router = Router::new()
///     .procedure("post.byId", Procedure::query(|_: Ctx, id: u32| async move {
///         Ok(format!("post {id}"))
///     }))
///     .build()?;
///
/// let ts = tabrpc_typescript::export_trpc(&router, "./app.js")?;
/// assert!(ts.contains(r#"import type { Procedures } from "./app.js";"#));
/// assert!(ts.contains(r#"    byId: TRPCQueryProcedure<{ input: Procedures["post.byId"]["input"]; output: Procedures["post.byId"]["output"]; meta: object }>;"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Fails with [`ErrorKind::TrpcPath`] for a path tRPC's router type cannot hold: a procedure
/// whose path is the prefix of another's, or a reserved segment.
pub fn export_trpc<TCtx>(router: &BuiltRouter<TCtx>, bindings: &str) -> Result<String, Error> {
    let mut root = BTreeMap::new();
    for (path, procedure) in router.procedures() {
        insert(&mut root, path, procedure_type(path, procedure.meta()))?;
    }
    let mut out = format!(
        "{HEADER}\n\n\
         import type {{ TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCSubscriptionProcedure }} from \"@trpc/server\";\n\
         import type {{ ERROR_CODES, ErrorCodeName, ErrorReason }} from \"./codes.js\";\n\
         import type {{ Procedures }} from {};\n\n\
         {ERROR_SHAPE}\n\n\
         {APP_ROUTER_DOC}\n\
         export type AppRouter = TRPCBuiltRouter<\n  \
         {{ ctx: object; meta: object; errorShape: ErrorShape; transformer: false }},\n  ",
        string_literal(bindings)
    );
    write_record(&mut out, &root, 1);
    out.push_str("\n>;\n");
    Ok(out)
}

/// The procedure's type in the record, e.g. `TRPCQueryProcedure<{ input: …; output: …; meta: object }>`.
fn procedure_type(path: &str, meta: &ProcedureMeta) -> String {
    let mut types = Types::default();
    let at = |part: &str| format!("Procedures[{}][\"{part}\"]", string_literal(path));
    let input = if !meta.reads_input {
        "void".to_owned()
    } else if matches!((meta.types.input)(&mut types), DataType::Nullable(_)) {
        format!("{} | undefined", at("input"))
    } else {
        at("input")
    };
    let item = at("output");
    let output = if meta.tracked {
        format!("AsyncIterable<{{ id: string; data: {item} }}>")
    } else if meta.stream {
        format!("AsyncIterable<{item}>")
    } else if matches!((meta.types.output)(&mut types), DataType::Tuple(t) if t.elements.is_empty())
    {
        "undefined".to_owned()
    } else {
        item
    };
    let error = match meta.types.error {
        Some(_) => format!("; errorShape: ErrorShape<{}>", at("error")),
        None => String::new(),
    };
    let kind = match meta.kind {
        ProcedureKind::Query => "Query",
        ProcedureKind::Mutation => "Mutation",
        ProcedureKind::Subscription => "Subscription",
    };
    format!("TRPC{kind}Procedure<{{ input: {input}; output: {output}; meta: object{error} }}>")
}

/// Puts `procedure` at `path` in the tree.
fn insert(root: &mut BTreeMap<String, Node>, path: &str, procedure: String) -> Result<(), Error> {
    let conflict = || {
        Error::shape(ErrorKind::TrpcPath {
            path: path.to_owned(),
        })
    };
    let segments: Vec<&str> = path.split('.').collect();
    if segments.first().is_some_and(|s| RESERVED_TOP.contains(s))
        || segments.iter().any(|s| RESERVED.contains(s))
    {
        return Err(conflict());
    }
    let Some((last, parents)) = segments.split_last() else {
        return Err(conflict());
    };
    let mut record = root;
    for segment in parents {
        let node = record
            .entry((*segment).to_owned())
            .or_insert_with(|| Node::Router(BTreeMap::new()));
        record = match node {
            Node::Router(inner) => inner,
            Node::Procedure(_) => return Err(conflict()),
        };
    }
    if record.contains_key(*last) {
        // Either a sub-router already holds procedures under this path, or (which the router's
        // build already refuses) the same path twice.
        return Err(conflict());
    }
    record.insert((*last).to_owned(), Node::Procedure(procedure));
    Ok(())
}

/// Writes `{ key: …; }` with members indented `depth + 1` levels.
fn write_record(out: &mut String, record: &BTreeMap<String, Node>, depth: usize) {
    if record.is_empty() {
        out.push_str("{}");
        return;
    }
    let indent = "  ".repeat(depth);
    out.push_str("{\n");
    for (key, node) in record {
        let _ = write!(out, "{indent}  {}: ", property_key(key));
        match node {
            Node::Procedure(ty) => out.push_str(ty),
            Node::Router(inner) => write_record(out, inner, depth + 1),
        }
        out.push_str(";\n");
    }
    out.push_str(&indent);
    out.push('}');
}

/// A property name: bare when it is an identifier, quoted otherwise (`my-path`).
fn property_key(key: &str) -> String {
    let mut chars = key.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        key.to_owned()
    } else {
        string_literal(key)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use serde::Serialize;
    use specta::Type;
    use tabrpc_core::{ErrorCode, Procedure, Router, Tracked, TypedError};

    use super::*;

    #[derive(Clone)]
    struct Ctx;

    #[derive(Serialize, Type)]
    struct SoldOut {
        sku: String,
    }

    fn ok<T>(value: T) -> std::future::Ready<Result<T, tabrpc_core::Error>> {
        std::future::ready(Ok(value))
    }

    fn built(router: Router<Ctx>) -> BuiltRouter<Ctx> {
        router.build().unwrap_or_else(|err| panic!("router: {err}"))
    }

    #[test]
    fn exports_every_kind_nested_by_path() {
        let router = built(
            Router::new()
                .procedure("post.byId", Procedure::query(|_: Ctx, id: u32| ok(id)))
                .procedure(
                    "post.list",
                    Procedure::query(|_: Ctx, after: Option<u32>| ok(vec![after])),
                )
                .procedure(
                    "post.admin.purge",
                    Procedure::mutation(|_: Ctx, (): ()| ok(())),
                )
                .procedure(
                    "feed",
                    Procedure::stream(|_: Ctx, (): ()| ok(stream::iter([Ok(1u8)]))),
                )
                .procedure(
                    "ticks",
                    Procedure::subscription(|_: Ctx, (): ()| ok(stream::iter([Ok(1u8)]))),
                )
                .procedure(
                    "my-events",
                    Procedure::tracked_subscription(|_: Ctx, (): ()| {
                        ok(stream::iter([Ok(Tracked::new("0", "a".to_owned()))]))
                    }),
                )
                .procedure(
                    "cart.add",
                    Procedure::mutation(|_: Ctx, sku: String| {
                        std::future::ready(Err::<(), _>(
                            TypedError::new(ErrorCode::Conflict, SoldOut { sku }).into(),
                        ))
                    })
                    .error_payload::<SoldOut>(),
                ),
        );
        let ts = export_trpc(&router, "./app.js").unwrap_or_else(|err| panic!("{err}"));
        let expected = format!(
            r#"{HEADER}

import type {{ TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCSubscriptionProcedure }} from "@trpc/server";
import type {{ ERROR_CODES, ErrorCodeName, ErrorReason }} from "./codes.js";
import type {{ Procedures }} from "./app.js";

{ERROR_SHAPE}

{APP_ROUTER_DOC}
export type AppRouter = TRPCBuiltRouter<
  {{ ctx: object; meta: object; errorShape: ErrorShape; transformer: false }},
  {{
    cart: {{
      add: TRPCMutationProcedure<{{ input: Procedures["cart.add"]["input"]; output: undefined; meta: object; errorShape: ErrorShape<Procedures["cart.add"]["error"]> }}>;
    }};
    feed: TRPCQueryProcedure<{{ input: void; output: AsyncIterable<Procedures["feed"]["output"]>; meta: object }}>;
    "my-events": TRPCSubscriptionProcedure<{{ input: void; output: AsyncIterable<{{ id: string; data: Procedures["my-events"]["output"] }}>; meta: object }}>;
    post: {{
      admin: {{
        purge: TRPCMutationProcedure<{{ input: void; output: undefined; meta: object }}>;
      }};
      byId: TRPCQueryProcedure<{{ input: Procedures["post.byId"]["input"]; output: Procedures["post.byId"]["output"]; meta: object }}>;
      list: TRPCQueryProcedure<{{ input: Procedures["post.list"]["input"] | undefined; output: Procedures["post.list"]["output"]; meta: object }}>;
    }};
    ticks: TRPCSubscriptionProcedure<{{ input: void; output: AsyncIterable<Procedures["ticks"]["output"]>; meta: object }}>;
  }}
>;
"#
        );
        assert_eq!(ts, expected);
    }

    #[test]
    fn an_empty_router_is_an_empty_record() {
        let ts = export_trpc(&built(Router::new()), "./x.js").unwrap_or_else(|err| panic!("{err}"));
        assert!(ts.ends_with("transformer: false },\n  {}\n>;\n"), "{ts}");
    }

    #[test]
    fn a_procedure_that_is_also_a_prefix_is_refused() {
        let unit = || Procedure::query(|_: Ctx, (): ()| ok(()));
        for (first, second) in [("post", "post.byId"), ("post.byId", "post")] {
            let router = built(
                Router::new()
                    .procedure(first, unit())
                    .procedure(second, unit()),
            );
            let err = export_trpc(&router, "./x.js").err();
            assert_eq!(
                err.as_ref().map(Error::kind),
                Some(&ErrorKind::TrpcPath {
                    path: "post.byId".into()
                }),
                "{first} then {second}"
            );
            assert!(err.is_some_and(|e| e.to_string().contains("prefix")));
        }
    }

    #[test]
    fn reserved_names_are_refused() {
        for path in ["then", "a.call", "apply.b", "_def", "createCaller.x"] {
            let router =
                built(Router::new().procedure(path, Procedure::query(|_: Ctx, (): ()| ok(()))));
            assert_eq!(
                export_trpc(&router, "./x.js")
                    .err()
                    .map(|e| e.kind().clone()),
                Some(ErrorKind::TrpcPath { path: path.into() }),
                "{path}"
            );
        }
        // Only the first segment is the router object's own.
        let router =
            built(Router::new().procedure("a._def", Procedure::query(|_: Ctx, (): ()| ok(()))));
        assert!(export_trpc(&router, "./x.js").is_ok());
    }

    #[test]
    fn keys_are_quoted_only_when_not_identifiers() {
        assert_eq!(property_key("byId"), "byId");
        assert_eq!(property_key("$x_1"), "$x_1");
        assert_eq!(property_key("my-path"), "\"my-path\"");
        assert_eq!(property_key("1st"), "\"1st\"");
    }
}
