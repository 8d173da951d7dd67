//! The verified claims of a token, [`Claims`], and the checks `jsonwebtoken` does not make
//! (non-empty `sub`, `iat` in the future, `azp`, Clerk's `sid` and `sts`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::identity::{AnonymousReason, Claim};

/// The claims of a verified token: the registered ones typed, everything else in
/// [`extra`](Self::extra).
///
/// It is never logged whole (it may carry e-mail addresses and other personal data).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Claims {
    /// `iss`: the issuer, equal to the configured one.
    pub iss: String,
    /// `sub`: the user id, a non-empty string.
    pub sub: String,
    /// `aud`: the audiences (empty when the token has none).
    pub aud: Vec<String>,
    /// `exp`: expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// `nbf`: not before, seconds since the Unix epoch.
    pub nbf: Option<u64>,
    /// `iat`: issued at, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// `jti`: the token id.
    pub jti: Option<String>,
    /// `azp`: the authorized party (for Clerk, the origin of the page that asked for the token).
    pub azp: Option<String>,
    /// `sid`: the session id.
    pub sid: Option<String>,
    /// `sts`: Clerk's session status (`active` or `pending`).
    pub sts: Option<String>,
    /// Every other claim, as sent (for Clerk: `v`, `fva`, `o`, template claims…).
    pub extra: Map<String, Value>,
}

/// What the claims of a token with a valid signature must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: String,
    pub(crate) leeway_secs: u64,
    pub(crate) audience: Option<Vec<String>>,
    pub(crate) authorized_parties: Option<Vec<String>>,
    pub(crate) require_sid: bool,
    pub(crate) reject_pending: bool,
    /// The longest `exp - iat` accepted (then `iat` is required); `None`: no limit.
    pub(crate) max_lifetime_secs: Option<u64>,
}

impl ClaimRules {
    /// Whether claims that passed [`Claims::from_verified`] are still within their validity
    /// window at `now`: the same `exp`, `nbf` and `iat` rules, with the same leeway (what the
    /// token cache checks on every hit).
    pub(crate) fn times_ok(&self, exp: u64, nbf: Option<u64>, iat: Option<u64>, now: u64) -> bool {
        let leeway = self.leeway_secs;
        !expired(exp, now, leeway) && !in_future(nbf, now, leeway) && !in_future(iat, now, leeway)
    }
}

/// `exp` is more than the leeway in the past.
fn expired(exp: u64, now: u64, leeway: u64) -> bool {
    exp.saturating_add(leeway) < now
}

/// `nbf` or `iat` is more than the leeway in the future.
fn in_future(at: Option<u64>, now: u64, leeway: u64) -> bool {
    at.is_some_and(|at| at > now.saturating_add(leeway))
}

