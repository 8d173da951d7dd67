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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Json, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tabrpc::auth::dev_idp::DevIdp;

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

/// The provider: its key and its sessions (in memory: a restart signs everyone out).
pub struct DevProvider {
    idp: DevIdp,
    state: Mutex<ProviderState>,
}

#[derive(Default)]
struct ProviderState {
    /// session id → user id and owning browser.
    sessions: HashMap<String, (String, String)>,
    /// browser (client) id → its sessions in sign-in order, and the last active one.
    clients: HashMap<String, (Vec<String>, Option<String>)>,
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
    /// A provider signing with `idp`'s key.
    pub fn new(idp: DevIdp) -> Self {
        Self {
            idp,
            state: Mutex::new(ProviderState::default()),
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
        // A panic while holding the lock cannot leave the maps half-updated (each update is
        // one insert or remove), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user of `session_id` if that session belongs to browser `client`.
    fn owned_session(&self, client: Option<&str>, session_id: &str) -> Result<String, ApiError> {
        let state = self.state();
        match (client, state.sessions.get(session_id)) {
            (Some(client), Some((user, owner))) if owner == client => Ok(user.clone()),
            _ => Err(ApiError(
                StatusCode::UNAUTHORIZED,
                "no such session in this browser",
            )),
        }
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
    let state = p.state();
    let (ids, last) = cookie_value(&headers, CLIENT_COOKIE)
        .and_then(|c| state.clients.get(c))
        .cloned()
        .unwrap_or_default();
    let sessions = ids
        .into_iter()
        .filter_map(|sid| {
            let (user, _) = state.sessions.get(&sid)?;
            Some(SessionView {
                display_name: display_name(user).unwrap_or("?"),
                user_id: user.clone(),
                session_id: sid,
            })
        })
        .collect();
    Json(ClientView {
        sessions,
        last_active_session_id: last,
    })
    .into_response()
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
        state
            .sessions
            .insert(session_id.clone(), ((*user).to_owned(), client_id.clone()));
        let entry = state.clients.entry(client_id.clone()).or_default();
        entry.0.push(session_id.clone());
        entry.1 = Some(session_id.clone());
    }
    tracing::info!(user, session = %session_id, "dev identity provider: signed in");
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
    let token = p.sign(&user, &session_id, headers)?;
    if activate
        && let Some(client) = client
        && let Some(entry) = p.state().clients.get_mut(client)
    {
        entry.1 = Some(session_id.clone());
    }
    let cookie = activate.then(|| session_cookie(&token));
    let mut response = Json(SessionToken {
        session_id,
        user_id: user,
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
        state.sessions.remove(&input.session_id);
        match client.and_then(|c| state.clients.get_mut(c)) {
            Some((ids, last)) => {
                ids.retain(|sid| sid != &input.session_id);
                let was_active = last.as_deref() == Some(input.session_id.as_str());
                if was_active {
                    *last = None;
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
