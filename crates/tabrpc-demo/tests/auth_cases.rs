//! Every case of auth.md §2 "Cases that must be tested", each as real HTTP requests to the
//! demo: the protected `onboarding.getProgress` answers 200 for an accepted credential and a
//! 401 UNAUTHORIZED tRPC error with a `WWW-Authenticate: Bearer` challenge for a rejected one,
//! while the public `profile.getUser` answers the caller's profile, or the anonymous profile,
//! and never a 500.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;
use tabrpc::auth::{ClerkProfile, KeySource};
use tabrpc_demo::{AuthSettings, Issuer};

const PROTECTED: &str = "onboarding.getProgress";
const PUBLIC: &str = "profile.getUser";

type Headers = Vec<(String, String)>;

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn with_bearer(token: &str) -> Headers {
    headers(&[("authorization", &bearer(token))])
}

/// The `WWW-Authenticate` challenge a rejection must carry.
#[derive(Debug, Clone, Copy)]
enum Challenge {
    /// `Bearer error="invalid_token"`: a presented token was refused.
    InvalidToken,
    /// `Bearer error="invalid_request"`: the credentials were ambiguous.
    InvalidRequest,
    /// `Bearer`: no usable credential was presented.
    Bare,
}

impl Challenge {
    fn expected(self) -> &'static str {
        match self {
            Challenge::InvalidToken => r#"Bearer error="invalid_token""#,
            Challenge::InvalidRequest => r#"Bearer error="invalid_request""#,
            Challenge::Bare => "Bearer",
        }
    }
}

/// Runs named cases against a demo and reports every failing one by name at the end.
#[derive(Default)]
struct Cases {
    ran: usize,
    failures: Vec<String>,
}

impl Cases {
    /// `headers` authenticate as `user`: the protected procedure answers 200 (a fresh user's
    /// progress) and the public one answers `user`'s profile.
    async fn accept(&mut self, demo: &Demo, case: &str, headers: &Headers, user: &str) {
        self.ran += 1;
        let protected = demo.query(PROTECTED).headers(headers).send().await;
        let json = serde_json::from_str::<Value>(&protected.text).unwrap_or(Value::Null);
        if protected.status != 200
            || json.pointer("/result/data/next") != Some(&json!("welcome"))
            || json.pointer("/result/data/completed") != Some(&json!([]))
        {
            self.fail(case, "the protected procedure must answer 200", &protected);
            return;
        }
        let public = demo.query(PUBLIC).headers(headers).send().await;
        let json = serde_json::from_str::<Value>(&public.text).unwrap_or(Value::Null);
        if public.status != 200
            || json.pointer("/result/data/id") != Some(&json!(user))
            || json.pointer("/result/data/signedIn") != Some(&json!(true))
        {
            self.fail(
                case,
                &format!("the public procedure must answer as {user}"),
                &public,
            );
        }
    }

    /// `headers` leave the caller anonymous: the protected procedure answers 401 UNAUTHORIZED
    /// (tRPC envelope, `challenge`) and the public one the anonymous profile.
    async fn reject(&mut self, demo: &Demo, case: &str, headers: &Headers, challenge: Challenge) {
        self.ran += 1;
        let protected = demo.query(PROTECTED).headers(headers).send().await;
        let json = serde_json::from_str::<Value>(&protected.text).unwrap_or(Value::Null);
        let envelope_ok = json.pointer("/error/data/code") == Some(&json!("UNAUTHORIZED"))
            && json.pointer("/error/data/httpStatus") == Some(&json!(401))
            && json.pointer("/error/code") == Some(&json!(-32001))
            && json.pointer("/error/data/path") == Some(&json!(PROTECTED))
            && json
                .pointer("/error/message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty());
        if protected.status != 401 || !envelope_ok {
            self.fail(
                case,
                "the protected procedure must answer a 401 UNAUTHORIZED envelope",
                &protected,
            );
            return;
        }
        if protected.header("www-authenticate") != Some(challenge.expected()) {
            self.fail(
                case,
                &format!("the challenge must be `{}`", challenge.expected()),
                &protected,
            );
            return;
        }
        let public = demo.query(PUBLIC).headers(headers).send().await;
        let json = serde_json::from_str::<Value>(&public.text).unwrap_or(Value::Null);
        if public.status != 200
            || json.pointer("/result/data/signedIn") != Some(&json!(false))
            || json.pointer("/result/data/id") != Some(&json!(""))
        {
            self.fail(
                case,
                "the public procedure must answer the anonymous profile",
                &public,
            );
        }
    }

    fn fail(&mut self, case: &str, what: &str, reply: &Reply) {
        self.failures
            .push(format!("[{case}] {what}; got {}", reply.describe()));
    }

    #[track_caller]
    fn finish(self) {
        assert!(self.ran > 0, "no case ran");
        assert!(
            self.failures.is_empty(),
            "{} of {} case(s) failed:\n{}",
            self.failures.len(),
            self.ran,
            self.failures.join("\n")
        );
    }
}

async fn reject_tokens(demo: &Demo, tokens: Vec<(String, String)>) {
    let mut cases = Cases::default();
    for (case, token) in tokens {
        cases
            .reject(demo, &case, &with_bearer(&token), Challenge::InvalidToken)
            .await;
    }
    cases.finish();
}

fn named(case: impl Into<String>, token: Result<String, tabrpc::auth::Error>) -> (String, String) {
    let case = case.into();
    let token = token.unwrap_or_else(|e| panic!("[{case}] cannot build the token: {e}"));
    (case, token)
}

// ---------------------------------------------------------------------------------------------
// Accept
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn accept_valid_token() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    cases
        .accept(
            &demo,
            "valid token",
            &with_bearer(&token_for("user_alice")),
            "user_alice",
        )
        .await;
    // Control: without credentials the same procedure is refused, so the 200 above is earned.
    cases
        .reject(&demo, "no credentials", &Headers::new(), Challenge::Bare)
        .await;
    cases.finish();
}

