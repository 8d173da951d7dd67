//! Reserved scope keys (auth.md section 3): input keys such as `viewerId` and `sessionId` that
//! only a procedure behind the matching guard may take.
//!
//! Each [`ScopeKey`] pairs an input key with the marker its guard sets. Two checks keep an
//! unguarded procedure from ever receiving one, whatever serde attributes rename, alias,
//! flatten or skip it:
//!
//! - at build time, [`Router::build`](crate::Router::build) walks each input's specta type
//!   (structs, enums and their tags, flattened and nested fields, newtypes, tuples, optionals,
//!   generics, named references) and refuses a procedure whose input has a field, alias,
//!   rename, enum tag or variant that reads as a reserved key while it lacks the guard's marker;
//! - at run time, such a procedure answers 400 BAD_REQUEST
//!   ([`ErrorReason::ReservedInputKey`](crate::ErrorReason::ReservedInputKey)) to an input object with a key that reads as a reserved
//!   key, top-level or nested, before it runs: a hand-written `specta::Type` or `Deserialize`
//!   can hide a field from the first check, never from this one.
//!
//! "Reads as" compares names with ASCII case and everything but letters and digits ignored:
//! `viewerId`, `viewer_id`, `ViewerID`, `viewer-id` and `VIEWERID` are all `viewerId`.
//!
//! The markers are reserved: [`Procedure::mark`](crate::Procedure::mark) ignores them, and
//! only [`Procedure::guard_scope`](crate::Procedure::guard_scope), which installs the check,
//! sets them (tabrpc-sessions' `with_session` for `sessionId`, [`Procedure::viewer_guard`] for
//! `viewerId`).
//!
//! [`Procedure::viewer_guard`]: crate::Procedure::viewer_guard

mod input;
mod types;

pub(crate) use input::refuse_reserved_keys;
pub(crate) use types::reserved_fields;

use crate::procedure::ProcedureMeta;

/// An input key reserved for the procedures behind one guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeKey {
    /// The key as clients send it, e.g. `viewerId`.
    pub key: &'static str,
    /// The marker the guard sets, exported in the bindings (e.g. `"viewer"`).
    pub marker: &'static str,
    /// How to add the guard, named in build errors (e.g. `` `.viewer_guard()` ``).
    pub guard: &'static str,
}

/// `viewerId`: the account a client believes it asks for, checked by
/// [`Procedure::viewer_guard`](crate::Procedure::viewer_guard) (marker `"viewer"`).
pub const VIEWER_SCOPE: ScopeKey = ScopeKey {
    key: "viewerId",
    marker: "viewer",
    guard: "`.viewer_guard()`",
};

/// `sessionId`: the tab's session, resolved and checked by tabrpc-sessions'
/// `SessionProcedure::with_session` (marker `"session"`).
pub const SESSION_SCOPE: ScopeKey = ScopeKey {
    key: "sessionId",
    marker: "session",
    guard: "`.with_session()` (tabrpc-sessions)",
};

/// Every reserved key, with the marker its guard sets.
pub const RESERVED_SCOPES: &[ScopeKey] = &[VIEWER_SCOPE, SESSION_SCOPE];

impl ScopeKey {
    /// Whether `name` reads as this key: equal once ASCII case and every character other than
    /// an ASCII letter or digit are ignored (`viewer_id`, `ViewerID`, `viewer-id`).
    pub fn matches(&self, name: &str) -> bool {
        letters(name).eq(letters(self.key))
    }

    /// The reserved key that `marker` belongs to, if it is one.
    pub fn of_marker(marker: &str) -> Option<ScopeKey> {
        RESERVED_SCOPES.iter().find(|s| s.marker == marker).copied()
    }
}

fn letters(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase())
}

/// Whether a procedure may take `scope`'s key: it has the key's guard, or declared that it
/// ignores the key ([`Procedure::dangerous_ignore_scope_key`](crate::Procedure::dangerous_ignore_scope_key)).
pub(crate) fn allowed(meta: &ProcedureMeta, scope: &ScopeKey) -> bool {
    meta.markers.contains(&scope.marker) || meta.ignored_scope_keys.contains(scope)
}

/// The reserved keys a procedure must refuse in its input: those it may not take.
pub(crate) fn refused_by(meta: &ProcedureMeta) -> Vec<ScopeKey> {
    RESERVED_SCOPES
        .iter()
        .filter(|scope| !allowed(meta, scope))
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
            assert!(VIEWER_SCOPE.matches(name), "{name}");
        }
        for name in ["viewer", "viewerIds", "id", "newViewerId", "vıewerId", ""] {
            assert!(!VIEWER_SCOPE.matches(name), "{name}");
        }
        assert!(SESSION_SCOPE.matches("Session_ID"));
        assert!(!SESSION_SCOPE.matches("newSessionId"));
    }

    #[test]
    fn a_procedure_refuses_the_keys_of_the_guards_it_lacks() {
        #[derive(Clone)]
        struct Ctx;
        let p = crate::Procedure::query(|_: Ctx, _: u32| async { Ok::<_, crate::Error>(()) });
        assert_eq!(refused_by(p.meta()), [VIEWER_SCOPE, SESSION_SCOPE]);
        let ignoring = p.clone().dangerous_ignore_scope_key(SESSION_SCOPE);
        assert_eq!(refused_by(ignoring.meta()), [VIEWER_SCOPE]);
        let guarded = p.guard_scope(VIEWER_SCOPE, |ctx: Ctx, _: &u32| async { Ok(ctx) });
        assert_eq!(refused_by(guarded.meta()), [SESSION_SCOPE]);
    }
}
