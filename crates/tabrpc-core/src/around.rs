//! Around middleware: [`Next`], what it calls to run the rest of the chain, and
//! [`ProcedureBuilder`], a reusable base that procedures start from (tRPC's
//! `protectedProcedure`).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;

use crate::error::Error;
use crate::meta::IntoReply;
use crate::meta::ResponseMeta;
use crate::middleware::Call;
use crate::procedure::{ErasedExec, ErasedProcedure, Output, Procedure};

type RunRest<TCtx, TIn> = Box<
    dyn FnOnce(TCtx, TIn, Option<ResponseMeta>) -> BoxFuture<'static, Result<Output, Error>> + Send,
>;

/// The rest of a call, as around middleware gets it: look at the input, set response meta, then
/// [`Next::run`] the rest (inner middleware, guards, the handler) with the context it needs, and
/// see its result: map it, map the error, time it, commit or roll back.
///
/// `TIn` is what the middleware may look at: the typed input for
/// [`Procedure::around`](crate::Procedure::around), the [`Call`] (path, kind, raw input) for
/// [`Router::around`](crate::Router::around), nothing (`()`) for a [`ProcedureBuilder`], which
/// serves procedures of every input type.
///
/// The result is the call's output before it is put in an envelope ([`Output`]): a serialized
/// value, unit, or a stream. Middleware that does not call `run` never runs the handler.
pub struct Next<TCtx, TIn = ()> {
    input: TIn,
    /// Set for every procedure with around middleware (`ProcedureMeta::response_meta`); made
    /// on first use otherwise (only inside a base's `with`, which never asks).
    meta: OnceLock<ResponseMeta>,
    rest: RunRest<TCtx, TIn>,
}

impl<TCtx, TIn> Next<TCtx, TIn> {
    pub(crate) fn new(input: TIn, meta: Option<ResponseMeta>, rest: RunRest<TCtx, TIn>) -> Self {
        let cell = OnceLock::new();
        if let Some(meta) = meta {
            let _ = cell.set(meta);
        }
        Self {
            input,
            meta: cell,
            rest,
        }
    }

    /// What the middleware may look at: the typed input, the [`Call`], or `()`.
    pub fn input(&self) -> &TIn {
        &self.input
    }

    /// The call's response meta: headers and cookies sent when it succeeds (see
    /// [`ResponseMeta`] for the batch rule and the headers refused).
    pub fn meta(&self) -> &ResponseMeta {
        self.meta.get_or_init(ResponseMeta::new)
    }

    /// Runs the rest of the chain with `ctx`; resolves to the call's result.
    pub fn run(self, ctx: TCtx) -> BoxFuture<'static, Result<Output, Error>> {
        (self.rest)(ctx, self.input, self.meta.into_inner())
    }
}

impl<TCtx> Next<TCtx, Call> {
    /// The call: its path, kind and raw input (router-level middleware).
    pub fn call(&self) -> &Call {
        &self.input
    }
}

impl<TCtx, TIn> std::fmt::Debug for Next<TCtx, TIn> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

/// Wraps every procedure of a router in around middleware (see
/// [`Router::around`](crate::Router::around)).
pub(crate) fn wrap_router<TInner, TOuter, M, Fut>(
    procedure: ErasedProcedure<TInner>,
    middleware: Arc<M>,
) -> ErasedProcedure<TOuter>
where
    TInner: Send + 'static,
    TOuter: Send + 'static,
    M: Fn(TOuter, Next<TInner, Call>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Output, Error>> + Send + 'static,
{
    let inner = procedure.exec;
    let exec: ErasedExec<TOuter> = Arc::new(move |outer, call| {
        let inner = inner.clone();
        let meta = call.meta_handle().cloned();
        let next = Next::new(call, meta, Box::new(move |ctx, call, _| inner(ctx, call)));
        Box::pin(middleware(outer, next))
    });
    let mut meta = procedure.meta;
    meta.response_meta = true;
    ErasedProcedure { meta, exec }
}

type Chain<TOuter, TCtx> =
    Arc<dyn Fn(TOuter, Next<TCtx>) -> BoxFuture<'static, Result<Output, Error>> + Send + Sync>;

/// A reusable base for procedures: middleware applied to every procedure made from it, like
/// tRPC's `t.procedure.use(isAuthed)` (`protectedProcedure`) or rspc's `Procedure::builder()`.
///
/// `TOuter` is the context the router calls with, `TCtx` the one the handlers made from this
/// base take. Cheap to clone; build it once (a function or a `static`-like helper) and start
/// procedures from it with [`query`](Self::query), [`mutation`](Self::mutation),
/// [`subscription`](Self::subscription) or [`wrap`](Self::wrap).
///
/// ```
/// use tabrpc_core::{Error, ErrorCode, ProcedureBuilder, Router};
///
/// #[derive(Clone)]
/// struct Ctx { user: Option<String> }
/// struct Authed { user: String }
///
/// fn authed() -> ProcedureBuilder<Ctx, Authed> {
///     ProcedureBuilder::new().with(|ctx: Ctx| async move {
///         let user = ctx.user.ok_or_else(|| Error::new(ErrorCode::Unauthorized))?;
///         Ok(Authed { user })
///     })
/// }
///
/// let router = Router::new()
///     .procedure("me", authed().query(|ctx: Authed, (): ()| async move { Ok(ctx.user) }))
///     .build()?;
/// # Ok::<(), tabrpc_core::BuildError>(())
/// ```
pub struct ProcedureBuilder<TOuter, TCtx = TOuter> {
    chain: Chain<TOuter, TCtx>,
    /// Whether its middleware may set response meta (any `around`).
    response_meta: bool,
}

impl<TOuter, TCtx> Clone for ProcedureBuilder<TOuter, TCtx> {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            response_meta: self.response_meta,
        }
    }
}