#[tokio::test]
async fn accept_expired_within_leeway() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    for secs in [-1, -30] {
        let token = token_builder("user_alice").expires_in(secs).sign().unwrap();
        cases
            .accept(
                &demo,
                &format!("expired {}s ago (leeway 60s)", -secs),
                &with_bearer(&token),
                "user_alice",
            )
            .await;
    }
    cases.finish();
}

#[tokio::test]
async fn accept_lowercase_bearer() {
    let demo = Demo::dev().await;
    let token = token_for("user_alice");
    let mut cases = Cases::default();
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        cases
            .accept(
                &demo,
                &format!("scheme `{scheme}`"),
                &headers(&[("authorization", &format!("{scheme} {token}"))]),
                "user_alice",
            )
            .await;
    }
    cases.finish();
}

#[tokio::test]
async fn accept_header_a_with_cookie_b_answers_as_a() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    cases
        .accept(
            &demo,
            "bearer alice, cookie bob",
            &headers(&[
                ("authorization", &bearer(&token_for("user_alice"))),
                ("cookie", &session_cookie(&token_for("user_bob"))),
            ]),
            "user_alice",
        )
        .await;
    cases
        .accept(
            &demo,
            "bearer bob, cookie alice",
            &headers(&[
                ("cookie", &session_cookie(&token_for("user_alice"))),
                ("authorization", &bearer(&token_for("user_bob"))),
            ]),
            "user_bob",
        )
        .await;
    cases.finish();
}

#[tokio::test]
async fn accept_marker_with_a_valid_bearer() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    cases
        .accept(
            &demo,
            "marker and bearer alice, cookie bob",
            &headers(&[
                ("x-tabrpc-auth-required", "1"),
                ("authorization", &bearer(&token_for("user_alice"))),
                ("cookie", &session_cookie(&token_for("user_bob"))),
            ]),
            "user_alice",
        )
        .await;
    cases.finish();
}

#[tokio::test]
async fn accept_cookie_only_without_marker() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    cases
        .accept(
            &demo,
            "cookie bob only",
            &headers(&[("cookie", &session_cookie(&token_for("user_bob")))]),
            "user_bob",
        )
        .await;
    cases
        .accept(
            &demo,
            "cookie bob among other cookies",
            &headers(&[(
                "cookie",
                &format!(
                    "theme=dark; {}; other=1",
                    session_cookie(&token_for("user_bob"))
                ),
            )]),
            "user_bob",
        )
        .await;
    cases.finish();
}

/// The demo configured for an external issuer whose keys come from a JWKS URL.
async fn jwks_url_demo(url: String) -> Demo {
    Demo::with_settings(AuthSettings {
        issuer: Issuer::External {
            issuer: ISSUER.to_owned(),
            keys: KeySource::JwksUrl(url),
        },
        ..AuthSettings::default()
    })
    .await
}