impl Claims {
    /// Validates and types the claims of a token whose signature verified. `now` is seconds
    /// since the Unix epoch.
    ///
    /// Done here rather than by `jsonwebtoken::decode`, which reports a `sub` or `exp` of the
    /// wrong JSON type as an unparsable token and accepts an array `iss` that merely
    /// intersects the allowed set; the reasons here name the claim.
    pub(crate) fn from_verified(
        mut map: Map<String, Value>,
        rules: &ClaimRules,
        now: u64,
    ) -> Result<Self, AnonymousReason> {
        let bad = |claim| AnonymousReason::Claims(claim);
        let leeway = rules.leeway_secs;

        let exp = numeric(map.remove("exp")).ok_or(bad(Claim::Exp))?;
        if expired(exp, now, leeway) {
            return Err(AnonymousReason::Expired);
        }
        let nbf = optional_numeric(map.remove("nbf")).ok_or(bad(Claim::Nbf))?;
        if in_future(nbf, now, leeway) {
            return Err(AnonymousReason::NotYetValid);
        }
        let iat = optional_numeric(map.remove("iat")).ok_or(bad(Claim::Iat))?;
        if in_future(iat, now, leeway) {
            return Err(AnonymousReason::IssuedInFuture);
        }
        if let Some(max) = rules.max_lifetime_secs {
            let iat = iat.ok_or(bad(Claim::Iat))?;
            if exp.saturating_sub(iat) > max {
                return Err(AnonymousReason::LifetimeTooLong);
            }
        }
        // An issuer is a single string (RFC 7519 §4.1.1), equal to the configured one.
        let iss = match map.remove("iss") {
            Some(Value::String(iss)) if iss == rules.issuer => iss,
            _ => return Err(bad(Claim::Iss)),
        };
        let sub = match map.remove("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub,
            _ => return Err(bad(Claim::Sub)),
        };
        let aud = match map.remove("aud") {
            None => Vec::new(),
            Some(Value::String(aud)) => vec![aud],
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(aud) => Ok(aud),
                    _ => Err(bad(Claim::Aud)),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad(Claim::Aud)),
        };
        match &rules.audience {
            Some(allowed) if !aud.iter().any(|a| allowed.contains(a)) => {
                return Err(bad(Claim::Aud));
            }
            // RFC 7519 §4.1.3: a token naming an audience is refused by a recipient that does
            // not identify with it, and with none configured this server identifies with none.
            None if !aud.is_empty() => return Err(bad(Claim::Aud)),
            _ => {}
        }
        let jti = optional_string(map.remove("jti")).ok_or(bad(Claim::Other))?;
        let azp = optional_string(map.remove("azp")).ok_or(bad(Claim::Azp))?;
        if let Some(allowed) = &rules.authorized_parties {
            // Exact match: `azp` is an origin and a prefix or case-insensitive match would let
            // `https://example.com.evil.test` through.
            if !azp.as_ref().is_some_and(|azp| allowed.contains(azp)) {
                return Err(bad(Claim::Azp));
            }
        }
        let sid = optional_string(map.remove("sid")).ok_or(bad(Claim::Sid))?;
        if rules.require_sid && sid.as_deref().is_none_or(str::is_empty) {
            return Err(bad(Claim::Sid));
        }
        let sts = optional_string(map.remove("sts")).ok_or(bad(Claim::Sts))?;
        if rules.reject_pending && sts.as_deref() == Some("pending") {
            return Err(AnonymousReason::PendingSession);
        }
        Ok(Claims {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
            azp,
            sid,
            sts,
            extra: map,
        })
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative number, fractions allowed (truncated).
fn numeric(value: Option<Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// `Some(None)` when absent, `Some(Some(n))` when numeric, `None` when present but invalid.
fn optional_numeric(value: Option<Value>) -> Option<Option<u64>> {
    match value {
        None | Some(Value::Null) => Some(None),
        value => numeric(value).map(Some),
    }
}

/// `Some(None)` when absent, `Some(Some(s))` when a string, `None` when present but not a string.
fn optional_string(value: Option<Value>) -> Option<Option<String>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://idp.test".into(),
            leeway_secs: 60,
            audience: None,
            authorized_parties: None,
            require_sid: false,
            reject_pending: false,
            max_lifetime_secs: None,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test claims are objects"),
        }
    }

    fn base() -> Value {
        json!({"iss": "https://idp.test", "sub": "user_1", "exp": NOW + 60, "iat": NOW})
    }

    fn with(key: &str, value: Value) -> Map<String, Value> {
        let mut map = claims(base());
        map.insert(key.into(), value);
        map
    }

    #[test]
    fn types_registered_claims_and_keeps_the_rest() {
        let mut map = with("org", json!("o_1"));
        map.insert("aud".into(), json!(["a", "b"]));
        let rules = ClaimRules {
            audience: Some(vec!["b".into()]),
            ..rules()
        };
        let c = Claims::from_verified(map, &rules, NOW).unwrap();
        assert_eq!(c.sub, "user_1");
        assert_eq!(c.aud, ["a", "b"]);
        assert_eq!(c.iat, Some(NOW));
        assert_eq!(c.extra.get("org"), Some(&json!("o_1")));
        assert!(!c.extra.contains_key("sub"));
    }

    #[test]
    fn empty_or_non_string_sub_is_rejected() {
        for sub in [json!(""), json!(42), json!(null)] {
            let err = Claims::from_verified(with("sub", sub), &rules(), NOW).unwrap_err();
            assert_eq!(err, AnonymousReason::Claims(Claim::Sub));
        }
    }

    #[test]
    fn array_issuer_is_rejected() {
        let map = with("iss", json!(["https://idp.test", "x"]));
        let err = Claims::from_verified(map, &rules(), NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::Claims(Claim::Iss));
    }

    #[test]
    fn iat_beyond_leeway_is_rejected_within_leeway_accepted() {
        let err = Claims::from_verified(with("iat", json!(NOW + 61)), &rules(), NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::IssuedInFuture);
        assert!(Claims::from_verified(with("iat", json!(NOW + 60)), &rules(), NOW).is_ok());
        let err = Claims::from_verified(with("iat", json!("soon")), &rules(), NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::Claims(Claim::Iat));
    }

    #[test]
    fn azp_allow_list_is_exact() {
        let rules = ClaimRules {
            authorized_parties: Some(vec!["https://app.test".into()]),
            ..rules()
        };
        assert!(Claims::from_verified(with("azp", json!("https://app.test")), &rules, NOW).is_ok());
        for azp in [
            json!("https://app.test.evil"),
            json!("HTTPS://APP.TEST"),
            json!(1),
        ] {
            let err = Claims::from_verified(with("azp", azp), &rules, NOW).unwrap_err();
            assert_eq!(err, AnonymousReason::Claims(Claim::Azp));
        }
        let err = Claims::from_verified(claims(base()), &rules, NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::Claims(Claim::Azp));
    }

    #[test]
    fn clerk_rules_require_sid_and_may_reject_pending() {
        let rules = ClaimRules {
            require_sid: true,
            reject_pending: true,
            ..rules()
        };
        let err = Claims::from_verified(claims(base()), &rules, NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::Claims(Claim::Sid));
        let mut map = with("sid", json!("sess_1"));
        map.insert("sts".into(), json!("pending"));
        let err = Claims::from_verified(map, &rules, NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::PendingSession);
        let mut map = with("sid", json!("sess_1"));
        map.insert("sts".into(), json!("active"));
        let c = Claims::from_verified(map, &rules, NOW).unwrap();
        assert_eq!(c.sid.as_deref(), Some("sess_1"));
    }

    #[test]
    fn exp_and_nbf_honour_the_leeway() {
        let at =
            |key: &str, value: u64| Claims::from_verified(with(key, json!(value)), &rules(), NOW);
        assert!(at("exp", NOW - 60).is_ok());
        assert_eq!(at("exp", NOW - 61).unwrap_err(), AnonymousReason::Expired);
        assert!(at("nbf", NOW + 60).is_ok());
        assert_eq!(
            at("nbf", NOW + 61).unwrap_err(),
            AnonymousReason::NotYetValid
        );
        let mut map = claims(base());
        map.remove("exp");
        let err = Claims::from_verified(map, &rules(), NOW).unwrap_err();
        assert_eq!(err, AnonymousReason::Claims(Claim::Exp));
    }

    #[test]
    fn audience_must_intersect_or_be_absent() {
        let configured = ClaimRules {
            audience: Some(vec!["api".into()]),
            ..rules()
        };
        let check = |aud: Value, rules: &ClaimRules| {
            Claims::from_verified(with("aud", aud), rules, NOW).map(|c| c.aud)
        };
        assert_eq!(
            check(json!(["x", "api"]), &configured).unwrap(),
            ["x", "api"]
        );
        assert!(check(json!("x"), &configured).is_err());
        assert!(check(json!([1]), &configured).is_err());
        assert!(Claims::from_verified(claims(base()), &configured, NOW).is_err());
        assert!(check(json!("api"), &rules()).is_err());
        assert!(check(json!([]), &rules()).is_ok());
    }

    #[test]
    fn a_maximum_lifetime_refuses_longer_tokens_and_requires_iat() {
        let limited = ClaimRules {
            max_lifetime_secs: Some(60),
            ..rules()
        };
        let at = |exp: u64, iat: Option<u64>| {
            let mut map = with("exp", json!(exp));
            match iat {
                Some(iat) => map.insert("iat".into(), json!(iat)),
                None => map.remove("iat"),
            };
            Claims::from_verified(map, &limited, NOW)
        };
        assert!(at(NOW + 60, Some(NOW)).is_ok());
        assert_eq!(
            at(NOW + 61, Some(NOW)).unwrap_err(),
            AnonymousReason::LifetimeTooLong
        );
        assert_eq!(
            at(NOW + 30, None).unwrap_err(),
            AnonymousReason::Claims(Claim::Iat)
        );
        // Without a maximum, neither matters.
        let mut map = with("exp", json!(NOW + 86_400 * 365));
        map.remove("iat");
        assert!(Claims::from_verified(map, &rules(), NOW).is_ok());
    }

    #[test]
    fn numeric_dates_accept_fractions_only_when_non_negative() {
        assert_eq!(numeric(Some(json!(12.7))), Some(12));
        assert_eq!(numeric(Some(json!(-1))), None);
        assert_eq!(numeric(Some(json!("12"))), None);
    }
}
