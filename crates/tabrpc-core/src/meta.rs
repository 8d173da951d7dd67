//! Response meta: headers and cookies a call asks for on success ([`ResponseMeta`], [`Reply`]),
//! and how the calls of a batch share one response.

use std::sync::{Arc, Mutex};

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use serde::Serialize;

use crate::codes::ErrorCode;
use crate::error::Error;

/// What one call asks to add to the response: headers and `Set-Cookie` values. Applied only when
/// the call succeeds and the reply is JSON (a single call or a batch); a JSONL or SSE reply has
/// sent its head before any call settles, so meta set there is not sent.
///
/// In a batch, a header is sent only when **every** call of the batch set it to the same values
/// (tRPC's rule: one failing or silent call keeps `Cache-Control: public` off the whole
/// response), and cookies are **merged**: every succeeding call's `Set-Cookie` is sent, each
/// distinct value once, since cookies add up rather than compete.
///
/// Headers the framework owns are refused ([`ResponseMeta::set_header`] fails): the body's
/// framing and type (`Content-Type`, `Content-Length`, `Transfer-Encoding`, `Content-Encoding`),
/// `Vary` (the reply varies on `trpc-accept` and `Accept`, which a procedure must not undo), the
/// connection's own headers (`Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`,
/// `Proxy-*`), CORS (`Access-Control-*`, the CORS layer's decision) and `WWW-Authenticate`
/// (the auth layer's challenge). A procedure setting one would break the protocol or weaken a
/// security decision made elsewhere.
///
/// A cheap handle: clones share the same call's meta.
#[derive(Clone, Default)]
pub struct ResponseMeta {
    inner: Arc<Mutex<Collected>>,
}

/// Headers and cookies collected for one call.
#[derive(Debug, Default, Clone)]
pub(crate) struct Collected {
    pub(crate) headers: HeaderMap,
    pub(crate) cookies: Vec<HeaderValue>,
}

impl Collected {
    fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.cookies.is_empty()
    }

    /// Sets a checked header; a `Set-Cookie` is added to the cookies.
    fn set(&mut self, name: HeaderName, value: HeaderValue) {
        if name == header::SET_COOKIE {
            self.cookies.push(value);
        } else {
            self.headers.insert(name, value);
        }
    }
}

/// `name` and `value` as a header a procedure may set.
fn checked<N, V>(name: N, value: V) -> Result<(HeaderName, HeaderValue), Error>
where
    N: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    let name = name
        .try_into()
        .map_err(|_| misuse("response meta: invalid header name".to_owned()))?;
    let value = value
        .try_into()
        .map_err(|_| misuse(format!("response meta: invalid value for `{name}`")))?;
    if let Some(why) = refused(&name) {
        return Err(misuse(format!(
            "response meta: `{name}` cannot be set by a procedure ({why})"
        )));
    }
    Ok((name, value))
}

impl std::fmt::Debug for ResponseMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let collected = self.snapshot();
        f.debug_struct("ResponseMeta")
            .field("headers", &collected.headers)
            .field("cookies", &collected.cookies.len())
            .finish()
    }
}

/// Why a header is the framework's, or `None` when a procedure may set it.
fn refused(name: &HeaderName) -> Option<&'static str> {
    let framing = [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONTENT_ENCODING,
    ];
    let connection = [
        header::CONNECTION,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ];
    let name_str = name.as_str();
    if framing.contains(name) {
        Some("the body's framing and type are the framework's")
    } else if *name == header::VARY {
        Some("the reply varies on trpc-accept and accept; a procedure must not undo it")
    } else if connection.contains(name)
        || name_str == "keep-alive"
        || name_str.starts_with("proxy-")
    {
        Some("connection-level headers belong to the HTTP server")
    } else if name_str.starts_with("access-control-") {
        Some("CORS is decided by the CORS layer")
    } else if *name == header::WWW_AUTHENTICATE {
        Some("the auth challenge is the auth layer's")
    } else {
        None
    }
}

