//! Scopes (auth.md section 3): "this call is for viewer X" or "for session Y", declared by a
//! procedure with [`Procedure::guard`](crate::Procedure::guard).
//!
//! A [`Scope`] reserves an input key (`viewerId`, `sessionId`) for the procedures behind its
//! [`Guard`]: the guard checks the key against the verified caller before the handler runs, and
//! the bindings export the procedure's scopes so that the client fills the key in. Two checks
//! keep an unguarded procedure from ever receiving a reserved key, whatever serde attributes
//! rename, alias, flatten or skip it:
//!
//! - at build time, [`Router::build`](crate::Router::build) walks each input's specta type
//!   (structs, enums and their tags, flattened and nested fields, newtypes, tuples, optionals,
//!   generics, named references) and reports a
//!   [`BuildProblemKind::UnguardedScopeKey`](crate::BuildProblemKind::UnguardedScopeKey) for a
//!   procedure whose input has a field, alias, rename, enum tag or variant that reads as a
//!   reserved key while it lacks that scope's guard;
//! - at run time, such a procedure answers 400 BAD_REQUEST
//!   ([`ErrorReason::ReservedInputKey`](crate::ErrorReason::ReservedInputKey)) to an input
//!   object with a key that reads as a reserved key, top-level or nested, before it runs: a
//!   hand-written `specta::Type` or `Deserialize` can hide a field from the first check, never
//!   from this one.
//!
//! "Reads as" compares names with ASCII case and everything but letters and digits ignored:
//! `viewerId`, `viewer_id`, `ViewerID`, `viewer-id` and `VIEWERID` are all `viewerId`.
//!
//! A procedure's scopes are set only by [`Procedure::guard`](crate::Procedure::guard), which
//! installs the guard's check: there is no way to declare a scope without a check.

mod guard;
mod input;
mod types;

pub use guard::Guard;
pub(crate) use input::refuse_reserved_keys;
pub(crate) use types::reserved_fields;

use crate::procedure::ProcedureMeta;

/// A scope a procedure declares: whose data the call is for, named by a reserved input key
/// that only the procedures behind the scope's [`Guard`] may take.
///
/// Exported to TypeScript as `Scope = "viewer" | "session"`, and per procedure in the bindings'
/// `scopes`, so that the client fills the key in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `viewerId`: the account the client believes it asks for, checked against the verified
    /// caller by [`ViewerGuard`](crate::ViewerGuard).
    Viewer,
    /// `sessionId`: the tab's session, resolved and checked by tabrpc-sessions'
    /// `SessionGuard`.
    Session,
}

impl Scope {
    /// Every scope, in declaration order (the order of the bindings' `Scope` union).
    pub const ALL: &'static [Scope] = &[Scope::Viewer, Scope::Session];

    /// `"viewer"` or `"session"`, as in the bindings.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Viewer => "viewer",
            Scope::Session => "session",
        }
    }

    /// The reserved input key as clients send it: `viewerId` or `sessionId`.
    pub const fn key(self) -> &'static str {
        match self {
            Scope::Viewer => "viewerId",
            Scope::Session => "sessionId",
        }
    }

    /// How to add the scope's guard, as build errors name it.
    pub const fn guard_hint(self) -> &'static str {
        match self {
            Scope::Viewer => "`.guard(ViewerGuard)`",
            Scope::Session => "`.guard(SessionGuard)` (tabrpc-sessions)",
        }
    }

    /// Whether `name` reads as this scope's key: equal once ASCII case and every character
    /// other than an ASCII letter or digit are ignored (`viewer_id`, `ViewerID`, `viewer-id`).
    pub fn matches(self, name: &str) -> bool {
        letters(name).eq(letters(self.key()))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn letters(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase())
}

/// The reserved keys a procedure must refuse in its input: those of the scopes it lacks.
pub(crate) fn refused_by(meta: &ProcedureMeta) -> Vec<Scope> {
    Scope::ALL
        .iter()
        .filter(|scope| !meta.scopes().contains(scope))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_the_key_whatever_their_case_and_separators() {
        for name in [
            "viewerId",
            "viewer_id",
            "ViewerID",
            "viewerid",
            "VIEWER_ID",
            "viewer-id",
            "__viewer__id__",
        ] {
            assert!(Scope::Viewer.matches(name), "{name}");
        }
        for name in ["viewer", "viewerIds", "id", "newViewerId", "vıewerId", ""] {
            assert!(!Scope::Viewer.matches(name), "{name}");
        }
        assert!(Scope::Session.matches("Session_ID"));
        assert!(!Scope::Session.matches("newSessionId"));
    }

    #[test]
    fn a_procedure_refuses_the_keys_of_the_guards_it_lacks() {
        #[derive(Clone)]
        struct Ctx;
        impl crate::ViewerContext for Ctx {
            fn viewer(&self) -> Result<&str, crate::Error> {
                Ok("alice")
            }
        }
        #[derive(serde::Deserialize, specta::Type)]
        struct In {
            viewer_id: Option<String>,
        }
        impl crate::ViewerInput for In {
            fn viewer_id(&self) -> Option<&str> {
                self.viewer_id.as_deref()
            }
        }
        let p = crate::Procedure::query(|_: Ctx, _: In| async { Ok(()) });
        assert_eq!(refused_by(p.meta()), [Scope::Viewer, Scope::Session]);
        let guarded = p.guard(crate::ViewerGuard);
        assert_eq!(refused_by(guarded.meta()), [Scope::Session]);
    }
}
