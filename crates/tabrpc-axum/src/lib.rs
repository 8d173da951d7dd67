//! Serves a tabrpc router with axum 0.8 by the tRPC v11 HTTP protocol.
//!
//! ```no_run
//! use tabrpc_core::{Error, Procedure, Router};
//!
//! #[derive(Clone)]
//! struct Ctx;
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new()
//!     .procedure("hello", Procedure::query(|_: Ctx, (): ()| async { Ok::<_, Error>("hi") }))
//!     .build()
//!     .expect("valid router");
//! let app = axum::Router::new().nest(
//!     "/trpc",
//!     tabrpc_axum::Endpoint::new(router, |_parts: &http::request::Parts| async { Ok(Ctx) }).into_router(),
//! );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tabrpc_axum::serve(listener, app).await
//! # }
//! ```

#[cfg(feature = "auth")]
pub mod auth;
mod cors;
mod endpoint;
mod serve;

pub use cors::{CORS_REQUEST_HEADERS, cors};
pub use endpoint::Endpoint;
pub use serve::{RequestBodyTimeout, ServeConfig, serve, serve_until, serve_with, shutdown_signal};