#[tokio::test]
async fn accept_key_rotated_new_kid_appears_in_the_jwks() {
    let jwks = JwksServer::start(jwks_of(&[idp()])).await;
    let demo = jwks_url_demo(jwks.url()).await;
    assert_eq!(jwks.hits(), 1, "one JWKS fetch at start-up");
    let mut cases = Cases::default();
    cases
        .accept(
            &demo,
            "before the rotation: the current key",
            &with_bearer(&token_for("user_alice")),
            "user_alice",
        )
        .await;

    jwks.set_body(jwks_of(&[idp(), rotated()]));
    let by_new_key = rotated()
        .sign_session("user_bob", "sess_bob", None)
        .unwrap();
    cases
        .accept(
            &demo,
            "after the rotation: a token under the new kid",
            &with_bearer(&by_new_key),
            "user_bob",
        )
        .await;
    cases
        .accept(
            &demo,
            "after the rotation: the old key still listed",
            &with_bearer(&token_for("user_alice")),
            "user_alice",
        )
        .await;
    cases.finish();
    assert_eq!(
        jwks.hits(),
        2,
        "the unknown kid triggered exactly one refetch"
    );
}

// ---------------------------------------------------------------------------------------------
// Reject: time claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reject_expired_beyond_leeway() {
    let demo = Demo::dev().await;
    let mut tokens = Vec::new();
    for secs in [61, 3600] {
        tokens.push(named(
            format!("expired {secs}s ago (leeway 60s)"),
            token_builder("user_alice").expires_in(-secs).sign(),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_nbf_in_the_future() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![named(
            "nbf 120s ahead",
            token_builder("user_alice").not_before_in(120).sign(),
        )],
    )
    .await;
}

#[tokio::test]
async fn reject_iat_in_the_future() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![named(
            "iat 120s ahead",
            token_builder("user_alice").issued_in(120).sign(),
        )],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Reject: algorithm, key and signature
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reject_alg_none_in_any_case() {
    let demo = Demo::dev().await;
    let signature = token_for("user_alice")
        .rsplit('.')
        .next()
        .unwrap()
        .to_owned();
    let mut tokens = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = token_builder("user_alice").header("alg", alg).unsigned();
        tokens.push((format!("alg {alg}, empty signature"), unsigned.clone()));
        tokens.push((
            format!("alg {alg}, a real RS256 signature appended"),
            format!("{unsigned}{signature}"),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_hs256_signed_with_the_rsa_public_key_bytes() {
    let demo = Demo::dev().await;
    let jwk = idp().jwk();
    let secrets: [(&str, Vec<u8>); 3] = [
        (
            "the PEM public key",
            idp().public_key_pem().as_bytes().to_vec(),
        ),
        (
            "the JWK modulus",
            jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        ),
        ("the JWK JSON", jwk.to_string().into_bytes()),
    ];
    let mut tokens = Vec::new();
    for (what, secret) in secrets {
        tokens.push(named(
            format!("HS256 keyed with {what}"),
            token_builder("user_alice")
                .header("alg", "HS256")
                .sign_hs256(&secret),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_another_algorithm_with_the_right_key() {
    let demo = Demo::dev().await;
    let mut tokens = Vec::new();
    for alg in ["PS256", "PS384", "RS384", "RS512"] {
        tokens.push(named(
            format!("{alg} signed with the issuer's RSA key"),
            token_builder("user_alice").header("alg", alg).sign(),
        ));
    }
    // An RSA key never verifies ES256 (which the demo allows for EC keys).
    tokens.push((
        "ES256 claimed over the RSA key's kid".to_owned(),
        format!(
            "{}AAAA",
            token_builder("user_alice")
                .header("alg", "ES256")
                .unsigned()
        ),
    ));
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_bad_signature() {
    let demo = Demo::dev().await;
    let good = token_for("user_alice");
    let (input, signature) = good.rsplit_once('.').unwrap();
    let mut bytes = signature.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{input}.{}", String::from_utf8(bytes).unwrap());
    let swapped_claims = {
        let other = token_builder("user_admin").unsigned();
        format!("{}.{signature}", other.rsplit_once('.').unwrap().0)
    };
    let mut tokens = vec![
        ("a flipped signature byte".to_owned(), flipped),
        (
            "another subject under alice's signature".to_owned(),
            swapped_claims,
        ),
    ];
    tokens.push(named(
        "signed by another key under the issuer's kid",
        token_builder("user_alice").signed_by(attacker()).sign(),
    ));
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_unknown_kid() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![
            named(
                "kid no-such-key",
                token_builder("user_alice")
                    .header("kid", "no-such-key")
                    .sign(),
            ),
            named(
                "another key's own kid",
                attacker().sign_session("user_alice", "sess_alice", None),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn reject_missing_kid() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![named(
            "no kid",
            token_builder("user_alice").without_header("kid").sign(),
        )],
    )
    .await;
}

#[tokio::test]
async fn reject_kid_with_path_or_sql_characters() {
    let demo = Demo::dev().await;
    let mut tokens = Vec::new();
    for kid in [
        json!("../../../../etc/passwd"),
        json!("keys/../secret"),
        json!("1' OR '1'='1"),
        json!("key; DROP TABLE keys;--"),
        json!("%2e%2e%2f"),
        json!("a b"),
        json!(""),
        json!("k".repeat(65)),
        json!(42),
        json!({"$ne": null}),
    ] {
        tokens.push(named(
            format!("kid {kid}"),
            token_builder("user_alice").header("kid", kid).sign(),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_attacker_keys_in_jku_x5u_jwk_header_fields() {
    // A server that would hand out the attacker's key: it must never be asked.
    let evil = JwksServer::start(jwks_of(&[attacker()])).await;
    let evil_url = format!("{}/attacker.json", evil.base);
    let demo = Demo::dev().await;
    let mut tokens = Vec::new();
    let fields = [
        ("jku", json!(evil_url)),
        ("x5u", json!(evil_url)),
        ("jwk", attacker().jwk()),
    ];
    for (name, value) in &fields {
        tokens.push(named(
            format!("{name} with the attacker's key, issuer's kid"),
            token_builder("user_alice")
                .header(name, value.clone())
                .signed_by(attacker())
                .sign(),
        ));
        tokens.push(named(
            format!("{name} with the attacker's key and kid"),
            token_builder("user_alice")
                .header(name, value.clone())
                .header("kid", attacker().kid())
                .signed_by(attacker())
                .sign(),
        ));
    }
    let mut all = token_builder("user_alice")
        .header("kid", attacker().kid())
        .signed_by(attacker());
    for (name, value) in &fields {
        all = all.header(name, value.clone());
    }
    tokens.push(named("jku, x5u and jwk together", all.sign()));
    reject_tokens(&demo, tokens).await;
    assert_eq!(evil.hits(), 0, "the attacker's key URL was fetched");
}

// ---------------------------------------------------------------------------------------------
// Reject: claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reject_wrong_iss() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![
            named(
                "iss https://evil.test",
                token_builder("user_alice")
                    .claim("iss", "https://evil.test")
                    .sign(),
            ),
            named(
                "iss with a trailing slash",
                token_builder("user_alice")
                    .claim("iss", format!("{ISSUER}/"))
                    .sign(),
            ),
            named(
                "iss as an array holding the issuer",
                token_builder("user_alice")
                    .claim("iss", json!([ISSUER]))
                    .sign(),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn reject_missing_iss() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![named(
            "no iss",
            token_builder("user_alice").without_claim("iss").sign(),
        )],
    )
    .await;
}

#[tokio::test]
async fn reject_wrong_aud() {
    const AUDIENCE: &str = "api.tabrpc.test";
    let demo = Demo::with_settings(AuthSettings {
        audience: vec![AUDIENCE.to_owned()],
        ..dev_settings()
    })
    .await;
    let mut cases = Cases::default();
    for (case, aud) in [
        ("aud the configured audience", json!(AUDIENCE)),
        ("aud a list naming it", json!(["other-api", AUDIENCE])),
    ] {
        let token = token_builder("user_alice")
            .claim("aud", aud)
            .sign()
            .unwrap();
        cases
            .accept(&demo, case, &with_bearer(&token), "user_alice")
            .await;
    }
    for (case, token) in [
        named(
            "aud another audience",
            token_builder("user_alice").claim("aud", "other-api").sign(),
        ),
        named(
            "aud missing while an audience is configured",
            token_builder("user_alice").sign(),
        ),
    ] {
        cases
            .reject(&demo, &case, &with_bearer(&token), Challenge::InvalidToken)
            .await;
    }
    // Without a configured audience, a token meant for some audience is not for the demo.
    let plain = Demo::dev().await;
    let for_someone = token_builder("user_alice")
        .claim("aud", AUDIENCE)
        .sign()
        .unwrap();
    cases
        .reject(
            &plain,
            "aud present while none is configured",
            &with_bearer(&for_someone),
            Challenge::InvalidToken,
        )
        .await;
    cases.finish();
}

async fn azp_demo() -> Demo {
    Demo::with_settings(AuthSettings {
        authorized_parties: vec![ORIGIN.to_owned()],
        ..dev_settings()
    })
    .await
}

#[tokio::test]
async fn reject_azp_not_allowed() {
    let demo = azp_demo().await;
    let mut cases = Cases::default();
    let allowed = token_builder("user_alice")
        .claim("azp", ORIGIN)
        .sign()
        .unwrap();
    cases
        .accept(&demo, "azp allowed", &with_bearer(&allowed), "user_alice")
        .await;
    for azp in [
        json!("https://evil.test"),
        json!("https://app.tabrpc.test.evil.test"),
        json!("HTTPS://APP.TABRPC.TEST"),
        json!(format!("{ORIGIN}/")),
        json!([ORIGIN]),
    ] {
        let token = token_builder("user_alice").claim("azp", azp.clone()).sign();
        let (case, token) = named(format!("azp {azp}"), token);
        cases
            .reject(&demo, &case, &with_bearer(&token), Challenge::InvalidToken)
            .await;
    }
    cases.finish();
}

#[tokio::test]
async fn reject_azp_missing_while_an_allow_list_is_set() {
    let demo = azp_demo().await;
    reject_tokens(
        &demo,
        vec![named(
            "no azp",
            token_builder("user_alice").without_claim("azp").sign(),
        )],
    )
    .await;
}

#[tokio::test]
async fn reject_missing_empty_or_non_string_sub() {
    let demo = Demo::dev().await;
    let mut tokens = vec![named(
        "no sub",
        token_builder("user_alice").without_claim("sub").sign(),
    )];
    for sub in [
        json!(""),
        json!(42),
        json!(null),
        json!(true),
        json!(["user_alice"]),
        json!({"id": "user_alice"}),
    ] {
        tokens.push(named(
            format!("sub {sub}"),
            token_builder("user_alice").claim("sub", sub).sign(),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_missing_or_non_numeric_exp() {
    let demo = Demo::dev().await;
    let mut tokens = vec![named(
        "no exp",
        token_builder("user_alice").without_claim("exp").sign(),
    )];
    for exp in [
        json!("4102444800"),
        json!(true),
        json!(null),
        json!([4102444800u64]),
        json!({"at": 4102444800u64}),
    ] {
        tokens.push(named(
            format!("exp {exp}"),
            token_builder("user_alice").claim("exp", exp).sign(),
        ));
    }
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_non_session_token_category() {
    let clerk =
        Demo::start(auth_with(idp().verifier_builder().clerk(ClerkProfile::default())).await).await;
    let plain = Demo::dev().await;
    let mut cases = Cases::default();
    let session_category = token_builder("user_alice")
        .header("cat", "cl_B7d4PD111AAA")
        .sign()
        .unwrap();
    cases
        .accept(
            &clerk,
            "Clerk profile: the session-token category",
            &with_bearer(&session_category),
            "user_alice",
        )
        .await;
    for cat in [
        json!("cl_B7d4PD222AAA"),
        json!("cl_B7d4PD333AAA"),
        json!("anything"),
        json!(1),
    ] {
        let token = token_builder("user_alice")
            .header("cat", cat.clone())
            .sign();
        let (case, token) = named(format!("cat {cat}"), token);
        cases
            .reject(
                &clerk,
                &format!("Clerk profile: {case}"),
                &with_bearer(&token),
                Challenge::InvalidToken,
            )
            .await;
        cases
            .reject(
                &plain,
                &format!("default demo: {case}"),
                &with_bearer(&token),
                Challenge::InvalidToken,
            )
            .await;
    }
    cases.finish();
}

// ---------------------------------------------------------------------------------------------
// Reject: token shape
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reject_oversized_token() {
    let demo = Demo::dev().await;
    reject_tokens(
        &demo,
        vec![
            named(
                "a validly signed 9 KiB token",
                token_builder("user_alice")
                    .claim("pad", "x".repeat(9 * 1024))
                    .sign(),
            ),
            ("20 KiB of junk".to_owned(), "a".repeat(20 * 1024)),
        ],
    )
    .await;
}

#[tokio::test]
async fn reject_malformed_base64() {
    let demo = Demo::dev().await;
    let good = token_for("user_alice");
    let segments: Vec<&str> = good.split('.').collect();
    let mut tokens = Vec::new();
    for (index, garbage) in [
        (0, "!!!!"),
        (1, "e30*"),
        (2, "sig+nature/=="),
        (1, "e30="),
        (1, "A"),
    ] {
        let mut broken = segments.clone();
        broken[index] = garbage;
        tokens.push((format!("segment {index} is {garbage:?}"), broken.join(".")));
    }
    tokens.push((
        "a padded payload".to_owned(),
        format!("{}.{}==.{}", segments[0], segments[1], segments[2]),
    ));
    tokens.push((
        "a header that is base64 but not JSON".to_owned(),
        format!("bm90IGpzb24.{}.{}", segments[1], segments[2]),
    ));
    reject_tokens(&demo, tokens).await;
}

#[tokio::test]
async fn reject_two_segments() {
    let demo = Demo::dev().await;
    let good = token_for("user_alice");
    let (input, _) = good.rsplit_once('.').unwrap();
    reject_tokens(
        &demo,
        vec![
            ("header.payload".to_owned(), input.to_owned()),
            ("header.payload.".to_owned(), format!("{input}.")),
            ("four segments".to_owned(), format!("{good}.extra")),
            (
                "JWE-shaped (five segments)".to_owned(),
                format!("{good}.a.b"),
            ),
            ("one segment".to_owned(), "not-a-jwt".to_owned()),
        ],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Reject: credentials
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reject_placeholder_bearer_never_falls_back_to_the_cookie() {
    let demo = Demo::dev().await;
    let cookie = session_cookie(&token_for("user_bob"));
    let mut cases = Cases::default();
    for value in [
        "Bearer null",
        "Bearer undefined",
        "Bearer ",
        "Bearer",
        "bearer null",
    ] {
        for with_cookie in [false, true] {
            let mut sent = headers(&[("authorization", value)]);
            if with_cookie {
                sent.push(("cookie".to_owned(), cookie.clone()));
            }
            let case = format!(
                "`{value}`{}",
                if with_cookie {
                    " with bob's cookie"
                } else {
                    ""
                }
            );
            cases
                .reject(&demo, &case, &sent, Challenge::InvalidToken)
                .await;
        }
    }
    cases.finish();
}

#[tokio::test]
async fn reject_two_authorization_headers() {
    let demo = Demo::dev().await;
    let alice = bearer(&token_for("user_alice"));
    let bob = bearer(&token_for("user_bob"));
    let mut cases = Cases::default();
    for (case, first, second) in [
        ("alice then bob", &alice, &bob),
        ("alice twice", &alice, &alice),
    ] {
        cases
            .reject(
                &demo,
                case,
                &headers(&[("authorization", first), ("authorization", second)]),
                Challenge::InvalidRequest,
            )
            .await;
    }
    cases.finish();
}

#[tokio::test]
async fn reject_marker_with_a_cookie() {
    let demo = Demo::dev().await;
    let mut cases = Cases::default();
    for marker in ["1", "true"] {
        cases
            .reject(
                &demo,
                &format!("marker `{marker}` with bob's valid cookie"),
                &headers(&[
                    ("x-tabrpc-auth-required", marker),
                    ("cookie", &session_cookie(&token_for("user_bob"))),
                ]),
                Challenge::Bare,
            )
            .await;
    }
    cases.finish();
}

#[tokio::test]
async fn reject_jwks_unreachable_at_boot_with_503_not_accept() {
    let demo = jwks_url_demo(dead_url().await).await;
    let token = token_for("user_alice");
    let credentials = [
        ("a valid bearer", with_bearer(&token)),
        (
            "a valid cookie",
            headers(&[("cookie", &session_cookie(&token))]),
        ),
    ];
    for (case, sent) in &credentials {
        let reply = demo.query(PROTECTED).headers(sent).send().await;
        assert_eq!(reply.status, 503, "[{case}] {}", reply.describe());
        assert_eq!(
            reply.error_code().as_deref(),
            Some("SERVICE_UNAVAILABLE"),
            "[{case}] {}",
            reply.describe()
        );
        let retry_after: u64 = reply
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("[{case}] a numeric Retry-After: {}", reply.describe()));
        assert!(retry_after >= 1, "[{case}] {}", reply.describe());

        // A public procedure runs as anonymous: never the token's user, never a 500.
        let public = demo.query(PUBLIC).headers(sent).send().await;
        assert_eq!(public.status, 200, "[{case}] {}", public.describe());
        assert_eq!(
            public.data()["signedIn"],
            false,
            "[{case}] {}",
            public.describe()
        );
    }
}
