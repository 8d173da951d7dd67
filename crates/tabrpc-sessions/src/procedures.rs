//! The session procedures every application needs: `rotate` (at sign-in) and `end` (at
//! sign-out), for `Router::nest("session", tabrpc_sessions::router())`.

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc_core::{Procedure, Router};

use crate::guard::{OwnerCheckedInStore, OwnerCtx, SessionContext, SessionInput};
use crate::id::SessionId;

/// Input of `session.rotate`.
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionRotateInput {
    /// The current (old) session; the client injects it.
    pub session_id: SessionId,
    /// The id the client just made and switches to if the rotation succeeds.
    pub new_session_id: SessionId,
}

impl SessionInput for SessionRotateInput {
    fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

/// Output of `session.rotate`.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionRotation {
    /// How many rows of feature data moved to the new session.
    pub moved: u32,
    /// Whether the new session is linked to the caller's account.
    pub linked: bool,
}

/// Input of `session.end`.
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionEndInput {
    /// The session to end; the client injects it.
    pub session_id: SessionId,
}

impl SessionInput for SessionEndInput {
    fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

/// `rotate` and `end`, both in [`Scope::Session`](tabrpc_core::Scope::Session), to nest under
/// `session`:
///
/// - `session.rotate {sessionId, newSessionId}` (mutation): moves the session's data to the
///   new id in one transaction and links it to the verified caller, if any
///   ([`SessionStore::rotate`](crate::SessionStore::rotate)). The client calls it at sign-in,
///   in `refresh(beforeUpdate)`, while the old id is still current. It fails closed: a
///   request whose credentials were presented and refused (an expired or forged token,
///   `Bearer null`, the fail-closed marker, ambiguous cookies) answers 401 UNAUTHORIZED with
///   `WWW-Authenticate: Bearer error="invalid_token"` and `data.reason` `invalid_token`, and
///   changes nothing; only a request with no credentials at all rotates anonymously. A merge
///   that would pass a feature's [`max_rows`](crate::FeatureTable::max_rows) answers 409
///   CONFLICT and changes nothing.
/// - `session.end {sessionId}` (mutation): ends the session and deletes its data
///   ([`SessionStore::end`](crate::SessionStore::end)). The client calls it at sign-out,
///   *before* dropping its token: a session linked to an account answers only that account.
///
/// Both check ownership inside the store's transaction rather than through
/// [`SessionGuard`](crate::SessionGuard), so that rotating away from an expired session still
/// works (a client can always recover) and ending is idempotent: their guard resolves only who
/// the caller is, and the store refuses a session linked to someone else.
pub fn router<C: SessionContext>() -> Router<C> {
    Router::new()
        .procedure(
            "rotate",
            Procedure::mutation(|call: OwnerCtx<C>, input: SessionRotateInput| async move {
                let user = call.caller.binding()?;
                let rotation = call
                    .ctx
                    .session_store()
                    .rotate(&input.session_id, &input.new_session_id, user)
                    .await
                    .map_err(|err| call.caller.answer(err))?;
                Ok(SessionRotation {
                    moved: u32::try_from(rotation.moved).unwrap_or(u32::MAX),
                    linked: rotation.session.user_id().is_some(),
                })
            })
            .guard(OwnerCheckedInStore),
        )
        .procedure(
            "end",
            Procedure::mutation(|call: OwnerCtx<C>, input: SessionEndInput| async move {
                call.ctx
                    .session_store()
                    .end(&input.session_id, call.caller.user())
                    .await
                    .map_err(|err| call.caller.answer(err))?;
                Ok(())
            })
            .guard(OwnerCheckedInStore),
        )
}
