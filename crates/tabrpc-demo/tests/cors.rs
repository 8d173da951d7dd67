//! CORS (`TABRPC_CORS_ORIGINS`, `tabrpc::axum::cors`): a front end on a listed origin may call
//! the API from a browser, with credentials; other origins get no CORS headers; the CSRF header
//! is never allowed cross-origin; without the setting there is no CORS at all.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Demo, Reply, STEP, client, session_cookie, token_for};
use tabrpc::plumbing::protocol::{
    ACCOUNT_HEADER, CSRF_HEADER, LAST_EVENT_ID_HEADER, MARKER_HEADER, TRPC_ACCEPT_HEADER,
};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.com";

async fn with_cors() -> Demo {
    Demo::process(&[(
        "TABRPC_CORS_ORIGINS",
        format!("{APP}, http://localhost:5173"),
    )])
    .await
}

/// A browser's preflight for a POST from `origin` that wants to send `headers`.
async fn preflight(demo: &Demo, origin: &str, headers: &str) -> Reply {
    let response = tokio::time::timeout(
        STEP,
        client()
            .request(
                reqwest::Method::OPTIONS,
                demo.url("/trpc/onboarding.saveStep"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
            .send(),
    )
    .await
    .expect("a reply within the step timeout")
    .expect("the request is sent");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.expect("the body"),
    }
}

fn allowed_headers(reply: &Reply) -> Vec<String> {
    reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

fn vary(reply: &Reply) -> String {
    reply
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
        .to_ascii_lowercase()
}

#[tokio::test]
async fn a_listed_origin_s_preflight_allows_credentials_and_the_protocol_headers() {
    let demo = with_cors().await;
    let reply = preflight(
        &demo,
        APP,
        &format!("authorization, content-type, {MARKER_HEADER}, {ACCOUNT_HEADER}"),
    )
    .await;
    assert!((200..300).contains(&reply.status), "{}", reply.describe());
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods}"
    );
    let allowed = allowed_headers(&reply);
    for header in [
        "authorization",
        "content-type",
        MARKER_HEADER,
        ACCOUNT_HEADER,
        TRPC_ACCEPT_HEADER,
        LAST_EVENT_ID_HEADER,
    ] {
        assert!(allowed.iter().any(|h| h == header), "{header}: {allowed:?}");
    }
    assert!(vary(&reply).contains("origin"), "{}", reply.describe());
}

#[tokio::test]
async fn the_csrf_header_is_never_allowed_cross_origin() {
    let demo = with_cors().await;
    let reply = preflight(&demo, APP, &format!("content-type, {CSRF_HEADER}")).await;
    let allowed = allowed_headers(&reply);
    assert!(
        !allowed.iter().any(|h| h == CSRF_HEADER),
        "{CSRF_HEADER} must not be allowed: {allowed:?}"
    );
    // So a listed origin's mutation by cookie still fails the CSRF rule: its `Origin` is not
    // the server's own.
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "profile" }))
        .header("origin", APP)
        .header("cookie", session_cookie(&token_for("alice")))
        .send()
        .await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn another_origin_gets_no_allow_origin_and_no_credentials() {
    let demo = with_cors().await;
    for origin in [OTHER, "https://app.example.com.evil.test", "null"] {
        let reply = preflight(&demo, origin, "authorization").await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            None,
            "{origin}: {}",
            reply.describe()
        );
        assert_eq!(
            reply.header("access-control-allow-credentials"),
            None,
            "{origin}"
        );
    }
    let reply = demo
        .query("onboarding.getProgress")
        .bearer(&token_for("alice"))
        .header("origin", OTHER)
        .send()
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_listed_origin_s_calls_carry_allow_origin_and_expose_www_authenticate() {
    let demo = with_cors().await;
    let reply = demo
        .query("onboarding.getProgress")
        .bearer(&token_for("alice"))
        .header("origin", "http://localhost:5173")
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    // The server's own `Vary` stays next to the CORS one.
    let vary = vary(&reply);
    assert!(
        vary.contains("origin") && vary.contains("trpc-accept"),
        "{vary}"
    );
    // A 401 is readable too, with its challenge, which the client reads.
    let reply = demo
        .mutation("onboarding.saveStep", json!({ "step": "profile" }))
        .bearer("not-a-token")
        .header("origin", APP)
        .send()
        .await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert!(
        reply
            .header("access-control-expose-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("www-authenticate")),
        "{}",
        reply.describe()
    );
}

#[tokio::test]
async fn without_cors_origins_options_answers_as_before_with_no_cors_headers() {
    let demo = Demo::dev().await;
    let reply = preflight(&demo, APP, "authorization").await;
    assert_eq!(reply.status, 415, "{}", reply.describe());
    for (name, _) in &reply.headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{name}: {}",
            reply.describe()
        );
    }
}

#[tokio::test]
async fn a_malformed_cors_origin_stops_start_up_naming_the_variable() {
    for origin in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?x",
        "https://user@app.example.com",
        "HTTPS://App.example.com",
        "ftp://app.example.com",
        "*",
    ] {
        let mut command = support::demo_command();
        command
            .env("TABRPC_DEV_IDP", "1")
            .env("TABRPC_CORS_ORIGINS", origin);
        let child = command.spawn().expect("the demo binary starts");
        let output = tokio::time::timeout(support::PROCESS_START, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{origin}: the demo started instead of refusing to"))
            .expect("the demo's output");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{origin}: {stderr}");
        assert!(stderr.contains("TABRPC_CORS_ORIGINS"), "{origin}: {stderr}");
    }
}
