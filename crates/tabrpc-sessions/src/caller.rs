//! Who a session call is for: the verified caller, anonymous, or credentials that were
//! presented and refused. Binding data to a caller fails closed on the last.

use http::HeaderValue;
use http::header::WWW_AUTHENTICATE;
use tabrpc_core::{Error as RpcError, ErrorCode, ErrorReason, ViewerContext};

use crate::error::{Error, ErrorKind};
use crate::guard::SessionContext;
use crate::id::SessionId;
use crate::store::Session;

/// The caller of a session call, from its context's [`ViewerContext::viewer`].
#[derive(Debug)]
pub(crate) struct Caller {
    /// The verified user id; `None` when anonymous.
    user: Option<String>,
    /// For an anonymous caller whose request carried something that named nobody (a refused
    /// token, the fail-closed marker, ambiguous credentials: the 401 has a `reason`), that 401.
    refused: Option<RpcError>,
}

impl Caller {
    /// The caller of `ctx`. Any error but a 401 (a 503 while no signing key is loaded) is
    /// answered as it is.
    pub(crate) fn of(ctx: &impl ViewerContext) -> Result<Self, RpcError> {
        match ctx.viewer() {
            Ok(user_id) => Ok(Self {
                user: Some(user_id.to_owned()),
                refused: None,
            }),
            Err(err) if err.code() == ErrorCode::Unauthorized => Ok(Self {
                user: None,
                refused: err.reason().is_some().then_some(err),
            }),
            Err(err) => Err(err),
        }
    }

    /// The verified user id, `None` when anonymous.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The caller to bind data to (a rotation, a link): the verified user, or anonymous only
    /// when the request carried no credentials at all.
    ///
    /// # Errors
    ///
    /// 401 UNAUTHORIZED, `WWW-Authenticate: Bearer error="invalid_token"`, `data.reason`
    /// `invalid_token`, when credentials (or the fail-closed marker) were presented and named
    /// nobody: going on anonymously would move a signed-in user's data where their account
    /// cannot reach it. The client's remedy is a fresh token, then the same call.
    pub(crate) fn binding(&self) -> Result<Option<&str>, RpcError> {
        match &self.refused {
            Some(refused) if refused.reason() == Some(ErrorReason::InvalidToken) => {
                Err(refused.clone())
            }
            // The marker or other credentials that name nobody: the same answer, so the client
            // has one remedy (get this tab a token) for every refusal of a binding.
            Some(_) => Err(RpcError::new(ErrorCode::Unauthorized)
                .with_message("authentication required")
                .with_header(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                )
                .with_reason(ErrorReason::InvalidToken)),
            None => Ok(self.user()),
        }
    }

    /// The answer for `err`, a store error for this caller: a session linked to an account
    /// answers a caller whose credentials were refused with that 401 (get a token and retry)
    /// rather than 403 `session_mismatch` (which tells the client to give the session up).
    pub(crate) fn answer(&self, err: Error) -> RpcError {
        match (&self.refused, err.kind()) {
            (Some(refused), ErrorKind::WrongOwner) => refused.clone(),
            _ => err.into(),
        }
    }
}

/// Resolves session `id` for the caller of `ctx`, as a session procedure's guard does: a
/// mutation (`create`) creates the session on first use, a query reads an id never seen as an
/// empty session without storing anything. Takes the context by value (and gives it back) so
/// the future owns it and needs no `C: Sync`.
pub(crate) async fn resolve_session<C: SessionContext>(
    ctx: C,
    id: &SessionId,
    create: bool,
) -> Result<(C, Session), RpcError> {
    let caller = Caller::of(&ctx)?;
    let store = ctx.session_store();
    let session = if create {
        store.resolve(id, caller.user()).await
    } else {
        store.resolve_read(id, caller.user()).await
    };
    match session {
        Ok(session) => Ok((ctx, session)),
        Err(err) => Err(caller.answer(err)),
    }
}
