//! What the auth log says (`auth.md` §4): source, outcome or reason, kid, fingerprint, skew,
//! and sub/sid only after success; never a token, an `Authorization` or `Cookie` value, or the
//! claims.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::*;
use tabrpc_auth::Resolver;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Resolves `parts` with a debug-level subscriber installed and returns what it printed.
async fn logged(resolver: &Resolver, parts: &http::request::Parts) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    resolver.resolve(parts).await;
    String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
}

fn fingerprint_field(log: &str) -> &str {
    let start = log.find("fp=\"").expect("a fingerprint field") + 4;
    &log[start..start + 8]
}

#[tokio::test]
async fn success_logs_who_but_never_the_token() {
    let resolver = resolver().await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .claim("sid", "sess_a")
        .claim("email", "a@example.test")
        .sign()
        .unwrap();
    let cookie = idp().sign_session("user_b", "sess_b", None).unwrap();
    let parts = get(&[
        ("authorization", &bearer(&token)),
        ("cookie", &session_cookie(&cookie)),
    ]);
    let log = logged(&resolver, &parts).await;

    assert!(log.contains("outcome=\"authenticated\""), "{log}");
    assert!(log.contains("source=\"header\""), "{log}");
    assert!(
        log.contains("sub=\"user_a\"") && log.contains("sid=\"sess_a\""),
        "{log}"
    );
    assert!(log.contains(&format!("kid=\"{}\"", idp().kid())), "{log}");
    assert!(log.contains("skew_s="), "{log}");
    let fp = fingerprint_field(&log);
    assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()), "{fp}");

    for secret in token.split('.').chain(cookie.split('.')) {
        assert!(!log.contains(secret), "a token segment leaked: {log}");
    }
    assert!(!log.contains("a@example.test"), "claims leaked: {log}");
    assert!(
        !log.contains("user_b"),
        "the cookie's subject leaked: {log}"
    );
}

#[tokio::test]
async fn rejection_logs_the_reason_at_debug_and_no_subject() {
    let resolver = resolver().await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let log = logged(&resolver, &get(&[("authorization", &bearer(&token))])).await;
    assert!(log.contains("DEBUG"), "{log}");
    assert!(!log.contains("INFO") && !log.contains("WARN"), "{log}");
    assert!(log.contains("outcome=\"anonymous\""), "{log}");
    assert!(log.contains("reason=\"expired\""), "{log}");
    assert!(
        !log.contains("user_a"),
        "an unverified subject was logged: {log}"
    );
    assert!(!log.contains(token.rsplit('.').next().unwrap()), "{log}");
}

#[tokio::test]
async fn malformed_kid_is_not_logged() {
    let resolver = resolver().await;
    let kid = "../../etc/passwd";
    let token = idp().token().header("kid", kid).sign().unwrap();
    let log = logged(&resolver, &get(&[("authorization", &bearer(&token))])).await;
    assert!(log.contains("reason=\"bad_kid\""), "{log}");
    assert!(!log.contains("passwd"), "{log}");
}

#[tokio::test]
async fn claim_failures_name_the_claim() {
    let resolver = resolver().await;
    let token = idp()
        .token()
        .claim("sub", "user_a")
        .claim("iss", "https://evil.test")
        .sign()
        .unwrap();
    let log = logged(&resolver, &get(&[("authorization", &bearer(&token))])).await;
    assert!(
        log.contains("reason=\"claims\"") && log.contains("claim=\"iss\""),
        "{log}"
    );
    assert!(!log.contains("evil.test"), "{log}");
}

#[tokio::test]
async fn cookie_values_are_never_logged() {
    let resolver = resolver().await;
    let parts = get(&[("cookie", "__session=not.a-jwt; other=secret-cookie-value")]);
    let log = logged(&resolver, &parts).await;
    assert!(log.contains("source=\"cookie\""), "{log}");
    assert!(
        !log.contains("not.a-jwt") && !log.contains("secret-cookie-value"),
        "{log}"
    );
}

#[tokio::test]
async fn a_cache_hit_logs_the_same_fields_and_says_cached() {
    let resolver = resolver().await;
    let token = idp().sign_session("user_a", "sess_a", None).unwrap();
    let parts = get(&[("authorization", &bearer(&token))]);
    let first = logged(&resolver, &parts).await;
    assert!(!first.contains("cached="), "{first}");
    let second = logged(&resolver, &parts).await;
    assert!(second.contains("cached=true"), "{second}");
    assert!(
        second.contains(&format!("kid=\"{}\"", idp().kid())),
        "{second}"
    );
    assert!(second.contains("sub=\"user_a\""), "{second}");
    assert_eq!(fingerprint_field(&first), fingerprint_field(&second));
    assert!(second.contains("skew_s="), "{second}");
}
