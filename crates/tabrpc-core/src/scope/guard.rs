//! The one guard abstraction for every scope.

use std::future::Future;

use super::Scope;
use crate::error::Error;
use crate::procedure::ProcedureKind;

/// A check that puts a procedure in a [`Scope`]: given the caller's context and the typed
/// input, it either refuses the call or returns the context the handler runs with.
///
/// Users do not implement it; they pick a guard:
/// `.guard(ViewerGuard)` ([`ViewerGuard`](crate::ViewerGuard)) or `.guard(SessionGuard)`
/// (tabrpc-sessions). [`Procedure::guard`](crate::Procedure::guard) installs the check and
/// records [`Guard::SCOPE`] on the procedure, which lets its input take the scope's reserved
/// key and exports the scope in the bindings.
///
/// `TCtx` is the context the handler takes (the session guard's is `SessionCtx<C>`), `TIn` the
/// input. A guard that does not fit the procedure is a compile error: the viewer guard needs
/// `TIn: ViewerInput` and `TCtx: ViewerContext`, the session guard `TIn: SessionInput` and
/// `TCtx = SessionCtx<C>` with `C: SessionContext`.
///
/// For guard authors: the check must compare the input's key with the verified caller and
/// refuse the call when they disagree; a guard that lets any key through answers for whichever
/// account or session the input names.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard a procedure whose handler takes `{TCtx}` and `{TIn}`",
    label = "this guard does not fit the procedure's context or input",
    note = "`ViewerGuard` needs an input implementing `ViewerInput` (`#[tabrpc::input]` with a `#[tabrpc(viewer)]` field) and a context implementing `ViewerContext`",
    note = "`SessionGuard` needs an input implementing `SessionInput` (`#[tabrpc::input]` with a `#[tabrpc(session)]` field) and a handler taking `SessionCtx<C>` where `C: SessionContext`"
)]
pub trait Guard<TCtx, TIn>: Send + Sync + 'static {
    /// The scope this guard checks, recorded on the procedure.
    const SCOPE: Scope;

    /// The context the router calls the guarded procedure with.
    type Outer: Send + 'static;

    /// Checks one call of a procedure of `kind` before its handler runs. Gets the input by
    /// reference, so the future copies what it needs.
    fn check(
        &self,
        ctx: Self::Outer,
        input: &TIn,
        kind: ProcedureKind,
    ) -> impl Future<Output = Result<TCtx, Error>> + Send + use<Self, TCtx, TIn>;
}
