//! Session procedures: an input that carries a `sessionId` ([`SessionInput`]), a context that
//! knows the store ([`SessionContext`]), and [`SessionGuard`], which resolves the session before
//! the procedure runs and puts the procedure in [`Scope::Session`] (the bindings say so, and the
//! client then fills in `sessionId` itself).

use std::future::Future;
use std::ops::Deref;

use tabrpc_core::{Error as RpcError, Guard, ProcedureKind, Scope, ViewerContext};

use crate::caller::Caller;

use crate::id::SessionId;
use crate::store::{Session, SessionStore};

/// An input that carries the session id (the `sessionId` field of a session procedure).
pub trait SessionInput {
    /// The session the call is about.
    fn session_id(&self) -> &SessionId;
}

/// A context that gives session procedures the store and the verified caller (through its
/// [`ViewerContext`]: `Ok(user_id)` for a signed-in caller, an UNAUTHORIZED error for an
/// anonymous one; any other error, such as a 503 while no signing key is loaded, is answered
/// as it is).
pub trait SessionContext: ViewerContext + Send + 'static {
    /// The session store.
    fn session_store(&self) -> &dyn SessionStore;
}

/// The context a session procedure runs with: the caller's context and the resolved,
/// live [`Session`] (derefs to the caller's context).
#[derive(Debug, Clone)]
pub struct SessionCtx<C> {
    ctx: C,
    session: Session,
}

impl<C> SessionCtx<C> {
    /// The resolved session: live, and usable by this caller.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The caller's context.
    pub fn context(&self) -> &C {
        &self.ctx
    }

    /// The caller's context and the session.
    pub fn into_parts(self) -> (C, Session) {
        (self.ctx, self.session)
    }
}

impl<C> Deref for SessionCtx<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.ctx
    }
}

impl<C: ViewerContext> ViewerContext for SessionCtx<C> {
    fn viewer(&self) -> Result<&str, RpcError> {
        self.ctx.viewer()
    }
}

impl<C: SessionContext> SessionContext for SessionCtx<C> {
    fn session_store(&self) -> &dyn SessionStore {
        self.ctx.session_store()
    }
}

/// The guard of [`Scope::Session`]: `.guard(SessionGuard)` on a procedure whose input is a
/// [`SessionInput`] and whose handler takes a [`SessionCtx<C>`] (`C: SessionContext`); the
/// router calls it with `C`.
///
/// Resolves the input's session before the handler runs: a mutation creates it on first use
/// (a query answers for an id never seen as an empty session, storing nothing), a signed-in
/// caller's first use links an anonymous session to them (see the crate docs), refreshes its
/// last use, and refuses the call with
///
/// - 400 BAD_REQUEST when `sessionId` is not a UUID v4 (from the input's parsing),
/// - 401 UNAUTHORIZED (the context's own answer) when the session is linked to an account and
///   the request's credentials were presented and refused,
/// - 403 FORBIDDEN `session_mismatch` when the session is linked to an account and the
///   verified caller is someone else or anonymous,
/// - 404 NOT_FOUND `session_expired` (`session expired or revoked (…)`) when it has ended,
///
/// and the handler never runs.
///
/// ```
/// use tabrpc_core::{Procedure, Router};
/// use tabrpc_sessions::{SessionContext, SessionCtx, SessionGuard, SessionId, SessionInput};
///
/// #[derive(serde::Deserialize, specta::Type)]
/// #[serde(rename_all = "camelCase")]
/// struct GetCart { session_id: SessionId }
/// impl SessionInput for GetCart {
///     fn session_id(&self) -> &SessionId { &self.session_id }
/// }
///
/// fn router<C: SessionContext>() -> Router<C> {
///     Router::new().procedure(
///         "cart.get",
///         Procedure::query(|ctx: SessionCtx<C>, _: GetCart| async move {
///             Ok(ctx.session().user_id().is_some())
///         })
///         .guard(SessionGuard),
///     )
/// }
/// ```
///
/// On an input without [`SessionInput`], or a handler that does not take a [`SessionCtx`], it
/// does not compile:
///
/// ```compile_fail
/// use tabrpc_core::Procedure;
/// use tabrpc_sessions::{SessionContext, SessionCtx, SessionGuard, SessionId};
///
/// #[derive(serde::Deserialize, specta::Type)]
/// #[serde(rename_all = "camelCase")]
/// struct NoSession { session_id: SessionId }
///
/// fn get<C: SessionContext>() -> Procedure<C, NoSession> {
///     Procedure::query(|_: SessionCtx<C>, _: NoSession| async { Ok(()) }).guard(SessionGuard)
/// }
/// ```
///
/// ```compile_fail
/// use tabrpc_core::Procedure;
/// use tabrpc_sessions::{SessionContext, SessionGuard, SessionId, SessionInput};
///
/// #[derive(serde::Deserialize, specta::Type)]
/// #[serde(rename_all = "camelCase")]
/// struct GetCart { session_id: SessionId }
/// impl SessionInput for GetCart {
///     fn session_id(&self) -> &SessionId { &self.session_id }
/// }
///
/// // The handler takes the plain context: it would never see the resolved session.
/// fn get<C: SessionContext + Clone>() -> Procedure<C, GetCart> {
///     Procedure::query(|_: C, _: GetCart| async { Ok(()) }).guard(SessionGuard)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionGuard;

impl<C, I> Guard<SessionCtx<C>, I> for SessionGuard
where
    C: SessionContext,
    I: SessionInput + Send + 'static,
{
    const SCOPE: Scope = Scope::Session;

    type Outer = C;

    fn check(
        &self,
        ctx: C,
        input: &I,
        kind: ProcedureKind,
    ) -> impl Future<Output = Result<SessionCtx<C>, RpcError>> + Send + use<C, I> {
        // Only a mutation creates the session: queries never grow the store.
        let create = kind == ProcedureKind::Mutation;
        let id = input.session_id().clone();
        async move {
            let (ctx, session) = crate::caller::resolve_session(ctx, &id, create).await?;
            Ok(SessionCtx { ctx, session })
        }
    }
}

/// The context of `session.rotate` and `session.end`: the caller's context and who the caller
/// is. Their guard resolves the caller only; the store checks the session's owner inside its
/// transaction, so that rotating away from an ended session still works (a client can always
/// recover) and ending is idempotent.
pub(crate) struct OwnerCtx<C> {
    pub(crate) ctx: C,
    pub(crate) caller: Caller,
}

/// The guard of `session.rotate` and `session.end` ([`OwnerCtx`]): declares [`Scope::Session`]
/// and leaves the ownership check to the store, which the handler passes the caller.
pub(crate) struct OwnerCheckedInStore;

impl<C, I> Guard<OwnerCtx<C>, I> for OwnerCheckedInStore
where
    C: SessionContext,
    I: SessionInput + Send + 'static,
{
    const SCOPE: Scope = Scope::Session;

    type Outer = C;

    fn check(
        &self,
        ctx: C,
        _: &I,
        _: ProcedureKind,
    ) -> impl Future<Output = Result<OwnerCtx<C>, RpcError>> + Send + use<C, I> {
        std::future::ready(Caller::of(&ctx).map(|caller| OwnerCtx { ctx, caller }))
    }
}
