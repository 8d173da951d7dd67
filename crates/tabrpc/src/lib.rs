//! tabrpc: typed RPC for Rust backends with a generated TypeScript client, in the spirit of tRPC
//! and rspc, speaking tRPC v11's HTTP protocol.
//!
//! This facade re-exports the crates users need: the core ([`Router`], [`Procedure`],
//! [`Error`], …), the axum transport (`tabrpc::axum`, feature `axum`, on by default), the
//! bindings exporter (`tabrpc::typescript`, feature `typescript`) and sessions
//! (`tabrpc::sessions`, feature `sessions`).
//!
//! ```
//! use tabrpc::{Error, Procedure, Router};
//!
//! #[derive(Clone)]
//! struct Ctx;
//!
//! #[derive(serde::Deserialize, specta::Type)]
//! struct PostById { id: u32 }
//!
//! let router = Router::new()
//!     .procedure("post.byId", Procedure::query(|_: Ctx, input: PostById| async move {
//!         Ok::<_, Error>(format!("post {}", input.id))
//!     }))
//!     .build()
//!     .unwrap();
//! assert!(router.get("post.byId").is_some());
//! ```

pub use tabrpc_core::{
    BuiltRouter, Call, ErasedProcedure, Error, ErrorCode, Event, IntoProcedure, NoPayload, Output,
    Procedure, ProcedureError, ProcedureKind, ProcedureMeta, RESERVED_SCOPES, Router,
    SESSION_SCOPE, ScopeKey, Tracked, TypeInfo, TypedError, VIEWER_MARKER, VIEWER_MISMATCH,
    VIEWER_SCOPE, ViewerContext, ViewerInput, wire,
};

pub use tabrpc_macros::{Context, input};

#[cfg(all(doctest, feature = "auth", feature = "sessions"))]
mod macro_docs;

/// Derive and trait for exported types (`#[derive(specta::Type)]`).
pub use specta;

/// The axum 0.8 transport.
#[cfg(feature = "axum")]
pub mod axum {
    pub use tabrpc_axum::{Endpoint, ServeConfig, serve, serve_until, serve_with, shutdown_signal};
}

/// Who is calling: resolution by auth.md (bearer token first, the fail-closed marker, the
/// session cookie), JWT verification, and with the `axum` feature the `AuthLayer` that puts a
/// [`Caller`](tabrpc_auth::Caller) in every request.
#[cfg(feature = "auth")]
pub mod auth {
    #[cfg(feature = "dev-idp")]
    pub use tabrpc_auth::dev_idp;
    pub use tabrpc_auth::{
        Algorithm, AnonymousReason, Authenticated, Caller, Claim, Claims, ClerkProfile, Error,
        ErrorKind, Identity, KeySource, PendingPolicy, Resolver, ResolverBuilder, Source, Verifier,
        VerifierBuilder, self_check,
    };
    #[cfg(feature = "axum")]
    pub use tabrpc_axum::auth::{AuthLayer, CurrentCaller, caller};
}

/// The TypeScript bindings exporter: `export(&router)` for a router's procedures and types,
/// `export_codes()` for the shared error codes table.
#[cfg(feature = "typescript")]
pub mod typescript {
    pub use tabrpc_typescript::{Error, ErrorKind, HEADER, TypePart, export, export_codes};
}

/// Sessions by parameter injection: anonymous per-tab or per-browser state kept on the server
/// under a client-made [`SessionId`](tabrpc_sessions::SessionId), with a SQLite or Postgres
/// store, rotation at sign-in, revocation and expiry.
#[cfg(feature = "sessions")]
pub mod sessions {
    pub use tabrpc_sessions::{
        Database, EndReason, Error, ErrorKind, ExpiryTask, FeatureTable, INVALID_SESSION_ID, Merge,
        PgStore, Rotation, SESSION_ENDED, SESSION_MARKER, SESSION_WRONG_OWNER, Session,
        SessionContext, SessionCtx, SessionEndInput, SessionId, SessionInput, SessionProcedure,
        SessionRotateInput, SessionRotation, SessionState, SessionStore, SqliteStore, StoreConfig,
        Sweep, router, spawn_expiry,
    };
}
