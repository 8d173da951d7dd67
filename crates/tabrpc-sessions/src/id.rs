//! [`SessionId`]: the client-made handle of an anonymous session, a UUID v4.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::error::Error;

/// The message of the 400 answered for anything that is not a session id.
pub const INVALID_SESSION_ID: &str =
    "Invalid session id: expected a UUID v4 like 3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";

/// A session id: a random UUID v4 that the client makes (`crypto.randomUUID()`), keeps per tab
/// or per browser and passes as the `sessionId` parameter of session procedures.
///
/// It is a handle, never an authenticator: it names anonymous state (a cart), and a session
/// linked to an account answers only that account's verified caller. Still, whoever holds an
/// anonymous session's id can use it, so it is treated like a bearer value: never logged in
/// full ([`SessionId::fingerprint`] is for logs, and `Debug` prints only that), never sent to
/// another client, and with no `Display` or `Serialize`.
///
/// Parsing accepts exactly the 36-character hyphenated form of a version 4, RFC 4122 variant
/// UUID, in either case, and stores it lower-cased; anything else is a 400 BAD_REQUEST
/// ([`INVALID_SESSION_ID`]).
///
/// ```
/// use tabrpc_sessions::SessionId;
/// let id: SessionId = "3F0C2A9E-7B1D-4C5E-9A2F-1D3B5C7E9F10".parse().unwrap();
/// assert_eq!(id.as_str(), "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10");
/// let err = "not-a-uuid".parse::<SessionId>().unwrap_err();
/// assert_eq!(tabrpc_core::Error::from(err).code(), tabrpc_core::ErrorCode::BadRequest);
/// ```
///
/// It cannot go into a reply or a log line by accident (type-level checks):
///
/// ```compile_fail
/// fn reply<T: serde::Serialize>(_: &T) {}
/// reply(&"3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10".parse::<tabrpc_sessions::SessionId>().unwrap());
/// ```
///
/// ```compile_fail
/// let id: tabrpc_sessions::SessionId = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10".parse().unwrap();
/// let _ = format!("{id}");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// Parses a session id (see the type's docs for the accepted form).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidId`](crate::ErrorKind::InvalidId) for anything but a UUID v4.
    pub fn parse(value: &str) -> Result<Self, Error> {
        // The hyphenated form only: `uuid` also accepts simple, braced and URN forms, which
        // would let one session go by several spellings.
        let hyphens_ok = value.len() == 36
            && value
                .char_indices()
                .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
        let parsed = uuid::Uuid::try_parse(value).ok().filter(|_| hyphens_ok);
        match parsed {
            Some(uuid)
                if uuid.get_version() == Some(uuid::Version::Random)
                    && uuid.get_variant() == uuid::Variant::RFC4122 =>
            {
                Ok(Self(uuid.hyphenated().to_string()))
            }
            _ => Err(Error::invalid_id()),
        }
    }

    /// The id in its canonical lower-case form, for binding in SQL. Never log it: use
    /// [`SessionId::fingerprint`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, stable digest of the id for logs and traces (`s-1a2b3c4d`): enough to follow
    /// one session through the logs, useless to call with.
    pub fn fingerprint(&self) -> String {
        // SipHash with fixed keys: stable within a build, which is all log correlation needs;
        // 32 bits of a 122-bit random id give nothing away.
        let mut hasher = std::hash::DefaultHasher::new();
        self.0.hash(&mut hasher);
        format!("s-{:08x}", hasher.finish() as u32)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionId")
            .field(&self.fingerprint())
            .finish()
    }
}

impl FromStr for SessionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        // The core names the field in its 400: "Invalid input at `sessionId`: Invalid session
        // id: expected a UUID v4 …".
        Self::parse(&value).map_err(|_| serde::de::Error::custom(INVALID_SESSION_ID))
    }
}

impl specta::Type for SessionId {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <String as specta::Type>::definition(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";

    #[test]
    fn accepts_v4_in_either_case_and_normalises() {
        let upper = SessionId::parse(&V4.to_uppercase()).map(|id| id.as_str().to_owned());
        assert_eq!(upper.ok().as_deref(), Some(V4));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "not-a-uuid",
            "00000000-0000-0000-0000-000000000000",   // nil
            "3f0c2a9e-7b1d-1c5e-9a2f-1d3b5c7e9f10",   // version 1
            "3f0c2a9e-7b1d-4c5e-ca2f-1d3b5c7e9f10",   // Microsoft variant
            "3f0c2a9e7b1d4c5e9a2f1d3b5c7e9f10",       // simple form
            "{3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10}", // braced
            "urn:uuid:3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10",
            " 3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10",
        ] {
            let err = SessionId::parse(bad).err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(crate::ErrorKind::InvalidId),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn debug_and_fingerprint_never_show_the_id() {
        let id = SessionId::parse(V4).map_err(|e| e.to_string());
        let id = id.unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{id:?}");
        assert!(!debug.contains("3f0c2a9e"), "{debug}");
        assert_eq!(id.fingerprint(), id.clone().fingerprint());
        assert!(id.fingerprint().starts_with("s-"));
    }

    #[test]
    fn deserializing_a_bad_id_says_what_is_expected() {
        let err = serde_json::from_str::<SessionId>("\"x\"").err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("expected a UUID v4"), "{message}");
    }
}
