//! [`BuildError`]: every configuration problem of a router, found by
//! [`Router::build`](crate::Router::build). Not an RPC error: it never reaches a client.

use std::fmt;
use std::panic::Location;

use crate::scope::Scope;

/// Why a router does not build: every problem found, in registration order, each with the
/// procedure's path and where it was added. `Display` lists them all.
///
/// ```
/// use tabrpc_core::{BuildProblemKind, Procedure, Router};
///
/// #[derive(Clone)]
/// struct Ctx;
///
/// let unit = || Procedure::query(|_: Ctx, (): ()| async { Ok(()) });
/// let err = Router::new()
///     .procedure("a", unit())
///     .procedure("a", unit())
///     .procedure("b..c", unit())
///     .build()
///     .err()
///     .unwrap();
/// let kinds: Vec<_> = err.problems().iter().map(|p| p.kind()).collect();
/// assert!(matches!(kinds[..], [BuildProblemKind::DuplicatePath { .. }, BuildProblemKind::InvalidPath]));
/// assert!(err.to_string().starts_with("the router has 2 problems:"));
/// ```
#[derive(Debug, Clone)]
pub struct BuildError {
    problems: Vec<BuildProblem>,
}

impl BuildError {
    pub(crate) fn new(problems: Vec<BuildProblem>) -> Self {
        Self { problems }
    }

    /// Every problem, in registration order (never empty).
    pub fn problems(&self) -> &[BuildProblem] {
        &self.problems
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "the router has a problem: {one}"),
            problems => {
                write!(f, "the router has {} problems:", problems.len())?;
                for problem in problems {
                    write!(f, "\n- {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// One problem of a router: what kind, which procedure, where it was added, and a message
/// that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildProblem {
    pub(crate) kind: BuildProblemKind,
    pub(crate) path: String,
    pub(crate) location: &'static Location<'static>,
    pub(crate) message: String,
}

impl BuildProblem {
    /// What is wrong, to match on.
    pub fn kind(&self) -> BuildProblemKind {
        self.kind
    }

    /// The procedure's full dotted path (after nesting).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the procedure was added ([`Router::procedure`](crate::Router::procedure)'s
    /// caller).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// What is wrong and how to fix it, naming the procedure and where it was added.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for BuildProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kind of a [`BuildProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildProblemKind {
    /// A second procedure under a path already taken; `first` is where the first was added.
    DuplicatePath {
        /// Where the procedure that has the path was added.
        first: &'static Location<'static>,
    },
    /// A path that is empty, has an empty segment, or a character other than ASCII letters,
    /// digits, `_`, `-` and `$`.
    InvalidPath,
    /// The input type has a field (or serde rename, alias, enum tag or variant) that reads as
    /// `scope`'s reserved key, and the procedure lacks `scope`'s guard (auth.md section 3).
    UnguardedScopeKey {
        /// The scope whose guard is missing.
        scope: Scope,
    },
}
