//! Who is calling: [`Identity`], either [`Authenticated`] by a verified token or anonymous for
//! an [`AnonymousReason`].

use std::fmt;

use crate::claims::Claims;

/// The caller of one request, as resolved by [`Resolver::resolve`](crate::Resolver::resolve).
///
/// Identity comes only from a verified token's `sub`; nothing in a procedure's input ever
/// decides it.
#[derive(Debug, Clone, PartialEq)]
// Most requests are authenticated, so boxing the large variant would cost an allocation on the
// common path and make matching on it clumsier, to save bytes on the rare one.
#[allow(clippy::large_enum_variant)]
pub enum Identity {
    /// A verified token named the caller.
    Authenticated(Authenticated),
    /// No usable credentials; `reason` says why (for logs and for the 401/503 answer).
    Anonymous {
        /// Why the caller is anonymous.
        reason: AnonymousReason,
    },
}

impl Identity {
    /// An anonymous identity for `reason`.
    pub const fn anonymous(reason: AnonymousReason) -> Self {
        Identity::Anonymous { reason }
    }

    /// An authenticated identity that no token vouches for: for tests of code that consumes
    /// identities (guards, procedures). Never build one from anything a request carries.
    pub fn dangerous_unverified(user_id: &str, session_id: Option<&str>, source: Source) -> Self {
        let claims = Claims {
            iss: String::new(),
            sub: user_id.to_owned(),
            aud: Vec::new(),
            exp: 0,
            nbf: None,
            iat: None,
            jti: None,
            azp: None,
            sid: session_id.map(str::to_owned),
            sts: None,
            extra: serde_json::Map::new(),
        };
        Identity::Authenticated(Authenticated {
            user_id: user_id.to_owned(),
            session_id: session_id.map(str::to_owned),
            claims,
            source,
        })
    }

    /// The authenticated caller, if any.
    pub fn authenticated(&self) -> Option<&Authenticated> {
        match self {
            Identity::Authenticated(auth) => Some(auth),
            Identity::Anonymous { .. } => None,
        }
    }

    /// The caller's user id (the token's `sub`), if authenticated.
    pub fn user_id(&self) -> Option<&str> {
        self.authenticated().map(|a| a.user_id.as_str())
    }

    /// Whether a verified token named the caller.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Identity::Authenticated(_))
    }

    /// Why the caller is anonymous, or `None` if authenticated.
    pub fn anonymous_reason(&self) -> Option<AnonymousReason> {
        match self {
            Identity::Authenticated(_) => None,
            Identity::Anonymous { reason } => Some(*reason),
        }
    }
}

/// A caller named by a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The token's `sub`: a non-empty string.
    pub user_id: String,
    /// The token's `sid` (session id), when present. Always present under the Clerk profile.
    pub session_id: Option<String>,
    /// The verified claims. Never log them whole.
    pub claims: Claims,
    /// Where the token came from.
    pub source: Source,
}

/// Where a verified token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The `Authorization: Bearer` header (the tab's own token).
    Header,
    /// The session cookie (shared by every tab of the browser).
    Cookie,
}

impl Source {
    /// `"header"` or `"cookie"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Header => "header",
            Source::Cookie => "cookie",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim that failed validation, carried by [`AnonymousReason::Claims`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `exp`: missing or not a number.
    Exp,
    /// `nbf`: not a number.
    Nbf,
    /// `iat`: not a number.
    Iat,
    /// `iss`: missing, not a string, or not the configured issuer.
    Iss,
    /// `sub`: missing, empty or not a string.
    Sub,
    /// `aud`: present while no audience is configured, or not one of the configured ones.
    Aud,
    /// `azp`: missing or not in the configured allow-list.
    Azp,
    /// `sid`: missing under the Clerk profile, or not a string.
    Sid,
    /// `sts`: not a string.
    Sts,
    /// Any other claim, or the claims set itself (not a JSON object).
    Other,
}

impl Claim {
    /// The claim's name, e.g. `"iss"` (`"other"` for [`Claim::Other`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
            Claim::Iss => "iss",
            Claim::Sub => "sub",
            Claim::Aud => "aud",
            Claim::Azp => "azp",
            Claim::Sid => "sid",
            Claim::Sts => "sts",
            Claim::Other => "other",
        }
    }
}

