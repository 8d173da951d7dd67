//! Session procedures: an input that carries a `sessionId` ([`SessionInput`]), a context that
//! knows the store ([`SessionContext`]), and [`SessionProcedure::with_session`], which
//! resolves the session before the procedure runs and marks the procedure `"session"` in the
//! bindings (the client then fills in `sessionId` itself).

use std::ops::Deref;

use tabrpc_core::{Error as RpcError, Procedure, ProcedureKind, SESSION_SCOPE, ViewerContext};

use crate::id::SessionId;
use crate::store::{Session, SessionStore};

/// The marker [`SessionProcedure::with_session`] puts on a procedure, exported in the
/// bindings: the client injects the tab's `sessionId` into the input of such procedures.
///
/// Reserved ([`tabrpc_core::SESSION_SCOPE`]): `Procedure::mark` ignores it, and
/// `Router::build` refuses a procedure whose input has a field that reads as `sessionId`
/// unless it went through [`SessionProcedure::with_session`].
pub const SESSION_MARKER: &str = SESSION_SCOPE.marker;

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

/// Turns a procedure written against [`SessionCtx`] into a session procedure.
pub trait SessionProcedure<C, I> {
    /// Resolves the input's session before the procedure runs: a mutation creates it on first
    /// use (a query answers for an id never seen as an empty session, storing nothing), a
    /// signed-in caller's first use links an anonymous session to them (see the crate docs),
    /// refreshes its last use, and refuses the call with
    ///
    /// - 400 BAD_REQUEST when `sessionId` is not a UUID v4 (from the input's parsing),
    /// - 401 UNAUTHORIZED (the context's own answer) when the session is linked to an
    ///   account and the request's credentials were presented and refused,
    /// - 403 FORBIDDEN `session_mismatch` when the session is linked to an account and the
    ///   verified caller is someone else or anonymous,
    /// - 404 NOT_FOUND `session_expired` (`session expired or revoked (…)`) when it has ended,
    ///
    /// and the procedure body never runs. Marks the procedure [`SESSION_MARKER`].
    ///
    /// ```
    /// use tabrpc_core::{Error, Procedure, ViewerContext};
    /// use tabrpc_sessions::{SessionContext, SessionCtx, SessionId, SessionInput, SessionProcedure, SessionStore};
    ///
    /// #[derive(serde::Deserialize, specta::Type)]
    /// #[serde(rename_all = "camelCase")]
    /// struct GetCart { session_id: SessionId }
    /// impl SessionInput for GetCart {
    ///     fn session_id(&self) -> &SessionId { &self.session_id }
    /// }
    ///
    /// fn get_cart<C: SessionContext>() -> Procedure<C, GetCart> {
    ///     Procedure::query(|ctx: SessionCtx<C>, _: GetCart| async move {
    ///         Ok::<_, Error>(ctx.session().user_id().is_some())
    ///     })
    ///     .with_session()
    /// }
    /// ```
    fn with_session(self) -> Procedure<C, I>;
}

impl<C, I> SessionProcedure<C, I> for Procedure<SessionCtx<C>, I>
where
    C: SessionContext,
    I: SessionInput + Send + 'static,
{
    fn with_session(self) -> Procedure<C, I> {
        // Only a mutation creates the session: queries never grow the store.
        let create = self.meta().kind == ProcedureKind::Mutation;
        self.guard_scope(SESSION_SCOPE, move |ctx: C, input: &I| {
            let id = input.session_id().clone();
            async move {
                let (ctx, session) = crate::caller::resolve_session(ctx, &id, create).await?;
                Ok(SessionCtx { ctx, session })
            }
        })
    }
}

/// Marks a procedure that checks the session's owner itself, inside the store's transaction
/// (`session.rotate` and `session.end`), as a session procedure.
pub(crate) fn checked_in_store<C, I>(procedure: Procedure<C, I>) -> Procedure<C, I>
where
    C: Send + 'static,
    I: SessionInput + Send + 'static,
{
    procedure.dangerous_mark_scope_checked_by_body(SESSION_SCOPE)
}
