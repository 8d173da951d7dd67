//! Procedures: a typed handler, its kind, and the type information the bindings export.

use std::any::TypeId;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use specta::datatype::DataType;

use crate::around::Next;
use crate::error::Error;
use crate::meta::{IntoReply, ResponseMeta};
use crate::middleware::{Call, Input};
use crate::scope::{self, Guard, Scope};

/// What kind of procedure this is, which decides the HTTP method it answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcedureKind {
    /// A read: HTTP GET (or POST with method override), batchable, cacheable by clients.
    Query,
    /// A write: HTTP POST only.
    Mutation,
    /// A server-sent event stream (reserved: served by the subscriptions transport).
    Subscription,
}

impl ProcedureKind {
    /// `"query"`, `"mutation"` or `"subscription"`, as on the wire and in the bindings.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProcedureKind::Query => "query",
            ProcedureKind::Mutation => "mutation",
            ProcedureKind::Subscription => "subscription",
        }
    }
}

impl std::fmt::Display for ProcedureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a call before it is put in an envelope.
pub enum Output {
    /// A serialized value (`{"result":{"data":…}}`).
    Value(Box<RawValue>),
    /// No value: the procedure returned `()` (`{"result":{}}`).
    Unit,
    /// Many values, serialized one by one; an `Err` ends the stream with that error.
    Stream(BoxStream<'static, Result<Box<RawValue>, Error>>),
    /// A subscription's events, served as server-sent events; an `Err` ends it with that error.
    Events(BoxStream<'static, Result<Event, Error>>),
}

/// One event of a subscription: a serialized value and, for a tracked subscription, its id.
#[derive(Debug)]
pub struct Event {
    /// The id sent as the event's `id:` (the browser sends it back as `Last-Event-ID` when it
    /// reconnects).
    pub id: Option<String>,
    /// The value.
    pub data: Box<RawValue>,
}

/// A subscription value with an id, so that a client that reconnects can resume after the last
/// event it saw: the id reaches the procedure again as the input's `lastEventId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked<T> {
    /// The event's id.
    pub id: String,
    /// The value.
    pub data: T,
}

impl<T> Tracked<T> {
    /// `data` with `id`.
    pub fn new(id: impl Into<String>, data: T) -> Self {
        Self {
            id: id.into(),
            data,
        }
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Value(raw) => f.debug_tuple("Value").field(&raw.get()).finish(),
            Output::Unit => f.write_str("Unit"),
            Output::Stream(_) => f.write_str("Stream(..)"),
            Output::Events(_) => f.write_str("Events(..)"),
        }
    }
}

/// The exported type information of a procedure: functions that register and return the
/// specta definitions of its input, output (the item type for streams) and error payload.
#[derive(Clone, Copy)]
pub struct TypeInfo {
    /// The input type.
    pub input: fn(&mut specta::Types) -> DataType,
    /// The output type; for a streamed procedure, the type of one item.
    pub output: fn(&mut specta::Types) -> DataType,
    /// The error payload type declared with [`Procedure::error_payload`]; `None` (exported as
    /// `never`) when the procedure declares none.
    pub error: Option<fn(&mut specta::Types) -> DataType>,
    /// The Rust name of the input type, used in build-time checks and messages.
    pub input_name: &'static str,
}

impl std::fmt::Debug for TypeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeInfo")
            .field("input", &self.input_name)
            .finish_non_exhaustive()
    }
}

/// Facts about a procedure that its registration and the bindings need.
#[derive(Debug, Clone)]
pub struct ProcedureMeta {
    /// Query, mutation or subscription.
    pub kind: ProcedureKind,
    /// Whether the output is a stream of values.
    pub stream: bool,
    /// Whether the events carry ids ([`Procedure::tracked_subscription`]): tRPC's own client
    /// then hands each event over as `{ id, data }`, which its exported router type says.
    pub tracked: bool,
    /// Exported types.
    pub types: TypeInfo,
    /// Whether the procedure reads its input. One that takes `()` does not: like a tRPC
    /// procedure without an input parser, it ignores whatever input was sent, even unreadable.
    pub reads_input: bool,
    /// Set only by [`Procedure::guard`], which installs the check.
    scopes: Vec<Scope>,
    /// Whether the procedure may set response meta (around middleware, a handler returning a
    /// [`Reply`](crate::Reply)): only its calls get a meta handle.
    pub(crate) response_meta: bool,
}

