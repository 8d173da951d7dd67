//! The crate's one error type, [`Error`]: configuration and key-loading failures.
//!
//! Verifying a request's token never produces an [`Error`]: a bad token is an
//! [`AnonymousReason`](crate::AnonymousReason), so it cannot turn into a 500.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, for callers that want to match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is incomplete or contradictory (no issuer, no key source, an empty
    /// algorithm allow-list, an invalid header name…).
    Config,
    /// A key could not be loaded: an unreadable file, a PEM that is not an RSA or EC public key,
    /// a JWKS without a single admissible key.
    KeyLoad,
    /// A JWKS URL could not be fetched or its body was not a usable JWKS.
    Fetch,
    /// The crypto backend does not work: the start-up self-check failed.
    Crypto,
    /// Signing a token failed (development identity provider only).
    Signing,
}

impl ErrorKind {
    /// A short snake_case name, e.g. `"key_load"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::KeyLoad => "key_load",
            ErrorKind::Fetch => "fetch",
            ErrorKind::Crypto => "crypto",
            ErrorKind::Signing => "signing",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration, key-loading or start-up failure of `tabrpc-auth`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tabrpc_auth::{ErrorKind, Verifier};
/// let err = Verifier::builder().build().await.unwrap_err(); // no issuer, no keys
/// assert_eq!(err.kind(), ErrorKind::Config);
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("tabrpc-auth {kind} error: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn key_load(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::KeyLoad, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (never contains a token or key material).
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_and_keeps_source() {
        let err = Error::key_load("no admissible key").with_source(std::io::Error::other("disk"));
        assert_eq!(err.kind(), ErrorKind::KeyLoad);
        assert_eq!(
            err.to_string(),
            "tabrpc-auth key_load error: no admissible key"
        );
        assert!(StdError::source(&err).is_some());
    }
}
