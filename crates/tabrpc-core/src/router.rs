//! Routers: procedures under dotted paths, nested and merged, checked when built.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::middleware::{self, Call};
use crate::procedure::{ErasedProcedure, IntoProcedure};
use crate::scope;

struct Entry<TCtx> {
    path: String,
    at: &'static Location<'static>,
    procedure: ErasedProcedure<TCtx>,
}

/// A set of procedures under dotted paths, generic over the context type `TCtx` it runs with.
///
/// Routers nest ([`Router::nest`]) and merge ([`Router::merge`]); [`Router::with`] puts
/// middleware in front of every procedure, and may change the context type. Mistakes (a
/// duplicate or malformed path) are reported by [`Router::build`], naming where each
/// registration was made.
///
/// ```
/// use tabrpc_core::{Router, Procedure, Error};
/// #[derive(Clone)]
/// struct Ctx;
/// let posts = Router::new()
///     .procedure("byId", Procedure::query(|_: Ctx, id: u32| async move { Ok::<_, Error>(id) }));
/// let router = Router::new()
///     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok::<_, Error>("hi") }))
///     .nest("post", posts)
///     .build()
///     .unwrap();
/// assert!(router.get("post.byId").is_some());
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
    #[track_caller]
    pub fn procedure(mut self, path: &str, procedure: impl IntoProcedure<TCtx>) -> Self {
        self.entries.push(Entry {
            path: path.to_owned(),
            at: Location::caller(),
            procedure: procedure.into_procedure(),
        });
        self
    }

    /// Adds every procedure of `router` under `prefix` (`nest("post", r)` makes `byId` into
    /// `post.byId`).
    pub fn nest(mut self, prefix: &str, router: Router<TCtx>) -> Self {
        self.entries
            .extend(router.entries.into_iter().map(|entry| Entry {
                path: format!("{prefix}.{}", entry.path),
                ..entry
            }));
        self
    }

    /// Adds every procedure of `router` at the same level.
    pub fn merge(mut self, router: Router<TCtx>) -> Self {
        self.entries.extend(router.entries);
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
        Router {
            entries: self
                .entries
                .into_iter()
                .map(|entry| Entry {
                    path: entry.path,
                    at: entry.at,
                    procedure: middleware::wrap(entry.procedure, middleware.clone()),
                })
                .collect(),
        }
    }

    /// Checks every procedure and returns the router ready to serve.
    ///
    /// Fails with one [`ErrorCode::InternalServerError`] error whose message lists every
    /// problem, each with the procedure's path and where it was registered:
    ///
    /// - a path registered twice, or malformed (empty segments, or characters other than
    ///   ASCII letters, digits, `_`, `-` and `$`);
    /// - an input type with a field (or serde rename, alias, enum tag or variant) that reads as
    ///   a reserved scope key ([`RESERVED_SCOPES`](crate::RESERVED_SCOPES): `viewerId`,
    ///   `sessionId`, in any spelling, at any depth) while the procedure lacks that key's
    ///   guard ([`scope`](crate::scope)).
    pub fn build(self) -> Result<BuiltRouter<TCtx>, Error> {
        let mut problems = Vec::new();
        let mut map: HashMap<Arc<str>, (&'static Location<'static>, Arc<ErasedProcedure<TCtx>>)> =
            HashMap::with_capacity(self.entries.len());
        let mut order = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            if let Err(problem) = check_path(&entry.path, entry.at) {
                problems.push(problem);
            }
            problems.extend(unguarded_scope_keys(&entry));
            let path: Arc<str> = Arc::from(entry.path);
            if let Some((first, _)) = map.get(&path) {
                problems.push(format!(
                    "duplicate procedure path `{path}`: registered at {first} and again at {}",
                    entry.at
                ));
                continue;
            }
            order.push(path.clone());
            map.insert(path, (entry.at, Arc::new(entry.procedure)));
        }
        match problems.len() {
            0 => {}
            1 => {
                return Err(
                    Error::new(ErrorCode::InternalServerError).with_message(problems.concat())
                );
            }
            n => {
                return Err(
                    Error::new(ErrorCode::InternalServerError).with_message(format!(
                        "the router has {n} problems:\n- {}",
                        problems.join("\n- ")
                    )),
                );
            }
        }
        order.sort();
        let procedures = map
            .into_iter()
            .map(|(path, (_, procedure))| (path, procedure))
            .collect();
        Ok(BuiltRouter {
            inner: Arc::new(Inner { procedures, order }),
        })
    }
}

/// auth.md section 3: an input that carries a reserved scope key (`viewerId`, `sessionId`)
/// must never reach a procedure without that key's guard. One problem per key and place.
fn unguarded_scope_keys<TCtx>(entry: &Entry<TCtx>) -> Vec<String> {
    let meta = entry.procedure.meta();
    scope::reserved_fields(&meta.types)
        .into_iter()
        .filter(|found| !scope::allowed(meta, &found.scope))
        .map(|found| {
            format!(
                "procedure `{}` registered at {} takes a `{}` in its input `{}` ({}) but has no \
                 guard for it: add {} to the procedure so that a `{}` naming another caller's \
                 data is refused",
                entry.path,
                entry.at,
                found.scope.key,
                meta.types.input_name,
                found.at,
                found.scope.guard,
                found.scope.key,
            )
        })
        .collect()
}

fn check_path(path: &str, at: &Location<'_>) -> Result<(), String> {
    let valid = !path.is_empty()
        && path.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid procedure path `{path}` registered at {at}: use dot-separated segments of ASCII letters, digits, `_`, `-` or `$`"
        ))
    }
}

struct Inner<TCtx> {
    procedures: HashMap<Arc<str>, Arc<ErasedProcedure<TCtx>>>,
    order: Vec<Arc<str>>,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Procedure;

    #[derive(Clone)]
    struct Ctx;

    fn unit() -> Procedure<Ctx, ()> {
        Procedure::query(|_: Ctx, (): ()| async { Ok::<_, Error>(()) })
    }

    #[test]
    fn duplicate_path_names_both_places() {
        let a = Router::new().procedure("getUser", unit());
        let err = Router::new()
            .procedure("profile.getUser", unit())
            .nest("profile", a)
            .build()
            .err()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            err.contains("duplicate procedure path `profile.getUser`"),
            "{err}"
        );
        assert_eq!(err.matches("router.rs:").count(), 2, "{err}");
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for bad in ["", "a..b", ".a", "a.", "a,b", "a/b", "a b"] {
            let result = Router::new().procedure(bad, unit()).build();
            assert!(result.is_err(), "{bad:?} was accepted");
        }
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
