//! Fuzzes how the demo decides who is calling (auth.md section 1): random mixes of
//! `Authorization` headers, `__session` cookies, the fail-closed marker and `x-tabrpc-account`,
//! with valid tokens of two users, byte-edited copies of them, a token of another key for a user
//! that must never be answered, and junk, sent to a public and a protected procedure.
//!
//! Each reply must be a non-5xx JSON envelope, and the caller it names must be one the rules allow:
//! never `user_mallory` (another key's token), nobody with two `Authorization` headers or with
//! the marker and no header, the header's own user when there is one header (cookies unread),
//! and never a cookie's user other than `x-tabrpc-account` when that is sent.
//!
//! Run: `cargo test -p tabrpc-demo --test fuzz_auth` (400 cases). Longer and repeatable:
//! `TABRPC_FUZZ_CASES=20000 TABRPC_FUZZ_SEED=7 cargo test -p tabrpc-demo --test fuzz_auth --release`.
//! A failure prints its seed and case number; the same seed replays the same cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::*;

/// A small deterministic generator (SplitMix64): the demo's tests take no fuzzing dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A credential and the user it may stand for (`None`: it names nobody).
#[derive(Debug, Clone)]
struct Token {
    text: String,
    /// The `sub` it was signed with, by the demo's key (an edited copy keeps its original's).
    user: Option<&'static str>,
}

struct Tokens {
    valid: Vec<Token>,
    mallory: String,
}

impl Tokens {
    fn new() -> Self {
        Self {
            valid: ["user_alice", "user_bob"]
                .into_iter()
                .map(|user| Token {
                    text: token_for(user),
                    user: Some(user),
                })
                .collect(),
            mallory: attacker()
                .sign_session("user_mallory", "sess_mallory", None)
                .expect("sign"),
        }
    }

    fn any(&self, rng: &mut Rng) -> Token {
        match rng.below(10) {
            0..=4 => rng.pick(&self.valid).clone(),
            5 | 6 => {
                let original = rng.pick(&self.valid).clone();
                Token {
                    text: edit(rng, &original.text),
                    user: original.user,
                }
            }
            7 => Token {
                text: self.mallory.clone(),
                user: None,
            },
            _ => Token {
                text: rng
                    .pick(&[
                        "",
                        "null",
                        "undefined",
                        "a.b.c",
                        "..",
                        "eyJhbGciOiJub25lIn0.e30.",
                        "x",
                        "Bearer",
                    ])
                    .to_string(),
                user: None,
            },
        }
    }
}

/// A byte edit that keeps the token a valid header value (base64url letters and `.`).
fn edit(rng: &mut Rng, token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let mut bytes = token.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = *rng.pick(ALPHABET),
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, *rng.pick(ALPHABET)),
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8(bytes).expect("ASCII")
}

/// The headers of one case, and what the rules say about its caller.
#[derive(Debug, Default)]
struct Case {
    headers: Vec<(String, String)>,
    /// Users the answer may name (anonymous is always allowed: a token may be refused).
    allowed: Vec<&'static str>,
    viewer_id: Option<&'static str>,
}

fn case(rng: &mut Rng, tokens: &Tokens) -> Case {
    let mut case = Case::default();
    let authorizations = [0, 0, 1, 1, 1, 2][rng.below(6)];
    let mut header_users = Vec::new();
    for _ in 0..authorizations {
        let token = tokens.any(rng);
        let scheme = rng.pick(&["Bearer", "Bearer", "bearer", "BEARER", "Basic", "Token"]);
        if scheme.eq_ignore_ascii_case("bearer") {
            header_users.extend(token.user);
        }
        let value = if rng.chance(8) {
            scheme.to_string()
        } else {
            format!("{scheme} {}", token.text)
        };
        case.headers.push(("authorization".into(), value));
    }
    let marker = rng.chance(4);
    if marker {
        let value = rng.pick(&["1", "1", "0", "true", ""]);
        case.headers
            .push(("x-tabrpc-auth-required".into(), value.to_string()));
    }
    let account = rng
        .chance(4)
        .then(|| *rng.pick(&["user_alice", "user_bob", "user_mallory", "nobody", ""]));
    if let Some(account) = account {
        case.headers
            .push(("x-tabrpc-account".into(), account.to_string()));
    }
    let mut cookie_users = Vec::new();
    if rng.chance(2) {
        let mut pairs = Vec::new();
        let count = if rng.chance(10) {
            50 + rng.below(1500)
        } else {
            1 + rng.below(4)
        };
        let first = tokens.any(rng);
        for i in 0..count {
            let token = if i == 0 || rng.chance(2) {
                first.clone()
            } else {
                tokens.any(rng)
            };
            cookie_users.extend(token.user);
            pairs.push(match rng.below(12) {
                0 => "__session".to_owned(),
                1 => "=".to_owned(),
                2 => format!("__client=c{i}"),
                _ => format!("__session={}", token.text),
            });
        }
        case.headers.push(("cookie".into(), pairs.join("; ")));
    }
    case.allowed = match authorizations {
        // One header alone decides; the cookie is not read.
        1 => header_users,
        // Two headers are ambiguous: nobody.
        2 => Vec::new(),
        // The marker without a header: nobody (any value counts as present? only "1" is
        // documented; other values may fall through to the cookie).
        _ if marker
            && case
                .headers
                .iter()
                .any(|(n, v)| n == "x-tabrpc-auth-required" && v == "1") =>
        {
            Vec::new()
        }
        _ => cookie_users
            .into_iter()
            .filter(|user| account.is_none_or(|a| a.is_empty() || a == *user))
            .collect(),
    };
    case.viewer_id = rng
        .chance(4)
        .then(|| *rng.pick(&["user_alice", "user_bob", "user_mallory"]));
    case
}

