//! The crate's one error type.

use std::fmt;

/// Why a router could not be exported: which part failed ([`Error::kind`]) and, for a type,
/// specta's explanation of what it could not express ([`std::error::Error::source`]).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Inner>);

// Boxed: specta's error is large, and a `Result` should stay cheap to return.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
struct Inner {
    kind: ErrorKind,
    #[source]
    source: Option<specta_typescript::Error>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, source: specta_typescript::Error) -> Self {
        Self(Box::new(Inner {
            kind,
            source: Some(source),
        }))
    }

    /// An error that no specta error explains (the router's shape, not a type).
    pub(crate) fn shape(kind: ErrorKind) -> Self {
        Self(Box::new(Inner { kind, source: None }))
    }

    /// What failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }
}

/// What could not be exported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// One type of one procedure has no TypeScript form (for example a map whose keys are
    /// structs, or an untagged enum variant without a name).
    Procedure {
        /// The procedure's dotted path.
        path: String,
        /// Which of its types.
        part: TypePart,
    },
    /// A named type used by the router cannot be exported (for example two different Rust types
    /// with the same name, which one flat TypeScript module cannot hold).
    NamedTypes,
    /// A path that tRPC's router type cannot hold ([`export_trpc`](crate::export_trpc)): a
    /// procedure whose path is also the prefix of another (`post` and `post.byId`), or a
    /// segment tRPC reserves (`then`, `call`, `apply`; `_def` and `createCaller` first).
    TrpcPath {
        /// The procedure's dotted path.
        path: String,
    },
}

/// One of the types a procedure exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypePart {
    /// The input type.
    Input,
    /// The output type (the item type of a streamed procedure).
    Output,
    /// The error payload type.
    Error,
}

impl fmt::Display for TypePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TypePart::Input => "input",
            TypePart::Output => "output",
            TypePart::Error => "error payload",
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Procedure { path, part } => write!(
                f,
                "the {part} type of procedure `{path}` cannot be exported to TypeScript"
            ),
            ErrorKind::NamedTypes => {
                f.write_str("the named types of the router cannot be exported to TypeScript")
            }
            ErrorKind::TrpcPath { path } => write!(
                f,
                "procedure `{path}` has no place in a tRPC router type: its path is the prefix of \
                 another procedure's, or uses a name tRPC reserves (then, call, apply; _def or \
                 createCaller as the first segment)"
            ),
        }
    }
}
