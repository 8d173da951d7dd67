//! Routers: procedures under dotted paths, nested and merged, checked when built.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use serde::Serialize;
use specta::datatype::DataType;

use crate::around::{self, Next};
use crate::build_error::{BuildError, BuildProblem, BuildProblemKind};
use crate::error::Error;
use crate::hooks::{ErrorEvent, Hooks};
use crate::middleware::{self, Call};
use crate::procedure::{ErasedProcedure, IntoProcedure, Output};
use crate::scope;

struct Entry<TCtx> {
    path: String,
    /// Where [`Router::procedure`] was called.
    at: &'static Location<'static>,
    /// Where the [`Router::nest`] and [`Router::merge`] calls that brought it here were made,
    /// innermost first.
    via: Vec<&'static Location<'static>>,
    procedure: ErasedProcedure<TCtx>,
}

impl<TCtx> Router<TCtx> {
    /// This router with every procedure replaced by `wrap(procedure)` (paths and the places
    /// they were added kept): how router-level middleware is put in front of each.
    fn map_procedures<TOuter>(
        self,
        mut wrap: impl FnMut(ErasedProcedure<TCtx>) -> ErasedProcedure<TOuter>,
    ) -> Router<TOuter> {
        Router {
            entries: self
                .entries
                .into_iter()
                .map(|entry| Entry {
                    path: entry.path,
                    at: entry.at,
                    via: entry.via,
                    procedure: wrap(entry.procedure),
                })
                .collect(),
        }
    }
}

impl<TCtx> Entry<TCtx> {
    /// `added at <file:line:col>`, with the nest and merge calls it came through.
    fn added_at(&self) -> String {
        let mut out = format!("added at {}", self.at);
        if !self.via.is_empty() {
            let via: Vec<String> = self.via.iter().map(ToString::to_string).collect();
            out.push_str(&format!(" (through nest or merge at {})", via.join(", ")));
        }
        out
    }

    fn problem(&self, kind: BuildProblemKind, message: String) -> BuildProblem {
        BuildProblem {
            kind,
            path: self.path.clone(),
            location: self.at,
            message,
        }
    }
}

/// A set of procedures under dotted paths, generic over the context type `TCtx` it runs with.
///
/// Routers nest ([`Router::nest`]) and merge ([`Router::merge`]); [`Router::with`] puts
/// middleware in front of every procedure, and may change the context type. Mistakes (a
/// duplicate or malformed path, a scope key without its guard) are reported together by
/// [`Router::build`], naming where each procedure was added.
///
/// ```
/// use tabrpc_core::{Procedure, Router};
/// #[derive(Clone)]
/// struct Ctx;
/// let posts = Router::new()
///     .procedure("byId", Procedure::query(|_: Ctx, id: u32| async move { Ok(id) }));
/// let router = Router::new()
///     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok("hi") }))
///     .nest("post", posts)
///     .build()?;
/// assert!(router.get("post.byId").is_some());
/// # Ok::<(), tabrpc_core::BuildError>(())
/// ```
pub struct Router<TCtx> {
    entries: Vec<Entry<TCtx>>,
}

