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

use specta::datatype::{DataType, Fields, NamedReferenceType, Reference};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::procedure::{Procedure, TypeInfo};
use crate::protocol::ErrorReason;

/// The marker [`Procedure::viewer_guard`] puts on a procedure; exported in the bindings so the
/// client fills in the current account's id and keys caches by it.
pub const VIEWER_MARKER: &str = "viewer";

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
    /// [`Router::build`](crate::Router::build) refuses a procedure whose input has a
    /// `viewerId` field but no guard, so it cannot be forgotten.
    pub fn viewer_guard(self) -> Self {
        let guarded = self.with(|ctx: TCtx, input: &TIn| {
            let checked = check(&ctx, input);
            async move { checked.map(|()| ctx) }
        });
        guarded.mark_internal(VIEWER_MARKER)
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

/// Whether a procedure's input (or the object inside an optional input) has a `viewerId`
/// field, by its Rust or serialized name.
pub(crate) fn input_has_viewer_id(types: &TypeInfo) -> bool {
    let mut collected = specta::Types::default();
    let input = (types.input)(&mut collected);
    has_viewer_field(&input, &collected, 0)
}

fn has_viewer_field(dt: &DataType, types: &specta::Types, depth: u8) -> bool {
    // Inputs are shallow; the depth cap only guards against a pathological recursive type.
    if depth > 8 {
        return false;
    }
    match dt {
        DataType::Nullable(inner) => has_viewer_field(inner, types, depth + 1),
        DataType::Intersection(parts) => {
            parts.iter().any(|p| has_viewer_field(p, types, depth + 1))
        }
        DataType::Struct(s) => match &s.fields {
            Fields::Named(named) => named.fields.iter().any(|(name, _)| is_viewer_id(name)),
            _ => false,
        },
        DataType::Reference(Reference::Named(r)) => match &r.inner {
            NamedReferenceType::Inline { dt, .. } => has_viewer_field(dt, types, depth + 1),
            NamedReferenceType::Reference { .. } => types
                .get(r)
                .and_then(|named| named.ty.as_ref())
                .is_some_and(|ty| has_viewer_field(ty, types, depth + 1)),
            _ => false,
        },
        _ => false,
    }
}

fn is_viewer_id(name: &str) -> bool {
    name.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .eq("viewerid".chars())
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

    #[test]
    fn viewer_fields_are_found_by_either_name_only_at_the_top() {
        #[derive(Deserialize, specta::Type)]
        struct Plain {
            #[allow(dead_code)]
            viewer_id: String,
        }
        #[derive(Deserialize, specta::Type)]
        struct Other {
            #[allow(dead_code)]
            id: u32,
        }
        let p = Procedure::query(|_: Ctx, _: Plain| async { Ok::<_, Error>(()) });
        assert!(input_has_viewer_id(&p.meta().types));
        let p = Procedure::query(|_: Ctx, _: Option<Scoped>| async { Ok::<_, Error>(()) });
        assert!(input_has_viewer_id(&p.meta().types));
        let p = Procedure::query(|_: Ctx, _: Other| async { Ok::<_, Error>(()) });
        assert!(!input_has_viewer_id(&p.meta().types));
        let p = Procedure::query(|_: Ctx, _: String| async { Ok::<_, Error>(()) });
        assert!(!input_has_viewer_id(&p.meta().types));
    }
}
