//! Who is calling, for axum (feature `auth`): [`AuthLayer`] resolves each request's caller
//! once, by the rules of `tabrpc-auth`, and leaves a [`Caller`] in the request's extensions,
//! where [`caller`] (for an [`Endpoint`](crate::Endpoint)'s context function) and the
//! [`CurrentCaller`] extractor (for plain axum handlers) find it.
//!
//! ```no_run
//! # async fn run(resolver: tabrpc_auth::Resolver, built: tabrpc_core::BuiltRouter<Ctx>) {
//! use std::sync::Arc;
//! use tabrpc_axum::{Endpoint, auth::{AuthLayer, caller}};
//!
//! let endpoint = Endpoint::new(built, |parts: &http::request::Parts| {
//!     let caller = caller(parts);
//!     async move { Ok(Ctx { caller }) }
//! });
//! let app: axum::Router = axum::Router::new()
//!     .nest("/trpc", endpoint.into_router())
//!     .layer(AuthLayer::new(Arc::new(resolver)));
//! # }
//! # #[derive(Clone)] struct Ctx { caller: tabrpc_auth::Caller }
//! ```

use std::convert::Infallible;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::Request;
use http::request::Parts;
use tabrpc_auth::{AnonymousReason, Caller, Identity, Resolver};
use tabrpc_core::wire::{self, Config};
use tower::{Layer, Service};

use crate::endpoint::into_axum;

/// A tower layer that resolves the caller of every request with a [`Resolver`] and stores it
/// as a [`Caller`] in the request's extensions, before the inner service runs.
///
/// Before any credential is read it enforces the request limits of a wire [`Config`]
/// ([`Config::max_header_bytes`] and [`Config::max_url_bytes`]) on every route it covers, so
/// that a request too large for the endpoint cannot make the resolver work first (a `Cookie`
/// header of tens of thousands of session cookies). A request over a limit is answered 400
/// BAD_REQUEST with the endpoint's JSON error envelope, naming the limit, and the inner
/// service never sees it. The limits default to [`Config::default`]'s; give the layer the
/// endpoint's [`Config`] ([`AuthLayer::limits`]) when the endpoint's differ.
#[derive(Clone)]
pub struct AuthLayer {
    resolver: Arc<Resolver>,
    limits: Arc<Config>,
}

impl AuthLayer {
    /// A layer resolving callers with `resolver`, with the default limits of
    /// [`Config::default`].
    pub fn new(resolver: Arc<Resolver>) -> Self {
        Self {
            resolver,
            limits: Arc::new(Config::default()),
        }
    }

    /// Takes the request limits ([`Config::max_header_bytes`], [`Config::max_url_bytes`]) from
    /// `config`, usually the endpoint's. Its other settings are not used here.
    pub fn limits(mut self, config: &Config) -> Self {
        self.limits = Arc::new(config.clone());
        self
    }

    /// Sets the most bytes of request headers (names and values, 4 bytes of framing each)
    /// accepted. Defaults to `Config::default().max_header_bytes` (64 KiB); more answers 400
    /// BAD_REQUEST before any credential is read.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.limits).max_header_bytes = bytes;
        self
    }

    /// Sets the longest request URL (path and query) accepted. Defaults to
    /// `Config::default().max_url_bytes` (16 KiB); longer answers 400 BAD_REQUEST before any
    /// credential is read.
    pub fn max_url_bytes(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.limits).max_url_bytes = bytes;
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            resolver: self.resolver.clone(),
            limits: self.limits.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    resolver: Arc<Resolver>,
    limits: Arc<Config>,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was polled ready is the one that must be called (tower's contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resolver = self.resolver.clone();
        let limits = self.limits.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // Limits first: the resolver's work grows with the headers it is given.
            if let Err(err) = wire::check_request_limits(&limits, &parts) {
                return Ok(into_axum(wire::error_response(&err)));
            }
            let caller = resolver.caller(&parts).await;
            parts.extensions.insert(caller);
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

static MISSING_LAYER: Once = Once::new();

/// The caller that [`AuthLayer`] resolved for this request. Without the layer it is anonymous
/// (fail closed, never a guess) and a warning is logged once.
pub fn caller(parts: &Parts) -> Caller {
    match parts.extensions.get::<Caller>() {
        Some(caller) => caller.clone(),
        None => {
            MISSING_LAYER.call_once(|| {
                tracing::warn!(
                    "tabrpc_axum::auth::caller called without AuthLayer: every caller is anonymous"
                );
            });
            Caller::new(Identity::anonymous(AnonymousReason::None))
        }
    }
}

/// Extracts the [`Caller`] resolved by [`AuthLayer`] in a plain axum handler.
#[derive(Debug, Clone)]
pub struct CurrentCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CurrentCaller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentCaller(caller(parts)))
    }
}
