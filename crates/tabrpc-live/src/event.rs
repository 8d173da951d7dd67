//! What a stream carries: the scopes, the invalidation, and the events of the wire contract.

use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, ErrorKind};

/// The most paths plus prefixes one invalidation names.
pub const MAX_PATHS: usize = 32;
/// The longest path or prefix accepted, in bytes.
pub const MAX_PATH_LEN: usize = 200;
/// The largest input subset accepted, serialized, in bytes.
pub const MAX_INPUT_LEN: usize = 1024;

/// Whose tabs an event is for: one account (a verified user id), one session (the anonymous
/// per-tab or per-browser state of `tabrpc-sessions`), or everyone.
///
/// On the wire: `{ "kind": "account", "id": "<userId>" }`, `{ "kind": "session", "id": "<sessionId>" }`
/// or `{ "kind": "public" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LiveScope {
    /// The tabs signed in to this account.
    Account {
        /// The user id (the token's `sub`).
        id: String,
    },
    /// The tabs that named this session when they opened their stream (and may use it).
    Session {
        /// The session id.
        id: String,
    },
    /// Every tab.
    Public,
}

/// One message of the `live.events` stream (the data of one server-sent event), tagged by
/// `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LiveEvent {
    /// Refetch the queries of `scope` whose path is one of `paths` or lies under one of
    /// `prefixes` (`cart` matches `cart` and `cart.get`, not `carts`), and, when `input` is an
    /// object, only those whose input holds each of its keys with that value.
    Invalidate {
        /// Whose queries.
        scope: LiveScope,
        /// Exact procedure paths (`profile.getUser`).
        paths: Vec<String>,
        /// Path prefixes, matched at a dot boundary.
        prefixes: Vec<String>,
        /// A subset of the queries' input (`{ "postId": 5 }`), or `null` for every input.
        input: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// Events were lost (the stream fell behind, or resumed from an id the server no longer
    /// knows, after a restart or beyond the retention window): refetch every query of `scope`,
    /// or, when `scope` is `null`, of every scope of this stream.
    Reset {
        /// The scope to refetch, `null` for all of the stream's scopes.
        scope: Option<LiveScope>,
    },
    /// Sent first on every (re)connection: the stream is live, for this account and session.
    Ready {
        /// The verified caller's user id, `null` when anonymous.
        account: Option<String>,
        /// The session the stream delivers, `null` when none was named.
        session: Option<String>,
    },
}

impl LiveEvent {
    /// Whether this invalidation covers the query at `path` (an exact path or under a prefix,
    /// at a dot boundary). Always `false` for other events.
    ///
    /// ```
    /// use tabrpc_live::{LiveEvent, LiveScope};
    ///
    /// let event = LiveEvent::Invalidate {
    ///     scope: LiveScope::Public,
    ///     paths: vec!["profile.getUser".into()],
    ///     prefixes: vec!["cart".into()],
    ///     input: None,
    /// };
    /// assert!(event.covers("profile.getUser"));
    /// assert!(event.covers("cart") && event.covers("cart.get"));
    /// assert!(!event.covers("carts.get") && !event.covers("profile"));
    /// ```
    pub fn covers(&self, path: &str) -> bool {
        let LiveEvent::Invalidate {
            paths, prefixes, ..
        } = self
        else {
            return false;
        };
        paths.iter().any(|p| p == path)
            || prefixes.iter().any(|prefix| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
    }
}

/// What changed: procedure paths and path prefixes, and optionally an input subset. Built with
/// [`Paths::new`] then [`Paths::path`], [`Paths::prefix`] and [`Paths::input`], or from a list
/// of exact paths (`["profile.getUser"].into()`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paths {
    pub(crate) paths: Vec<String>,
    pub(crate) prefixes: Vec<String>,
    pub(crate) input: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Paths {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an exact procedure path (`profile.getUser`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Adds a path prefix: `cart` covers `cart` and every `cart.*`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefixes.push(prefix.into());
        self
    }

    /// Restricts the invalidation to queries whose input holds these keys with these values.
    /// A value that does not serialize to a JSON object is refused when published
    /// ([`ErrorKind::InvalidEvent`]).
    pub fn input(mut self, subset: impl Serialize) -> Self {
        self.input = match serde_json::to_value(subset) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            // Kept as an impossible marker so that `check` refuses it with a clear message.
            _ => Some(serde_json::Map::from_iter([(
                String::new(),
                serde_json::Value::Null,
            )])),
        };
        self
    }

