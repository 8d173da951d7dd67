//! The viewer guard (auth.md section 3): account-scoped procedures take an optional `viewerId`
//! that scopes client caches per account. The server checks it against the verified caller and
//! never trusts it for identity.
//!
//! ```
//! use tabrpc_core::{Error, ErrorCode, Procedure, Router, ViewerContext, ViewerGuard, ViewerInput};
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
//!     Ok(ctx.viewer()?.to_owned())
//! });
//! // Without `.guard(ViewerGuard)` this router would fail to build.
//! let router = Router::new().procedure("profile.getUser", get_user.guard(ViewerGuard)).build();
//! assert!(router.is_ok());
//! ```

use crate::codes::ErrorCode;
use crate::error::Error;
use std::future::Future;

use crate::procedure::ProcedureKind;
use crate::protocol::ErrorReason;
use crate::scope::{Guard, Scope};

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

/// The guard of [`Scope::Viewer`]: `.guard(ViewerGuard)` on a procedure whose input is a
/// [`ViewerInput`] and whose context is a [`ViewerContext`].
///
/// When the input carries a `viewerId`, an anonymous caller gets 401 and a caller with another
/// id gets 403 FORBIDDEN [`VIEWER_MISMATCH`] (`data.reason` `viewer_mismatch`), and the handler
/// never runs. Without `viewerId` there is no check: the handler still uses the verified
/// identity, never the input, to decide whose data to answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewerGuard;

impl<TCtx, TIn> Guard<TCtx, TIn> for ViewerGuard
where
    TCtx: ViewerContext + Send + 'static,
    TIn: ViewerInput + Send + 'static,
{
    const SCOPE: Scope = Scope::Viewer;

    type Outer = TCtx;

    fn check(
        &self,
        ctx: TCtx,
        input: &TIn,
        _kind: ProcedureKind,
    ) -> impl Future<Output = Result<TCtx, Error>> + Send + use<TCtx, TIn> {
        let checked = check(&ctx, input);
        std::future::ready(checked.map(|()| ctx))
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
        use crate::{BuildProblemKind, Procedure};
        let unguarded = Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok(()) });
        let err = Router::new()
            .procedure("profile.getUser", unguarded)
            .build()
            .err();
        let problems = err.as_ref().map(|e| e.problems()).unwrap_or_default();
        assert_eq!(problems.len(), 1, "{err:?}");
        assert_eq!(problems[0].path(), "profile.getUser");
        assert_eq!(
            problems[0].kind(),
            BuildProblemKind::UnguardedScopeKey {
                scope: Scope::Viewer
            }
        );
        assert!(problems[0].message().contains("`.guard(ViewerGuard)`"));

        let guarded =
            Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok(()) }).guard(ViewerGuard);
        assert_eq!(guarded.meta().scopes(), [Scope::Viewer]);
        assert!(
            Router::new()
                .procedure("profile.getUser", guarded)
                .build()
                .is_ok()
        );
    }
}