impl<TCtx> Default for Router<TCtx> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<TCtx: Send + 'static> Router<TCtx> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a procedure under `path` (a dotted path such as `getUser` or `profile.getUser`).
    /// Problems are reported by [`Router::build`], at this call's location.
    #[track_caller]
    pub fn procedure(mut self, path: &str, procedure: impl IntoProcedure<TCtx>) -> Self {
        self.entries.push(Entry {
            path: path.to_owned(),
            at: Location::caller(),
            via: Vec::new(),
            procedure: procedure.into_procedure(),
        });
        self
    }

    /// Adds every procedure of `router` under `prefix` (`nest("post", r)` makes `byId` into
    /// `post.byId`).
    #[track_caller]
    pub fn nest(mut self, prefix: &str, router: Router<TCtx>) -> Self {
        let here = Location::caller();
        self.entries
            .extend(router.entries.into_iter().map(|mut entry| {
                entry.path = format!("{prefix}.{}", entry.path);
                entry.via.push(here);
                entry
            }));
        self
    }

    /// Adds every procedure of `router` at the same level.
    #[track_caller]
    pub fn merge(mut self, router: Router<TCtx>) -> Self {
        let here = Location::caller();
        self.entries
            .extend(router.entries.into_iter().map(|mut entry| {
                entry.via.push(here);
                entry
            }));
        self
    }

    /// Puts `middleware` in front of every procedure of this router. It gets the caller's
    /// context and the [`Call`] (path, kind, raw input) and either rejects the call or returns
    /// the context the procedures run with, which may be of another type: a
    /// `Router<AuthedCtx>` becomes a `Router<Ctx>` through a middleware
    /// `Fn(Ctx, &Call) -> Result<AuthedCtx, Error>`.
    ///
    /// Applies to the procedures the router holds when `with` is called; middleware added
    /// later runs first.
    pub fn with<TOuter, M, Fut>(self, middleware: M) -> Router<TOuter>
    where
        TOuter: Send + 'static,
        M: Fn(TOuter, &Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TCtx, Error>> + Send + 'static,
    {
        let middleware = Arc::new(middleware);
        self.map_procedures(|procedure| middleware::wrap(procedure, middleware.clone()))
    }

    /// Puts around middleware in front of every procedure of this router: it gets the caller's
    /// context and a [`Next`] whose [`Next::call`] is the [`Call`] (path, kind, raw input) and
    /// [`Next::meta`] the call's response meta; it runs the rest with [`Next::run`] and the
    /// context it chooses, which may be of another type, and returns the result, which it may
    /// look at or map. Code after `run` runs after the handler (timing, a transaction's commit
    /// or rollback).
    ///
    /// Like [`Router::with`], it applies to the procedures the router holds when it is called;
    /// middleware added later runs first.
    ///
    /// ```
    /// use tabrpc_core::{Procedure, Router};
    /// #[derive(Clone)]
    /// struct Ctx;
    /// let router = Router::new()
    ///     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok("hi") }))
    ///     .around(|ctx: Ctx, next| async move {
    ///         let path = next.call().path().to_owned();
    ///         let started = std::time::Instant::now();
    ///         let result = next.run(ctx).await;
    ///         tracing::info!(%path, took_us = started.elapsed().as_micros() as u64, ok = result.is_ok());
    ///         result
    ///     })
    ///     .build()?;
    /// # Ok::<(), tabrpc_core::BuildError>(())
    /// ```
    pub fn around<TOuter, M, Fut>(self, middleware: M) -> Router<TOuter>
    where
        TOuter: Send + 'static,
        M: Fn(TOuter, Next<TCtx, Call>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Output, Error>> + Send + 'static,
    {
        let middleware = Arc::new(middleware);
        self.map_procedures(|procedure| around::wrap_router(procedure, middleware.clone()))
    }

    /// Checks every procedure and returns the router ready to serve.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] listing every problem, each with the procedure's path, a
    /// [`BuildProblemKind`] and where the procedure was added:
    ///
    /// - [`DuplicatePath`](BuildProblemKind::DuplicatePath): a path added twice;
    /// - [`InvalidPath`](BuildProblemKind::InvalidPath): empty segments, or characters other
    ///   than ASCII letters, digits, `_`, `-` and `$`;
    /// - [`UnguardedScopeKey`](BuildProblemKind::UnguardedScopeKey): an input type with a field
    ///   (or serde rename, alias, enum tag or variant) that reads as a [`Scope`]'s reserved key
    ///   (`viewerId`, `sessionId`, in any spelling, at any depth) while the procedure lacks
    ///   that scope's guard ([`scope`](crate::scope)).
    ///
    /// [`Scope`]: crate::Scope
    pub fn build(self) -> Result<BuiltRouter<TCtx>, BuildError> {
        let mut problems = Vec::new();
        let mut map: HashMap<Arc<str>, (&'static Location<'static>, Arc<ErasedProcedure<TCtx>>)> =
            HashMap::with_capacity(self.entries.len());
        let mut order = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            if !valid_path(&entry.path) {
                problems.push(entry.problem(
                    BuildProblemKind::InvalidPath,
                    format!(
                        "invalid procedure path `{}` {}: use dot-separated segments of ASCII \
                         letters, digits, `_`, `-` or `$`",
                        entry.path,
                        entry.added_at()
                    ),
                ));
            }
            problems.extend(unguarded_scope_keys(&entry));
            let path: Arc<str> = Arc::from(entry.path.as_str());
            if let Some((first, _)) = map.get(&path) {
                problems.push(entry.problem(
                    BuildProblemKind::DuplicatePath { first },
                    format!(
                        "duplicate procedure path `{path}`: first added at {first}, and again {}",
                        entry.added_at()
                    ),
                ));
                continue;
            }
            order.push(path.clone());
            map.insert(path, (entry.at, Arc::new(entry.procedure)));
        }
        if !problems.is_empty() {
            return Err(BuildError::new(problems));
        }
        order.sort();
        let procedures = map
            .into_iter()
            .map(|(path, (_, procedure))| (path, procedure))
            .collect();
        Ok(BuiltRouter {
            inner: Arc::new(Inner {
                procedures,
                order,
                hooks: Hooks::default(),
            }),
        })
    }
}

