//! The crate's one error type.

use std::fmt;

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The invalidation breaks a bound (no path, too many, too long, an input that is not a
    /// JSON object or is too large). The caller's mistake: answered 400 BAD_REQUEST if it
    /// reaches a client.
    InvalidEvent,
    /// The database refused or failed (Postgres backend): the event was not published.
    Storage,
}

/// An error of the live hub.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self {
            kind: ErrorKind::Storage,
            message: "the live events table could not be used".into(),
            source: Some(Box::new(err)),
        }
    }
}

/// A publish error inside a procedure: an invalid event is the caller's 400 (with its
/// message), a storage failure a 500 whose details stay in the log.
impl From<Error> for tabrpc_core::Error {
    fn from(err: Error) -> Self {
        match err.kind {
            ErrorKind::InvalidEvent => tabrpc_core::Error::bad_request(err.message),
            ErrorKind::Storage => tabrpc_core::Error::internal(err),
        }
    }
}