fn check(case: &Case, procedure: &str, reply: &Reply) -> Result<(), String> {
    if reply.status >= 500 {
        return Err("a 5xx".into());
    }
    // hyper's own refusal of a head over its 1 MiB buffer (tabrpc_axum::serve): a bare 431.
    if reply.status == 431 && reply.text.is_empty() {
        return Ok(());
    }
    let json: Value =
        serde_json::from_str(&reply.text).map_err(|e| format!("the body is not JSON ({e})"))?;
    if let Some(error) = json.get("error") {
        let http = error.pointer("/data/httpStatus").and_then(Value::as_u64);
        if http != Some(u64::from(reply.status)) || error.pointer("/code").is_none() {
            return Err("a malformed error envelope".into());
        }
        if reply.status == 401 && reply.header("www-authenticate").is_none() {
            return Err("a 401 without `WWW-Authenticate`".into());
        }
        return Ok(());
    }
    if reply.status != 200 {
        return Err("a success envelope with a non-200 status".into());
    }
    let caller = if procedure == "profile.getUser" {
        let data = json.pointer("/result/data").ok_or("no result.data")?;
        (data["signedIn"] == Value::Bool(true))
            .then(|| data["id"].as_str().unwrap_or("").to_owned())
    } else {
        // A protected procedure answered: somebody was authenticated, but its answer does not
        // name them; the allowed list must not be empty.
        Some(String::new())
    };
    match caller {
        None => Ok(()),
        Some(user) if user.is_empty() && !case.allowed.is_empty() => Ok(()),
        Some(user) if case.allowed.contains(&user.as_str()) => match case.viewer_id {
            Some(viewer) if viewer != user => Err(format!("answered {user} for viewerId {viewer}")),
            _ => Ok(()),
        },
        Some(user) => Err(format!(
            "answered as {user:?}; the rules allow only {:?} (or anonymous)",
            case.allowed
        )),
    }
}

#[tokio::test]
async fn whoever_the_credentials_say_the_caller_is_one_the_rules_allow() {
    let cases: usize = std::env::var("TABRPC_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("TABRPC_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let demo = Demo::dev().await;
    let tokens = Tokens::new();
    let mut rng = Rng(seed);
    let mut answered = std::collections::BTreeMap::<String, usize>::new();
    for n in 0..cases {
        let case = case(&mut rng, &tokens);
        let procedure = *rng.pick(&["profile.getUser", "onboarding.getProgress"]);
        let mut call = demo.query(procedure).headers(&case.headers);
        if let Some(viewer) = case.viewer_id {
            call = call.input(serde_json::json!({ "viewerId": viewer }));
        }
        let reply = call.send().await;
        if let Err(e) = check(&case, procedure, &reply) {
            panic!(
                "TABRPC_FUZZ_SEED={seed}, case {n}: {e}\n  {procedure} with {:?}\n  allowed: {:?}\n  reply: {}",
                case.headers
                    .iter()
                    .map(|(k, v)| (k, v.chars().take(200).collect::<String>()))
                    .collect::<Vec<_>>(),
                case.allowed,
                reply.describe()
            );
        }
        *answered.entry(reply.status.to_string()).or_default() += 1;
    }
    eprintln!("fuzz_auth seed {seed}: {cases} cases, replies by status {answered:?}");
}

/// Found by this fuzzer before the rule existed: auth.md 1.4 says a cookie identity of another
/// account than `x-tabrpc-account` names is refused (`account_mismatch`); it was answered as
/// `user_bob`.
#[tokio::test]
async fn regression_a_cookie_of_another_account_than_x_tabrpc_account_is_refused() {
    let demo = Demo::dev().await;
    let reply = demo
        .query("profile.getUser")
        .header("x-tabrpc-account", "user_alice")
        .header("cookie", session_cookie(&token_for("user_bob")))
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert_eq!(
        reply.json().pointer("/result/data/signedIn"),
        Some(&Value::Bool(false)),
        "{}",
        reply.describe()
    );
}