/// Why a caller is anonymous. Each value has a snake_case name ([`as_str`](Self::as_str)) for
/// logs and metrics.
///
/// The first seven concern the request's credentials as a whole; the rest are failures to
/// verify a token that was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnonymousReason {
    /// No `Authorization` header and no session cookie.
    None,
    /// Several `Authorization` headers, or several session cookies whose verified subjects
    /// differ.
    Ambiguous,
    /// An `Authorization` header whose scheme is not `Bearer` (or that is not visible ASCII).
    BadScheme,
    /// `Bearer` with `""`, `null` or `undefined`: a client that had no token. Never falls back
    /// to the cookie.
    Placeholder,
    /// No `Authorization` header but the fail-closed marker header: the client could not get a
    /// token for this tab, so the shared cookie is ignored.
    FailClosed,
    /// A cookie-authenticated request with an unsafe method failed the CSRF rule
    /// ([`Resolver::cookie_csrf_ok`](crate::Resolver::cookie_csrf_ok)).
    Csrf,
    /// The request names its account (`x-tabrpc-account`, sent by a signed-in tab without a
    /// bearer token) and the session cookie's verified `sub` is another one: the shared cookie
    /// belongs to another tab's account, so it does not answer for this one.
    AccountMismatch,
    /// `exp` is more than the leeway in the past.
    Expired,
    /// `nbf` is more than the leeway in the future.
    NotYetValid,
    /// `iat` is more than the leeway in the future.
    IssuedInFuture,
    /// The signature does not verify with the selected key.
    BadSignature,
    /// `alg` is `none` (any case), symmetric, unknown, not in the allow-list, or does not fit
    /// the selected key.
    BadAlg,
    /// No key with this `kid`, even after the allowed refetch.
    UnknownKid,
    /// The key source needs a `kid` (a JWKS) and the token has none.
    MissingKid,
    /// `kid` does not match `^[A-Za-z0-9_-]{1,64}$`.
    BadKid,
    /// A claim is missing or invalid; carries which.
    Claims(Claim),
    /// Not three base64url segments of JSON, or a header that cannot be honoured (`crit`).
    Malformed,
    /// The token is larger than the configured cap.
    TooLarge,
    /// `exp - iat` is longer than the configured maximum token lifetime
    /// ([`VerifierBuilder::max_token_lifetime`](crate::VerifierBuilder::max_token_lifetime)).
    LifetimeTooLong,
    /// The server's clock reads before 1970, so no token's validity can be judged. Answered
    /// like [`NotReady`](Self::NotReady) (503): the server, not the token, is at fault, and it
    /// never accepts instead.
    ClockBeforeEpoch,
    /// No signing keys were ever loaded (a JWKS URL unreachable since boot). Answer 503 with
    /// `Retry-After`, never "accept unverified".
    NotReady,
    /// Clerk profile: the header `cat` names a token category other than session tokens.
    WrongCategory,
    /// Clerk profile: `sts` is `pending` and the policy rejects pending sessions.
    PendingSession,
}

