//! Sessions by parameter injection: anonymous, per-tab (or per-browser) state such as a cart
//! before sign-in, kept on the server under an id the client makes and passes as the
//! `sessionId` parameter of the procedures that need it.
//!
//! - [`SessionId`]: a UUID v4; anything else is a 400. A handle, never an authenticator.
//! - [`SessionStore`]: find-or-create, rotation at sign-in, end at sign-out, revocation of
//!   every session of a user, expiry; on SQLite ([`SqliteStore`], the embedded default) or
//!   Postgres ([`PgStore`], for several server instances).
//! - [`FeatureTable`]: where features keep their session-keyed rows, so rotation moves them in
//!   the same transaction and ending a session deletes them.
//! - [`SessionProcedure::with_session`]: a procedure that takes a session gets it resolved
//!   (and ownership checked against the verified caller) in its [`SessionCtx`], and is marked
//!   `"session"` in the bindings; [`router`] adds `rotate` and `end`.
//! - [`spawn_expiry`]: the background sweep.
//! - [`Error`]: the crate's one error type; its [`ErrorKind`] maps to the shared codes table.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tabrpc_core::{Error, ErrorCode, Procedure, Router, ViewerContext};
//! use tabrpc_sessions::{
//!     SessionContext, SessionCtx, SessionId, SessionInput, SessionProcedure, SessionStore,
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
//!         Ok::<_, Error>(ctx.session().user_id().is_some())
//!     }).with_session())
//!     .nest("session", tabrpc_sessions::router())
//!     .build()?;
//! let (_, visit) = router.get("visit").ok_or("no procedure")?;
//! assert_eq!(visit.meta().markers, ["session"]);
//!
//! // The store: a file by default (`sqlite://sessions.db`), Postgres for several instances.
//! let sessions = SqliteStore::open("sqlite::memory:", StoreConfig::default()).await?;
//! let _expiry = tabrpc_sessions::spawn_expiry(Arc::new(sessions.clone()));
//! # Ok(()) }
//! ```

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
pub use guard::{SESSION_MARKER, SessionContext, SessionCtx, SessionInput, SessionProcedure};
pub use id::{INVALID_SESSION_ID, SessionId};
pub use procedures::{SessionEndInput, SessionRotateInput, SessionRotation, router};
pub use store::{
    Database, PgStore, Rotation, Session, SessionState, SessionStore, SqliteStore, Sweep,
};
