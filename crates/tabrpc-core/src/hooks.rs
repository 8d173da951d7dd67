//! Error hooks of a built router: `on_error` for reporting, and an error formatter that adds
//! fields to every error's `data` (exported to TypeScript as `ErrorData`).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use specta::datatype::DataType;

use crate::error::Error;
use crate::procedure::ProcedureKind;

/// One error, as the hooks of [`BuiltRouter::on_error`](crate::BuiltRouter::on_error) and
/// [`BuiltRouter::format_errors`](crate::BuiltRouter::format_errors) see it.
///
/// It holds no request headers, so a hook cannot log a token by accident: identify the caller
/// from the context (a user id, a session's fingerprint), never from credentials.
#[derive(Debug)]
#[non_exhaustive]
pub struct ErrorEvent<'a, TCtx> {
    /// The procedure path; `None` for an error of the whole request (an unreadable batch, a
    /// body over the limit).
    pub path: Option<&'a str>,
    /// The procedure's kind, when the path names one.
    pub kind: Option<ProcedureKind>,
    /// The error, with its cause (which is never sent to the client).
    pub error: &'a Error,
    /// The request's context, when it was made (it is not for a request refused before, nor
    /// when making it is what failed).
    pub ctx: Option<&'a TCtx>,
}

type OnError<TCtx> = Arc<dyn Fn(&ErrorEvent<'_, TCtx>) + Send + Sync>;
type Format<TCtx> = Arc<dyn Fn(&ErrorEvent<'_, TCtx>) -> Option<Map<String, Value>> + Send + Sync>;

/// The hooks of a router.
pub(crate) struct Hooks<TCtx> {
    pub(crate) on_error: Option<OnError<TCtx>>,
    pub(crate) format: Option<Format<TCtx>>,
    /// The type the formatter adds, for the bindings.
    pub(crate) data_type: Option<fn(&mut specta::Types) -> DataType>,
}

impl<TCtx> Default for Hooks<TCtx> {
    fn default() -> Self {
        Self {
            on_error: None,
            format: None,
            data_type: None,
        }
    }
}

impl<TCtx> Clone for Hooks<TCtx> {
    fn clone(&self) -> Self {
        Self {
            on_error: self.on_error.clone(),
            format: self.format.clone(),
            data_type: self.data_type,
        }
    }
}

/// The keys of `error.data` the framework writes; a formatter's fields never replace them.
pub(crate) const RESERVED_DATA_KEYS: [&str; 6] = [
    "code",
    "httpStatus",
    "path",
    "reason",
    "payload",
    "fieldErrors",
];

impl<TCtx> Hooks<TCtx> {
    /// Whether no hook is set (the common case: nothing to do per error).
    pub(crate) fn is_empty(&self) -> bool {
        self.on_error.is_none() && self.format.is_none()
    }

    /// Reports `error` to `on_error` and adds the formatter's fields to it.
    pub(crate) fn apply(
        &self,
        error: Error,
        path: Option<&str>,
        kind: Option<ProcedureKind>,
        ctx: Option<&TCtx>,
    ) -> Error {
        if self.is_empty() {
            return error;
        }
        let event = ErrorEvent {
            path,
            kind,
            error: &error,
            ctx,
        };
        if let Some(on_error) = &self.on_error {
            on_error(&event);
        }
        let fields = self.format.as_ref().and_then(|format| format(&event));
        match fields {
            Some(fields) => error.with_data_fields(fields),
            None => error,
        }
    }

    pub(crate) fn set_format<D, F>(&mut self, format: F)
    where
        D: Serialize + specta::Type,
        F: Fn(&ErrorEvent<'_, TCtx>) -> D + Send + Sync + 'static,
    {
        self.format = Some(Arc::new(move |event| {
            match serde_json::to_value(format(event)) {
                Ok(Value::Object(mut fields)) => {
                    for key in RESERVED_DATA_KEYS {
                        fields.remove(key);
                    }
                    Some(fields)
                }
                Ok(_) => {
                    tracing::error!("the error formatter's value is not a JSON object; ignored");
                    None
                }
                Err(err) => {
                    tracing::error!(error = %err, "the error formatter's value failed to serialize");
                    None
                }
            }
        }));
        self.data_type = Some(<D as specta::Type>::definition);
    }
}
