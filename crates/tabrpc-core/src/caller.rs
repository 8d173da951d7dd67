//! The server-side caller: a procedure called in-process, through the same middleware, guards,
//! input checks, panic guard, timeout and error hooks as over HTTP (tRPC's `createCaller`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codes::ErrorCode;
use crate::error::Error;
use crate::meta::ResponseMeta;
use crate::middleware::Call;
use crate::procedure::Output;
use crate::router::BuiltRouter;
use crate::wire::Config;

/// Calls a router's procedures in-process with one context: for tests without HTTP, server
/// rendering, jobs and tools. Made with [`BuiltRouter::caller`].
///
/// A call runs exactly what an HTTP call runs once its request is read: the router's and the
/// procedure's middleware, the guards, the input's deserialization and reserved-key checks, the
/// handler, under the panic guard and [`Config::call_timeout`]'s default (30 s; see
/// [`ServerCaller::timeout`]), and the router's error hooks. It answers with the same errors (a
/// path that names no procedure is NOT_FOUND, a bad input BAD_REQUEST with the same message).
/// What HTTP adds around that is not run: the method rules of the kinds (a mutation can be
/// called here), batching, the request limits.
///
/// The input is any `Serialize` value (it goes through JSON as over HTTP, so the procedure
/// sees what a client sending it would); the output is read into the type asked for.
///
/// ```
/// use tabrpc_core::{Procedure, Router};
/// #[derive(Clone)]
/// struct Ctx;
/// let router = Router::new()
///     .procedure("add", Procedure::query(|_: Ctx, (a, b): (i32, i32)| async move { Ok(a + b) }))
///     .build()?;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let caller = router.caller(Ctx);
/// let sum: i32 = caller.call("add", (2, 3)).await?;
/// assert_eq!(sum, 5);
/// let err = caller.call::<i32>("nope", ()).await.unwrap_err();
/// assert_eq!(err.code(), tabrpc_core::ErrorCode::NotFound);
/// # Ok::<(), tabrpc_core::Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServerCaller<TCtx> {
    router: BuiltRouter<TCtx>,
    ctx: TCtx,
    timeout: Option<Duration>,
}

impl<TCtx: Clone> Clone for ServerCaller<TCtx> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            ctx: self.ctx.clone(),
            timeout: self.timeout,
        }
    }
}

impl<TCtx> std::fmt::Debug for ServerCaller<TCtx> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCaller")
            .field("procedures", &self.router.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<TCtx: Clone + Send + Sync + 'static> BuiltRouter<TCtx> {
    /// A caller of this router's procedures with `ctx` (cloned for each call).
    pub fn caller(&self, ctx: TCtx) -> ServerCaller<TCtx> {
        ServerCaller {
            router: self.clone(),
            ctx,
            timeout: Config::default().call_timeout,
        }
    }
}

impl<TCtx: Clone + Send + Sync + 'static> ServerCaller<TCtx> {
    /// Sets how long one call may wait, as [`Config::call_timeout`] (the default); `None`
    /// waits without limit.
    pub fn timeout(mut self, limit: Option<Duration>) -> Self {
        self.timeout = limit;
        self
    }

    /// Calls the procedure at `path` with `input` and reads its output as `O` (`()` for a
    /// procedure returning unit).
    ///
    /// # Errors
    ///
    /// The procedure's error, as the client would get it (with the error formatter's fields);
    /// NOT_FOUND for an unknown path; INTERNAL_SERVER_ERROR when the output does not read as
    /// `O` or is a stream (use [`ServerCaller::stream`]).
    pub async fn call<O: DeserializeOwned>(
        &self,
        path: &str,
        input: impl Serialize,
    ) -> Result<O, Error> {
        self.call_with_meta(path, input).await.map(|(out, _)| out)
    }

    /// As [`ServerCaller::call`], with the response meta (headers, cookies) the call set.
    ///
    /// # Errors
    ///
    /// As [`ServerCaller::call`].
    pub async fn call_with_meta<O: DeserializeOwned>(
        &self,
        path: &str,
        input: impl Serialize,
    ) -> Result<(O, ResponseMeta), Error> {
        let (output, meta) = self.run(path, input).await?;
        let read = |json: &str| {
            serde_json::from_str::<O>(json).map_err(|err| self.report(path, Error::internal(err)))
        };
        let value = match output {
            Output::Value(raw) => read(raw.get())?,
            Output::Unit => read("null")?,
            Output::Stream(_) | Output::Events(_) => {
                return Err(self.report(
                    path,
                    Error::new(ErrorCode::InternalServerError).with_message(
                        "the procedure streams its output: call it with ServerCaller::stream",
                    ),
                ));
            }
        };
        Ok((value, meta))
    }

    /// Calls a streamed query or a subscription at `path` and reads each item as `T`. An `Err`
    /// item ends the stream with that error.
    ///
    /// # Errors
    ///
    /// As [`ServerCaller::call`]; INTERNAL_SERVER_ERROR when the procedure does not stream.
    pub async fn stream<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        input: impl Serialize,
    ) -> Result<BoxStream<'static, Result<T, Error>>, Error> {
        let read = |raw: &serde_json::value::RawValue| {
            serde_json::from_str::<T>(raw.get()).map_err(Error::internal)
        };
        match self.run(path, input).await?.0 {
            Output::Stream(items) => Ok(items.map(move |item| item.and_then(|r| read(&r))).boxed()),
            Output::Events(events) => Ok(events
                .map(move |event| event.and_then(|e| read(&e.data)))
                .boxed()),
            Output::Value(_) | Output::Unit => Err(self.report(
                path,
                Error::new(ErrorCode::InternalServerError)
                    .with_message("the procedure does not stream: call it with ServerCaller::call"),
            )),
        }
    }

    /// Runs the call: what the HTTP path runs once the request is planned.
    async fn run(
        &self,
        path: &str,
        input: impl Serialize,
    ) -> Result<(Output, ResponseMeta), Error> {
        let Some((full, procedure)) = self.router.lookup(path) else {
            return Err(self.report(
                path,
                Error::new(ErrorCode::NotFound)
                    .with_message(format!("No procedure found on path \"{path}\"")),
            ));
        };
        let kind = procedure.meta.kind;
        let input = if procedure.meta.reads_input {
            serde_json::to_value(input).map_err(|err| {
                self.report(path, Error::bad_request(format!("Invalid input: {err}")))
            })?
        } else {
            serde_json::Value::Null
        };
        let call = Call::new(full.clone(), kind, input).with_meta(true);
        let meta = call.meta_handle().cloned().unwrap_or_default();
        let procedure = Arc::clone(procedure);
        match crate::wire::run_call(procedure, self.ctx.clone(), call, self.timeout).await {
            Ok(output) => Ok((output, meta)),
            Err(err) => {
                Err(self
                    .router
                    .hooks()
                    .apply(err, Some(path), Some(kind), Some(&self.ctx)))
            }
        }
    }

    fn report(&self, path: &str, err: Error) -> Error {
        let kind = self.router.get(path).map(|(_, p)| p.meta.kind);
        self.router
            .hooks()
            .apply(err, Some(path), kind, Some(&self.ctx))
    }
}