impl ProcedureMeta {
    /// The scopes the procedure declares, each by its guard (sorted, no repeats); exported to
    /// the bindings so that clients fill in their keys.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
}

/// A typed procedure's run function: the context, the input, and the call's response meta
/// handle (`None` unless the procedure may set meta, `ProcedureMeta::response_meta`).
pub(crate) type TypedExec<TCtx, TIn> = Arc<
    dyn Fn(TCtx, TIn, Option<ResponseMeta>) -> BoxFuture<'static, Result<Output, Error>>
        + Send
        + Sync,
>;

/// A procedure with its context type `TCtx` and its typed input `TIn`.
///
/// Made with [`Procedure::query`], [`Procedure::mutation`], [`Procedure::stream`],
/// [`Procedure::subscription`] or [`Procedure::tracked_subscription`] from a handler: a closure
/// or an `async fn` taking the context and the input and returning `Result<T, Error>`. Then
/// added to a [`Router`](crate::Router) under a path. [`Procedure::guard`] puts it in a scope;
/// [`Procedure::with`] puts middleware in front of it.
///
/// ```
/// use tabrpc_core::{Error, Procedure};
///
/// #[derive(Clone)]
/// struct Ctx;
///
/// let hello = Procedure::query(|_ctx: Ctx, who: Option<String>| async move {
///     Ok(format!("hello {}", who.as_deref().unwrap_or("world")))
/// });
///
/// async fn add(_ctx: Ctx, (a, b): (i32, i32)) -> Result<i32, Error> {
///     a.checked_add(b).ok_or_else(|| Error::bad_request("overflow"))
/// }
/// let add = Procedure::mutation(add);
/// ```
pub struct Procedure<TCtx, TIn> {
    meta: ProcedureMeta,
    exec: TypedExec<TCtx, TIn>,
}

impl<TCtx, TIn> Clone for Procedure<TCtx, TIn> {
    fn clone(&self) -> Self {
        Self {
            meta: self.meta.clone(),
            exec: self.exec.clone(),
        }
    }
}

fn serialize_output<T: Serialize + 'static>(value: T) -> Result<Output, Error> {
    // `()` is tRPC's `undefined`: the envelope has no `data` at all, unlike `null`.
    if TypeId::of::<T>() == TypeId::of::<()>() {
        return Ok(Output::Unit);
    }
    // Plain JSON, or superjson's `{json, meta}` when the request asks for it (`transform.rs`).
    crate::transform::to_raw(&value).map(Output::Value)
}

