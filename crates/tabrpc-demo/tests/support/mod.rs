//! Shared helpers of the demo's black-box tests: keys made once per test binary, the demo served
//! on a real socket (`127.0.0.1:0`, in-process with its own in-memory database, or the real
//! binary in a child process), tRPC calls over reqwest, a cookie jar for the development
//! identity provider, a JWKS server whose document can change, the test PostgreSQL, and a log
//! capture.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use tabrpc::auth::dev_idp::{DevIdp, TokenBuilder};
use tabrpc::auth::{Resolver, VerifierBuilder};
use tabrpc_demo::{Auth, AuthSettings, Db, Issuer};
use tracing_subscriber::fmt::MakeWriter;

/// The issuer of the demo's development identity provider in these tests.
pub const ISSUER: &str = "http://demo.tabrpc.test";
/// The page origin used as `azp` where an allow-list is configured.
pub const ORIGIN: &str = "https://app.tabrpc.test";
/// Upper bound on any single network step, so a hung server fails the test instead of hanging.
pub const STEP: Duration = Duration::from_secs(10);

/// The demo's signing key. RSA key generation is the slow part of these tests, so each key is
/// made once per test binary.
pub fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| DevIdp::generate(ISSUER).expect("generate the demo key"))
}

/// Someone else's key, claiming the same issuer.
pub fn attacker() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| {
        DevIdp::generate(ISSUER)
            .and_then(|idp| idp.with_kid("attacker-key"))
            .expect("generate the attacker key")
    })
}

/// The issuer's next key, for a rotation.
pub fn rotated() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| {
        DevIdp::generate(ISSUER)
            .and_then(|idp| idp.with_kid("rotated-key"))
            .expect("generate the rotated key")
    })
}

/// A JWKS document holding these providers' keys.
pub fn jwks_of(idps: &[&DevIdp]) -> String {
    json!({ "keys": idps.iter().map(|idp| idp.jwk()).collect::<Vec<_>>() }).to_string()
}

/// A valid session token of the demo's key for `user` (session `sess_<user>`).
pub fn token_for(user: &str) -> String {
    idp()
        .sign_session(user, &format!("sess_{user}"), None)
        .expect("sign")
}

/// `onboarding.getProgress` as `user` (a bearer token, no `viewerId`): the answer's data.
pub async fn progress(demo: &Demo, user: &str) -> Value {
    demo.query("onboarding.getProgress")
        .bearer(&token_for(user))
        .send()
        .await
        .data()
}

/// `onboarding.saveStep` of `step` as `user`: the answer's data.
pub async fn save(demo: &Demo, user: &str, step: &str) -> Value {
    demo.mutation("onboarding.saveStep", json!({ "step": step }))
        .bearer(&token_for(user))
        .send()
        .await
        .data()
}

/// A valid token for `user` to adjust (and break) before signing.
pub fn token_builder(user: &str) -> TokenBuilder {
    idp()
        .token()
        .claim("sub", user)
        .claim("sid", format!("sess_{user}"))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn session_cookie(token: &str) -> String {
    format!("__session={token}")
}

// ---------------------------------------------------------------------------------------------
// The demo on a real socket.
// ---------------------------------------------------------------------------------------------

/// The demo on `127.0.0.1:0`: served in-process, or the real binary in a child process
/// ([`Demo::process`]). Dropping it stops the server task, or kills the process.
pub struct Demo {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base: String,
    runner: Runner,
}

enum Runner {
    Task(tokio::task::JoinHandle<()>),
    /// The child, and the JWKS file it reads (removed with it).
    Process(Box<tokio::process::Child>, std::path::PathBuf),
}

impl Drop for Demo {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Task(task) => task.abort(),
            // `kill_on_drop` is set too; this makes the kill immediate.
            Runner::Process(child, jwks) => {
                let _ = child.start_kill();
                let _ = std::fs::remove_file(jwks);
            }
        }
    }
}

/// Demo auth settings that use the shared key ([`idp`]) for the embedded provider.
pub fn dev_settings() -> AuthSettings {
    AuthSettings {
        issuer: Issuer::DevIdp {
            key_pem: Some(idp().private_key_pem().as_bytes().to_vec()),
        },
        ..AuthSettings::default()
    }
}

