//! The crypto backend: installing `jsonwebtoken`'s aws-lc-rs provider, and the start-up
//! [`self_check`] that proves it verifies (and refuses) signatures before any request arrives.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};

/// Installs `jsonwebtoken`'s aws-lc-rs crypto provider as the process default.
///
/// `jsonwebtoken` 11 picks a provider from its crate features only when exactly one backend
/// feature is on; another crate in the build enabling `rust_crypto` would otherwise turn every
/// verification into a panic. Installing explicitly removes that dependency on feature
/// unification. Idempotent: if a provider is already installed (this one or another), it is
/// kept. [`VerifierBuilder::build`](crate::VerifierBuilder::build) calls it.
pub fn install_crypto_provider() {
    // `Err` means a provider was installed first; it is a complete provider too.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

// A fixed RS256 token and its public key, made once offline. The key's private half was thrown
// away; the token expires in 2100.
const FIXTURE_N: &str = "zGxmeRXd63RJkPMwU25Y0ltAHQBULDyAsEAl3XL-Cf2L-c1KFhDUtXSvAXQhJdKnbIoPJbsGsETxGTjxaGk-t48YM9X2fLE9_L77RjvwhTNLeTroLqFXDUdy263YsZnXfWWS1QaPOZ3VE4IeNntvyN1K1i6Ngcol4c0pu7Hx_UHM-o4KupCU1QtPt1LU2h4o6Z2jjNf1BbQjEALOlR3UAtfbYg6Ymu0F6GMwU3sHlfVizM2GKs1WCBey2u6AHMmiu0lhTIA6iZ29hbizeaagHIUGOHt3k3n1pRb2dSRhe8rjN8JNmtJE2ZDqyvrx6_Dub55Tf5olquYB2joh0LrE6Q";
const FIXTURE_E: &str = "AQAB";
const FIXTURE_TOKEN: &str = concat!(
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNlbGYtY2hlY2sifQ.",
    "eyJpc3MiOiJ0YWJycGMtc2VsZi1jaGVjayIsInN1YiI6InNlbGYtY2hlY2siLCJleHAiOjQxMDI0NDQ4MDB9.",
    "djSZELKw3JFz7W8dUdi5jMaj8CSXODsoYhnLJBue9dI2udTpi-JXbYc-b3O7xJzVa3r88M8dHxtysmUpoFIcmbx56-",
    "ImpCtnCXlwrl03rC0PIQTGC18Xo07ePTHGYNxSPCbLgO6J7l1lh5JCjeyYiNsuuRhkPsOTZj2XUQFq-nw0f-wV07nkgx",
    "m6Yt5jo9I1e8MJXe5iBz1PGyiSDcPGIjgFolgEPYSz7tlWgdcYNoiw4eZMABatR_sHm_qrkPcOOh62IXDYBtCmt0tmx",
    "r7maHWbTXHfFZ7UAS2A1FfzgWsI8YkDaz8o3SD_Na_Vc8mfaagjXXAOTnajzF8C4FPxoQ",
);
const FIXTURE_ISSUER: &str = "tabrpc-self-check";

/// Installs the crypto provider and verifies a built-in RS256 fixture token (and checks that a
/// tampered copy is refused), so that a mis-built binary fails at start-up, not inside a
/// request.
///
/// Runs the check once per process and returns the same answer afterwards.
/// [`VerifierBuilder::build`](crate::VerifierBuilder::build) calls it; call it yourself first
/// thing in `main` to fail before binding a port.
///
/// ```
/// tabrpc_auth::self_check().expect("crypto backend works");
/// ```
///
/// # Errors
///
/// [`ErrorKind::Crypto`] if the fixture does not verify or the tampered copy does.
pub fn self_check() -> Result<(), Error> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(run_self_check)
        .clone()
        .map_err(|message| Error::new(ErrorKind::Crypto, message))
}

fn run_self_check() -> Result<(), String> {
    install_crypto_provider();
    let key = DecodingKey::from_rsa_components(FIXTURE_N, FIXTURE_E)
        .map_err(|e| format!("fixture key rejected: {e}"))?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[FIXTURE_ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(FIXTURE_TOKEN, &key, &validation)
        .map_err(|e| format!("fixture token does not verify: {e}"))?;
    if data.claims.get("sub").and_then(Value::as_str) != Some("self-check") {
        return Err("fixture token verified with unexpected claims".into());
    }
    // A backend that says "valid" to everything would pass the check above.
    let forged_claims = URL_SAFE_NO_PAD
        .encode(r#"{"iss":"tabrpc-self-check","sub":"someone-else","exp":4102444800}"#);
    let mut parts = FIXTURE_TOKEN.split('.');
    let (header, signature) = (parts.next().unwrap_or(""), parts.nth(1).unwrap_or(""));
    let tampered = format!("{header}.{forged_claims}.{signature}");
    match jsonwebtoken::decode::<Map<String, Value>>(&tampered, &key, &validation) {
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => Ok(()),
        Err(e) => Err(format!(
            "tampered fixture refused for the wrong reason: {e}"
        )),
        Ok(_) => Err("tampered fixture token verified: the crypto backend accepts anything".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_check_passes_and_is_repeatable() {
        assert!(self_check().is_ok());
        assert!(self_check().is_ok());
    }
}
