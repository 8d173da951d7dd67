//! The JOSE header, read before any key lookup: `alg` against the allow-list, `kid` format,
//! Clerk's `cat`. `jku`, `x5u`, `jwk` and `x5c` are never read: keys come only from the
//! configured source.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::identity::AnonymousReason;

/// Clerk's protected-header token categories (`cat`), as in Clerk's backend SDK: session tokens
/// carry the first; instances that opted out of categories stamp the second on every token.
/// Any other value (JWT templates `cl_B7d4PD222AAA`, machine tokens `cl_B7d4PD333AAA`, …) is not
/// a session token.
pub(crate) const CLERK_SESSION_CATEGORIES: [&str; 2] = ["cl_B7d4PD111AAA", "cl_I7d4PD111III"];

/// Whether `kid` matches `^[A-Za-z0-9_-]{1,64}$`, the only shape looked up or logged: a `kid`
/// is attacker-chosen and must not reach a path, a query or a log line unchecked.
pub(crate) fn kid_is_well_formed(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The header fields the verifier acts on.
#[derive(Debug)]
pub(crate) struct TokenHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// What a header check learned, even when it fails: the `kid`, once well-formed, is logged.
#[derive(Debug, Default)]
pub(crate) struct HeaderFacts {
    pub(crate) kid: Option<String>,
}

/// Reads and checks the header segment.
pub(crate) fn check_header(
    segment: &str,
    allowed: &[Algorithm],
    facts: &mut HeaderFacts,
) -> Result<TokenHeader, AnonymousReason> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AnonymousReason::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| AnonymousReason::Malformed)?;

    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid_is_well_formed(kid) => Some(kid.clone()),
        Some(_) => return Err(AnonymousReason::BadKid),
    };
    facts.kid.clone_from(&kid);

    // `none` in any spelling is refused here, before anything else could be lenient about it.
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_name(name)
            .filter(|alg| allowed.contains(alg))
            .ok_or(AnonymousReason::BadAlg)?,
        _ => return Err(AnonymousReason::BadAlg),
    };

    // RFC 7515 §4.1.11: a `crit` extension the recipient does not understand must be refused,
    // and this verifier understands none.
    if header.contains_key("crit") {
        return Err(AnonymousReason::Malformed);
    }

    // A token that declares a category other than a session token's (a JWT template, an M2M
    // token) is never a caller's session, whether or not the Clerk profile is on; issuers that
    // do not use `cat` are unaffected.
    match header.get("cat") {
        None => {}
        Some(Value::String(cat)) if CLERK_SESSION_CATEGORIES.contains(&cat.as_str()) => {}
        Some(_) => return Err(AnonymousReason::WrongCategory),
    }
    Ok(TokenHeader { alg, kid })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn encode(header: Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
    }

    /// `_clerk` is kept so the cases read as before: the `cat` rule no longer depends on it.
    fn check(header: Value, _clerk: bool) -> Result<TokenHeader, AnonymousReason> {
        check_header(
            &encode(header),
            &[Algorithm::RS256],
            &mut HeaderFacts::default(),
        )
    }

    #[test]
    fn kid_format() {
        assert!(kid_is_well_formed("ins_2abcDEF-09"));
        assert!(kid_is_well_formed(&"a".repeat(64)));
        for bad in [
            "",
            "../keys",
            "a b",
            "k'; DROP TABLE keys;--",
            "kid/1",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!kid_is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn alg_must_be_allowed_and_exact() {
        let ok = check(json!({"alg": "RS256", "kid": "k1"}), false).unwrap();
        assert_eq!((ok.alg, ok.kid.as_deref()), (Algorithm::RS256, Some("k1")));
        for alg in [
            json!("none"),
            json!("None"),
            json!("NONE"),
            json!("HS256"),
            json!("PS256"),
            json!("rs256"),
            json!(null),
            json!(["RS256"]),
        ] {
            let err = check(json!({"alg": alg, "kid": "k1"}), false).unwrap_err();
            assert_eq!(err, AnonymousReason::BadAlg, "{alg}");
        }
        assert_eq!(
            check(json!({"kid": "k1"}), false).unwrap_err(),
            AnonymousReason::BadAlg
        );
    }

    #[test]
    fn malformed_kid_is_not_recorded() {
        let mut facts = HeaderFacts::default();
        let err = check_header(
            &encode(json!({"alg": "RS256", "kid": "../../x"})),
            &[Algorithm::RS256],
            &mut facts,
        )
        .unwrap_err();
        assert_eq!(err, AnonymousReason::BadKid);
        assert_eq!(facts.kid, None);
        assert_eq!(
            check(json!({"alg": "RS256", "kid": 7}), false).unwrap_err(),
            AnonymousReason::BadKid
        );
    }

    #[test]
    fn clerk_category() {
        let session = json!({"alg": "RS256", "kid": "k", "cat": "cl_B7d4PD111AAA"});
        assert!(check(session, true).is_ok());
        assert!(
            check(
                json!({"alg": "RS256", "kid": "k", "cat": "cl_I7d4PD111III"}),
                true
            )
            .is_ok()
        );
        assert!(check(json!({"alg": "RS256", "kid": "k"}), true).is_ok());
        let template = json!({"alg": "RS256", "kid": "k", "cat": "cl_B7d4PD222AAA"});
        assert_eq!(
            check(template.clone(), true).unwrap_err(),
            AnonymousReason::WrongCategory
        );
        assert_eq!(
            check(template, false).unwrap_err(),
            AnonymousReason::WrongCategory
        );
    }

    #[test]
    fn garbage_is_malformed_and_crit_is_refused() {
        let mut facts = HeaderFacts::default();
        for segment in ["", "!!!", "eyJhbGciOiJSUzI1NiJ9=", "bm90IGpzb24"] {
            let err = check_header(segment, &[Algorithm::RS256], &mut facts).unwrap_err();
            assert_eq!(err, AnonymousReason::Malformed, "{segment}");
        }
        let crit = json!({"alg": "RS256", "kid": "k", "crit": ["b64"], "b64": false});
        assert_eq!(check(crit, false).unwrap_err(), AnonymousReason::Malformed);
    }
}
