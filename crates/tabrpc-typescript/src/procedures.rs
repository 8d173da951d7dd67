//! The bindings of a router: its named types and the `Procedures` map.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use specta::Types;
use specta::datatype::DataType;
use specta_typescript::{Exporter, FrameworkExporter, Typescript};
use tabrpc_core::{BuiltRouter, Scope};

use crate::HEADER;
use crate::error::{Error, ErrorKind, TypePart};
use crate::format::JsonFormat;
use tabrpc_core::Transformer;

/// The line after the header: the table's type comes with the codes table (`codes.ts`).
const IMPORTS: &str = "import type { ProcedureTable } from \"./codes.js\";";

/// The name of the exported type of the error formatter's fields.
pub const ERROR_DATA: &str = "ServerErrorData";

/// The doc comment and declaration of the run-time table, up to its opening brace.
const TABLE_START: &str = "/** Every procedure's kind, whether its output streams, and its scopes, as a value for the client at run time. */\nexport const procedures: ProcedureTable<Procedures> = {";

/// One row of the `Procedures` map, with its types resolved into the shared [`Types`].
struct Row {
    path: String,
    kind: &'static str,
    stream: bool,
    scopes: Vec<Scope>,
    input: DataType,
    output: DataType,
    /// `None` when the procedure declares no payload, exported as `never`.
    error: Option<DataType>,
}

/// Exports `router` as one TypeScript module: the generated header, the import of
/// `ProcedureTable` from `./codes.js` ([`export_codes`](crate::export_codes)), an `export type`
/// for every named Rust type its procedures use (sorted by name), then `Procedures`, which maps
/// each dotted path (sorted) to `{ kind; input; output; error; stream; scopes }`, and
/// `procedures`, the same paths with their `kind`, `stream` and `scopes` as a value for the
/// client at run time.
///
/// - `kind` is `"query"`, `"mutation"` or `"subscription"`; for a streamed procedure `stream` is
///   `true` and `output` is the type of one item.
/// - A `()` input or output is `null`; `Option<T>` is `T | null` (a client may leave such an
///   input out). An `Option` field with `#[specta(optional)]` is `field?: T`.
/// - `error` is the payload type declared with
///   [`Procedure::error_payload`](tabrpc_core::Procedure::error_payload), `never` when none is;
///   `scopes` is a union of the procedure's [`Scope`]s as string literals (`"viewer"`,
///   `"session"`), or `never`.
/// - With an error formatter ([`BuiltRouter::format_errors`]), `ServerErrorData` is the type of
///   the fields it adds to every error's `data` (absent without one).
/// - Integers wider than 32 bits (`i64`, `u64`, `usize`, …) are `number`: serde_json sends them as
///   JSON numbers, and a JavaScript client **rounds values beyond 2^53 − 1**. Send such values as
///   strings if they can be that large, or turn the superjson transformer on
///   ([`export_with`]).
/// - `tabrpc_core::Timestamp` is `string` (ISO 8601), or `Date` with the transformer.
///
/// The output depends only on the router, so it can be compared byte for byte with a file on disk.
///
/// # Errors
///
/// Fails when a type has no TypeScript form, for example two Rust types with the same name
/// ([`ErrorKind::NamedTypes`]) or a map keyed by a struct ([`ErrorKind::Procedure`]).
pub fn export<TCtx>(router: &BuiltRouter<TCtx>) -> Result<String, Error> {
    export_with(router, Transformer::Json)
}

/// [`export`] for an endpoint whose [`Config::transformer`](tabrpc_core::wire::Config) is
/// `transformer`: with [`Transformer::Superjson`], `i64`, `u64`, `i128`, `u128`, `isize` and
/// `usize` are `bigint` and [`Timestamp`](tabrpc_core::Timestamp) is `Date`, as superjson
/// revives them. Export with the same setting the endpoint serves with.
///
/// # Errors
///
/// As [`export`].
pub fn export_with<TCtx>(
    router: &BuiltRouter<TCtx>,
    transformer: Transformer,
) -> Result<String, Error> {
    let superjson = transformer == Transformer::Superjson;
    let mut types = Types::default();
    let rows: Vec<Row> = router
        .procedures()
        .map(|(path, procedure)| {
            let meta = procedure.meta();
            Row {
                path: path.to_owned(),
                kind: meta.kind.as_str(),
                stream: meta.stream,
                scopes: meta.scopes().to_vec(),
                input: (meta.types.input)(&mut types),
                output: (meta.types.output)(&mut types),
                error: meta.types.error.map(|error| error(&mut types)),
            }
        })
        .collect();
    // The fields the router's error formatter adds to every error's `data`.
    let error_data = router.error_data_type().map(|data| data(&mut types));

    // specta reports errors from inside the rendering callback as its own error type; the
    // callback notes which procedure failed here so that the error can name it.
    let failed = Arc::new(OnceLock::new());
    let exporter = Exporter::from(Typescript::default())
        .framework_prelude("")
        .framework_runtime({
            let failed = failed.clone();
            move |ctx| render(ctx, &rows, error_data.as_ref(), &failed)
        });
    let body = exporter
        .export(&types, JsonFormat { superjson })
        .map_err(|source| {
            let kind = failed.get().cloned().unwrap_or(ErrorKind::NamedTypes);
            Error::new(kind, source)
        })?;
    // specta puts its (empty) header and prelude first, then what `render` returns.
    Ok(format!(
        "{HEADER}\n\n{IMPORTS}\n\n{}\n",
        tidy(body.trim_matches('\n'))
    ))
}