/// auth.md section 3: an input that carries a reserved scope key (`viewerId`, `sessionId`)
/// must never reach a procedure without that scope's guard. One problem per key and place.
fn unguarded_scope_keys<TCtx>(entry: &Entry<TCtx>) -> Vec<BuildProblem> {
    let meta = entry.procedure.meta();
    scope::reserved_fields(&meta.types)
        .into_iter()
        .filter(|found| !meta.scopes().contains(&found.scope))
        .map(|found| {
            let key = found.scope.key();
            entry.problem(
                BuildProblemKind::UnguardedScopeKey { scope: found.scope },
                format!(
                    "procedure `{}` {} takes a `{key}` in its input `{}` ({}) but has no guard \
                     for it: add {} to the procedure so that a `{key}` naming another caller's \
                     data is refused",
                    entry.path,
                    entry.added_at(),
                    meta.types.input_name,
                    found.at,
                    found.scope.guard_hint(),
                ),
            )
        })
        .collect()
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
        })
}

struct Inner<TCtx> {
    procedures: HashMap<Arc<str>, Arc<ErasedProcedure<TCtx>>>,
    order: Vec<Arc<str>>,
    hooks: Hooks<TCtx>,
}

/// A checked router, cheap to clone, ready to serve: look procedures up by path.
pub struct BuiltRouter<TCtx> {
    inner: Arc<Inner<TCtx>>,
}

impl<TCtx> Clone for BuiltRouter<TCtx> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<TCtx> BuiltRouter<TCtx> {
    /// The procedure at this exact dotted path, with the path as an `Arc` for cheap reuse.
    pub fn get(&self, path: &str) -> Option<(&Arc<str>, &ErasedProcedure<TCtx>)> {
        self.inner
            .procedures
            .get_key_value(path)
            .map(|(path, procedure)| (path, procedure.as_ref()))
    }

    /// The procedure at `path` as a shared handle, with its path.
    pub(crate) fn lookup(&self, path: &str) -> Option<(&Arc<str>, &Arc<ErasedProcedure<TCtx>>)> {
        self.inner.procedures.get_key_value(path)
    }

    /// Every procedure, sorted by path.
    pub fn procedures(&self) -> impl Iterator<Item = (&str, &ErasedProcedure<TCtx>)> {
        self.inner.order.iter().filter_map(|path| {
            self.inner
                .procedures
                .get(path)
                .map(|procedure| (path.as_ref(), procedure.as_ref()))
        })
    }

    /// How many procedures the router has.
    pub fn len(&self) -> usize {
        self.inner.order.len()
    }

    /// Whether the router has no procedures.
    pub fn is_empty(&self) -> bool {
        self.inner.order.is_empty()
    }

    /// The router's error hooks.
    pub(crate) fn hooks(&self) -> &Hooks<TCtx> {
        &self.inner.hooks
    }

    /// The type the error formatter adds to `error.data`
    /// ([`BuiltRouter::format_errors`]), for the bindings; `None` when there is no formatter.
    pub fn error_data_type(&self) -> Option<fn(&mut specta::Types) -> DataType> {
        self.inner.hooks.data_type
    }

    /// The same router with its hooks changed (done once, at start-up).
    fn with_hooks(self, change: impl FnOnce(&mut Hooks<TCtx>)) -> Self {
        let mut hooks = self.inner.hooks.clone();
        change(&mut hooks);
        Self {
            inner: Arc::new(Inner {
                procedures: self.inner.procedures.clone(),
                order: self.inner.order.clone(),
                hooks,
            }),
        }
    }

