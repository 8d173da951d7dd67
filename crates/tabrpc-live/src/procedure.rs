//! `live.events`: the one stream per tab, as a procedure.

use std::future::Future;

use futures_util::StreamExt;
use serde::Deserialize;
use specta::Type;
use tabrpc_core::{
    Error as RpcError, ErrorCode, ErrorReason, Guard, Procedure, ProcedureKind, Scope, ViewerGuard,
    ViewerInput,
};
use tabrpc_sessions::{SessionContext, SessionId};

use crate::live::Live;

/// The input of `live.events`: the account and session the client expects, both checked
/// against the verified caller before the stream opens, and the resume cursor.
///
/// Nothing in it widens what the stream delivers: the account scope is always the verified
/// caller's own (`viewerId` is only checked, 403 on a mismatch), the session scope is the named
/// session only when the session store lets this caller use it (403 for a session linked to
/// another account), and unknown fields are ignored.
#[derive(Debug, Default, Clone, Deserialize, Type)]
pub struct LiveInput {
    /// The account the client expects to be answered for (the viewer guard checks it).
    #[serde(default, rename = "viewerId")]
    #[specta(optional, type = String)]
    pub viewer_id: Option<String>,
    /// The tab's session, whose events the stream also delivers (the session store checks
    /// this caller may use it).
    #[serde(default, rename = "sessionId")]
    #[specta(optional, type = String)]
    pub session_id: Option<SessionId>,
    /// Where to resume: the id of the last event the client saw (the transport sets it from
    /// `Last-Event-ID`).
    #[serde(default, rename = "lastEventId")]
    #[specta(optional, type = String)]
    pub last_event_id: Option<String>,
}

impl ViewerInput for LiveInput {
    fn viewer_id(&self) -> Option<&str> {
        self.viewer_id.as_deref()
    }
}

/// A context that holds the server's [`Live`] hub (and is a session context: a stream may
/// deliver its tab's session).
pub trait LiveContext: SessionContext {
    /// The hub.
    fn live(&self) -> &Live;
}

/// The context `live.events` runs with once its guards passed: the caller's context and the
/// scopes verified for it.
#[derive(Debug)]
pub struct LiveCtx<C> {
    ctx: C,
    account: Option<String>,
    session: Option<String>,
}

/// The session half of `live.events`' guards: declares [`Scope::Session`] and, when the input
/// names a session, resolves it for the caller as a session query does (an unknown id is an
/// empty session, one linked to another account is 403, an ended one is refused).
#[derive(Debug, Clone, Copy, Default)]
struct LiveGuard;

impl<C: LiveContext> Guard<LiveCtx<C>, Option<LiveInput>> for LiveGuard {
    const SCOPE: Scope = Scope::Session;

    type Outer = C;

    fn check(
        &self,
        ctx: C,
        input: &Option<LiveInput>,
        _kind: ProcedureKind,
    ) -> impl Future<Output = Result<LiveCtx<C>, RpcError>> + Send + use<C> {
        let session = input.as_ref().and_then(|i| i.session_id.clone());
        async move {
            let account = match ctx.viewer() {
                Ok(user) => Some(user.to_owned()),
                // Anonymous, including a tab that sent the fail-closed marker (it has no token
                // of its own, so the shared cookie was refused): public and session events only.
                Err(err)
                    if err.code() == ErrorCode::Unauthorized
                        && err.reason() != Some(ErrorReason::InvalidToken) =>
                {
                    None
                }
                // A bearer token presented and refused (the client gets a fresh token and
                // reconnects), or the verifier unavailable.
                Err(err) => return Err(err),
            };
            if let Some(id) = &session {
                ctx.session_store()
                    .resolve_read(id, account.as_deref())
                    .await?;
            }
            Ok(LiveCtx {
                account,
                session: session.map(|id| id.as_str().to_owned()),
                ctx,
            })
        }
    }
}

/// The `live.events` procedure: one server-sent event stream per tab, for the verified
/// caller's account, the session it names (if it may use it) and public events; each event has
/// an id, and a reconnection with `Last-Event-ID` resumes (or gets a reset). Mount it under
/// the path `live.events`, which the web client opens:
///
/// ```
/// # #[derive(Clone)] struct Ctx;
/// # impl tabrpc_core::ViewerContext for Ctx { fn viewer(&self) -> Result<&str, tabrpc_core::Error> { Err(tabrpc_core::Error::new(tabrpc_core::ErrorCode::Unauthorized)) } }
/// # impl tabrpc_sessions::SessionContext for Ctx { fn session_store(&self) -> &dyn tabrpc_sessions::SessionStore { unimplemented!() } }
/// # impl tabrpc_live::LiveContext for Ctx { fn live(&self) -> &tabrpc_live::Live { unimplemented!() } }
/// let router = tabrpc_core::Router::<Ctx>::new().procedure("live.events", tabrpc_live::events());
/// # assert!(router.build().is_ok());
/// ```
///
/// The stream ends when the token that opened it expires (the transport's stream deadline)
/// or the server shuts down; the client reconnects with a fresh token and resumes.
pub fn events<C: LiveContext>() -> Procedure<C, Option<LiveInput>> {
    Procedure::tracked_subscription(|ctx: LiveCtx<C>, input: Option<LiveInput>| async move {
        let cursor = input.and_then(|i| i.last_event_id);
        let stream = ctx
            .ctx
            .live()
            .subscribe(ctx.account, ctx.session, cursor.as_deref());
        Ok(stream.map(Ok::<_, RpcError>))
    })
    .guard(LiveGuard)
    .guard(ViewerGuard)
}
