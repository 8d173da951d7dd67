//! tabrpc's macros, used through the facade as `#[tabrpc::input]` and
//! `#[derive(tabrpc::Context)]`: a scoped procedure's input and the request context say what
//! they carry by declaration, and the viewer and session impls follow.
//!
//! ```
//! use serde::Deserialize;
//! use specta::Type;
//! use std::sync::Arc;
//! use tabrpc::auth::Caller;
//! use tabrpc::sessions::{SessionId, SessionStore};
//! use tabrpc::{Procedure, Router, ViewerGuard};
//!
//! /// Input of `profile.getUser`: `{ viewerId?: string }` in TypeScript.
//! #[tabrpc::input]
//! #[derive(Deserialize, Type)]
//! #[serde(rename_all = "camelCase")]
//! pub struct GetUserInput {
//!     /// The account the client expects to be answered for (checked by the viewer guard).
//!     #[tabrpc(viewer)]
//!     pub viewer_id: Option<String>,
//! }
//!
//! /// Input of `cart.add`: `{ sessionId: string; item: string }` in TypeScript.
//! #[tabrpc::input]
//! #[derive(Deserialize, Type)]
//! pub struct CartAddInput {
//!     /// The tab's session (injected by the client).
//!     #[tabrpc(session)]
//!     pub session_id: SessionId,
//!     /// What to add.
//!     pub item: String,
//! }
//!
//! /// The per-request context: its `ViewerContext` and `SessionContext` delegate to fields.
//! #[derive(Clone, tabrpc::Context)]
//! pub struct Ctx {
//!     #[tabrpc(caller)]
//!     pub caller: Caller,
//!     #[tabrpc(sessions)]
//!     pub sessions: Arc<dyn SessionStore>,
//! }
//!
//! let get_user = Procedure::query(|ctx: Ctx, _: Option<GetUserInput>| async move {
//!     Ok(ctx.caller.user_id().map(str::to_owned))
//! });
//! let router = Router::new().procedure("profile.getUser", get_user.guard(ViewerGuard));
//! assert!(router.build().is_ok());
//! ```
//!
//! Both macros refuse at compile time what would otherwise fail at `Router::build` or at run
//! time, or silently change the wire (see each macro).

mod context;
mod fields;
mod input;
mod paths;

use proc_macro::TokenStream;

/// Declares a procedure input's scope fields: `viewerId` (the viewer guard's) and `sessionId`
/// (the session guard's), with their wire names, TypeScript types and trait impls.
///
/// Place it **above** `#[derive(Deserialize, Type)]` (it edits the attributes those derives
/// read; placed below, it does not see them and says so), on a struct with named fields, and
/// mark at most one field of each kind:
///
/// - `#[tabrpc(viewer)] field: Option<String>` is `viewerId?: string` on the wire and in
///   TypeScript, whatever the struct's `rename_all` (the macro adds
///   `#[serde(default, rename = "viewerId", skip_serializing_if = "Option::is_none")]` and
///   `#[specta(optional, type = String)]`), and the macro implements
///   `tabrpc::ViewerInput` (`viewer_id()` is the field's value);
/// - `#[tabrpc(session)] field: SessionId` is `sessionId: string` (`#[serde(rename =
///   "sessionId")]`; a value that is not a UUID v4 fails to deserialize, a 400), and the macro
///   implements `tabrpc::sessions::SessionInput` (`session_id()` is the field).
///
/// ```
/// # use serde::Deserialize;
/// # use specta::Type;
/// use tabrpc::ViewerInput;
///
/// #[tabrpc::input]
/// #[derive(Deserialize, Type)]
/// #[serde(rename_all = "snake_case")]
/// struct ListPosts {
///     #[tabrpc(viewer)]
///     viewer_id: Option<String>,
///     page_size: u32,
/// }
///
/// let input: ListPosts = serde_json::from_str(r#"{"viewerId":"u1","page_size":10}"#).unwrap();
/// assert_eq!(input.viewer_id(), Some("u1"));
/// let input: ListPosts = serde_json::from_str(r#"{"page_size":10}"#).unwrap();
/// assert_eq!(input.viewer_id(), None);
/// ```
///
/// Generic inputs work as they are: the impls need no bounds. A struct without scope fields
/// passes through unchanged.
///
/// # Options
///
/// `#[tabrpc::input(crate = "path")]` names the facade if it is not `::tabrpc` (defaults to
/// `::tabrpc`); `core = "path"` and `sessions = "path"` name the crates of
/// `ViewerInput` (defaults to the facade) and `SessionInput` (defaults to `<facade>::sessions`),
/// for users of the component crates: `#[tabrpc_macros::input(core = "tabrpc_core", sessions
/// = "tabrpc_sessions")]`.
///
/// # Compile errors
///
/// - a viewer field that is not `Option<String>`, a session field whose type's last path
///   segment is not `SessionId` (the error says what is expected);
/// - any `#[serde(…)]` or `#[specta(…)]` on a scope field (rename, alias, default, flatten,
///   skip, …), also inside `cfg_attr`: the wire name and shape of a scope field are fixed;
/// - two viewer fields or two session fields, a field with both markers, a marker other than
///   `viewer` or `session`, an unknown option;
/// - an unmarked field whose name, serde rename or alias reads as `viewerId` or `sessionId`
///   in any case and spelling (as the router's check reads them): mark it or rename it;
/// - an enum, tuple struct, unit struct or union ("a scoped input is a struct with named
///   fields"), or scope fields without both `Deserialize` and `Type` derived after the macro
///   (which is also what the macro sees when placed below the `#[derive]`).
#[proc_macro_attribute]
pub fn input(args: TokenStream, item: TokenStream) -> TokenStream {
    input::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives a request context's `tabrpc::ViewerContext` and
/// `tabrpc::sessions::SessionContext` from the fields that hold the caller and the session
/// store, which are pure delegation.
///
/// - `#[tabrpc(caller)]` on a field whose type implements `tabrpc::ViewerContext` (such as
///   `tabrpc::auth::Caller`): `viewer()` is that field's.
/// - `#[tabrpc(sessions)]` on a field that dereferences to a session store
///   (`Arc<dyn SessionStore>`, `Arc<SqliteStore>`, …): `session_store()` is `&*field`. It
///   needs a `caller` field too (a `SessionContext` is a `ViewerContext`), and the struct must
///   be `Send + 'static`.
///
/// ```
/// use std::sync::Arc;
/// use tabrpc::sessions::{SessionContext, SqliteStore};
///
/// #[derive(Clone, tabrpc::Context)]
/// struct Ctx {
///     #[tabrpc(caller)]
///     caller: tabrpc::auth::Caller,
///     #[tabrpc(sessions)]
///     sessions: Arc<SqliteStore>,
///     /// Anything else the procedures need.
///     greeting: &'static str,
/// }
///
/// fn session_procedures_accept<C: SessionContext>() {}
/// session_procedures_accept::<Ctx>();
/// ```
///
/// # Options
///
/// `#[tabrpc(crate = "path")]`, `#[tabrpc(core = "path")]` and `#[tabrpc(sessions = "path")]`
/// on the struct, as for [`macro@input`].
///
/// # Compile errors
///
/// A `sessions` field without a `caller` field, no marked field at all, two fields with the
/// same marker, a marker other than `caller` or `sessions`, an unknown option, anything but a
/// struct with named fields; and, from rustc at the field, a `caller` type that does not
/// implement `ViewerContext` or a `sessions` type that does not dereference to a store.
#[proc_macro_derive(Context, attributes(tabrpc))]
pub fn derive_context(input: TokenStream) -> TokenStream {
    context::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
