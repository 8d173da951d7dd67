//! The scheduler: how the calls of a request run, decided in one place ([`run`]).

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::meta::{Collected, ResponseMeta};
use crate::procedure::Output;
use crate::wire::exec;
use crate::wire::plan::{Planned, ReplyKind};

/// How one call ended.
pub(crate) type Outcome = Result<Output, Error>;

/// The calls of a request, run as its reply needs them.
pub(crate) enum Ran {
    /// A JSON reply: every call settled, in request order.
    Json {
        is_batch: bool,
        settled: Vec<(Arc<str>, Outcome)>,
        /// Per call, the response meta of a call that succeeded (`None` for one that failed);
        /// empty when no call set any.
        metas: Vec<Option<Collected>>,
    },
    /// A JSONL reply: each call's outcome, to be written as it settles.
    Jsonl(Vec<(Arc<str>, BoxFuture<'static, Outcome>)>),
    /// A subscription: its procedure run up to its event stream.
    Sse(Arc<str>, BoxFuture<'static, Outcome>),
}

/// Runs the planned `calls` of a request for a reply of kind `reply`, with the request's
/// context `ctx` (made once; `None` when no call can run, its error answering every call that
/// could). This is the one place that decides how calls run:
///
/// - **JSON** (a single call or a batch): every call is begun right here, on the request's
///   task, up to its first wait (`exec::start`); most answer at once, and cost no allocation,
///   timer or join. Only the calls still pending then are boxed, timed and joined: they run
///   concurrently from there, and the reply waits for the last one.
/// - **JSONL** and **SSE**: each call is a boxed future that the reply's body polls (so on the
///   connection's task), begun at the body's first poll; JSONL writes each outcome as it
///   settles, never held back for the slowest.
/// - **Per call**, in every case (`exec`): a panic becomes that call's INTERNAL_SERVER_ERROR
///   (the others still answer), [`Config::call_timeout`](super::Config::call_timeout) a
///   TIMEOUT counted from the call's first wait, and one `rpc.call` span records it.
/// - **Streams** outlive their call, so they are bounded by the request instead: at its
///   [`StreamDeadline`](super::StreamDeadline) or its server's [`Shutdown`](super::Shutdown)
///   the reply's body ends them (`StreamEnds`, applied by the JSONL and SSE bodies). A call
///   still pending in a JSONL batch ends at the deadline too, not at shutdown: in-flight calls
///   finish.
///
/// The context is cloned for every call but the last, which takes it: a single call never
/// clones it.
///
/// Measured (callgrind, `bench/callgrind/run.sh`: the conformance fixture's `hello` behind
/// `serve_with`, over one keep-alive connection, client included; instructions per request):
///
/// | | single GET | GET batch of 10 |
/// |---|---|---|
/// | one function in `wire/mod.rs` (before) | 41,830 (endpoint 13,200) | 101,773 (endpoint 67,198) |
/// | plan / schedule / reply | 42,038 (endpoint 13,347) | 101,240 (endpoint 67,006) |
/// | and a `Shutdown` in every request | 42,220 (endpoint 13,345) | 100,940 (endpoint 66,880) |
/// | before response meta and error hooks (one round) | 41,871 (endpoint 13,259) | 101,161 (endpoint 66,672) |
/// | a meta handle for every call | 43,138 (endpoint 14,118) | 106,373 (endpoint 71,615) |
/// | a meta handle only where meta can be set | 42,437 (endpoint 13,568) | 102,207 (endpoint 67,376) |
///
/// The last two rows are why a call's [`ResponseMeta`] handle exists only for procedures that
/// can set meta (`ProcedureMeta::response_meta`): one handle (an `Arc`) per call cost 5% of a
/// batch of 10.
///
/// Beginning calls here and joining only the pending ones is the optimisation: joining every
/// call, the finished ones too, cost 2.5% of the server's instructions at batch 10 (137.3k
/// against 133.6k, an earlier in-process measurement).
pub(crate) async fn run<TCtx>(
    calls: Vec<(Arc<str>, Planned<TCtx>)>,
    reply: ReplyKind,
    ctx: Option<Result<TCtx, Error>>,
    timeout: Option<Duration>,
) -> Ran
where
    TCtx: Clone + Send + Sync + 'static,
{
    let mut ctx_for = context_for_each(ctx, calls.len());
    match reply {
        ReplyKind::Json { is_batch } => {
            let (mut settled, pending, metas) = begin_all(calls, &mut ctx_for, timeout).await;
            for (index, result) in join_all(
                pending
                    .into_iter()
                    .map(|(index, future)| async move { (index, future.await) }),
            )
            .await
            {
                if let Some(slot) = settled.get_mut(index) {
                    slot.1 = Some(result);
                }
            }
            let settled: Vec<_> = settled
                .into_iter()
                .map(|(path, result)| {
                    // Every pending call was joined above; nothing else stays `None`.
                    let result =
                        result.unwrap_or_else(|| Err(Error::new(ErrorCode::InternalServerError)));
                    (path, result)
                })
                .collect();
            let metas = collect_metas(&settled, &metas);
            Ran::Json {
                is_batch,
                settled,
                metas,
            }
        }
        ReplyKind::Jsonl => Ran::Jsonl(
            calls
                .into_iter()
                .enumerate()
                .map(|(index, (path, call))| (path, deferred(call, ctx_for(index), timeout)))
                .collect(),
        ),
        ReplyKind::Sse => {
            let (path, call) = calls
                .into_iter()
                .next()
                .unwrap_or_else(|| (Arc::from(""), Planned::Failed(internal())));
            let setup = deferred(call, ctx_for(0), timeout);
            Ran::Sse(path, setup)
        }
    }
}

/// Per call, in request order: its path and, unless still pending, its outcome.
type Begun = Vec<(Arc<str>, Option<Outcome>)>;

/// The calls still pending after [`begin_all`], by index.
type StillPending = Vec<(usize, BoxFuture<'static, Outcome>)>;

/// The response meta of each call that succeeded, `None` for the others; empty when no call
/// set any (the common case, which then costs one check per call).
fn collect_metas(
    settled: &[(Arc<str>, Outcome)],
    metas: &[(usize, ResponseMeta)],
) -> Vec<Option<Collected>> {
    if metas.iter().all(|(_, meta)| meta.is_empty()) {
        return Vec::new();
    }
    // A stream-like output fails its item of a JSON reply: it is no success.
    let mut out: Vec<Option<Collected>> = settled
        .iter()
        .map(|(_, outcome)| {
            matches!(outcome, Ok(Output::Value(_) | Output::Unit)).then(Collected::default)
        })
        .collect();
    for (index, meta) in metas {
        if let Some(Some(slot)) = out.get_mut(*index) {
            *slot = meta.snapshot();
        }
    }
    out
}

/// Begins every call on the current task, up to its first wait; with the response meta
/// handles of the calls that have one, by index (none allocated when no procedure sets meta).
async fn begin_all<TCtx>(
    calls: Vec<(Arc<str>, Planned<TCtx>)>,
    ctx_for: &mut impl FnMut(usize) -> Option<Result<TCtx, Error>>,
    timeout: Option<Duration>,
) -> (Begun, StillPending, Vec<(usize, ResponseMeta)>)
where
    TCtx: Send + 'static,
{
    let mut calls = Some(calls);
    std::future::poll_fn(|cx| {
        let calls = calls.take().unwrap_or_default();
        let mut settled: Begun = Vec::with_capacity(calls.len());
        let mut pending = Vec::new();
        let mut metas = Vec::new();
        for (index, (path, call)) in calls.into_iter().enumerate() {
            let result = match (call, ctx_for(index)) {
                (Planned::Run(procedure, call), Some(Ok(ctx))) => {
                    if let Some(meta) = call.meta_handle() {
                        metas.push((index, meta.clone()));
                    }
                    match exec::start(&procedure, ctx, call, timeout, cx) {
                        exec::Started::Done(result) => Some(result),
                        exec::Started::Pending(future) => {
                            pending.push((index, future));
                            None
                        }
                    }
                }
                (call, ctx) => Some(not_run(call, ctx)),
            };
            settled.push((path, result));
        }
        Poll::Ready((settled, pending, metas))
    })
    .await
}

/// A call as a boxed future, begun when first polled.
fn deferred<TCtx>(
    call: Planned<TCtx>,
    ctx: Option<Result<TCtx, Error>>,
    timeout: Option<Duration>,
) -> BoxFuture<'static, Outcome>
where
    TCtx: Send + 'static,
{
    // Boxed: the call's future is large (context, input, timer, span) and collecting would
    // otherwise copy it several times per call.
    Box::pin(async move {
        match (call, ctx) {
            (Planned::Run(procedure, call), Some(Ok(ctx))) => {
                exec::run(procedure, ctx, call, timeout).await
            }
            (call, ctx) => not_run(call, ctx),
        }
    })
}

/// Hands out the request's context for call `index` of `count`: a clone, or for the last call
/// the context itself.
fn context_for_each<TCtx: Clone>(
    mut ctx: Option<Result<TCtx, Error>>,
    count: usize,
) -> impl FnMut(usize) -> Option<Result<TCtx, Error>> {
    let last = count.saturating_sub(1);
    move |index| {
        if index == last {
            ctx.take()
        } else {
            ctx.clone()
        }
    }
}

/// The outcome of a call that was not run: its own failure, or the context's.
fn not_run<TCtx>(call: Planned<TCtx>, ctx: Option<Result<TCtx, Error>>) -> Outcome {
    match (call, ctx) {
        (Planned::Failed(err), _) | (Planned::Run(..), Some(Err(err))) => Err(err),
        // A call that can run always has a context; nothing else reaches here.
        (Planned::Run(..), _) => Err(internal()),
    }
}

fn internal() -> Error {
    Error::new(ErrorCode::InternalServerError)
}
