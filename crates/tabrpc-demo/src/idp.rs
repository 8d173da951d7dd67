//! The development identity provider (auth.md section 5), shaped like Clerk's so the whole
//! multi-tab flow runs on one machine: demo accounts, sessions per browser, short-lived RS256
//! session tokens, the JWKS at `/.well-known/jwks.json`, and a shared `__session` cookie that
//! follows the most recently active tab.
//!
//! Endpoints (JSON in, JSON out):
//!
//! | route | what |
//! |---|---|
//! | `GET /.well-known/jwks.json` | the signing key |
//! | `GET /dev-idp/accounts` | the demo accounts |
//! | `GET /dev-idp/client` | this browser's signed-in sessions and the last active one |
//! | `POST /dev-idp/sign-in` `{account}` | a new session; the cookie now follows it |
//! | `POST /dev-idp/token` `{sessionId}` | a fresh token for one of this browser's sessions (what a tab's `getToken()` calls) |
//! | `POST /dev-idp/activate` `{sessionId}` | the tab of that session became active: the cookie follows it |
//! | `POST /dev-idp/sign-out` `{sessionId}` | ends the session |
//!
//! A browser is told apart by an HttpOnly `__client` cookie, as Clerk's client is.
//!
//! Everything lives in memory and is bounded ([`Limits`]): a loop of sign-ins, with or without
//! a `__client` cookie, cannot grow it. Session and browser ids are never logged in full, only
//! their [`fingerprint`]s: with a browser's cookie, a session id is enough to get a token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Json, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tabrpc::auth::dev_idp::{DevIdp, fingerprint};

/// A demo account: `(user id, display name, sign-in name)`.
pub const ACCOUNTS: [(&str, &str, &str); 3] = [
    ("user_alice", "Alice", "alice"),
    ("user_bob", "Bob", "bob"),
    ("user_carol", "Carol", "carol"),
];

/// The display name of a demo account's user id.
pub fn display_name(user_id: &str) -> Option<&'static str> {
    ACCOUNTS
        .iter()
        .find(|(id, _, _)| *id == user_id)
        .map(|(_, name, _)| *name)
}

const CLIENT_COOKIE: &str = "__client";
const SESSION_COOKIE: &str = "__session";

/// How much the provider remembers. Whatever the requests, it holds at most
/// `clients × sessions_per_client` sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Browsers (`__client` cookies) remembered. Defaults to 1024. When a new browser signs in
    /// beyond it, the browser used least recently is forgotten with its sessions (its tabs'
    /// next token requests answer 401, as after a sign-out). At least 1.
    pub clients: usize,
    /// Sessions of one browser. Defaults to 16. Signing in beyond it ends that browser's oldest
    /// session. At least 1.
    pub sessions_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            clients: 1024,
            sessions_per_client: 16,
        }
    }
}

/// How much the provider remembers now (see [`DevProvider::usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Browsers remembered.
    pub clients: usize,
    /// Sessions remembered, all browsers together.
    pub sessions: usize,
}

/// The provider: its key and its sessions (in memory: a restart signs everyone out).
pub struct DevProvider {
    idp: DevIdp,
    limits: Limits,
    state: Mutex<ProviderState>,
}

#[derive(Default)]
struct ProviderState {
    /// Browser (client) id → its sessions.
    clients: HashMap<String, Client>,
    /// Counts uses, so the least recently used browser can be told.
    clock: u64,
}

struct Client {
    /// Session id and user id, in sign-in order (at most `sessions_per_client`).
    sessions: VecDeque<(String, &'static str)>,
    /// The session the shared `__session` cookie follows.
    last_active: Option<String>,
    /// The clock at this browser's last request.
    used: u64,
}

impl Client {
    fn user_of(&self, session_id: &str) -> Option<&'static str> {
        self.sessions
            .iter()
            .find(|(sid, _)| sid == session_id)
            .map(|(_, user)| *user)
    }
}

impl ProviderState {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Browser `id`, marked as just used.
    fn touch(&mut self, id: &str) -> Option<&mut Client> {
        let now = self.tick();
        let client = self.clients.get_mut(id)?;
        client.used = now;
        Some(client)
    }