fn render(
    mut ctx: FrameworkExporter<'_>,
    rows: &[Row],
    error_data: Option<&DataType>,
    failed: &OnceLock<ErrorKind>,
) -> Result<Cow<'static, str>, specta_typescript::Error> {
    // specta separates the named types with a blank line; one more separates them from ours.
    let mut out = ctx.render_types()?.trim_end_matches('\n').to_owned();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    if let Some(data) = error_data {
        let ts = ctx.reference(data).inspect_err(|_| {
            let _ = failed.set(ErrorKind::Procedure {
                path: String::new(),
                part: TypePart::Error,
            });
        })?;
        let _ = writeln!(
            out,
            "/** The fields the server's error formatter adds to every error's `data` (`format_errors`). */\nexport type {ERROR_DATA} = {ts};\n"
        );
    }
    if rows.is_empty() {
        out.push_str("export type Procedures = {};\n\n");
        out.push_str(TABLE_START);
        out.push_str("};\n");
        return Ok(Cow::Owned(out));
    }
    out.push_str("export type Procedures = {\n");
    for row in rows {
        let ts = |part: TypePart, dt: &DataType| {
            ctx.reference(dt).inspect_err(|_| {
                let _ = failed.set(ErrorKind::Procedure {
                    path: row.path.clone(),
                    part,
                });
            })
        };
        let input = ts(TypePart::Input, &row.input)?;
        let output = ts(TypePart::Output, &row.output)?;
        let error = match &row.error {
            Some(dt) => ts(TypePart::Error, dt)?,
            None => "never".to_owned(),
        };
        let scopes = if row.scopes.is_empty() {
            "never".to_owned()
        } else {
            scope_literals(&row.scopes).join(" | ")
        };
        // Writing to a `String` cannot fail.
        let _ = writeln!(
            out,
            "  {}: {{ kind: {}; input: {input}; output: {output}; error: {error}; stream: {}; scopes: {scopes} }};",
            string_literal(&row.path),
            string_literal(row.kind),
            row.stream,
        );
    }
    out.push_str("};\n\n");
    // The same facts again as a value, for the client at run time (types are erased).
    out.push_str(TABLE_START);
    out.push('\n');
    for row in rows {
        let _ = writeln!(
            out,
            "  {}: {{ kind: {}, stream: {}, scopes: [{}] }},",
            string_literal(&row.path),
            string_literal(row.kind),
            row.stream,
            scope_literals(&row.scopes).join(", ")
        );
    }
    out.push_str("};\n");
    Ok(Cow::Owned(out))
}

/// The scopes as TypeScript string literals, in [`Scope::ALL`] order.
pub(crate) fn scope_literals(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(|s| string_literal(s.as_str())).collect()
}

/// Re-indents specta's tab-indented lines with two spaces per level, like the rest of the file
/// and the web client, and drops the trailing spaces specta leaves after `=` and `|` in
/// documented unions. (TypeScript strings cannot span lines, so no literal is changed.)
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.trim_end();
        let body = line.trim_start_matches('\t');
        for _ in 0..(line.len() - body.len()) {
            out.push_str("  ");
        }
        out.push_str(body);
    }
    out
}