impl ResponseMeta {
    /// An empty set of meta.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value` for this call, replacing what was set for it before.
    /// `Set-Cookie` is added as with [`ResponseMeta::cookie`].
    ///
    /// # Errors
    ///
    /// An INTERNAL_SERVER_ERROR (its cause names the header; the client sees the generic
    /// message) for a header the framework owns (see [`ResponseMeta`]) or a value that is not a
    /// valid header value.
    pub fn set_header<N, V>(&self, name: N, value: V) -> Result<(), Error>
    where
        N: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let (name, value) = checked(name, value)?;
        self.lock(|c| c.set(name, value));
        Ok(())
    }

    /// Adds a `Set-Cookie` header with `value` (for example
    /// `theme=dark; Path=/; HttpOnly; Secure; SameSite=Lax`).
    ///
    /// # Errors
    ///
    /// An INTERNAL_SERVER_ERROR when `value` is not a valid header value.
    pub fn cookie<V: TryInto<HeaderValue>>(&self, value: V) -> Result<(), Error> {
        let (name, value) = checked(header::SET_COOKIE, value)?;
        self.lock(|c| c.set(name, value));
        Ok(())
    }

    /// Whether nothing was set.
    pub fn is_empty(&self) -> bool {
        self.lock(|c| c.is_empty())
    }

    /// A copy of what was set.
    pub(crate) fn snapshot(&self) -> Collected {
        self.lock(|c| c.clone())
    }

    /// The headers set (without cookies).
    pub fn headers(&self) -> HeaderMap {
        self.lock(|c| c.headers.clone())
    }

    /// The `Set-Cookie` values added, in order.
    pub fn cookies(&self) -> Vec<HeaderValue> {
        self.lock(|c| c.cookies.clone())
    }

    /// Adds everything `other` set to this call's meta.
    pub(crate) fn absorb(&self, other: Collected) {
        if other.is_empty() {
            return;
        }
        self.lock(|c| {
            for (name, value) in other.headers {
                if let Some(name) = name {
                    c.headers.insert(name, value);
                }
            }
            c.cookies.extend(other.cookies);
        });
    }

    fn lock<R>(&self, f: impl FnOnce(&mut Collected) -> R) -> R {
        // A panic while holding the lock cannot leave `Collected` half-written in a way that
        // matters: take the data as it is.
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

fn misuse(message: String) -> Error {
    Error::new(ErrorCode::InternalServerError).with_cause(MetaError(message))
}

/// A refused use of [`ResponseMeta`], logged as the cause of the call's 500.
#[derive(Debug)]
struct MetaError(String);

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MetaError {}

/// A handler's output with response meta: return `Reply::new(value).header(…)` instead of
/// `Ok(value)` to set headers or cookies from the handler itself (the exported output type is
/// still `T`). See [`ResponseMeta`] for when meta is sent.
///
/// ```
/// use tabrpc_core::{Procedure, Reply};
/// #[derive(Clone)]
/// struct Ctx;
/// let posts = Procedure::query(|_: Ctx, (): ()| async move {
///     Reply::new(vec!["hello"]).header("cache-control", "public, max-age=60")
/// });
/// ```
#[derive(Debug)]
pub struct Reply<T> {
    value: T,
    meta: Collected,
}

impl<T> Reply<T> {
    /// `value`, with no meta yet.
    pub fn new(value: T) -> Self {
        Self {
            value,
            meta: Collected::default(),
        }
    }

    /// Sets a response header (as [`ResponseMeta::set_header`]).
    ///
    /// # Errors
    ///
    /// As [`ResponseMeta::set_header`].
    pub fn header<N, V>(mut self, name: N, value: V) -> Result<Self, Error>
    where
        N: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let (name, value) = checked(name, value)?;
        self.meta.set(name, value);
        Ok(self)
    }

    /// Adds a `Set-Cookie` (as [`ResponseMeta::cookie`]).
    ///
    /// # Errors
    ///
    /// As [`ResponseMeta::cookie`].
    pub fn cookie<V: TryInto<HeaderValue>>(mut self, value: V) -> Result<Self, Error> {
        let (name, value) = checked(header::SET_COOKIE, value)?;
        self.meta.set(name, value);
        Ok(self)
    }
}