/// Auth with a resolver over `builder` and no embedded provider.
pub async fn auth_with(builder: VerifierBuilder) -> Auth {
    init_logs();
    let verifier = builder.build().await.expect("build the verifier");
    Auth {
        resolver: Arc::new(Resolver::builder(verifier).build().expect("build resolver")),
        provider: None,
    }
}

impl Demo {
    /// The demo as `cargo run` sets it up: the development identity provider (with the shared
    /// key) and the default verification policy.
    pub async fn dev() -> Self {
        Self::with_settings(dev_settings()).await
    }

    /// The demo set up by [`Auth::from_settings`].
    pub async fn with_settings(settings: AuthSettings) -> Self {
        init_logs();
        let auth = Auth::from_settings(&settings, ISSUER)
            .await
            .expect("auth from settings");
        Self::start(auth).await
    }

    /// The demo with this auth and a fresh in-memory database.
    pub async fn start(auth: Auth) -> Self {
        let db = Db::open("sqlite::memory:")
            .await
            .expect("open the database");
        Self::start_with_db(auth, db).await
    }

    /// The demo as `cargo run` sets it up (see [`Demo::dev`]), on this database.
    pub async fn dev_with_db(db: Db) -> Self {
        init_logs();
        let auth = Auth::from_settings(&dev_settings(), ISSUER)
            .await
            .expect("auth from settings");
        Self::start_with_db(auth, db).await
    }