impl<TCtx: Send + 'static> Default for ProcedureBuilder<TCtx, TCtx> {
    fn default() -> Self {
        Self::new()
    }
}

impl<TCtx: Send + 'static> ProcedureBuilder<TCtx, TCtx> {
    /// A base with no middleware.
    pub fn new() -> Self {
        Self {
            chain: Arc::new(|ctx, next: Next<TCtx>| next.run(ctx)),
            response_meta: false,
        }
    }
}

impl<TOuter, TCtx> ProcedureBuilder<TOuter, TCtx>
where
    TOuter: Send + 'static,
    TCtx: Send + 'static,
{
    /// Adds around middleware: it gets the context and the [`Next`] (no input: the base serves
    /// every input type), and runs the rest with the context it chooses, of any type. Middleware
    /// added later runs later (closer to the handler), as in tRPC.
    pub fn around<TNew, M, Fut>(self, middleware: M) -> ProcedureBuilder<TOuter, TNew>
    where
        TNew: Send + 'static,
        M: Fn(TCtx, Next<TNew>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Output, Error>> + Send + 'static,
    {
        let mut built = self.layer(middleware);
        built.response_meta = true;
        built
    }

    fn layer<TNew, M, Fut>(self, middleware: M) -> ProcedureBuilder<TOuter, TNew>
    where
        TNew: Send + 'static,
        M: Fn(TCtx, Next<TNew>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Output, Error>> + Send + 'static,
    {
        let chain = self.chain;
        let middleware = Arc::new(middleware);
        ProcedureBuilder {
            chain: Arc::new(move |outer, mut next: Next<TNew>| {
                let middleware = middleware.clone();
                let meta = next.meta.take();
                let rest: RunRest<TCtx, ()> = Box::new(move |ctx, (), meta| {
                    if let Some(meta) = meta {
                        let _ = next.meta.set(meta);
                    }
                    Box::pin(middleware(ctx, next))
                });
                chain(outer, Next::new((), meta, rest))
            }),
            response_meta: self.response_meta,
        }
    }

    /// Adds middleware that only makes the next context (or refuses the call): the common
    /// case of an "authed" base, `Fn(TCtx) -> Result<TNew, Error>`.
    pub fn with<TNew, M, Fut>(self, middleware: M) -> ProcedureBuilder<TOuter, TNew>
    where
        TNew: Send + 'static,
        M: Fn(TCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TNew, Error>> + Send + 'static,
    {
        // Never asks for meta, so it does not make procedures pay for a handle.
        self.layer(move |ctx, next: Next<TNew>| {
            let made = middleware(ctx);
            async move { next.run(made.await?).await }
        })
    }

    /// Puts this base's middleware in front of `procedure`.
    pub fn wrap<TIn: Send + 'static>(
        &self,
        procedure: Procedure<TCtx, TIn>,
    ) -> Procedure<TOuter, TIn> {
        let chain = self.chain.clone();
        let response_meta = self.response_meta;
        let wrapped = procedure.map_exec(move |inner| {
            Arc::new(move |outer, input, meta: Option<ResponseMeta>| {
                let inner = inner.clone();
                let rest: RunRest<TCtx, ()> =
                    Box::new(move |ctx, (), meta| inner(ctx, input, meta));
                chain(outer, Next::new((), meta, rest))
            })
        });
        wrapped.may_set_meta(response_meta)
    }

    /// A query made from this base (see [`Procedure::query`]).
    pub fn query<TIn, F, Fut, TOut>(&self, handler: F) -> Procedure<TOuter, TIn>
    where
        TIn: serde::de::DeserializeOwned + specta::Type + Send + 'static,
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TOut, Error>> + Send + 'static,
        TOut: IntoReply,
    {
        self.wrap(Procedure::query(handler))
    }

    /// A mutation made from this base (see [`Procedure::mutation`]).
    pub fn mutation<TIn, F, Fut, TOut>(&self, handler: F) -> Procedure<TOuter, TIn>
    where
        TIn: serde::de::DeserializeOwned + specta::Type + Send + 'static,
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TOut, Error>> + Send + 'static,
        TOut: IntoReply,
    {
        self.wrap(Procedure::mutation(handler))
    }

    /// A subscription made from this base (see [`Procedure::subscription`]).
    pub fn subscription<TIn, F, Fut, S, TItem>(&self, handler: F) -> Procedure<TOuter, TIn>
    where
        TIn: serde::de::DeserializeOwned + specta::Type + Send + 'static,
        F: Fn(TCtx, TIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
        S: futures_util::Stream<Item = Result<TItem, Error>> + Send + 'static,
        TItem: serde::Serialize + specta::Type + 'static,
    {
        self.wrap(Procedure::subscription(handler))
    }
}

impl<TOuter, TCtx> std::fmt::Debug for ProcedureBuilder<TOuter, TCtx> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcedureBuilder").finish_non_exhaustive()
    }
}