    /// Checks the bounds (at least one path or prefix, at most [`MAX_PATHS`], each 1 to
    /// [`MAX_PATH_LEN`] bytes, an input object of at most [`MAX_INPUT_LEN`] bytes) and makes
    /// the event.
    pub(crate) fn into_event(self, scope: LiveScope) -> Result<LiveEvent, Error> {
        let invalid = |message: String| Err(Error::new(ErrorKind::InvalidEvent, message));
        let count = self.paths.len() + self.prefixes.len();
        if count == 0 {
            return invalid("an invalidation names at least one path or prefix".into());
        }
        if count > MAX_PATHS {
            return invalid(format!(
                "an invalidation names at most {MAX_PATHS} paths and prefixes, not {count}"
            ));
        }
        if let Some(bad) = self
            .paths
            .iter()
            .chain(&self.prefixes)
            .find(|p| p.is_empty() || p.len() > MAX_PATH_LEN)
        {
            return invalid(format!(
                "a path or prefix is 1 to {MAX_PATH_LEN} bytes long, not {}",
                bad.len()
            ));
        }
        if let Some(input) = &self.input {
            if input.contains_key("") {
                return invalid("an input subset must serialize to a JSON object".into());
            }
            let len = serde_json::to_string(input).map_or(usize::MAX, |s| s.len());
            if len > MAX_INPUT_LEN {
                return invalid(format!(
                    "an input subset is at most {MAX_INPUT_LEN} bytes of JSON, not {len}"
                ));
            }
        }
        Ok(LiveEvent::Invalidate {
            scope,
            paths: self.paths,
            prefixes: self.prefixes,
            input: self.input,
        })
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for Paths {
    fn from(paths: [S; N]) -> Self {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

impl From<Vec<String>> for Paths {
    fn from(paths: Vec<String>) -> Self {
        Self {
            paths,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_have_the_wire_shape_of_the_contract() {
        let event = Paths::new()
            .path("profile.getUser")
            .prefix("cart")
            .input(json!({ "postId": 5 }))
            .into_event(LiveScope::Account { id: "u1".into() });
        assert_eq!(
            serde_json::to_value(event.ok()).ok(),
            Some(json!({
                "type": "invalidate",
                "scope": { "kind": "account", "id": "u1" },
                "paths": ["profile.getUser"],
                "prefixes": ["cart"],
                "input": { "postId": 5 },
            }))
        );
        let reset = LiveEvent::Reset {
            scope: Some(LiveScope::Public),
        };
        assert_eq!(
            serde_json::to_value(reset).ok(),
            Some(json!({ "type": "reset", "scope": { "kind": "public" } }))
        );
        let ready = LiveEvent::Ready {
            account: None,
            session: Some("s".into()),
        };
        assert_eq!(
            serde_json::to_value(ready).ok(),
            Some(json!({ "type": "ready", "account": null, "session": "s" }))
        );
    }

    #[test]
    fn bounds_are_checked_with_a_message() {
        let kind = |paths: Paths| paths.into_event(LiveScope::Public).err().map(|e| e.kind());
        assert_eq!(kind(Paths::new()), Some(ErrorKind::InvalidEvent));
        assert_eq!(kind(Paths::new().path("")), Some(ErrorKind::InvalidEvent));
        assert_eq!(
            kind(Paths::new().path("a".repeat(MAX_PATH_LEN + 1))),
            Some(ErrorKind::InvalidEvent)
        );
        let many = (0..=MAX_PATHS).map(|i| format!("p{i}")).collect::<Vec<_>>();
        assert_eq!(kind(many.into()), Some(ErrorKind::InvalidEvent));
        assert_eq!(
            kind(Paths::from(["a"]).input(5)),
            Some(ErrorKind::InvalidEvent)
        );
        assert_eq!(
            kind(Paths::from(["a"]).input(json!({ "k": "x".repeat(MAX_INPUT_LEN) }))),
            Some(ErrorKind::InvalidEvent)
        );
        assert_eq!(kind(Paths::from(["a"]).input(json!({ "k": 1 }))), None);
    }
}