    /// The demo with this auth and this database.
    pub async fn start_with_db(auth: Auth, db: Db) -> Self {
        init_logs();
        let app = tabrpc_demo::app(db, auth, tabrpc::wire::Config::default(), None)
            .expect("the demo router builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = tabrpc::axum::serve_until(listener, app, std::future::pending()).await;
        });
        Self {
            addr,
            base: format!("http://{addr}"),
            runner: Runner::Task(task),
        }
    }

    /// The real `tabrpc-demo` binary on `127.0.0.1:0`, with a clean environment plus `vars`,
    /// accepting the tokens of [`idp`] as an external issuer would ([`process_auth_vars`]).
    /// Returns once it has printed its address.
    pub async fn process(vars: &[(&str, String)]) -> Self {
        let mut command = demo_command();
        let (auth_vars, jwks) = process_auth_vars();
        command
            .envs(auth_vars)
            .envs(vars.iter().map(|(k, v)| (*k, v)));
        let mut child = command.spawn().expect("the demo binary starts");
        let base = match printed_address(&mut child).await {
            Ok(base) => base,
            Err(what) => {
                let _ = child.start_kill();
                let output = child.wait_with_output().await.expect("the demo's output");
                let _ = std::fs::remove_file(&jwks);
                panic!(
                    "the demo printed no address ({what}); stderr: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        };
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .expect("a socket address");
        Self {
            addr,
            base,
            runner: Runner::Process(Box::new(child), jwks),
        }
    }

    /// Kills the demo's process at once (SIGKILL: no graceful shutdown, as in a crash) and
    /// waits for it to be gone.
    pub async fn kill(mut self) {
        if let Runner::Process(child, _) = &mut self.runner {
            child.kill().await.expect("kill the demo");
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// A query (GET `/trpc/<path>`), without input until [`Call::input`].
    pub fn query(&self, path: &str) -> Call {
        Call::new(self, reqwest::Method::GET, &format!("/trpc/{path}"))
    }

    /// A mutation (POST `/trpc/<path>` with `input` as the JSON body).
    pub fn mutation(&self, path: &str, input: Value) -> Call {
        Call::new(self, reqwest::Method::POST, &format!("/trpc/{path}")).input(input)
    }

    /// A batch of queries: `GET /trpc/a,b?batch=1&input={"0":…,"1":…}`.
    pub fn batch_query(&self, calls: &[(&str, Value)]) -> Call {
        let paths: Vec<&str> = calls.iter().map(|(p, _)| *p).collect();
        let inputs: serde_json::Map<String, Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (_, input))| (i.to_string(), input.clone()))
            .collect();
        let mut call = Call::new(
            self,
            reqwest::Method::GET,
            &format!("/trpc/{}", paths.join(",")),
        )
        .input(Value::Object(inputs));
        call.batch = true;
        call
    }

    /// A batch of mutations: `POST /trpc/a,b?batch=1` with `{"0":…,"1":…}`.
    pub fn batch_mutation(&self, calls: &[(&str, Value)]) -> Call {
        let mut call = self.batch_query(calls);
        call.method = reqwest::Method::POST;
        call
    }

    /// `POST` a JSON body to one of the development provider's routes.
    pub fn idp_post(&self, route: &str, body: Value) -> Call {
        Call::new(self, reqwest::Method::POST, route).input(body)
    }

    /// `GET` any route.
    pub fn get(&self, route: &str) -> Call {
        Call::new(self, reqwest::Method::GET, route)
    }
}

/// One HTTP request to the demo.
#[must_use]
pub struct Call {
    url: String,
    method: reqwest::Method,
    input: Option<Value>,
    batch: bool,
    headers: Vec<(String, String)>,
}

impl Call {
    fn new(demo: &Demo, method: reqwest::Method, path: &str) -> Self {
        Self {
            url: demo.url(path),
            method,
            input: None,
            batch: false,
            headers: Vec::new(),
        }
    }

    /// The input: `?input=` for a GET, the JSON body for a POST.
    pub fn input(mut self, input: Value) -> Self {
        self.input = Some(input);
        self
    }

    /// Adds a header (a repeated name is sent repeatedly).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds these headers.
    pub fn headers(mut self, headers: &[(String, String)]) -> Self {
        self.headers.extend(headers.iter().cloned());
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", bearer(token))
    }

    /// The cookies of `jar`, if any.
    pub fn cookies(self, jar: &Jar) -> Self {
        match jar.header() {
            Some(cookies) => self.header("cookie", cookies),
            None => self,
        }
    }

    /// Sends the request and reads the whole reply.
    pub async fn send(self) -> Reply {
        let mut params: Vec<(&str, String)> = Vec::new();
        if self.batch {
            params.push(("batch", "1".to_owned()));
        }
        let is_get = self.method == reqwest::Method::GET;
        if let (true, Some(input)) = (is_get, &self.input) {
            params.push(("input", input.to_string()));
        }
        let url = reqwest::Url::parse_with_params(&self.url, &params).expect("a valid URL");
        let mut builder = client().request(self.method.clone(), url);
        if !is_get {
            let body = self
                .input
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default();
            builder = builder
                .header("content-type", "application/json")
                .body(body);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = tokio::time::timeout(STEP, builder.send())
            .await
            .expect("a reply within the step timeout")
            .expect("the request is sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(STEP, response.bytes())
            .await
            .expect("the body within the step timeout")
            .expect("the body is read");
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// A reqwest client that never follows redirects and keeps no cookies of its own.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// A reply, read completely.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics, showing the reply, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.describe()))
    }

    /// `result.data` of a single-call reply (panics, showing the reply, when it is an error).
    pub fn data(&self) -> Value {
        let json = self.json();
        match json.pointer("/result/data") {
            Some(data) if self.status == 200 => data.clone(),
            _ => panic!("expected a 200 result: {}", self.describe()),
        }
    }

    /// `error.data.code` of a single-call reply, if it is an error envelope.
    pub fn error_code(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.text)
            .ok()?
            .pointer("/error/data/code")?
            .as_str()
            .map(str::to_owned)
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    pub fn describe(&self) -> String {
        format!(
            "status {} headers {:?} body {}",
            self.status, self.headers, self.text
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The demo binary, and the test PostgreSQL.
// ---------------------------------------------------------------------------------------------

/// How long the demo binary may take to print its address.
pub const PROCESS_START: Duration = Duration::from_secs(30);

/// The demo binary with a clean environment (`127.0.0.1:0`, in-memory SQLite, warnings only)
/// and piped output, killed when dropped.
pub fn demo_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tabrpc-demo"));
    command
        .env_clear()
        .env("TABRPC_ADDR", "127.0.0.1:0")
        .env("TABRPC_DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The variables that make a demo process accept [`token_for`]'s tokens: issuer [`ISSUER`]
/// with [`idp`]'s key in a new JWKS file (returned, for the caller to remove), as every
/// instance behind a load balancer must share one issuer (each development provider would be
/// its own).
pub fn process_auth_vars() -> (Vec<(&'static str, String)>, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "tabrpc-demo-tests-{}-jwks.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, jwks_of(&[idp()])).expect("write the JWKS file");
    let vars = vec![
        ("TABRPC_AUTH_ISSUER", ISSUER.to_owned()),
        ("TABRPC_AUTH_JWKS", path.display().to_string()),
    ];
    (vars, path)
}

/// The environment variable naming the test PostgreSQL (tests/run.sh starts one and sets it).
pub const POSTGRES_URL_VAR: &str = "TABRPC_TEST_POSTGRES_URL";

/// The test Postgres URL, or `None` (the test skips, saying so on stderr) outside CI. Fails
/// the test under `CI=true`, where the Postgres tests must run.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{POSTGRES_URL_VAR} is not set: the Postgres demo tests must run under CI \
             (tests/run.sh starts PostgreSQL and sets it)"
        ),
        _ => {
            // Straight to the process's stderr: libtest shows `eprintln!` output only for
            // failing tests, which would make the skip silent.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! SKIPPED: {POSTGRES_URL_VAR} is not set, so this Postgres test did not run. \
                 Run `bash tests/run.sh`, or start PostgreSQL and set {POSTGRES_URL_VAR}. !!!\n"
            );
            None
        }
    }
}

/// A schema of its own in the test Postgres, so tests (and their expiry sweeps) never see each
/// other's sessions. [`PgSchema::url`] names it as `TABRPC_SESSION_DATABASE_URL` may.
pub struct PgSchema {
    admin: sqlx::PgPool,
    name: String,
    /// The test Postgres URL with `options=-c search_path=<schema>`.
    pub url: String,
}

impl PgSchema {
    pub async fn create(url: &str) -> Self {
        let name = format!("tabrpc_demo_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect to the test Postgres");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .expect("create the schema");
        let separator = if url.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{url}{separator}options=-c%20search_path%3D{name}"),
            admin,
            name,
        }
    }

    pub async fn drop(self) {
        let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await;
    }
}

// ---------------------------------------------------------------------------------------------
// A browser's cookie jar, for the development identity provider.
// ---------------------------------------------------------------------------------------------

/// The cookies one browser holds: name → value, updated from `Set-Cookie` as a browser does
/// (a later cookie replaces an earlier one of the same name; `Max-Age=0` or an empty value
/// deletes it).
#[derive(Debug, Default, Clone)]
pub struct Jar {
    cookies: BTreeMap<String, String>,
}

impl Jar {
    /// Takes in the `Set-Cookie` headers of `reply`.
    pub fn absorb(&mut self, reply: &Reply) {
        for cookie in reply.set_cookies() {
            let mut attributes = cookie.split(';').map(str::trim);
            let Some((name, value)) = attributes.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let expired = attributes.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// The `Cookie` header this browser would send, if it holds any cookie.
    pub fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// A signed-in session as the provider's sign-in and token routes return it.
#[derive(Debug, Clone)]
pub struct Session {
    pub session_id: String,
    pub user_id: String,
    pub token: String,
}

impl Session {
    fn from_reply(reply: &Reply) -> Self {
        assert_eq!(reply.status, 200, "{}", reply.describe());
        let json = reply.json();
        let field = |name: &str| {
            json[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name}: {}", reply.describe()))
                .to_owned()
        };
        Self {
            session_id: field("sessionId"),
            user_id: field("userId"),
            token: field("token"),
        }
    }
}

/// Signs `account` in from the browser of `jar` (which takes the reply's cookies).
pub async fn sign_in(demo: &Demo, jar: &mut Jar, account: &str) -> Session {
    let reply = demo
        .idp_post("/dev-idp/sign-in", json!({ "account": account }))
        .cookies(jar)
        .send()
        .await;
    jar.absorb(&reply);
    Session::from_reply(&reply)
}

/// A fresh token for `session_id` from the browser of `jar`: the reply, unparsed.
pub async fn request_token(demo: &Demo, jar: &Jar, session_id: &str) -> Reply {
    demo.idp_post("/dev-idp/token", json!({ "sessionId": session_id }))
        .cookies(jar)
        .send()
        .await
}

/// Gives `session_id`'s tab the focus in the browser of `jar` (the shared cookie follows it):
/// the reply, unparsed; the jar does not take its cookies.
pub async fn activate(demo: &Demo, jar: &Jar, session_id: &str) -> Reply {
    demo.idp_post("/dev-idp/activate", json!({ "sessionId": session_id }))
        .cookies(jar)
        .send()
        .await
}

/// What the provider tells the browser of `jar` about its sessions (`GET /dev-idp/client`).
pub async fn client_view(demo: &Demo, jar: &Jar) -> serde_json::Value {
    demo.get("/dev-idp/client").cookies(jar).send().await.json()
}

/// A fresh token for `session_id` from the browser of `jar`; panics unless one is issued.
pub async fn get_token(demo: &Demo, jar: &Jar, session_id: &str) -> Session {
    Session::from_reply(&request_token(demo, jar, session_id).await)
}

// ---------------------------------------------------------------------------------------------
// A JWKS server whose document can change (key rotation) and that counts its hits.
// ---------------------------------------------------------------------------------------------

/// An axum server on 127.0.0.1:0 answering every path with the current JWKS document.
pub struct JwksServer {
    pub base: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let (shared_body, shared_hits) = (body.clone(), hits.clone());
        let app = axum::Router::new().fallback(move || {
            let body = shared_body.lock().unwrap().clone();
            shared_hits.fetch_add(1, Ordering::SeqCst);
            async move { ([("content-type", "application/json")], body) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            body,
            hits,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    pub fn set_body(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL nothing listens on.
pub async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}/.well-known/jwks.json")
}

// ---------------------------------------------------------------------------------------------
// Log capture.
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// The capture of the test running on this thread, if it started one.
    static ACTIVE: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once per test binary, a global TRACE `fmt` subscriber whose output goes to the
/// [`Capture`] of the thread that emitted the event (and nowhere when there is none).
///
/// Why global rather than `tracing::subscriber::set_default` per test: `tracing` caches each
/// event site's interest when the site first fires, and a site registering on one test's
/// thread while another test installs its scoped subscriber can stay cached as "never", so a
/// scoped capture silently misses events when tests run in parallel. With one global
/// subscriber installed before any demo starts, every site is interested from the start.
pub fn init_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(ThreadWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("install the log capture");
    });
}

/// Everything logged on one test's thread while its capture was active.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

/// Stops a capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().take());
    }
}

impl Capture {
    /// Starts capturing everything (TRACE and up) logged on this thread until the guard is
    /// dropped. With the current-thread runtime of `#[tokio::test]`, the demo's tasks run on
    /// this thread too, so the server's events are captured.
    pub fn start() -> (Self, CaptureGuard) {
        init_logs();
        let capture = Self::default();
        ACTIVE.with(|active| *active.borrow_mut() = Some(capture.clone()));
        (capture, CaptureGuard(()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The writer of the global subscriber: the emitting thread's capture, if any.
struct ThreadWriter;

/// One event's output, bound for a capture or discarded.
struct EventWriter(Option<Capture>);

impl Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(capture) = &self.0 {
            capture.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(ACTIVE.with(|active| active.borrow().clone()))
    }
}

/// The pieces of `token` that must never appear in a log: the whole token, and its payload and
/// signature segments (the header segment is the same for every token of a key, so it is
/// covered by the whole-token check).
pub fn secret_pieces(token: &str) -> Vec<String> {
    let mut pieces = vec![token.to_owned()];
    pieces.extend(
        token
            .split('.')
            .skip(1)
            .filter(|s| s.len() >= 16)
            .map(str::to_owned),
    );
    pieces
}

/// The base URL (`http://…`) the demo binary prints on its first line of stdout; stdout is read
/// on afterwards so the child never blocks on a full pipe. `Err` says what came instead.
pub async fn printed_address(child: &mut tokio::process::Child) -> Result<String, String> {
    use tokio::io::AsyncBufReadExt as _;
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = match tokio::time::timeout(PROCESS_START, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => return Err(format!("{other:?}")),
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line.split_whitespace()
        .find(|word| word.starts_with("http://"))
        .map(str::to_owned)
        .ok_or_else(|| format!("no address in {line:?}"))
}
