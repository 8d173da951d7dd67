//! tabrpc: typed RPC for Rust backends with a generated TypeScript client, in the spirit of tRPC
//! and rspc, speaking tRPC v11's HTTP protocol.
//!
//! ```
//! use tabrpc::{Procedure, Router};
//!
//! #[derive(Clone)]
//! struct Ctx;
//!
//! #[derive(serde::Deserialize, specta::Type)]
//! struct PostById { id: u32 }
//!
//! let router = Router::new()
//!     .procedure("post.byId", Procedure::query(|_: Ctx, input: PostById| async move {
//!         Ok(format!("post {}", input.id))
//!     }))
//!     .build()?;
//! assert!(router.get("post.byId").is_some());
//! # Ok::<(), tabrpc::BuildError>(())
//! ```
//!
//! The top level has what an application writes: [`Router`], [`Procedure`], [`Error`], the
//! scopes and their guards ([`Scope`], [`ViewerGuard`], `sessions::SessionGuard`). Around
//! middleware gets a [`Next`] ([`Procedure::around`], [`Router::around`]); reusable bases such
//! as an "authed" procedure are [`ProcedureBuilder`]s; headers and cookies on success are
//! [`ResponseMeta`] and [`Reply`]; [`BuiltRouter::on_error`] and [`BuiltRouter::format_errors`]
//! are the error hooks ([`ErrorEvent`]); [`BuiltRouter::caller`] makes a [`ServerCaller`], which
//! calls procedures in-process. What only integrations (transports, exporters, guards of their
//! own) need is in [`plumbing`].
//!
//! # Features
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `axum` | yes | `axum`: the axum 0.8 transport (`Endpoint`, `serve`, `serve_with`) |
//! | `auth` | no | `auth`: who is calling (bearer-first caller resolution, JWT verification) and, with `axum`, the `AuthLayer` |
//! | `dev-idp` | no | `auth::dev_idp`: the development identity provider, for demos and tests only (implies `auth`) |
//! | `sessions` | no | `sessions`: session ids, the SQLite and Postgres session stores, `SessionGuard`, rotation, revocation and expiry |
//! | `postgres-tls` | no | TLS for the Postgres session store's connections, following the URL's `sslmode` and `sslrootcert` (implies `sessions`; see docs/postgres.md) |
//! | `live` | no | `live`: live invalidation, the `live.events` stream and its publish handle (implies `sessions`) |
//! | `typescript` | no | `typescript`: the TypeScript bindings exporter |
//!
//! The README's Rust blocks are compiled as doc tests of this crate with `auth`, `dev-idp`,
//! `sessions` and `live` on; `examples/` has one runnable program per use (`hello`, `auth`,
//! `sessions`, `subscriptions`, `middleware`, `validated`, `live`).

pub use tabrpc_core::{
    BuildError, BuildProblem, BuildProblemKind, BuiltRouter, Error, ErrorCode, ErrorEvent,
    ErrorReason, Guard, Next, Procedure, ProcedureBuilder, Reply, ResponseMeta, Router, Scope,
    ServerCaller, Tracked, TypedError, ViewerContext, ViewerGuard, ViewerInput, wire,
};

pub use tabrpc_core::{FieldErrors, Timestamp};
pub use tabrpc_macros::{Context, input};

/// What integrations need and applications do not write: erased procedures and their metadata
/// (for transports and exporters), the call as router middleware sees it, outputs and events,
/// and the protocol constants.
pub mod plumbing {
    pub use tabrpc_core::{
        Call, ErasedProcedure, Event, IntoProcedure, IntoReply, Output, ProcedureKind,
        ProcedureMeta, TypeInfo, VIEWER_MISMATCH, protocol,
    };
}

#[cfg(all(doctest, feature = "auth", feature = "sessions"))]
mod macro_docs;

/// The README's Rust blocks, compiled (and run, unless `no_run`) as doc tests.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "auth",
    feature = "sessions",
    feature = "live"
))]
#[doc = include_str!("../../../README.md")]
mod readme_doctests {}

/// Derive and trait for exported types (`#[derive(specta::Type)]`).
pub use specta;

/// The axum 0.8 transport.
#[cfg(feature = "axum")]
pub mod axum {
    pub use tabrpc_axum::{
        CORS_REQUEST_HEADERS, Endpoint, ServeConfig, cors, serve, serve_until, serve_with,
        shutdown_signal,
    };
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
    pub use tabrpc_typescript::{
        Error, ErrorKind, HEADER, TypePart, export, export_codes, export_trpc, export_types,
        export_with,
    };
}

/// Sessions by parameter injection: anonymous per-tab or per-browser state kept on the server
/// under a client-made [`SessionId`](tabrpc_sessions::SessionId), with a SQLite or Postgres
/// store, rotation at sign-in, revocation and expiry.
#[cfg(feature = "sessions")]
pub mod sessions {
    pub use tabrpc_sessions::{
        Database, EndReason, Error, ErrorKind, ExpiryTask, FeatureTable, INVALID_SESSION_ID, Merge,
        PgStore, Rotation, SESSION_ENDED, SESSION_WRONG_OWNER, Session, SessionContext, SessionCtx,
        SessionEndInput, SessionGuard, SessionId, SessionInput, SessionRotateInput,
        SessionRotation, SessionState, SessionStore, SqliteStore, StoreConfig, Sweep, router,
        spawn_expiry,
    };
}

/// Live invalidation: a publish handle ([`Live`](tabrpc_live::Live)) that tells the tabs of one
/// account, one session or everyone to refetch some procedures, and [`events`](tabrpc_live::events),
/// the `live.events` stream each tab opens with its own token.
#[cfg(feature = "live")]
pub mod live {
    pub use tabrpc_live::{
        Error, ErrorKind, Live, LiveConfig, LiveContext, LiveCtx, LiveEvent, LiveInput, LiveScope,
        MAX_INPUT_LEN, MAX_PATH_LEN, MAX_PATHS, Paths, Publisher, Subscription, events,
    };
}
