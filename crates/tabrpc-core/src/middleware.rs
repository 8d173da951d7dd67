//! What middleware sees of a call, and router-level middleware.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::procedure::{ErasedExec, ErasedProcedure, ProcedureKind};

/// One call as router-level middleware sees it: the full dotted path, the kind, and the raw
/// JSON input (`null` when the caller sent none). The input is not yet checked against the
/// procedure's type.
#[derive(Debug, Clone)]
pub struct Call {
    path: Arc<str>,
    kind: ProcedureKind,
    input: Value,
}

impl Call {
    /// A call of the procedure at `path` with this raw input.
    pub fn new(path: Arc<str>, kind: ProcedureKind, input: Value) -> Self {
        Self { path, kind, input }
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

    /// The raw input (`null` when none was sent).
    pub fn input(&self) -> &Value {
        &self.input
    }

    pub(crate) fn without_input(mut self) -> Self {
        self.input = Value::Null;
        self
    }

    pub(crate) fn into_input(self) -> Value {
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
