//! The crate's one error type, [`Error`], and how each kind answers over RPC.

use std::error::Error as StdError;
use std::fmt;

use tabrpc_core::{ErrorCode, ErrorReason};

use crate::id::INVALID_SESSION_ID;

/// The start of the message of the 404 answered for a session that has ended.
pub const SESSION_ENDED: &str = "session expired or revoked";

/// The message of the 403 answered when a session linked to an account is used by anyone but
/// that account's verified caller.
pub const SESSION_WRONG_OWNER: &str =
    "session is linked to another account: only its signed-in owner may use it";

/// Why a session ended. Kept with the ended session so a late call with its id gets a clear
/// answer, and so the id can never start a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// Its data moved to a new session at sign-in ([`SessionStore::rotate`](crate::SessionStore::rotate)).
    Rotated,
    /// Ended by its holder, at sign-out ([`SessionStore::end`](crate::SessionStore::end)).
    Ended,
    /// Every session of its user was revoked ([`SessionStore::revoke_user`](crate::SessionStore::revoke_user)).
    Revoked,
    /// Idle for longer than the store's idle timeout.
    Expired,
}

impl EndReason {
    /// The name stored in the database and shown in messages: `rotated`, `ended`, `revoked`
    /// or `expired`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EndReason::Rotated => "rotated",
            EndReason::Ended => "ended",
            EndReason::Revoked => "revoked",
            EndReason::Expired => "expired",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "rotated" => EndReason::Rotated,
            "revoked" => EndReason::Revoked,
            "expired" => EndReason::Expired,
            // An unknown reason (a newer version wrote it) still means the session is over.
            _ => EndReason::Ended,
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, for callers that want to match on it. Each kind answers one row of the
/// shared codes table (see [`Error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not a session id (400 BAD_REQUEST).
    InvalidId,
    /// A rotation that cannot be done as asked, such as to the same id (400 BAD_REQUEST).
    InvalidRotation,
    /// The session is linked to an account and the caller is someone else or anonymous (403
    /// FORBIDDEN).
    WrongOwner,
    /// The session has ended: rotated, ended, revoked or expired (404 NOT_FOUND).
    Ended(EndReason),
    /// A limit of the store would be passed: a rotation whose merge would leave more rows
    /// in a feature table than its [`FeatureTable::max_rows`](crate::FeatureTable::max_rows)
    /// (409 CONFLICT).
    LimitExceeded,
    /// The store is misconfigured: a feature table with an invalid identifier, or one that
    /// does not exist (500, at start-up).
    Config,
    /// The database failed (500 INTERNAL_SERVER_ERROR; the cause is logged, never sent).
    Storage,
}

impl ErrorKind {
    /// The RPC code this kind answers with.
    pub const fn code(self) -> ErrorCode {
        match self {
            ErrorKind::InvalidId | ErrorKind::InvalidRotation => ErrorCode::BadRequest,
            ErrorKind::WrongOwner => ErrorCode::Forbidden,
            ErrorKind::Ended(_) => ErrorCode::NotFound,
            ErrorKind::LimitExceeded => ErrorCode::Conflict,
            ErrorKind::Config | ErrorKind::Storage => ErrorCode::InternalServerError,
        }
    }

    /// The machine-readable reason this kind answers with in `error.data.reason`, if any:
    /// `session_mismatch` for [`WrongOwner`](Self::WrongOwner), `session_expired` for
    /// [`Ended`](Self::Ended).
    pub const fn reason(self) -> Option<ErrorReason> {
        match self {
            ErrorKind::WrongOwner => Some(ErrorReason::SessionMismatch),
            ErrorKind::Ended(_) => Some(ErrorReason::SessionExpired),
            _ => None,
        }
    }
}

