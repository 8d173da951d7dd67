//! The crate's one error type, [`Error`]: an RPC error with a code from the shared table.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::codes::ErrorCode;
use crate::protocol::ErrorReason;

/// An RPC error: a [`ErrorCode`] from the shared table, an optional message, an optional typed
/// payload (sent as `error.data.payload`), an optional cause (logged, never sent) and optional
/// response headers (such as `WWW-Authenticate`).
///
/// Every procedure's handler returns it (`?` converts any error that implements
/// `Into<Error>`); the transport turns it into the wire envelope. Configuration mistakes are not
/// RPC errors: [`Router::build`](crate::Router::build) reports them as a
/// [`BuildError`](crate::BuildError).
///
/// ```
/// use tabrpc_core::{Error, ErrorCode};
/// let err = Error::new(ErrorCode::Forbidden).with_message("nope");
/// assert_eq!(err.code(), ErrorCode::Forbidden);
/// assert_eq!(err.message(), "nope");
/// ```
#[derive(Clone)]
pub struct Error {
    code: ErrorCode,
    message: Option<Cow<'static, str>>,
    payload: Option<Arc<RawValue>>,
    reason: Option<ErrorReason>,
    cause: Option<Arc<dyn StdError + Send + Sync>>,
    headers: Option<Box<HeaderMap>>,
    /// Set by [`Error::invalid_fields`] (`validate.rs`), sent as `error.data.fieldErrors`.
    pub(crate) field_errors: Option<Arc<crate::validate::FieldErrors>>,
    /// Fields the router's error formatter added to `error.data`.
    data: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
}

impl Error {
    /// An error with this code and no message (the wire message is then the code's name).
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: None,
            payload: None,
            reason: None,
            cause: None,
            headers: None,
            field_errors: None,
            data: None,
        }
    }

    /// Sets the message sent to the client. Never put secrets or internals in it.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Attaches a typed payload, sent as `error.data.payload`.
    ///
    /// Fails with an [`ErrorCode::InternalServerError`] if the payload cannot be serialized.
    pub fn with_payload<P: Serialize>(mut self, payload: &P) -> Self {
        match serde_json::value::to_raw_value(payload) {
            Ok(raw) => {
                self.payload = Some(Arc::from(raw));
                self
            }
            Err(err) => Error::internal(err),
        }
    }

    /// Sets the machine-readable reason, sent as `error.data.reason` (clients match on it,
    /// never on the message).
    pub fn with_reason(mut self, reason: ErrorReason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Attaches the underlying cause. It is logged on the server and never sent to the client.
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// Adds a response header (for example `WWW-Authenticate` on a 401, `Allow` on a 405).
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers
            .get_or_insert_with(Default::default)
            .append(name, value);
        self
    }

    /// An [`ErrorCode::InternalServerError`] whose client-facing message is generic; `cause` goes
    /// to the log only.
    pub fn internal(cause: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(ErrorCode::InternalServerError).with_cause(cause)
    }

    /// A [`ErrorCode::BadRequest`] with this message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BadRequest).with_message(message)
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message set, or else the code's name. The client gets it for every code but
    /// INTERNAL_SERVER_ERROR, whose wire message is always the generic `INTERNAL_SERVER_ERROR`
    /// (the message set is logged with the cause instead).
    pub fn message(&self) -> &str {
        self.message.as_deref().unwrap_or(self.code.name())
    }

    /// Whether a message was set explicitly.
    pub fn has_message(&self) -> bool {
        self.message.is_some()
    }

    /// The serialized payload, if any.
    pub fn payload(&self) -> Option<&RawValue> {
        self.payload.as_deref()
    }

    /// The machine-readable reason, if any.
    pub fn reason(&self) -> Option<ErrorReason> {
        self.reason
    }

    /// The cause, if any (never sent to the client).
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.cause.as_deref()
    }

    /// The fields the router's error formatter added to `error.data`
    /// ([`BuiltRouter::format_errors`](crate::BuiltRouter::format_errors)), if any.
    pub fn data_fields(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.data.as_deref()
    }

    pub(crate) fn with_data_fields(
        mut self,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        self.data = Some(Arc::new(fields));
        self
    }

    /// Response headers this error asks for.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.code).field("message", &self.message);
        if let Some(reason) = self.reason {
            d.field("reason", &reason);
        }
        if let Some(payload) = &self.payload {
            d.field("payload", &payload.get());
        }
        if let Some(cause) = &self.cause {
            d.field("cause", &format_args!("{cause}"));
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message())?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error::new(code)
    }
}

/// An [`Error`] built with a payload of type `P`: the procedure declares `P` once with
/// [`Procedure::error_payload`](crate::Procedure::error_payload), which exports it to
/// TypeScript as the procedure's `error` type, and returns `TypedError::new(…).into()` (or uses
/// `?`, which converts it).
///
/// ```
/// # use tabrpc_core::{TypedError, ErrorCode};
/// #[derive(serde::Serialize, specta::Type)]
/// struct OutOfStock { sku: String }
/// let err = TypedError::new(ErrorCode::Conflict, OutOfStock { sku: "A1".into() }).with_message("out of stock");
/// ```
pub struct TypedError<P> {
    inner: Error,
    _payload: std::marker::PhantomData<fn() -> P>,
}

impl<P: Serialize> TypedError<P> {
    /// An error with this code carrying `payload`.
    pub fn new(code: ErrorCode, payload: P) -> Self {
        Self {
            inner: Error::new(code).with_payload(&payload),
            _payload: std::marker::PhantomData,
        }
    }

    /// Sets the message sent to the client.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.inner = self.inner.with_message(message);
        self
    }
}

impl<P> From<TypedError<P>> for Error {
    fn from(err: TypedError<P>) -> Self {
        err.inner
    }
}

impl<P> fmt::Debug for TypedError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_defaults_to_code_name() {
        let err = Error::new(ErrorCode::Unauthorized);
        assert_eq!(err.message(), "UNAUTHORIZED");
        assert!(!err.has_message());
    }

    #[test]
    fn cause_is_kept_out_of_the_message() {
        let err = Error::internal(std::io::Error::other("db password wrong"));
        assert_eq!(err.message(), "INTERNAL_SERVER_ERROR");
        assert!(err.to_string().contains("db password wrong"));
    }

    #[test]
    fn payload_is_serialized() {
        let err = Error::new(ErrorCode::Conflict).with_payload(&serde_json::json!({"sku": "A1"}));
        assert_eq!(err.payload().map(RawValue::get), Some(r#"{"sku":"A1"}"#));
    }
}