    /// Calls `hook` with every error the router answers (a call's error, a context that could
    /// not be made, a whole request refused), over HTTP and through the
    /// [`ServerCaller`](crate::ServerCaller), for reporting (tRPC's `onError`). It sees the
    /// path, kind, error (with its cause) and the request's context, never the request's
    /// headers: log a caller's id or fingerprint, never a token. It runs on the request's task:
    /// hand slow work to a channel.
    ///
    /// ```
    /// use tabrpc_core::{ErrorCode, Procedure, Router};
    /// #[derive(Clone)]
    /// struct Ctx { user: Option<String> }
    /// let router = Router::new()
    ///     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok("hi") }))
    ///     .build()?
    ///     .on_error(|event| {
    ///         if event.error.code() == ErrorCode::InternalServerError {
    ///             let user = event.ctx.and_then(|ctx| ctx.user.as_deref());
    ///             tracing::error!(path = ?event.path, ?user, error = %event.error, "call failed");
    ///         }
    ///     });
    /// # Ok::<(), tabrpc_core::BuildError>(())
    /// ```
    pub fn on_error<F>(self, hook: F) -> Self
    where
        F: Fn(&ErrorEvent<'_, TCtx>) + Send + Sync + 'static,
    {
        self.with_hooks(|hooks| hooks.on_error = Some(Arc::new(hook)))
    }

    /// Adds the fields of `format`'s value (a struct, serialized as a JSON object) to every
    /// error's `data` (tRPC's `errorFormatter`); the bindings export its type as `ErrorData`,
    /// so the client's errors know the fields. The framework's own keys (`code`, `httpStatus`,
    /// `path`, `reason`, `payload`) are never replaced. A value that is not an object is
    /// ignored (and logged). Never put internals (a cause, a query) in it: it is sent.
    ///
    /// ```
    /// use tabrpc_core::{ErrorCode, Procedure, Router};
    /// #[derive(Clone)]
    /// struct Ctx;
    /// #[derive(serde::Serialize, specta::Type)]
    /// #[serde(rename_all = "camelCase")]
    /// struct ErrorData { retryable: bool }
    /// let router = Router::new()
    ///     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok("hi") }))
    ///     .build()?
    ///     .format_errors(|event| ErrorData {
    ///         retryable: matches!(event.error.code(), ErrorCode::Timeout | ErrorCode::TooManyRequests),
    ///     });
    /// # Ok::<(), tabrpc_core::BuildError>(())
    /// ```
    pub fn format_errors<D, F>(self, format: F) -> Self
    where
        D: Serialize + specta::Type,
        F: Fn(&ErrorEvent<'_, TCtx>) -> D + Send + Sync + 'static,
    {
        self.with_hooks(|hooks| hooks.set_format(format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Procedure;

    #[derive(Clone)]
    struct Ctx;

    fn unit() -> Procedure<Ctx, ()> {
        Procedure::query(|_: Ctx, (): ()| async { Ok(()) })
    }

    #[test]
    fn duplicate_path_names_both_places() {
        let a = Router::new().procedure("getUser", unit());
        let first_line = line!() + 2;
        let err = Router::new()
            .procedure("profile.getUser", unit())
            .nest("profile", a)
            .build()
            .err();
        let problems = err.as_ref().map(BuildError::problems).unwrap_or_default();
        assert_eq!(problems.len(), 1, "{err:?}");
        let problem = &problems[0];
        assert_eq!(problem.path(), "profile.getUser");
        match problem.kind() {
            BuildProblemKind::DuplicatePath { first } => {
                assert_eq!((first.file(), first.line()), (file!(), first_line));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(problem.location().line(), first_line - 3);
        let message = problem.message();
        assert!(
            message.contains("duplicate procedure path `profile.getUser`"),
            "{message}"
        );
        assert_eq!(message.matches("router.rs:").count(), 3, "{message}");
        assert!(message.contains("through nest or merge at"), "{message}");
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for bad in ["", "a..b", ".a", "a.", "a,b", "a/b", "a b"] {
            let kinds: Vec<_> = Router::new()
                .procedure(bad, unit())
                .build()
                .err()
                .iter()
                .flat_map(|e| e.problems().iter().map(BuildProblem::kind))
                .collect();
            assert_eq!(kinds, [BuildProblemKind::InvalidPath], "{bad:?}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let err = Router::new()
            .procedure("a", unit())
            .procedure("a", unit())
            .procedure("b c", unit())
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("the router has 2 problems:\n- "), "{err}");
        assert!(err.contains("\n- invalid procedure path `b c`"), "{err}");
    }

    #[test]
    fn nest_merge_and_lookup() {
        let built = Router::new()
            .procedure("hello", unit())
            .merge(Router::new().procedure("bye", unit()))
            .nest("post", Router::new().procedure("byId", unit()))
            .build()
            .map_err(|e| e.to_string());
        let built = built.unwrap_or_else(|e| panic!("{e}"));
        let paths: Vec<_> = built.procedures().map(|(p, _)| p.to_owned()).collect();
        assert_eq!(paths, ["bye", "hello", "post.byId"]);
        assert!(built.get("post").is_none());
        assert!(built.get("toString").is_none());
    }
}
