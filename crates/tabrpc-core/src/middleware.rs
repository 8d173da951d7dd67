//! What middleware sees of a call, and router-level middleware.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::meta::ResponseMeta;
use crate::procedure::{ErasedExec, ErasedProcedure, ProcedureKind};

/// One call as router-level middleware sees it: the full dotted path, the kind, and the raw
/// JSON input (`null` when the caller sent none). The input is not yet checked against the
/// procedure's type.
#[derive(Debug, Clone)]
pub struct Call {
    path: Arc<str>,
    kind: ProcedureKind,
    input: Input,
    /// Only for a procedure that may set response meta (`ProcedureMeta::response_meta`): the
    /// others never pay for the handle.
    meta: Option<ResponseMeta>,
}

/// A call's input as the request carried it: a parsed JSON value, or the call's part of a
/// batch's JSON text (checked to be JSON when the request was read, not built into a value).
/// Procedures deserialize their input type straight from the text; a [`Value`] is built only if
/// middleware asks for one ([`Call::input`]).
#[derive(Debug, Clone)]
pub(crate) enum Input {
    Value(Value),
    Raw {
        text: Arc<str>,
        range: std::ops::Range<usize>,
        /// The value, once middleware asked for it.
        value: std::sync::OnceLock<Value>,
    },
}

impl Input {
    /// The part `range` of `text`, which must be one JSON value.
    pub(crate) fn raw(text: Arc<str>, range: std::ops::Range<usize>) -> Self {
        Input::Raw {
            text,
            range,
            value: std::sync::OnceLock::new(),
        }
    }

    /// The input as a value; a number JSON allows but no `f64` holds (`1e400`) is a bad request.
    pub(crate) fn into_value(self) -> Result<Value, Error> {
        match self {
            Input::Value(value) => Ok(value),
            Input::Raw { text, range, value } => match value.into_inner() {
                Some(value) => Ok(value),
                None => parse_part(&text, range)
                    .map_err(|err| Error::bad_request(format!("Invalid input: {err}"))),
            },
        }
    }
}

/// The part `range` of `text` as a value.
fn parse_part(text: &str, range: std::ops::Range<usize>) -> serde_json::Result<Value> {
    serde_json::from_str(text.get(range).unwrap_or("null"))
}

impl Call {
    /// A call of the procedure at `path` with this raw input.
    pub fn new(path: Arc<str>, kind: ProcedureKind, input: Value) -> Self {
        Self::with_input(path, kind, Input::Value(input))
    }

    /// A call with its input as the request carried it.
    pub(crate) fn with_input(path: Arc<str>, kind: ProcedureKind, input: Input) -> Self {
        Self {
            path,
            kind,
            input,
            meta: None,
        }
    }

    /// The call with a response meta handle, when `on`.
    pub(crate) fn with_meta(mut self, on: bool) -> Self {
        if on {
            self.meta = Some(ResponseMeta::new());
        }
        self
    }

    /// The call's response meta handle, if its procedure may set any.
    pub(crate) fn meta_handle(&self) -> Option<&ResponseMeta> {
        self.meta.as_ref()
    }

    /// The dotted procedure path, e.g. `profile.getUser`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path, shared (no copy).
    pub(crate) fn shared_path(&self) -> Arc<str> {
        self.path.clone()
    }

    /// The procedure's kind.
    pub fn kind(&self) -> ProcedureKind {
        self.kind
    }

    /// The raw input (`null` when none was sent, or when it holds a number no `f64` can, which
    /// the procedure then refuses).
    pub fn input(&self) -> &Value {
        match &self.input {
            Input::Value(value) => value,
            Input::Raw { text, range, value } => {
                value.get_or_init(|| parse_part(text, range.clone()).unwrap_or(Value::Null))
            }
        }
    }

    pub(crate) fn without_input(mut self) -> Self {
        self.input = Input::Value(Value::Null);
        self
    }

    /// The input as the request carried it.
    pub(crate) fn raw_input(&self) -> &Input {
        &self.input
    }

    pub(crate) fn into_input(self) -> Input {
        self.input
    }
}

/// Wraps every procedure of a router in `middleware` (see [`Router::with`](crate::Router::with)).
pub(crate) fn wrap<TInner, TOuter, M, Fut>(
    procedure: ErasedProcedure<TInner>,
    middleware: Arc<M>,
) -> ErasedProcedure<TOuter>
where
    TInner: Send + 'static,
    TOuter: Send + 'static,
    M: Fn(TOuter, &Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TInner, Error>> + Send + 'static,
{
    let inner = procedure.exec;
    let exec: ErasedExec<TOuter> = Arc::new(move |outer, call| {
        let before = middleware(outer, &call);
        let inner = inner.clone();
        Box::pin(async move {
            let ctx = before.await?;
            inner(ctx, call).await
        })
    });
    ErasedProcedure {
        meta: procedure.meta,
        exec,
    }
}
