//! Shared test support: RSA keys generated once per test binary, request builders, and a tiny
//! JWKS HTTP server on 127.0.0.1:0 whose document, status and delay tests can change.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::request::Parts;
use serde_json::{Value, json};
use tabrpc_auth::dev_idp::DevIdp;
use tabrpc_auth::{AnonymousReason, Identity, Resolver, Source, Verifier, VerifierBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const ISSUER: &str = "https://idp.tabrpc.test";
pub const ORIGIN: &str = "https://app.tabrpc.test";

/// The legitimate identity provider. RSA key generation is the slow part of these tests, so
/// each key is made once per test binary.
pub fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| DevIdp::generate(ISSUER).expect("generate idp key"))
}

/// Someone else's key, claiming the same issuer.
pub fn attacker() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| {
        DevIdp::generate(ISSUER)
            .and_then(|idp| idp.with_kid("attacker-key"))
            .expect("generate attacker key")
    })
}

/// The legitimate provider's next key, for rotation.
pub fn rotated() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| {
        DevIdp::generate(ISSUER)
            .and_then(|idp| idp.with_kid("rotated-key"))
            .expect("generate rotated key")
    })
}

/// A JWKS document holding these providers' keys.
pub fn jwks_of(idps: &[&DevIdp]) -> String {
    json!({ "keys": idps.iter().map(|idp| idp.jwk()).collect::<Vec<_>>() }).to_string()
}

/// A verifier for [`idp`] with its JWKS inline.
pub fn verifier_builder() -> VerifierBuilder {
    idp().verifier_builder()
}

pub async fn resolver_with(builder: VerifierBuilder) -> Resolver {
    Resolver::builder(builder.build().await.expect("build verifier"))
        .build()
        .expect("build resolver")
}

pub async fn resolver() -> Resolver {
    resolver_with(verifier_builder()).await
}

/// A GET request's parts with these headers (repeated names are appended, not replaced).
pub fn get(headers: &[(&str, &str)]) -> Parts {
    request(http::Method::GET, headers)
}

pub fn request(method: http::Method, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("/rpc/viewer.me");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn session_cookie(token: &str) -> String {
    format!("__session={token}")
}

/// Asserts the caller is authenticated as `sub` from `source`.
#[track_caller]
pub fn assert_user(identity: &Identity, sub: &str, source: Source) {
    match identity {
        Identity::Authenticated(who) => {
            assert_eq!(who.user_id, sub, "user");
            assert_eq!(who.source, source, "source");
        }
        Identity::Anonymous { reason } => {
            panic!("expected {sub} from {source}, got anonymous: {reason}")
        }
    }
}

/// Asserts the caller is anonymous for `reason`.
#[track_caller]
pub fn assert_anonymous(identity: &Identity, reason: AnonymousReason) {
    assert_eq!(identity.anonymous_reason(), Some(reason), "{identity:?}");
}

/// Resolves a request carrying `token` as its bearer token.
pub async fn resolve_bearer(resolver: &Resolver, token: &str) -> Identity {
    resolver
        .resolve(&get(&[("authorization", &bearer(token))]))
        .await
}

/// A JWKS server on 127.0.0.1:0. Every request, to any path, gets the current document.
pub struct JwksServer {
    pub base: String,
    state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

struct ServerState {
    body: Mutex<String>,
    status: AtomicU16,
    delay_ms: AtomicUsize,
    hits: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

impl JwksServer {
    pub async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState {
            body: Mutex::new(body),
            status: AtomicU16::new(200),
            delay_ms: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
            paths: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024
                    {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&request);
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                    state.paths.lock().unwrap().push(path);
                    state.hits.fetch_add(1, Ordering::SeqCst);
                    let delay = state.delay_ms.load(Ordering::SeqCst) as u64;
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    let body = state.body.lock().unwrap().clone();
                    let status = state.status.load(Ordering::SeqCst);
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { base, state, task }
    }

    pub fn url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    pub fn set_body(&self, body: String) {
        *self.state.body.lock().unwrap() = body;
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }

    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A verifier builder for [`idp`]'s issuer fetching keys from `url`.
pub fn url_verifier(url: &str) -> VerifierBuilder {
    Verifier::builder().issuer(ISSUER).jwks_url(url)
}

/// A URL nothing listens on.
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/.well-known/jwks.json")
}

pub fn value(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}