// The handler's error type is always `Error`, so that a closure's `Ok(…)` and `?` need no
// annotation; a typed payload is declared once with `error_payload`.
impl<TCtx, TIn> Procedure<TCtx, TIn>
where
    TCtx: Send + 'static,
    TIn: DeserializeOwned + specta::Type + Send + 'static,
{
    fn new<F, Fut, TOut>(kind: ProcedureKind, handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TOut, Error>> + Send + 'static,
        TOut: IntoReply,
    {
        let exec: TypedExec<TCtx, TIn> = Arc::new(move |ctx, input, meta| {
            let fut = handler(ctx, input);
            Box::pin(async move {
                let (value, set) = fut.await?.into_parts();
                if let (Some(set), Some(meta)) = (set, meta) {
                    meta.absorb(set.0);
                }
                serialize_output(value)
            })
        });
        let mut meta = meta_of::<TIn, TOut::Value>(kind, false);
        meta.response_meta = TOut::HAS_META;
        Self { meta, exec }
    }

    /// A query: a read, answered to GET. The handler takes the context and the typed input
    /// (use `()` for none, `Option<T>` for an optional one) and returns `Result<T, Error>`, or
    /// `Result<Reply<T>, Error>` to set response headers or cookies ([`Reply`](crate::Reply)).
    pub fn query<F, Fut, TOut>(handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TOut, Error>> + Send + 'static,
        TOut: IntoReply,
    {
        Self::new(ProcedureKind::Query, handler)
    }

    /// A mutation: a write, answered to POST only.
    pub fn mutation<F, Fut, TOut>(handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TOut, Error>> + Send + 'static,
        TOut: IntoReply,
    {
        Self::new(ProcedureKind::Mutation, handler)
    }

    /// A query whose output is a stream of values. The client sees an async iterable when it
    /// uses the streaming link; an `Err` item ends the stream with that error.
    pub fn stream<F, Fut, S, TItem>(handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
        S: Stream<Item = Result<TItem, Error>> + Send + 'static,
        TItem: Serialize + specta::Type + 'static,
    {
        let exec: TypedExec<TCtx, TIn> = Arc::new(move |ctx, input, _| {
            let fut = handler(ctx, input);
            Box::pin(async move {
                let items = fut.await?.map(|item| {
                    item.and_then(|value| {
                        serde_json::value::to_raw_value(&value).map_err(Error::internal)
                    })
                });
                Ok(Output::Stream(items.boxed()))
            })
        });
        Self {
            meta: meta_of::<TIn, TItem>(ProcedureKind::Query, true),
            exec,
        }
    }

    /// A subscription: a long-lived stream of values served as server-sent events to a GET
    /// (wire.md section 4; tRPC's `httpSubscriptionLink`). Never batched. An `Err` item ends
    /// it with that error; the end of the stream is announced to the client.
    pub fn subscription<F, Fut, S, TItem>(handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
        S: Stream<Item = Result<TItem, Error>> + Send + 'static,
        TItem: Serialize + specta::Type + 'static,
    {
        Self::events::<F, Fut, S, TItem, TItem>(handler, |value| {
            Ok(Event {
                id: None,
                data: serde_json::value::to_raw_value(&value).map_err(Error::internal)?,
            })
        })
    }

    /// A subscription whose events carry ids ([`Tracked`]), so that a reconnecting client
    /// resumes where it left off: the last id it saw arrives as the input's `lastEventId`
    /// field (give the input an optional `last_event_id`, renamed `lastEventId`).
    pub fn tracked_subscription<F, Fut, S, TItem>(handler: F) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
        S: Stream<Item = Result<Tracked<TItem>, Error>> + Send + 'static,
        TItem: Serialize + specta::Type + 'static,
    {
        let mut procedure = Self::events::<F, Fut, S, Tracked<TItem>, TItem>(handler, |tracked| {
            Ok(Event {
                id: Some(tracked.id),
                data: serde_json::value::to_raw_value(&tracked.data).map_err(Error::internal)?,
            })
        });
        procedure.meta.tracked = true;
        procedure
    }

    fn events<F, Fut, S, TRaw, TItem>(
        handler: F,
        to_event: fn(TRaw) -> Result<Event, Error>,
    ) -> Self
    where
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
        S: Stream<Item = Result<TRaw, Error>> + Send + 'static,
        TRaw: 'static,
        TItem: Serialize + specta::Type + 'static,
    {
        let exec: TypedExec<TCtx, TIn> = Arc::new(move |ctx, input, _| {
            let fut = handler(ctx, input);
            Box::pin(async move {
                let events = fut.await?.map(move |item| item.and_then(to_event));
                Ok(Output::Events(events.boxed()))
            })
        });
        Self {
            meta: meta_of::<TIn, TItem>(ProcedureKind::Subscription, true),
            exec,
        }
    }
}

impl<TCtx, TIn> Procedure<TCtx, TIn>
where
    TCtx: Send + 'static,
    TIn: Send + 'static,
{
    /// Puts the procedure in `guard`'s [`Scope`]: the guard checks every call (the input's
    /// `viewerId` or `sessionId` against the verified caller) before the handler runs, and
    /// hands the handler its context. The scope is recorded on the procedure, which is what
    /// lets its input take the scope's reserved key ([`Router::build`](crate::Router::build)
    /// refuses an input with the key otherwise, and an unguarded procedure answers 400 to it)
    /// and what the bindings export for the client to fill the key in.
    ///
    /// ```
    /// use tabrpc_core::{Error, ErrorCode, Procedure, Router, ViewerContext, ViewerGuard, ViewerInput};
    ///
    /// #[derive(Clone)]
    /// struct Ctx { user: Option<String> }
    /// impl ViewerContext for Ctx {
    ///     fn viewer(&self) -> Result<&str, Error> {
    ///         self.user.as_deref().ok_or_else(|| Error::new(ErrorCode::Unauthorized))
    ///     }
    /// }
    ///
    /// #[derive(serde::Deserialize, specta::Type)]
    /// #[serde(rename_all = "camelCase")]
    /// struct GetUser { viewer_id: Option<String> }
    /// impl ViewerInput for GetUser {
    ///     fn viewer_id(&self) -> Option<&str> { self.viewer_id.as_deref() }
    /// }
    ///
    /// let get_user = Procedure::query(|ctx: Ctx, _: GetUser| async move {
    ///     Ok(ctx.viewer()?.to_owned())
    /// })
    /// .guard(ViewerGuard);
    /// assert!(Router::new().procedure("user.get", get_user).build().is_ok());
    /// ```
    ///
    /// A guard that does not fit the procedure does not compile: the viewer guard on an input
    /// without [`ViewerInput`](crate::ViewerInput),
    ///
    /// ```compile_fail
    /// use tabrpc_core::{Error, Procedure, ViewerContext, ViewerGuard};
    /// #[derive(Clone)]
    /// struct Ctx;
    /// impl ViewerContext for Ctx {
    ///     fn viewer(&self) -> Result<&str, Error> { Ok("alice") }
    /// }
    /// #[derive(serde::Deserialize, specta::Type)]
    /// struct NoViewer { viewer_id: Option<String> }
    /// let p = Procedure::query(|_: Ctx, _: NoViewer| async { Ok(()) }).guard(ViewerGuard);
    /// ```
    ///
    /// or on a context without [`ViewerContext`](crate::ViewerContext):
    ///
    /// ```compile_fail
    /// use tabrpc_core::{Procedure, ViewerGuard, ViewerInput};
    /// #[derive(Clone)]
    /// struct Anonymous;
    /// #[derive(serde::Deserialize, specta::Type)]
    /// struct In { viewer_id: Option<String> }
    /// impl ViewerInput for In {
    ///     fn viewer_id(&self) -> Option<&str> { self.viewer_id.as_deref() }
    /// }
    /// let p = Procedure::query(|_: Anonymous, _: In| async { Ok(()) }).guard(ViewerGuard);
    /// ```
    pub fn guard<G>(self, guard: G) -> Procedure<G::Outer, TIn>
    where
        G: Guard<TCtx, TIn>,
    {
        let kind = self.meta.kind;
        let mut guarded = self.with(move |ctx, input: &TIn| guard.check(ctx, input, kind));
        if !guarded.meta.scopes.contains(&G::SCOPE) {
            guarded.meta.scopes.push(G::SCOPE);
            guarded.meta.scopes.sort_unstable();
        }
        guarded
    }

    /// Declares the type of the payload this procedure's errors carry (`error.data.payload`),
    /// exported as the procedure's `error` type in the bindings. The handler attaches it with
    /// [`Error::with_payload`] or returns a [`TypedError<P>`](crate::TypedError).
    ///
    /// ```
    /// use tabrpc_core::{ErrorCode, Procedure, TypedError};
    ///
    /// #[derive(serde::Serialize, specta::Type)]
    /// struct OutOfStock { sku: String }
    ///
    /// #[derive(Clone)]
    /// struct Ctx;
    ///
    /// let buy = Procedure::mutation(|_: Ctx, sku: String| async move {
    ///     if sku.is_empty() {
    ///         return Err(TypedError::new(ErrorCode::Conflict, OutOfStock { sku }).into());
    ///     }
    ///     Ok(())
    /// })
    /// .error_payload::<OutOfStock>();
    /// ```
    pub fn error_payload<P: specta::Type>(mut self) -> Self {
        self.meta.types.error = Some(<P as specta::Type>::definition);
        self
    }

    /// Puts a middleware in front of this procedure. It gets the caller's context and the typed
    /// input, and either rejects the call with an [`Error`] or returns the context the procedure
    /// runs with, which may be a richer type (for example one that carries the signed-in user).
    ///
    /// Middleware added later runs first, like tower layers: `p.with(a).with(b)` runs `b`, then
    /// `a`, then the handler. The middleware gets the input by reference and must copy what its
    /// future needs before it starts.
    pub fn with<TOuter, M, Fut>(self, middleware: M) -> Procedure<TOuter, TIn>
    where
        TOuter: Send + 'static,
        M: Fn(TOuter, &TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TCtx, Error>> + Send + 'static,
    {
        self.map_exec(move |inner| {
            Arc::new(move |outer, input, meta| {
                let before = middleware(outer, &input);
                let inner = inner.clone();
                Box::pin(async move {
                    let ctx = before.await?;
                    inner(ctx, input, meta).await
                })
            })
        })
    }

    /// Puts around middleware in front of this procedure: it gets the caller's context and a
    /// [`Next`] holding the typed input ([`Next::input`]) and the call's
    /// [`ResponseMeta`] ([`Next::meta`]), runs the rest with the context it chooses
    /// ([`Next::run`]), and returns the result, which it may look at, map or replace. Code
    /// after `run` runs after the handler: time the call, commit or roll back a transaction.
    ///
    /// As with [`Procedure::with`], middleware added later runs first.
    ///
    /// ```
    /// use tabrpc_core::{Error, ErrorCode, Procedure};
    /// #[derive(Clone)]
    /// struct Ctx;
    /// let p = Procedure::query(|_: Ctx, n: u32| async move { Ok(n) })
    ///     .around(|ctx: Ctx, next| async move {
    ///         if *next.input() > 100 {
    ///             return Err(Error::bad_request("too big"));
    ///         }
    ///         next.meta().set_header("cache-control", "public, max-age=60")?;
    ///         let started = std::time::Instant::now();
    ///         let result = next.run(ctx).await;
    ///         let _took = started.elapsed();
    ///         result.map_err(|err| match err.code() {
    ///             ErrorCode::NotFound => err.with_message("no such thing"),
    ///             _ => err,
    ///         })
    ///     });
    /// ```
    pub fn around<TOuter, M, Fut>(self, middleware: M) -> Procedure<TOuter, TIn>
    where
        TOuter: Send + 'static,
        M: Fn(TOuter, Next<TCtx, TIn>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Output, Error>> + Send + 'static,
    {
        let middleware = Arc::new(middleware);
        let mut around = self.map_exec(move |inner| {
            Arc::new(move |outer, input, meta: Option<ResponseMeta>| {
                let inner = inner.clone();
                let next = Next::new(
                    input,
                    meta,
                    Box::new(move |ctx, input, meta| inner(ctx, input, meta)),
                );
                Box::pin(middleware(outer, next))
            })
        });
        around.meta.response_meta = true;
        around
    }

    /// Records that the procedure may set response meta, when `on`.
    pub(crate) fn may_set_meta(mut self, on: bool) -> Self {
        self.meta.response_meta |= on;
        self
    }

    /// The same procedure with its run function replaced by `f(run)`.
    pub(crate) fn map_exec<TOuter>(
        self,
        f: impl FnOnce(TypedExec<TCtx, TIn>) -> TypedExec<TOuter, TIn>,
    ) -> Procedure<TOuter, TIn> {
        Procedure {
            meta: self.meta,
            exec: f(self.exec),
        }
    }

    /// The procedure's metadata.
    pub fn meta(&self) -> &ProcedureMeta {
        &self.meta
    }
}

/// The metadata of a new procedure: no scopes, no error payload yet.
fn meta_of<TIn, TOut>(kind: ProcedureKind, stream: bool) -> ProcedureMeta
where
    TIn: specta::Type + 'static,
    TOut: specta::Type,
{
    ProcedureMeta {
        kind,
        stream,
        tracked: false,
        types: TypeInfo {
            input: <TIn as specta::Type>::definition,
            output: <TOut as specta::Type>::definition,
            error: None,
            input_name: std::any::type_name::<TIn>(),
        },
        reads_input: TypeId::of::<TIn>() != TypeId::of::<()>(),
        scopes: Vec::new(),
        response_meta: false,
    }
}

pub(crate) type ErasedExec<TCtx> =
    Arc<dyn Fn(TCtx, Call) -> BoxFuture<'static, Result<Output, Error>> + Send + Sync>;

/// A procedure whose input type is erased: what a router stores.
pub struct ErasedProcedure<TCtx> {
    pub(crate) meta: ProcedureMeta,
    pub(crate) exec: ErasedExec<TCtx>,
}

impl<TCtx> Clone for ErasedProcedure<TCtx> {
    fn clone(&self) -> Self {
        Self {
            meta: self.meta.clone(),
            exec: self.exec.clone(),
        }
    }
}

impl<TCtx> ErasedProcedure<TCtx> {
    /// The procedure's metadata.
    pub fn meta(&self) -> &ProcedureMeta {
        &self.meta
    }
}

/// Anything a [`Router`](crate::Router) accepts as a procedure.
pub trait IntoProcedure<TCtx> {
    /// Erases the input type: the input is deserialized from the call's raw JSON.
    fn into_procedure(self) -> ErasedProcedure<TCtx>;
}

impl<TCtx, TIn> IntoProcedure<TCtx> for Procedure<TCtx, TIn>
where
    TCtx: Send + 'static,
    TIn: DeserializeOwned + Send + 'static,
{
    fn into_procedure(self) -> ErasedProcedure<TCtx> {
        let typed = self.exec;
        let ignores_input = !self.meta.reads_input;
        // The reserved keys (auth.md section 3) of the guards this procedure lacks: refused
        // in its input before it reads it. Empty for a procedure behind every guard.
        let refused = if ignores_input {
            Vec::new()
        } else {
            scope::refused_by(&self.meta)
        };
        let exec: ErasedExec<TCtx> = Arc::new(move |ctx, call| {
            let call = if ignores_input {
                call.without_input()
            } else {
                call
            };
            if !refused.is_empty()
                && let Err(err) = scope::refuse_reserved_keys(call.raw_input(), &refused)
            {
                return Box::pin(std::future::ready(Err(err)));
            }
            let meta = call.meta_handle().cloned();
            match parse_input::<TIn>(call) {
                Ok(input) => typed(ctx, input, meta),
                Err(err) => Box::pin(std::future::ready(Err(err))),
            }
        });
        ErasedProcedure {
            meta: self.meta,
            exec,
        }
    }
}

impl<TCtx> IntoProcedure<TCtx> for ErasedProcedure<TCtx> {
    fn into_procedure(self) -> ErasedProcedure<TCtx> {
        self
    }
}

/// Deserializes the call's input, naming the field that failed (`at "user.id": …`).
fn parse_input<TIn: DeserializeOwned>(call: Call) -> Result<TIn, Error> {
    let report = |err: serde_path_to_error::Error<serde_json::Error>| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let mut detail = inner.to_string();
        // The same words as for a value: a position in the request's text tells the caller
        // nothing the path does not.
        if inner.line() != 0 {
            let at = format!(" at line {} column {}", inner.line(), inner.column());
            if let Some(trimmed) = detail.strip_suffix(&at) {
                detail = trimmed.to_owned();
            }
        }
        let message = if path == "." || path.is_empty() {
            format!("Invalid input: {detail}")
        } else {
            format!("Invalid input at `{path}`: {detail}")
        };
        Error::bad_request(message)
    };
    match call.into_input() {
        Input::Value(value) => serde_path_to_error::deserialize(value).map_err(report),
        // From the request's text even when middleware built a value: the text is the input.
        Input::Raw { text, range, .. } => {
            let json = text.get(range).unwrap_or("null");
            serde_json::from_str::<TIn>(json).or_else(|_| {
                // Again, only to name the field that failed.
                let mut deserializer = serde_json::Deserializer::from_str(json);
                serde_path_to_error::deserialize(&mut deserializer).map_err(report)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Clone)]
    struct Ctx(u32);

    fn run<TCtx>(
        p: ErasedProcedure<TCtx>,
        ctx: TCtx,
        input: serde_json::Value,
    ) -> Result<Output, Error> {
        let call = Call::new("p".into(), p.meta.kind, input);
        futures::executor::block_on((p.exec)(ctx, call))
    }

    #[test]
    fn unit_output_is_distinct_from_null() {
        let unit = Procedure::query(|_: Ctx, (): ()| async { Ok(()) });
        assert!(matches!(
            run(unit.into_procedure(), Ctx(0), json!(null)),
            Ok(Output::Unit)
        ));
        let null = Procedure::query(|_: Ctx, (): ()| async { Ok(None::<u8>) });
        match run(null.into_procedure(), Ctx(0), json!(null)) {
            Ok(Output::Value(raw)) => assert_eq!(raw.get(), "null"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_input_names_the_field() {
        #[derive(serde::Deserialize, specta::Type)]
        #[allow(dead_code)]
        struct In {
            id: u32,
        }
        let p = Procedure::query(|_: Ctx, i: In| async move { Ok(i.id) });
        let err = run(p.into_procedure(), Ctx(0), json!({"id": "x"})).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::BadRequest);
        assert!(err.message().contains("`id`"), "{}", err.message());
    }

    #[test]
    fn middleware_runs_outermost_last_added_first_and_can_change_context() {
        let p = Procedure::query(|ctx: Ctx, (): ()| async move { Ok(ctx.0) })
            .with(|n: u32, _: &()| async move { Ok(Ctx(n * 10)) })
            .with(|s: String, _: &()| {
                let parsed = s.parse::<u32>();
                async move { parsed.map_err(|_| Error::bad_request("not a number")) }
            });
        match run(p.clone().into_procedure(), "4".to_string(), json!(null)) {
            Ok(Output::Value(raw)) => assert_eq!(raw.get(), "40"),
            other => panic!("unexpected {other:?}"),
        }
        let err = run(p.into_procedure(), "x".to_string(), json!(null)).unwrap_err();
        assert_eq!(err.message(), "not a number");
    }
}
