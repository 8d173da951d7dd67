//! Sessions by parameter injection: anonymous, per-tab (or per-browser) state such as a cart
//! before sign-in, kept on the server under an id the client makes and passes as the
//! `sessionId` parameter of the procedures that need it.
//!
//! - [`SessionId`]: a UUID v4; anything else is a 400. A handle, never an authenticator.
//! - [`SessionStore`]: find-or-create (create on first write), rotation at sign-in, end at
//!   sign-out, revocation of every session of a user, expiry and caps; on SQLite ([`SqliteStore`], the embedded default) or
//!   Postgres ([`PgStore`], for several server instances).
//! - [`FeatureTable`]: where features keep their session-keyed rows, so rotation moves them in
//!   the same transaction and ending a session deletes them.
//! - [`SessionGuard`]: `.guard(SessionGuard)` on a procedure that takes a session gets it
//!   resolved (and ownership checked against the verified caller) in its [`SessionCtx`], and
//!   puts it in the `session` scope in the bindings; [`router`] adds `rotate` and `end`.
//! - [`spawn_expiry`]: the background sweep.
//! - [`Error`]: the crate's one error type; its [`ErrorKind`] maps to the shared codes table,
//!   and to `data.reason` where the client must react (`session_expired`: make a new id;
//!   `session_mismatch`: the session belongs to another account).
//!
//! ## Binding sessions to a caller fails closed
//!
//! - **Rotation** (`session.rotate`) links the new session to the verified caller. A request
//!   whose credentials were presented and refused (expired or forged token, `Bearer null`,
//!   the fail-closed marker, ambiguous cookies, a CSRF failure) is answered 401
//!   `invalid_token` and changes nothing; only a request with no credentials at all rotates
//!   anonymously.
//! - **A signed-in caller's first use of an anonymous session links it to them**, atomically
//!   (a read as much as a write). From then on it answers that account only: anyone else
//!   holding the id gets 403 `session_mismatch`. Chosen over refusing the signed-in caller
//!   ("rotate first") because it closes the window with no new error for the client to
//!   handle: calls made between sign-in and the client's rotation simply work, and the
//!   rotation (same account) still moves the data to a fresh id.
//! - A session linked to an account, used with refused credentials, answers that 401 (get a
//!   fresh token) rather than 403 `session_mismatch` (which would tell the client to give the
//!   session up).
//!
//! ## Bounds
//!
//! A session row is created by the first write (a query with an id never seen answers the
//! empty state and stores nothing). The table is bounded per kind of caller, with documented
//! defaults in [`StoreConfig`]: live anonymous sessions
//! ([`max_anonymous_sessions`](StoreConfig::max_anonymous_sessions), 100 000), live sessions
//! per account ([`max_sessions_per_user`](StoreConfig::max_sessions_per_user), 100), and
//! remembered ended sessions ([`max_ended_sessions`](StoreConfig::max_ended_sessions),
//! 100 000). Past a cap, the least recently used sessions end (reason `expired`, data
//! deleted) and the longest-ended are forgotten, so a client creating sessions in a loop
//! cannot grow the database without bound. A feature can cap its rows per session
//! ([`FeatureTable::max_rows`]); a rotation that would pass it is refused and changes nothing.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tabrpc_core::{Error, ErrorCode, Procedure, Router, Scope, ViewerContext};
//! use tabrpc_sessions::{
//!     SessionContext, SessionCtx, SessionGuard, SessionId, SessionInput, SessionStore,
//!     SqliteStore, StoreConfig,
//! };
//!
//! #[derive(Clone)]
//! struct Ctx { user: Option<String>, sessions: Arc<dyn SessionStore> }
//! impl ViewerContext for Ctx {
//!     fn viewer(&self) -> Result<&str, Error> {
//!         self.user.as_deref().ok_or_else(|| Error::new(ErrorCode::Unauthorized))
//!     }
//! }
//! impl SessionContext for Ctx {
//!     fn session_store(&self) -> &dyn SessionStore { self.sessions.as_ref() }
//! }
//!
//! #[derive(serde::Deserialize, specta::Type)]
//! #[serde(rename_all = "camelCase")]
//! struct Visit { session_id: SessionId }
//! impl SessionInput for Visit {
//!     fn session_id(&self) -> &SessionId { &self.session_id }
//! }
//!
//! let router = Router::new()
//!     .procedure("visit", Procedure::mutation(|ctx: SessionCtx<Ctx>, _: Visit| async move {
//!         Ok(ctx.session().user_id().is_some())
//!     }).guard(SessionGuard))
//!     .nest("session", tabrpc_sessions::router())
//!     .build()?;
//! let (_, visit) = router.get("visit").ok_or("no procedure")?;
//! assert_eq!(visit.meta().scopes(), [Scope::Session]);
//!
//! // The store: a file by default (`sqlite://sessions.db`), Postgres for several instances.
//! let sessions = SqliteStore::open("sqlite::memory:", StoreConfig::default()).await?;
//! let _expiry = tabrpc_sessions::spawn_expiry(Arc::new(sessions.clone()));
//! # Ok(()) }
//! ```

mod caller;
mod config;
mod error;
mod expiry;
mod feature;
mod guard;
mod id;
mod procedures;
pub mod store;

pub use config::StoreConfig;
pub use error::{EndReason, Error, ErrorKind, SESSION_ENDED, SESSION_WRONG_OWNER};
pub use expiry::{ExpiryTask, spawn_expiry};
pub use feature::{FeatureTable, Merge};
pub use guard::{SessionContext, SessionCtx, SessionGuard, SessionInput};
pub use id::{INVALID_SESSION_ID, SessionId};
pub use procedures::{SessionEndInput, SessionRotateInput, SessionRotation, router};
pub use store::{
    Database, PgStore, Rotation, Session, SessionState, SessionStore, SqliteStore, Sweep,
};
