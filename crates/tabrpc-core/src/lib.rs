//! The core of tabrpc: procedures, routers, middleware, the error codes table and the
//! tRPC-compatible wire protocol, with no web framework in it.
//!
//! ```
//! use tabrpc_core::{Procedure, Router};
//!
//! #[derive(Clone)]
//! struct Ctx;
//!
//! let router = Router::new()
//!     .procedure("hello", Procedure::query(|_ctx: Ctx, who: Option<String>| async move {
//!         Ok(format!("hello {}", who.as_deref().unwrap_or("world")))
//!     }))
//!     .build()?;
//! assert_eq!(router.len(), 1);
//! # Ok::<(), tabrpc_core::BuildError>(())
//! ```

mod around;
mod build_error;
mod caller;
mod codes;
mod error;
mod hooks;
mod meta;
mod middleware;
mod procedure;
pub mod protocol;
mod router;
pub mod scope;
mod transform;
mod validate;
mod viewer;
pub mod wire;

pub use around::{Next, ProcedureBuilder};
pub use build_error::{BuildError, BuildProblem, BuildProblemKind};
pub use caller::ServerCaller;
pub use codes::ErrorCode;
pub use error::{Error, TypedError};
pub use hooks::ErrorEvent;
pub use meta::{IntoReply, Reply, ResponseMeta};
pub use middleware::Call;
pub use procedure::{
    ErasedProcedure, Event, IntoProcedure, Output, Procedure, ProcedureKind, ProcedureMeta,
    Tracked, TypeInfo,
};
pub use protocol::ErrorReason;
pub use router::{BuiltRouter, Router};
pub use scope::{Guard, Scope};
pub use transform::{Timestamp, Transformer, is_timestamp_type};
pub use validate::FieldErrors;
pub use viewer::{VIEWER_MISMATCH, ViewerContext, ViewerGuard, ViewerInput};