/// What a handler may return inside its `Ok`: a value (`T: Serialize + specta::Type`), or a
/// [`Reply<T>`] carrying response meta. Implemented for both; not meant to be implemented
/// elsewhere.
#[diagnostic::on_unimplemented(
    message = "a procedure's handler cannot return `{Self}`",
    label = "the handler's `Ok` value must be `Serialize + specta::Type`, or a `Reply<T>` of one",
    note = "derive `serde::Serialize` and `specta::Type` on the output type"
)]
pub trait IntoReply: Send + 'static {
    /// The value serialized and exported as the procedure's output.
    type Value: Serialize + specta::Type + 'static;

    /// Whether the handler may set response meta (a [`Reply`]).
    #[doc(hidden)]
    const HAS_META: bool = false;

    /// The value and the meta set with it.
    #[doc(hidden)]
    fn into_parts(self) -> (Self::Value, Option<ReplyMeta>);
}

/// Meta carried by a [`Reply`] (opaque).
#[doc(hidden)]
#[derive(Debug)]
pub struct ReplyMeta(pub(crate) Collected);

impl<T: Serialize + specta::Type + Send + 'static> IntoReply for T {
    type Value = T;
    fn into_parts(self) -> (T, Option<ReplyMeta>) {
        (self, None)
    }
}

impl<T: Serialize + specta::Type + Send + 'static> IntoReply for Reply<T> {
    type Value = T;
    const HAS_META: bool = true;
    fn into_parts(self) -> (T, Option<ReplyMeta>) {
        let meta = (!self.meta.is_empty()).then_some(ReplyMeta(self.meta));
        (self.value, meta)
    }
}

/// The headers a JSON reply adds for its calls' meta: `metas` has one entry per call, `None`
/// for a call that failed or set nothing. Headers only when every call set the same values;
/// cookies from every call, each distinct value once.
pub(crate) fn shared_headers(metas: &[Option<Collected>], into: &mut HeaderMap) {
    let mut cookies: Vec<&HeaderValue> = Vec::new();
    for meta in metas.iter().flatten() {
        for cookie in &meta.cookies {
            if !cookies.contains(&cookie) {
                cookies.push(cookie);
            }
        }
    }
    for cookie in cookies {
        into.append(header::SET_COOKIE, cookie.clone());
    }
    let Some(Some(first)) = metas.first() else {
        return;
    };
    for name in first.headers.keys() {
        let values: Vec<&HeaderValue> = first.headers.get_all(name).iter().collect();
        let agreed = metas[1..].iter().all(|meta| {
            meta.as_ref()
                .is_some_and(|meta| meta.headers.get_all(name).iter().eq(values.iter().copied()))
        });
        if agreed {
            into.remove(name);
            for value in values {
                into.append(name.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(
        headers: &[(&'static str, &'static str)],
        cookies: &[&'static str],
    ) -> Option<Collected> {
        let meta = ResponseMeta::new();
        for (n, v) in headers {
            meta.set_header(*n, *v).unwrap_or_else(|e| panic!("{e}"));
        }
        for c in cookies {
            meta.cookie(*c).unwrap_or_else(|e| panic!("{e}"));
        }
        Some(meta.snapshot())
    }

    #[test]
    fn framework_headers_are_refused() {
        let meta = ResponseMeta::new();
        for name in [
            "content-type",
            "Content-Length",
            "vary",
            "transfer-encoding",
            "connection",
            "access-control-allow-origin",
            "www-authenticate",
            "proxy-foo",
        ] {
            let err = meta.set_header(name, "x").err();
            assert_eq!(
                err.map(|e| e.code()),
                Some(ErrorCode::InternalServerError),
                "{name}"
            );
        }
        assert!(meta.is_empty());
        assert!(meta.set_header("x-ok", "1").is_ok());
        assert!(meta.set_header("bad name", "1").is_err());
        assert!(meta.set_header("x-bad", "a\nb").is_err());
    }

    #[test]
    fn batch_headers_need_every_call_to_agree_and_cookies_merge() {
        let a = with(&[("cache-control", "public"), ("x-a", "1")], &["a=1"]);
        let b = with(
            &[("cache-control", "public"), ("x-a", "2")],
            &["b=2", "a=1"],
        );
        let mut out = HeaderMap::new();
        shared_headers(&[a.clone(), b], &mut out);
        assert_eq!(
            out.get("cache-control").map(|v| v.as_bytes()),
            Some(&b"public"[..])
        );
        assert!(out.get("x-a").is_none());
        let cookies: Vec<_> = out.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);

        let mut out = HeaderMap::new();
        shared_headers(&[a, None], &mut out);
        assert!(out.get("cache-control").is_none());
        assert_eq!(out.get_all("set-cookie").iter().count(), 1);
    }
}