/// A failure of the session store or of a session procedure's guard.
///
/// Converts into the RPC error [`tabrpc_core::Error`] by its [`ErrorKind`]:
///
/// | kind | code | message | `data.reason` |
/// |---|---|---|---|
/// | `InvalidId` | 400 BAD_REQUEST | [`INVALID_SESSION_ID`](crate::INVALID_SESSION_ID) | |
/// | `InvalidRotation` | 400 BAD_REQUEST | what is wrong | |
/// | `WrongOwner` | 403 FORBIDDEN | [`SESSION_WRONG_OWNER`] | `session_mismatch` |
/// | `Ended(reason)` | 404 NOT_FOUND | `session expired or revoked (reason): start a new session` | `session_expired` |
/// | `LimitExceeded` | 409 CONFLICT | which limit | |
/// | `Config`, `Storage` | 500 INTERNAL_SERVER_ERROR | generic; the cause goes to the log only | |
///
/// An ended session answers NOT_FOUND rather than UNAUTHORIZED on purpose: a session id is
/// not a credential, and clients treat 401 as "refresh the sign-in token", which would not
/// help. The client's remedy is a new session id, and it matches on `data.reason`
/// (`session_expired`, `session_mismatch`), never on the message.
///
/// ```
/// use tabrpc_sessions::{EndReason, Error, ErrorKind};
/// let err = tabrpc_core::Error::from(Error::ended(EndReason::Expired));
/// assert_eq!(err.code().http_status(), 404);
/// assert_eq!(err.reason(), Some(tabrpc_core::ErrorReason::SessionExpired));
/// assert!(err.message().starts_with("session expired or revoked (expired)"));
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tabrpc-sessions {:?} error: {}", self.kind, self.message)?;
        // The transport logs an internal error's Display only: the database's own words must
        // be in it (they never reach the client, see `From<Error> for tabrpc_core::Error`).
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn invalid_id() -> Self {
        Self::new(ErrorKind::InvalidId, INVALID_SESSION_ID)
    }

    pub(crate) fn wrong_owner() -> Self {
        Self::new(ErrorKind::WrongOwner, SESSION_WRONG_OWNER)
    }

    /// The error for a session that ended for `reason`.
    pub fn ended(reason: EndReason) -> Self {
        Self::new(
            ErrorKind::Ended(reason),
            format!("{SESSION_ENDED} ({reason}): start a new session"),
        )
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::LimitExceeded, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn storage(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind: ErrorKind::Storage,
            message: "the session store failed".into(),
            source: Some(source.into()),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (never contains a session id or a database detail; the cause is the
    /// [`source`](StdError::source)).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::storage(err)
    }
}

impl From<Error> for tabrpc_core::Error {
    fn from(err: Error) -> Self {
        let code = err.kind.code();
        if code == ErrorCode::InternalServerError {
            // Generic on the wire; the transport logs the cause with the call's path.
            return tabrpc_core::Error::internal(err);
        }
        let rpc = tabrpc_core::Error::new(code).with_message(err.message);
        match err.kind.reason() {
            Some(reason) => rpc.with_reason(reason),
            None => rpc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_row() {
        let rpc = |e: Error| tabrpc_core::Error::from(e);
        assert_eq!(rpc(Error::invalid_id()).code(), ErrorCode::BadRequest);
        assert_eq!(rpc(Error::wrong_owner()).code(), ErrorCode::Forbidden);
        assert_eq!(rpc(Error::wrong_owner()).message(), SESSION_WRONG_OWNER);
        assert_eq!(
            rpc(Error::wrong_owner()).reason(),
            Some(ErrorReason::SessionMismatch)
        );
        let ended = rpc(Error::ended(EndReason::Revoked));
        assert_eq!(ended.code(), ErrorCode::NotFound);
        assert_eq!(ended.reason(), Some(ErrorReason::SessionExpired));
        let limit = rpc(Error::limit("too many"));
        assert_eq!((limit.code(), limit.reason()), (ErrorCode::Conflict, None));
        assert!(ended.message().contains("(revoked)"), "{}", ended.message());
    }

    #[test]
    fn storage_failures_are_generic_on_the_wire() {
        let err = tabrpc_core::Error::from(Error::storage(sqlx::Error::PoolTimedOut));
        assert_eq!(err.code(), ErrorCode::InternalServerError);
        assert_eq!(err.message(), "INTERNAL_SERVER_ERROR");
        assert!(err.cause().is_some());
    }

    #[test]
    fn reasons_round_trip() {
        for reason in [
            EndReason::Rotated,
            EndReason::Ended,
            EndReason::Revoked,
            EndReason::Expired,
        ] {
            assert_eq!(EndReason::parse(reason.as_str()), reason);
        }
    }
}