    /// Browser `id`, marked as just used; made if unknown, forgetting the least recently used
    /// browser when `limit` are remembered already.
    fn touch_or_insert(&mut self, id: &str, limit: usize) -> &mut Client {
        let now = self.tick();
        if !self.clients.contains_key(id) {
            while self.clients.len() >= limit.max(1) {
                // A scan: at most `limit` entries, and only when a new browser signs in while
                // the table is full.
                let Some(oldest) = self
                    .clients
                    .iter()
                    .min_by_key(|(_, client)| client.used)
                    .map(|(id, _)| id.clone())
                else {
                    break;
                };
                if let Some(gone) = self.clients.remove(&oldest) {
                    tracing::debug!(
                        client = %fingerprint(&oldest),
                        sessions = gone.sessions.len(),
                        limit,
                        "dev identity provider: forgot the least recently used browser"
                    );
                }
            }
        }
        let client = self.clients.entry(id.to_owned()).or_insert_with(|| Client {
            sessions: VecDeque::new(),
            last_active: None,
            used: now,
        });
        client.used = now;
        client
    }
}

#[derive(Debug)]
struct ApiError(StatusCode, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

#[derive(Deserialize)]
struct SignIn {
    account: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionRef {
    session_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionToken {
    session_id: String,
    user_id: String,
    token: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientView {
    sessions: Vec<SessionView>,
    last_active_session_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    session_id: String,
    user_id: String,
    display_name: &'static str,
}

impl DevProvider {
    /// A provider signing with `idp`'s key, with the default [`Limits`].
    pub fn new(idp: DevIdp) -> Self {
        Self {
            idp,
            limits: Limits::default(),
            state: Mutex::new(ProviderState::default()),
        }
    }

    /// The same provider with these limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many browsers and sessions it remembers now (never more than its [`Limits`]).
    pub fn usage(&self) -> Usage {
        let state = self.state();
        Usage {
            clients: state.clients.len(),
            sessions: state.clients.values().map(|c| c.sessions.len()).sum(),
        }
    }

    /// The routes listed in the module docs.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/dev-idp/accounts", get(accounts))
            .route("/dev-idp/client", get(client))
            .route("/dev-idp/sign-in", post(sign_in))
            .route("/dev-idp/token", post(token))
            .route("/dev-idp/activate", post(activate))
            .route("/dev-idp/sign-out", post(sign_out))
            .with_state(self)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ProviderState> {
        // Every update leaves the maps consistent at each step (an insert, a remove, a push),
        // so a lock poisoned by a panic is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user of `session_id` if that session belongs to browser `client` (which counts as
    /// a use of that browser).
    fn owned_session(
        &self,
        client: Option<&str>,
        session_id: &str,
    ) -> Result<&'static str, ApiError> {
        let mut state = self.state();
        client
            .and_then(|client| state.touch(client))
            .and_then(|client| client.user_of(session_id))
            .ok_or(ApiError(
                StatusCode::UNAUTHORIZED,
                "no such session in this browser",
            ))
    }

    fn sign(&self, user: &str, session_id: &str, headers: &HeaderMap) -> Result<String, ApiError> {
        let azp = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        self.idp.sign_session(user, session_id, azp).map_err(|err| {
            tracing::error!(%err, "dev identity provider cannot sign");
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, "signing failed")
        })
    }
}

fn random_id(prefix: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}_{hex}"))
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn set_cookie(response: &mut Response, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn session_cookie(token: &str) -> String {
    // Not HttpOnly: Clerk's `__session` is readable by scripts too.
    format!("{SESSION_COOKIE}={token}; Path=/; SameSite=Lax")
}

async fn jwks(State(p): State<Arc<DevProvider>>) -> Response {
    Json(p.idp.jwks()).into_response()
}

async fn accounts() -> Response {
    let list: Vec<_> = ACCOUNTS
        .iter()
        .map(|(id, name, login)| serde_json::json!({ "userId": id, "displayName": name, "account": login }))
        .collect();
    Json(list).into_response()
}

async fn client(State(p): State<Arc<DevProvider>>, headers: HeaderMap) -> Response {
    let mut state = p.state();
    let view = match cookie_value(&headers, CLIENT_COOKIE).and_then(|c| state.touch(c)) {
        Some(client) => ClientView {
            sessions: client
                .sessions
                .iter()
                .map(|(sid, user)| SessionView {
                    session_id: sid.clone(),
                    user_id: (*user).to_owned(),
                    display_name: display_name(user).unwrap_or("?"),
                })
                .collect(),
            last_active_session_id: client.last_active.clone(),
        },
        None => ClientView {
            sessions: Vec::new(),
            last_active_session_id: None,
        },
    };
    drop(state);
    Json(view).into_response()
}

async fn sign_in(
    State(p): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Json(input): Json<SignIn>,
) -> Result<Response, ApiError> {
    let Some((user, _, _)) = ACCOUNTS
        .iter()
        .find(|(id, _, login)| *login == input.account || *id == input.account)
    else {
        return Err(ApiError(StatusCode::NOT_FOUND, "no such demo account"));
    };
    let existing_client = cookie_value(&headers, CLIENT_COOKIE)
        .filter(|c| p.state().clients.contains_key(*c))
        .map(str::to_owned);
    let client_id = match &existing_client {
        Some(id) => id.clone(),
        None => random_id("client")?,
    };
    let session_id = random_id("sess")?;
    let token = p.sign(user, &session_id, &headers)?;
    {
        let mut state = p.state();
        let limit = p.limits.sessions_per_client.max(1);
        let client = state.touch_or_insert(&client_id, p.limits.clients);
        while client.sessions.len() >= limit {
            let Some((oldest, _)) = client.sessions.pop_front() else {
                break;
            };
            if client.last_active.as_deref() == Some(oldest.as_str()) {
                client.last_active = None;
            }
            tracing::debug!(
                session = %fingerprint(&oldest),
                limit,
                "dev identity provider: ended the browser's oldest session"
            );
        }
        client.sessions.push_back((session_id.clone(), *user));
        client.last_active = Some(session_id.clone());
    }
    tracing::info!(
        user,
        session = %fingerprint(&session_id),
        client = %fingerprint(&client_id),
        "dev identity provider: signed in"
    );
    let mut response = Json(SessionToken {
        session_id,
        user_id: (*user).to_owned(),
        token: token.clone(),
    })
    .into_response();
    if existing_client.is_none() {
        set_cookie(
            &mut response,
            format!("{CLIENT_COOKIE}={client_id}; Path=/; HttpOnly; SameSite=Lax"),
        );
    }
    set_cookie(&mut response, session_cookie(&token));
    Ok(response)
}

/// A fresh token for one of this browser's sessions, and with `activate` the shared cookie
/// moves to that session (its tab became the active one).
fn session_token(
    p: &DevProvider,
    headers: &HeaderMap,
    session_id: String,
    activate: bool,
) -> Result<Response, ApiError> {
    let client = cookie_value(headers, CLIENT_COOKIE);
    let user = p.owned_session(client, &session_id)?;
    let token = p.sign(user, &session_id, headers)?;
    if activate
        && let Some(client) = client
        && let Some(entry) = p.state().clients.get_mut(client)
        // Still this browser's: not signed out or forgotten while the token was signed.
        && entry.user_of(&session_id).is_some()
    {
        entry.last_active = Some(session_id.clone());
    }
    let cookie = activate.then(|| session_cookie(&token));
    let mut response = Json(SessionToken {
        session_id,
        user_id: user.to_owned(),
        token,
    })
    .into_response();
    if let Some(cookie) = cookie {
        set_cookie(&mut response, cookie);
    }
    Ok(response)
}

async fn token(
    State(p): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Json(input): Json<SessionRef>,
) -> Result<Response, ApiError> {
    session_token(&p, &headers, input.session_id, false)
}

async fn activate(
    State(p): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Json(input): Json<SessionRef>,
) -> Result<Response, ApiError> {
    session_token(&p, &headers, input.session_id, true)
}

async fn sign_out(
    State(p): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Json(input): Json<SessionRef>,
) -> Result<Response, ApiError> {
    let client = cookie_value(&headers, CLIENT_COOKIE);
    p.owned_session(client, &input.session_id)?;
    let clear_cookie = {
        let mut state = p.state();
        match client.and_then(|c| state.clients.get_mut(c)) {
            Some(entry) => {
                entry.sessions.retain(|(sid, _)| sid != &input.session_id);
                let was_active = entry.last_active.as_deref() == Some(input.session_id.as_str());
                if was_active {
                    entry.last_active = None;
                }
                was_active
            }
            None => false,
        }
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    if clear_cookie {
        set_cookie(
            &mut response,
            format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
        );
    }
    Ok(response)
}
