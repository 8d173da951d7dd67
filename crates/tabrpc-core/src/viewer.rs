//! The viewer guard (auth.md section 3): account-scoped procedures take an optional `viewerId`
//! that scopes client caches per account. The server checks it against the verified caller and
//! never trusts it for identity.
//!
//! ```
//! use tabrpc_core::{Error, ErrorCode, Procedure, Router, ViewerContext, ViewerInput};
//!
//! #[derive(Clone)]
//! struct Ctx { user_id: Option<String> }
//!
//! impl ViewerContext for Ctx {
//!     fn viewer(&self) -> Result<&str, Error> {
//!         self.user_id.as_deref().ok_or_else(|| Error::new(ErrorCode::Unauthorized))
//!     }
//! }
//!
//! #[derive(serde::Deserialize, specta::Type)]
//! #[serde(rename_all = "camelCase")]
//! struct GetUserInput { #[serde(default)] viewer_id: Option<String> }
//!
//! impl ViewerInput for GetUserInput {
//!     fn viewer_id(&self) -> Option<&str> { self.viewer_id.as_deref() }
//! }
//!
//! let get_user = Procedure::query(|ctx: Ctx, _: Option<GetUserInput>| async move {
//!     Ok::<_, Error>(ctx.viewer()?.to_owned())
//! });
//! // Without `.viewer_guard()` this router would fail to build.
//! let router = Router::new().procedure("profile.getUser", get_user.viewer_guard()).build();
//! assert!(router.is_ok());
//! ```

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::procedure::Procedure;
use crate::protocol::ErrorReason;
use crate::scope::VIEWER_SCOPE;

/// The marker [`Procedure::viewer_guard`] puts on a procedure; exported in the bindings so the
/// client fills in the current account's id and keys caches by it.
pub const VIEWER_MARKER: &str = VIEWER_SCOPE.marker;

/// The message of the 403 answered when `viewerId` names someone other than the caller.
pub const VIEWER_MISMATCH: &str = "viewer/session mismatch";

/// An input that may carry a `viewerId` (the account the client believes it is asking for).
pub trait ViewerInput {
    /// The `viewerId` the client sent, if any.
    fn viewer_id(&self) -> Option<&str>;
}

impl<T: ViewerInput> ViewerInput for Option<T> {
    fn viewer_id(&self) -> Option<&str> {
        self.as_ref().and_then(ViewerInput::viewer_id)
    }
}

/// A context that knows its verified caller.
pub trait ViewerContext {
    /// The verified user id of the caller, or, for an anonymous caller, the error to answer
    /// (401 UNAUTHORIZED, with `WWW-Authenticate` headers when the transport sets them).
    fn viewer(&self) -> Result<&str, Error>;
}

impl<TCtx, TIn> Procedure<TCtx, TIn>
where
    TCtx: ViewerContext + Send + 'static,
    TIn: ViewerInput + Send + 'static,
{
    /// Guards an account-scoped procedure: when the input carries a `viewerId`, an anonymous
    /// caller gets 401 and a caller with another id gets 403 FORBIDDEN
    /// [`VIEWER_MISMATCH`], and the procedure body never runs. Without `viewerId` there is no
    /// check (the procedure still uses the verified identity, never the input, to decide whose
    /// data to answer).
    ///
    /// [`Router::build`](crate::Router::build) refuses a procedure whose input has a field
    /// that reads as `viewerId` (in any spelling, renamed, aliased, flattened, nested) but no
    /// guard, and an unguarded procedure answers 400 to such an input key, so the guard cannot
    /// be forgotten ([`scope`](crate::scope)).
    pub fn viewer_guard(self) -> Self {
        self.guard_scope(VIEWER_SCOPE, |ctx: TCtx, input: &TIn| {
            let checked = check(&ctx, input);
            async move { checked.map(|()| ctx) }
        })
    }
}

fn check(ctx: &impl ViewerContext, input: &impl ViewerInput) -> Result<(), Error> {
    let Some(claimed) = input.viewer_id() else {
        return Ok(());
    };
    let caller = ctx.viewer()?;
    if caller == claimed {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::Forbidden)
            .with_message(VIEWER_MISMATCH)
            .with_reason(ErrorReason::ViewerMismatch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Router;
    use serde::Deserialize;

    #[derive(Clone)]
    struct Ctx(Option<&'static str>);

    impl ViewerContext for Ctx {
        fn viewer(&self) -> Result<&str, Error> {
            self.0.ok_or_else(|| Error::new(ErrorCode::Unauthorized))
        }
    }

    #[derive(Deserialize, specta::Type)]
    #[serde(rename_all = "camelCase")]
    struct Scoped {
        #[serde(default)]
        viewer_id: Option<String>,
    }

    impl ViewerInput for Scoped {
        fn viewer_id(&self) -> Option<&str> {
            self.viewer_id.as_deref()
        }
    }

    fn scoped(viewer_id: Option<&str>) -> Option<Scoped> {
        Some(Scoped {
            viewer_id: viewer_id.map(str::to_owned),
        })
    }

    #[test]
    fn mismatch_is_forbidden_anonymous_is_unauthorized_absent_is_unchecked() {
        let code = |ctx: Ctx, input: Option<Scoped>| check(&ctx, &input).err().map(|e| e.code());
        assert_eq!(code(Ctx(Some("alice")), scoped(Some("alice"))), None);
        assert_eq!(
            code(Ctx(Some("alice")), scoped(Some("bob"))),
            Some(ErrorCode::Forbidden)
        );
        assert_eq!(
            code(Ctx(None), scoped(Some("bob"))),
            Some(ErrorCode::Unauthorized)
        );
        assert_eq!(code(Ctx(None), scoped(None)), None);
        assert_eq!(code(Ctx(Some("alice")), None), None);
    }

    #[test]
    fn a_viewer_id_input_without_the_guard_fails_the_build() {
        let unguarded = Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok::<_, Error>(()) });
        let err = Router::new()
            .procedure("profile.getUser", unguarded)
            .build()
            .err()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(err.contains("profile.getUser"), "{err}");
        assert!(err.contains("viewer_guard"), "{err}");

        let guarded = Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok::<_, Error>(()) })
            .viewer_guard();
        assert!(
            Router::new()
                .procedure("profile.getUser", guarded)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn the_marker_cannot_be_set_by_hand() {
        let p = Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok::<_, Error>(()) })
            .mark(VIEWER_MARKER);
        assert!(!p.meta().markers.contains(&VIEWER_MARKER));
    }
}
