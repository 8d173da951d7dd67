//! The demo binary configured by environment for another issuer (`TABRPC_AUTH_ISSUER` with a
//! JWKS file, default leeway), answering `profile.getUser` for tokens minted with a key of the
//! test's own; the Clerk profile (`TABRPC_AUTH_CLERK=1`); and start-up refusing missing or
//! contradictory settings by name.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use tabrpc::auth::dev_idp::DevIdp;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ISSUER: &str = "https://issuer.external.test";
const STEP: Duration = Duration::from_secs(30);

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tabrpc-demo-{}-{name}", std::process::id()))
}

fn demo() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tabrpc-demo"));
    command
        .env_clear()
        .env("TABRPC_ADDR", "127.0.0.1:0")
        .env("TABRPC_DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the demo and returns it with its base URL, read from its first line of output.
async fn start(mut command: Command) -> (Child, String) {
    let mut child = command.spawn().expect("the demo binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(STEP, lines.next_line())
        .await
        .expect("the demo prints its address in time")
        .expect("stdout readable")
        .expect("a first line");
    let base = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("an address in the first line")
        .to_owned();
    (child, base)
}

async fn get_user(base: &str, authorization: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/trpc/profile.getUser"))
        .header("authorization", authorization)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

#[tokio::test]
async fn another_issuer_configured_by_environment_is_verified_with_its_jwks_file() {
    let ours = DevIdp::generate(ISSUER).expect("key");
    let stranger = DevIdp::generate(ISSUER).expect("key");
    let jwks = temp_path("jwks.json");
    std::fs::write(&jwks, ours.jwks().to_string()).expect("write JWKS");

    let mut command = demo();
    command
        .env("TABRPC_AUTH_ISSUER", ISSUER)
        .env("TABRPC_AUTH_JWKS", &jwks);
    let (_child, base) = start(command).await;

    let valid = ours
        .sign_session("user_ext", "sess_ext", None)
        .expect("sign");
    let (status, body) = get_user(&base, &format!("Bearer {valid}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["data"]["id"], "user_ext", "{body}");
    assert_eq!(body["result"]["data"]["signedIn"], true, "{body}");

    // Within the default 60 s leeway: still accepted; beyond it: anonymous.
    let late = ours.token().claim("sub", "user_ext").expires_in(-30).sign();
    let (_, body) = get_user(&base, &format!("Bearer {}", late.expect("sign"))).await;
    assert_eq!(
        body["result"]["data"]["signedIn"], true,
        "expired within leeway: {body}"
    );
    let expired = ours
        .token()
        .claim("sub", "user_ext")
        .expires_in(-120)
        .sign();
    let (status, body) = get_user(&base, &format!("Bearer {}", expired.expect("sign"))).await;
    assert_eq!(status, 200, "a public procedure answers anonymous: {body}");
    assert_eq!(body["result"]["data"]["signedIn"], false, "expired: {body}");

    for (case, token) in [
        ("another key", stranger.sign_session("user_ext", "s", None)),
        (
            "wrong issuer",
            ours.token().claim("iss", "https://evil.test").sign(),
        ),
        (
            "non-session category",
            ours.token().header("cat", "cl_B7d4PD222AAA").sign(),
        ),
    ] {
        let (status, body) = get_user(&base, &format!("Bearer {}", token.expect("sign"))).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(body["result"]["data"]["signedIn"], false, "{case}: {body}");
    }

    // The development identity provider is off in this mode.
    let response = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 404);
    let _ = std::fs::remove_file(jwks);
}

#[tokio::test]
async fn missing_or_contradictory_settings_stop_start_up_naming_the_variable() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("TABRPC_AUTH_ISSUER", ISSUER)], "TABRPC_AUTH_ISSUER"),
        (
            &[("TABRPC_AUTH_JWKS", "/nonexistent.json")],
            "TABRPC_AUTH_ISSUER",
        ),
        (
            &[
                ("TABRPC_AUTH_ISSUER", ISSUER),
                ("TABRPC_AUTH_JWKS", "/a.json"),
                ("TABRPC_AUTH_PEM", "/b.pem"),
            ],
            "TABRPC_AUTH_PEM",
        ),
        (
            &[("TABRPC_AUTH_LEEWAY_SECS", "soon")],
            "TABRPC_AUTH_LEEWAY_SECS",
        ),
        (&[("TABRPC_AUTH_CLERK", "yes")], "TABRPC_AUTH_CLERK"),
    ];
    for (vars, named) in cases {
        let mut command = demo();
        command.envs(vars.iter().copied());
        let output = tokio::time::timeout(STEP, command.output())
            .await
            .expect("the demo exits in time")
            .expect("the demo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{vars:?} must stop start-up");
        assert!(
            stderr.contains(named),
            "{vars:?}: stderr must name {named}: {stderr}"
        );
    }
}

/// `onboarding.getProgress` (needs a signed-in caller) with `token`: the status and body.
async fn progress(base: &str, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/trpc/onboarding.getProgress"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

#[tokio::test]
async fn clerk_profile_requires_sid_and_refuses_pending_sessions() {
    let ours = DevIdp::generate(ISSUER).expect("key");
    let jwks = temp_path("clerk-jwks.json");
    std::fs::write(&jwks, ours.jwks().to_string()).expect("write JWKS");
    // What a Clerk session token carries: `sid`, `sts`, `azp`, `v`.
    let clerk_like = || {
        ours.token()
            .claim("sub", "user_2abc")
            .claim("sid", "sess_2abc")
            .claim("sts", "active")
            .claim("azp", "http://localhost:5173")
            .claim("v", 2)
    };
    let without_sid = clerk_like().without_claim("sid").sign().expect("sign");
    let pending = clerk_like().claim("sts", "pending").sign().expect("sign");
    let normal = clerk_like().sign().expect("sign");

    let mut command = demo();
    command
        .env("TABRPC_AUTH_ISSUER", ISSUER)
        .env("TABRPC_AUTH_JWKS", &jwks)
        .env("TABRPC_AUTH_CLERK", "1");
    let (clerk, base) = start(command).await;
    for (case, token) in [("no sid", &without_sid), ("sts pending", &pending)] {
        let (status, body) = progress(&base, token).await;
        assert_eq!(status, 401, "{case}: {body}");
    }
    let (status, body) = progress(&base, &normal).await;
    assert_eq!(status, 200, "a Clerk session token: {body}");
    drop(clerk);

    // Without the profile a token without `sid` is a valid session of an issuer that has none.
    let mut command = demo();
    command
        .env("TABRPC_AUTH_ISSUER", ISSUER)
        .env("TABRPC_AUTH_JWKS", &jwks);
    let (_plain, base) = start(command).await;
    let (status, body) = progress(&base, &without_sid).await;
    assert_eq!(status, 200, "no Clerk profile, no sid: {body}");
    let (status, body) = progress(&base, &normal).await;
    assert_eq!(status, 200, "{body}");
    let _ = std::fs::remove_file(jwks);
}