impl AnonymousReason {
    /// The snake_case name, e.g. `"unknown_kid"` (`"claims"` for every [`Claims`](Self::Claims);
    /// see [`claim`](Self::claim)).
    pub const fn as_str(self) -> &'static str {
        match self {
            AnonymousReason::None => "none",
            AnonymousReason::Ambiguous => "ambiguous",
            AnonymousReason::BadScheme => "bad_scheme",
            AnonymousReason::Placeholder => "placeholder",
            AnonymousReason::FailClosed => "fail_closed",
            AnonymousReason::Csrf => "csrf",
            AnonymousReason::AccountMismatch => "account_mismatch",
            AnonymousReason::Expired => "expired",
            AnonymousReason::NotYetValid => "not_yet_valid",
            AnonymousReason::IssuedInFuture => "issued_in_future",
            AnonymousReason::BadSignature => "bad_signature",
            AnonymousReason::BadAlg => "bad_alg",
            AnonymousReason::UnknownKid => "unknown_kid",
            AnonymousReason::MissingKid => "missing_kid",
            AnonymousReason::BadKid => "bad_kid",
            AnonymousReason::Claims(_) => "claims",
            AnonymousReason::Malformed => "malformed",
            AnonymousReason::TooLarge => "too_large",
            AnonymousReason::LifetimeTooLong => "lifetime_too_long",
            AnonymousReason::ClockBeforeEpoch => "clock_before_epoch",
            AnonymousReason::NotReady => "not_ready",
            AnonymousReason::WrongCategory => "wrong_category",
            AnonymousReason::PendingSession => "pending_session",
        }
    }

    /// The failing claim's name for [`Claims`](Self::Claims), else `None`.
    pub const fn claim(self) -> Option<&'static str> {
        match self {
            AnonymousReason::Claims(claim) => Some(claim.as_str()),
            _ => None,
        }
    }

    /// Whether a presented token was rejected: the 401 then carries
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1), telling the client to
    /// get a fresh token. A placeholder counts: the client presented something that is not a
    /// token.
    pub const fn is_invalid_token(self) -> bool {
        !matches!(
            self,
            AnonymousReason::None
                | AnonymousReason::Ambiguous
                | AnonymousReason::BadScheme
                | AnonymousReason::FailClosed
                | AnonymousReason::Csrf
                | AnonymousReason::AccountMismatch
                | AnonymousReason::NotReady
                | AnonymousReason::ClockBeforeEpoch
        )
    }

    /// The RFC 6750 `error` attribute for the `WWW-Authenticate: Bearer` challenge:
    /// `invalid_token` for a rejected token, `invalid_request` for ambiguous credentials, else
    /// none (a bare challenge).
    pub const fn bearer_error(self) -> Option<&'static str> {
        match self {
            AnonymousReason::Ambiguous => Some("invalid_request"),
            reason if reason.is_invalid_token() => Some("invalid_token"),
            _ => None,
        }
    }

    /// Whether the server, not the caller, is at fault: no keys were ever loaded, or its clock
    /// reads before 1970. Answer 503 with `Retry-After` instead of 401.
    pub const fn is_not_ready(self) -> bool {
        matches!(
            self,
            AnonymousReason::NotReady | AnonymousReason::ClockBeforeEpoch
        )
    }
}

impl fmt::Display for AnonymousReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.claim() {
            Some(claim) => write!(f, "claims ({claim})"),
            None => f.write_str(self.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_snake_case_names() {
        assert_eq!(AnonymousReason::UnknownKid.as_str(), "unknown_kid");
        assert_eq!(AnonymousReason::Claims(Claim::Iss).as_str(), "claims");
        assert_eq!(AnonymousReason::Claims(Claim::Iss).claim(), Some("iss"));
        assert_eq!(
            AnonymousReason::Claims(Claim::Aud).to_string(),
            "claims (aud)"
        );
    }

    #[test]
    fn bearer_error_tells_token_problems_from_request_problems() {
        assert_eq!(
            AnonymousReason::Expired.bearer_error(),
            Some("invalid_token")
        );
        assert_eq!(
            AnonymousReason::Placeholder.bearer_error(),
            Some("invalid_token")
        );
        assert_eq!(
            AnonymousReason::Ambiguous.bearer_error(),
            Some("invalid_request")
        );
        assert_eq!(AnonymousReason::None.bearer_error(), None);
        assert_eq!(AnonymousReason::FailClosed.bearer_error(), None);
        assert_eq!(AnonymousReason::NotReady.bearer_error(), None);
        assert!(AnonymousReason::NotReady.is_not_ready());
        assert!(AnonymousReason::ClockBeforeEpoch.is_not_ready());
        assert_eq!(AnonymousReason::AccountMismatch.bearer_error(), None);
        assert_eq!(
            AnonymousReason::AccountMismatch.as_str(),
            "account_mismatch"
        );
        assert_eq!(
            AnonymousReason::LifetimeTooLong.bearer_error(),
            Some("invalid_token")
        );
    }

    #[test]
    fn identity_accessors() {
        let who = Identity::dangerous_unverified("user_1", Some("sess_1"), Source::Header);
        assert_eq!(who.user_id(), Some("user_1"));
        assert_eq!(who.anonymous_reason(), None);
        assert_eq!(
            who.authenticated().and_then(|a| a.session_id.as_deref()),
            Some("sess_1")
        );
        let anon = Identity::anonymous(AnonymousReason::None);
        assert!(!anon.is_authenticated());
        assert_eq!(anon.user_id(), None);
        assert_eq!(anon.anonymous_reason(), Some(AnonymousReason::None));
    }
}
