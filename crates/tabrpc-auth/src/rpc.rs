//! The RPC answer for a caller who must be authenticated but is not: 401 with a
//! `WWW-Authenticate: Bearer` challenge, or 503 with `Retry-After` while no keys are loaded.

use std::time::Duration;

use http::HeaderValue;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use tabrpc_core::{Error as RpcError, ErrorCode, ErrorReason};

use crate::identity::{AnonymousReason, Authenticated, Identity};
use crate::resolver::Resolver;

impl AnonymousReason {
    /// The error a procedure that needs a user answers with:
    ///
    /// - [`NotReady`](Self::NotReady): `SERVICE_UNAVAILABLE` (503) with `Retry-After` (whole
    ///   seconds of `retry_after`, at least 1): the server cannot tell who is calling yet, and
    ///   must not guess;
    /// - anything else: `UNAUTHORIZED` (401) with `WWW-Authenticate: Bearer`, plus
    ///   `error="invalid_token"` for a rejected token or `error="invalid_request"` for
    ///   ambiguous credentials ([`bearer_error`](Self::bearer_error)); `error.data.reason` is
    ///   `invalid_token` for a rejected token, `credentials_refused` for any other credentials
    ///   or the marker that named nobody, and absent when the request carried none.
    ///
    /// The message does not say which check failed (the log does).
    pub fn to_rpc_error(self, retry_after: Duration) -> RpcError {
        if self.is_not_ready() {
            let secs = retry_after.as_secs().max(1);
            return RpcError::new(ErrorCode::ServiceUnavailable)
                .with_message("authentication is not available yet")
                .with_header(RETRY_AFTER, HeaderValue::from(secs));
        }
        let challenge = match self.bearer_error() {
            Some("invalid_token") => HeaderValue::from_static(r#"Bearer error="invalid_token""#),
            Some(_) => HeaderValue::from_static(r#"Bearer error="invalid_request""#),
            None => HeaderValue::from_static("Bearer"),
        };
        let error = RpcError::new(ErrorCode::Unauthorized)
            .with_message("authentication required")
            .with_header(WWW_AUTHENTICATE, challenge);
        // `data.reason` tells "nothing presented" (no reason) from "something presented and
        // refused": code that binds data to a caller (a session rotation) refuses the latter.
        match self {
            AnonymousReason::None => error,
            reason if reason.bearer_error() == Some("invalid_token") => {
                error.with_reason(ErrorReason::InvalidToken)
            }
            _ => error.with_reason(ErrorReason::CredentialsRefused),
        }
    }
}

impl Resolver {
    /// The authenticated caller, or the 401/503 error to answer with
    /// ([`AnonymousReason::to_rpc_error`], with this verifier's `Retry-After`).
    ///
    /// # Errors
    ///
    /// When `identity` is anonymous.
    pub fn require<'a>(&self, identity: &'a Identity) -> Result<&'a Authenticated, RpcError> {
        match identity {
            Identity::Authenticated(who) => Ok(who),
            Identity::Anonymous { reason } => {
                Err(reason.to_rpc_error(self.verifier().retry_after()))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(err: &RpcError, name: http::HeaderName) -> Option<&str> {
        err.headers()?.get(name)?.to_str().ok()
    }

    #[test]
    fn not_ready_is_503_with_retry_after() {
        let err = AnonymousReason::NotReady.to_rpc_error(Duration::from_secs(30));
        assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
        assert_eq!(header(&err, RETRY_AFTER), Some("30"));
        let err = AnonymousReason::NotReady.to_rpc_error(Duration::ZERO);
        assert_eq!(header(&err, RETRY_AFTER), Some("1"));
    }

    #[test]
    fn rejected_tokens_get_invalid_token() {
        let err = AnonymousReason::Expired.to_rpc_error(Duration::from_secs(30));
        assert_eq!(err.code(), ErrorCode::Unauthorized);
        assert_eq!(
            header(&err, WWW_AUTHENTICATE),
            Some(r#"Bearer error="invalid_token""#)
        );
        assert_eq!(err.message(), "authentication required");
    }

    #[test]
    fn no_credentials_get_a_bare_challenge() {
        let err = AnonymousReason::None.to_rpc_error(Duration::from_secs(30));
        assert_eq!(header(&err, WWW_AUTHENTICATE), Some("Bearer"));
        let err = AnonymousReason::Ambiguous.to_rpc_error(Duration::from_secs(30));
        assert_eq!(
            header(&err, WWW_AUTHENTICATE),
            Some(r#"Bearer error="invalid_request""#)
        );
    }
}
