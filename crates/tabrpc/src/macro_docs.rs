//! Compile-time checks of `#[tabrpc::input]` and `#[derive(tabrpc::Context)]` (doc tests only).
//!
//! Each `compile_fail` below is the accepted form at the top with one thing changed, so it
//! fails for that thing; the error messages themselves are tested in tabrpc-macros.
//!
//! The accepted forms:
//!
//! ```
//! use std::sync::Arc;
//! use serde::Deserialize;
//! use specta::Type;
//! use tabrpc::sessions::{SessionId, SessionStore};
//!
//! #[tabrpc::input]
//! #[derive(Deserialize, Type)]
//! #[serde(rename_all = "camelCase")]
//! struct A {
//!     #[tabrpc(viewer)]
//!     viewer_id: Option<String>,
//!     #[tabrpc(session)]
//!     session_id: SessionId,
//!     #[serde(rename = "n")]
//!     count: u32,
//! }
//!
//! #[derive(tabrpc::Context)]
//! struct Ctx {
//!     #[tabrpc(caller)]
//!     caller: tabrpc::auth::Caller,
//!     #[tabrpc(sessions)]
//!     sessions: Arc<dyn SessionStore>,
//! }
//! ```
//!
//! A viewer field that is not `Option<String>`:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(viewer)]
//!     viewer_id: String,
//! }
//! ```
//!
//! A session field that is not a `SessionId`:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(session)]
//!     session_id: String,
//! }
//! ```
//!
//! A scope field renamed:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(viewer)]
//!     #[serde(rename = "who")]
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! Aliased:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(session)]
//!     #[serde(alias = "sid")]
//!     session_id: tabrpc::sessions::SessionId,
//! }
//! ```
//!
//! Flattened:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(viewer)]
//!     #[serde(flatten)]
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! Skipped:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(viewer)]
//!     #[serde(skip)]
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! Two viewer fields:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(viewer)]
//!     viewer_id: Option<String>,
//!     #[tabrpc(viewer)]
//!     account: Option<String>,
//! }
//! ```
//!
//! An unknown marker:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! struct A {
//!     #[tabrpc(account)]
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! An unmarked field that reads as `viewerId`:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! #[serde(rename_all = "camelCase")]
//! struct A {
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! An enum:
//!
//! ```compile_fail
//! #[tabrpc::input]
//! #[derive(serde::Deserialize, specta::Type)]
//! enum A {
//!     B { viewer_id: Option<String> },
//! }
//! ```
//!
//! The attribute below `#[derive]`, where it cannot see the derives that read its attributes:
//!
//! ```compile_fail
//! #[derive(serde::Deserialize, specta::Type)]
//! #[tabrpc::input]
//! struct A {
//!     #[tabrpc(viewer)]
//!     viewer_id: Option<String>,
//! }
//! ```
//!
//! A context with a store but no caller:
//!
//! ```compile_fail
//! #[derive(tabrpc::Context)]
//! struct Ctx {
//!     #[tabrpc(sessions)]
//!     sessions: std::sync::Arc<dyn tabrpc::sessions::SessionStore>,
//! }
//! ```
//!
//! A caller field that is no viewer context:
//!
//! ```compile_fail
//! #[derive(tabrpc::Context)]
//! struct Ctx {
//!     #[tabrpc(caller)]
//!     caller: String,
//! }
//! ```
//!
//! A sessions field that holds no store:
//!
//! ```compile_fail
//! #[derive(tabrpc::Context)]
//! struct Ctx {
//!     #[tabrpc(caller)]
//!     caller: tabrpc::auth::Caller,
//!     #[tabrpc(sessions)]
//!     sessions: std::sync::Arc<String>,
//! }
//! ```