/// A TypeScript string literal (JSON's escaping is valid TypeScript).
pub(crate) fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // U+2028/2029 end a line in older JavaScript parsers.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use futures_util::stream;
    use serde::{Deserialize, Serialize};
    use specta::Type;
    use tabrpc_core::{
        ErrorCode, Guard, Procedure, ProcedureKind, Router, TypedError, ViewerContext, ViewerGuard,
        ViewerInput,
    };

    use super::*;

    #[derive(Clone)]
    struct Ctx;

    impl ViewerContext for Ctx {
        fn viewer(&self) -> Result<&str, tabrpc_core::Error> {
            Ok("alice")
        }
    }

    impl ViewerInput for GetUser {
        fn viewer_id(&self) -> Option<&str> {
            None
        }
    }

    /// Stands in for tabrpc-sessions' `SessionGuard`, which this crate does not depend on.
    struct SessionStandIn;

    impl<I: Send + 'static> Guard<Ctx, I> for SessionStandIn {
        const SCOPE: Scope = Scope::Session;
        type Outer = Ctx;

        fn check(
            &self,
            ctx: Ctx,
            _: &I,
            _: ProcedureKind,
        ) -> impl Future<Output = Result<Ctx, tabrpc_core::Error>> + Send + use<I> {
            std::future::ready(Ok(ctx))
        }
    }

    /// Input of `user.get`.
    #[derive(Deserialize, Type)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct GetUser {
        /// Where the page starts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[specta(optional, type = String)]
        after_id: Option<String>,
    }

    #[derive(Serialize, Type)]
    #[serde(rename_all = "camelCase")]
    struct Usage {
        total_bytes: u64,
        delta: i64,
        items: usize,
    }

    #[derive(Serialize, Type)]
    struct SoldOut {
        sku: String,
    }

    fn built<TCtx>(router: Router<TCtx>) -> BuiltRouter<TCtx>
    where
        TCtx: Send + 'static,
    {
        router.build().unwrap_or_else(|err| panic!("router: {err}"))
    }

    fn ok<T>(value: T) -> std::future::Ready<Result<T, tabrpc_core::Error>> {
        std::future::ready(Ok(value))
    }

    #[test]
    fn the_error_formatters_fields_are_exported_as_server_error_data() {
        #[derive(Serialize, Type)]
        #[serde(rename_all = "camelCase")]
        struct Extra {
            request_id: String,
            retryable: bool,
        }
        let router =
            built(Router::new().procedure("ping", Procedure::query(|_: Ctx, (): ()| ok(1u8))));
        let plain = export(&router).unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.contains("ServerErrorData"), "{plain}");
        let formatted = router.format_errors(|_| Extra {
            request_id: String::new(),
            retryable: false,
        });
        let ts = export(&formatted).unwrap_or_else(|e| panic!("{e}"));
        assert!(ts.contains("export type Extra = {"), "{ts}");
        assert!(ts.contains("requestId: string"), "{ts}");
        assert!(
            ts.contains("export type ServerErrorData = Extra;\n"),
            "{ts}"
        );
    }

    #[test]
    fn exports_queries_mutations_streams_units_options_and_wide_integers() {
        let router = built(
            Router::new()
                .procedure(
                    "user.get",
                    Procedure::query(|_: Ctx, _: Option<GetUser>| {
                        ok(Usage {
                            total_bytes: 0,
                            delta: 0,
                            items: 0,
                        })
                    })
                    .guard(ViewerGuard)
                    .guard(SessionStandIn),
                )
                .procedure("user.touch", Procedure::mutation(|_: Ctx, (): ()| ok(())))
                .procedure(
                    "feed",
                    Procedure::stream(|_: Ctx, (): ()| ok(stream::iter([Ok(1u32)]))),
                )
                .procedure("echo", Procedure::mutation(|_: Ctx, s: String| ok(Some(s))))
                .procedure(
                    "cart.add",
                    Procedure::mutation(|_: Ctx, _: u32| {
                        std::future::ready(Err::<(), _>(
                            TypedError::new(ErrorCode::Conflict, SoldOut { sku: "a".into() })
                                .into(),
                        ))
                    })
                    .error_payload::<SoldOut>()
                    .guard(SessionStandIn),
                )
                .procedure(
                    "cart.get",
                    Procedure::query(|_: Ctx, (): ()| ok(1u8)).guard(SessionStandIn),
                ),
        );
        let ts = export(&router).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            ts,
            r#"// generated by tabrpc-typescript: do not edit

import type { ProcedureTable } from "./codes.js";

/** Input of `user.get`. */
export type GetUser = {
  /** Where the page starts. */
  afterId?: string,
};

export type SoldOut = {
  sku: string,
};

export type Usage = {
  totalBytes: number,
  delta: number,
  items: number,
};

export type Procedures = {
  "cart.add": { kind: "mutation"; input: number; output: null; error: SoldOut; stream: false; scopes: "session" };
  "cart.get": { kind: "query"; input: null; output: number; error: never; stream: false; scopes: "session" };
  "echo": { kind: "mutation"; input: string; output: string | null; error: never; stream: false; scopes: never };
  "feed": { kind: "query"; input: null; output: number; error: never; stream: true; scopes: never };
  "user.get": { kind: "query"; input: GetUser | null; output: Usage; error: never; stream: false; scopes: "viewer" | "session" };
  "user.touch": { kind: "mutation"; input: null; output: null; error: never; stream: false; scopes: never };
};

/** Every procedure's kind, whether its output streams, and its scopes, as a value for the client at run time. */
export const procedures: ProcedureTable<Procedures> = {
  "cart.add": { kind: "mutation", stream: false, scopes: ["session"] },
  "cart.get": { kind: "query", stream: false, scopes: ["session"] },
  "echo": { kind: "mutation", stream: false, scopes: [] },
  "feed": { kind: "query", stream: true, scopes: [] },
  "user.get": { kind: "query", stream: false, scopes: ["viewer", "session"] },
  "user.touch": { kind: "mutation", stream: false, scopes: [] },
};
"#
        );
    }

    #[test]
    fn json_values_export_as_a_recursive_json_type() {
        let router = built(Router::new().procedure(
            "raw",
            Procedure::mutation(|_: Ctx, value: serde_json::Value| ok(value)),
        ));
        assert_eq!(
            export(&router).unwrap_or_else(|err| panic!("{err}")),
            r#"// generated by tabrpc-typescript: do not edit

import type { ProcedureTable } from "./codes.js";

export type Value = null | boolean | number | string | Value[] | { [key in string]: Value };

export type Procedures = {
  "raw": { kind: "mutation"; input: Value; output: Value; error: never; stream: false; scopes: never };
};

/** Every procedure's kind, whether its output streams, and its scopes, as a value for the client at run time. */
export const procedures: ProcedureTable<Procedures> = {
  "raw": { kind: "mutation", stream: false, scopes: [] },
};
"#
        );
    }

    #[test]
    fn an_empty_router_exports_an_empty_map() {
        let router = built(Router::<Ctx>::new());
        assert_eq!(
            export(&router).unwrap_or_else(|err| panic!("{err}")),
            "// generated by tabrpc-typescript: do not edit\n\nimport type { ProcedureTable } from \"./codes.js\";\n\nexport type Procedures = {};\n\n/** Every procedure's kind, whether its output streams, and its scopes, as a value for the client at run time. */\nexport const procedures: ProcedureTable<Procedures> = {};\n"
        );
    }

    #[test]
    fn output_does_not_depend_on_registration_order() {
        let a = || Procedure::query(|_: Ctx, (): ()| ok(SoldOut { sku: String::new() }));
        let b = || Procedure::mutation(|_: Ctx, _: Option<GetUser>| ok(()));
        let one = built(Router::new().procedure("a", a()).procedure("b", b()));
        let two = built(Router::new().procedure("b", b()).procedure("a", a()));
        let one = export(&one).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(one, export(&two).unwrap_or_else(|err| panic!("{err}")));
        assert!(one.find("export type GetUser") < one.find("export type SoldOut"));
    }

    #[test]
    fn a_type_without_a_typescript_form_names_the_procedure() {
        #[derive(Serialize, Type, PartialEq, Eq, Hash)]
        struct Key {
            a: u8,
        }
        let router = built(Router::new().procedure(
            "keyed",
            Procedure::query(|_: Ctx, (): ()| ok(HashMap::<Key, u8>::new())),
        ));
        let err = export(&router)
            .err()
            .map(|err| (err.kind().clone(), err.to_string()));
        assert_eq!(
            err,
            Some((
                ErrorKind::Procedure {
                    path: "keyed".into(),
                    part: TypePart::Output
                },
                "the output type of procedure `keyed` cannot be exported to TypeScript".into()
            ))
        );
    }

    #[test]
    fn two_types_with_one_name_are_reported() {
        mod one {
            #[derive(serde::Serialize, specta::Type)]
            pub struct Item {
                pub a: u8,
            }
        }
        mod two {
            #[derive(serde::Serialize, specta::Type)]
            pub struct Item {
                pub b: u8,
            }
        }
        let router = built(
            Router::new()
                .procedure(
                    "a",
                    Procedure::query(|_: Ctx, (): ()| ok(one::Item { a: 1 })),
                )
                .procedure(
                    "b",
                    Procedure::query(|_: Ctx, (): ()| ok(two::Item { b: 1 })),
                ),
        );
        let err = export(&router).err();
        assert_eq!(err.as_ref().map(Error::kind), Some(&ErrorKind::NamedTypes));
        let source = err
            .as_ref()
            .and_then(std::error::Error::source)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(source.contains("\"Item\""), "{source}");
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(string_literal("viewer"), r#""viewer""#);
        assert_eq!(
            string_literal("a\"b\\c\nd\u{1}\u{2028}"),
            r#""a\"b\\c\nd\u0001\u2028""#
        );
    }

    #[test]
    fn tidy_reindents_line_starts_and_trims_line_ends_only() {
        assert_eq!(
            tidy("a = {\n\tb: {\n\t\tc: \"\t\",\n\t},\n};"),
            "a = {\n  b: {\n    c: \"\t\",\n  },\n};"
        );
        assert_eq!(tidy("x = \n\"a\" | \n\"b\";"), "x =\n\"a\" |\n\"b\";");
    }
}
