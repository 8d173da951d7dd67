//! [`Resolver`]: who is calling, from the request's headers (spec `auth.md` §1): the
//! `Authorization` header first, then the fail-closed marker, then the session cookie.

use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderName};
use tabrpc_core::protocol::ACCOUNT_HEADER;
use tracing::Instrument as _;

use crate::csrf::{self, DEFAULT_CSRF_HEADER};
use crate::error::Error;
use crate::identity::{AnonymousReason, Authenticated, Identity, Source};
use crate::trace::{self, Trace};
use crate::verifier::{Checked, Verifier};

/// The default fail-closed marker header. A client sends it (`x-tabrpc-auth-required: 1`) when
/// it could not get a token for this tab while several accounts are signed in.
pub const DEFAULT_MARKER_HEADER: &str = tabrpc_core::protocol::MARKER_HEADER;

/// The default session cookie name (Clerk's).
pub const DEFAULT_SESSION_COOKIE: &str = "__session";

/// More distinct session cookies than this in one request is treated as ambiguous, and reading
/// stops at the first one too many: it bounds the verification work a single request can ask
/// for, whatever its `Cookie` headers hold.
const MAX_SESSION_COOKIES: usize = 4;

/// Resolves the caller of each request. Cheap to clone.
///
/// ```no_run
/// # async fn demo(
/// #     verifier: tabrpc_auth::Verifier,
/// #     parts: http::request::Parts,
/// # ) -> Result<(), tabrpc_auth::Error> {
/// use tabrpc_auth::{Identity, Resolver};
/// let resolver = Resolver::builder(verifier).cookie_name("__session").build()?;
/// match resolver.resolve(&parts).await {
///     Identity::Authenticated(who) => println!("user {}", who.user_id),
///     Identity::Anonymous { reason } => println!("anonymous: {reason}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Resolver {
    verifier: Verifier,
    marker_header: HeaderName,
    cookie_name: String,
    csrf_header: HeaderName,
    public_scheme: Option<&'static str>,
}

/// Configures a [`Resolver`]. Obtain one with [`Resolver::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ResolverBuilder {
    verifier: Verifier,
    marker_header: String,
    cookie_name: String,
    csrf_header: String,
    public_scheme: Option<String>,
}

impl ResolverBuilder {
    /// The fail-closed marker header: when present (any value; clients send `1`) and there is
    /// no `Authorization` header, the caller is anonymous and the cookie is ignored. Defaults
    /// to [`DEFAULT_MARKER_HEADER`].
    pub fn marker_header(mut self, name: impl Into<String>) -> Self {
        self.marker_header = name.into();
        self
    }

    /// The session cookie's name. Defaults to [`DEFAULT_SESSION_COOKIE`] (`__session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The custom header that satisfies the CSRF rule. Defaults to [`DEFAULT_CSRF_HEADER`].
    pub fn csrf_header(mut self, name: impl Into<String>) -> Self {
        self.csrf_header = name.into();
        self
    }

    /// The scheme (`http` or `https`, any case) browsers use to reach this server, which an
    /// `Origin` must carry to pass the CSRF rule ([`Resolver::cookie_csrf_ok`]). Set it to
    /// `https` behind a proxy that terminates TLS. Defaults to none: the request URI's scheme
    /// when it has one (HTTP/2 sends `:scheme`), otherwise `http`, which is what plain-HTTP
    /// `serve` receives.
    ///
    /// Risk: left unset behind a TLS-terminating proxy, same-origin `https` pages fail the
    /// `Origin` rule (fail closed: their cookie mutations are anonymous `csrf` unless they
    /// send the custom CSRF header or `Sec-Fetch-Site: same-origin`, as the tabrpc client
    /// does).
    pub fn public_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.public_scheme = Some(scheme.into());
        self
    }

    /// Builds the resolver.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if a header name is invalid, the
    /// cookie name is empty, or the public scheme is neither `http` nor `https`.
    pub fn build(self) -> Result<Resolver, Error> {
        let header = |name: &str| {
            HeaderName::try_from(name)
                .map_err(|e| Error::config(format!("invalid header name {name:?}")).with_source(e))
        };
        if self.cookie_name.is_empty() {
            return Err(Error::config("the session cookie name is empty"));
        }
        let public_scheme = match self.public_scheme.as_deref() {
            None => None,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => Some("http"),
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => Some("https"),
            Some(scheme) => {
                return Err(Error::config(format!(
                    "the public scheme {scheme:?} is neither \"http\" nor \"https\""
                )));
            }
        };
        Ok(Resolver {
            verifier: self.verifier,
            marker_header: header(&self.marker_header)?,
            cookie_name: self.cookie_name,
            csrf_header: header(&self.csrf_header)?,
            public_scheme,
        })
    }
}

impl Resolver {
    /// A resolver with every default ([`DEFAULT_MARKER_HEADER`], [`DEFAULT_SESSION_COOKIE`],
    /// [`DEFAULT_CSRF_HEADER`]).
    pub fn new(verifier: Verifier) -> Self {
        Resolver {
            verifier,
            marker_header: HeaderName::from_static(DEFAULT_MARKER_HEADER),
            cookie_name: DEFAULT_SESSION_COOKIE.to_owned(),
            csrf_header: HeaderName::from_static(DEFAULT_CSRF_HEADER),
            public_scheme: None,
        }
    }

    /// A builder with every default and this verifier.
    pub fn builder(verifier: Verifier) -> ResolverBuilder {
        ResolverBuilder {
            verifier,
            marker_header: DEFAULT_MARKER_HEADER.into(),
            cookie_name: DEFAULT_SESSION_COOKIE.into(),
            csrf_header: DEFAULT_CSRF_HEADER.into(),
            public_scheme: None,
        }
    }

    /// The verifier tokens are checked with.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Resolves the caller (`auth.md` §1):
    ///
    /// 1. several `Authorization` headers: anonymous, `ambiguous`;
    /// 2. one: it alone decides (scheme `Bearer`, any case, else `bad_scheme`; `""`, `null`,
    ///    `undefined`: `placeholder`; else the token is verified), cookies are not read;
    /// 3. no `Authorization` but the marker header: `fail_closed`, cookie ignored;
    /// 4. the session cookie(s), verified the same way; more than 4 distinct ones, or several
    ///    whose verified subjects differ: `ambiguous` (reading stops at the fifth, so the work
    ///    is bounded). When the request names its account ([`ACCOUNT_HEADER`],
    ///    `x-tabrpc-account`, sent by a signed-in tab without a bearer token) and the cookie's
    ///    `sub` is not exactly that value: `account_mismatch`, never the cookie's account. An
    ///    empty value, or the header sent more than once, never matches (fail closed); with an
    ///    `Authorization` header it is not read. For an unsafe method (not GET, HEAD, OPTIONS,
    ///    TRACE) a cookie identity must also pass [`cookie_csrf_ok`](Self::cookie_csrf_ok),
    ///    else `csrf`;
    /// 5. nothing: `none`.
    ///
    /// Emits one debug event in an `auth` span (source, outcome, reason, kid, token
    /// fingerprint, skew, and `sub`/`sid` on success); never a token or a header value.
    pub async fn resolve(&self, parts: &Parts) -> Identity {
        let span = trace::span();
        let mut trace = Trace::default();
        let identity = self
            .resolve_traced(parts, &mut trace)
            .instrument(span.clone())
            .await;
        trace::record(&span, &identity, &trace);
        identity
    }

    async fn resolve_traced(&self, parts: &Parts, trace: &mut Trace) -> Identity {
        let headers = &parts.headers;
        let mut authorization = headers.get_all(AUTHORIZATION).iter();
        match (authorization.next(), authorization.next()) {
            (Some(_), Some(_)) => Identity::anonymous(AnonymousReason::Ambiguous),
            (Some(value), None) => {
                trace.source = Some(Source::Header);
                let token = match bearer_token(value) {
                    Ok(token) => token,
                    Err(reason) => return Identity::anonymous(reason),
                };
                let mut checked = self.verifier.check(token).await;
                trace.take(Source::Header, &mut checked);
                identity(checked, Source::Header)
            }
            (None, _) if headers.contains_key(&self.marker_header) => {
                Identity::anonymous(AnonymousReason::FailClosed)
            }
            (None, _) => {
                let identity = match self.resolve_cookies(headers, trace).await {
                    Identity::Authenticated(who) if names_other_account(headers, &who.user_id) => {
                        return Identity::anonymous(AnonymousReason::AccountMismatch);
                    }
                    identity => identity,
                };
                let needs_csrf = matches!(&identity, Identity::Authenticated(a) if a.source == Source::Cookie)
                    && !csrf::is_safe(&parts.method);
                if needs_csrf && !self.cookie_csrf_ok(parts) {
                    return Identity::anonymous(AnonymousReason::Csrf);
                }
                identity
            }
        }
    }

    async fn resolve_cookies(&self, headers: &HeaderMap, trace: &mut Trace) -> Identity {
        let pairs = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|header| header.to_str().ok())
            .flat_map(cookie_pairs);
        let tokens = match session_tokens(pairs, &self.cookie_name) {
            Ok(tokens) if tokens.is_empty() => return Identity::anonymous(AnonymousReason::None),
            Ok(tokens) => tokens,
            Err(reason) => {
                trace.source = Some(Source::Cookie);
                return Identity::anonymous(reason);
            }
        };
        trace.source = Some(Source::Cookie);

        let mut first_failure: Option<Checked> = None;
        let mut accepted: Option<Checked> = None;
        for token in &tokens {
            let mut checked = self.verifier.check(token).await;
            match (&checked.result, &accepted) {
                (Ok(claims), Some(prev)) => {
                    let same = prev.result.as_ref().is_ok_and(|p| p.sub == claims.sub);
                    if !same {
                        trace.take(Source::Cookie, &mut checked);
                        return Identity::anonymous(AnonymousReason::Ambiguous);
                    }
                }
                (Ok(_), None) => accepted = Some(checked),
                (Err(_), _) => {
                    first_failure.get_or_insert(checked);
                }
            }
        }
        // One verified subject wins over stale or foreign cookies that fail verification: only
        // a verified token can name a user, so the failures cannot contradict it.
        match accepted.or(first_failure) {
            Some(mut checked) => {
                trace.take(Source::Cookie, &mut checked);
                identity(checked, Source::Cookie)
            }
            None => Identity::anonymous(AnonymousReason::None),
        }
    }

    /// Whether a cookie-authenticated request passes the CSRF rule. Any one suffices:
    ///
    /// - `Sec-Fetch-Site: same-origin` (set by the browser, not by scripts);
    /// - an `Origin` whose scheme is the server's public scheme (see
    ///   [`ResolverBuilder::public_scheme`]) and whose host and port equal the request's
    ///   `Host` (or HTTP/2 authority);
    /// - the custom CSRF header (default `x-tabrpc-csrf`), any value: a cross-origin page can
    ///   only send it after a CORS preflight the server approved. Do not allow this header
    ///   cross-origin in CORS.
    ///
    /// `Sec-Fetch-Site: same-site` is not enough (a sibling subdomain may be hostile).
    /// [`resolve`](Self::resolve) already applies it to unsafe methods.
    pub fn cookie_csrf_ok(&self, parts: &Parts) -> bool {
        csrf::csrf_ok(
            &parts.headers,
            &parts.uri,
            &self.csrf_header,
            self.public_scheme,
        )
    }
}

/// The `name=value` pairs of one `Cookie` header, names and values trimmed of whitespace and a
/// value of its double quotes (RFC 6265 §4.2.1); pieces without `=` or with an empty name are
/// skipped. Lazy, so a reader can stop early.
fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!name.is_empty()).then_some((name, value))
    })
}

/// The distinct values of the cookies named `name`, in order. Stops at the first distinct value
/// past [`MAX_SESSION_COOKIES`] with `ambiguous`: each pair costs at most that many
/// comparisons, and no more than that many tokens are ever verified.
fn session_tokens<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    name: &str,
) -> Result<Vec<&'a str>, AnonymousReason> {
    let mut tokens: Vec<&str> = Vec::new();
    for (cookie, value) in pairs {
        if cookie != name || tokens.contains(&value) {
            continue;
        }
        if tokens.len() == MAX_SESSION_COOKIES {
            return Err(AnonymousReason::Ambiguous);
        }
        tokens.push(value);
    }
    Ok(tokens)
}

/// Whether the request names an account ([`ACCOUNT_HEADER`]) other than `sub`. Byte-exact; an
/// empty value or several headers name no single account, so they never match.
fn names_other_account(headers: &HeaderMap, sub: &str) -> bool {
    let mut values = headers.get_all(ACCOUNT_HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => false,
        (Some(value), None) => value.as_bytes() != sub.as_bytes(),
        (Some(_), Some(_)) => true,
    }
}

/// The token of a `Bearer` credential, or why there is none.
fn bearer_token(value: &http::HeaderValue) -> Result<&str, AnonymousReason> {
    let value = value
        .to_str()
        .map_err(|_| AnonymousReason::BadScheme)?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AnonymousReason::BadScheme);
    }
    // What `fetch` sends when a client interpolates a missing token.
    match token.trim_start() {
        "" | "null" | "undefined" => Err(AnonymousReason::Placeholder),
        token => Ok(token),
    }
}

fn identity(checked: Checked, source: Source) -> Identity {
    match checked.result {
        Ok(claims) => Identity::Authenticated(Authenticated {
            user_id: claims.sub.clone(),
            session_id: claims.sid.clone(),
            claims,
            source,
        }),
        Err(reason) => Identity::anonymous(reason),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn cookie_reading_stops_at_the_first_session_cookie_too_many() {
        let header: String = (0..20_000).map(|i| format!("__session=t{i}; ")).collect();
        let mut read = 0;
        let pairs = cookie_pairs(&header).inspect(|_| read += 1);
        assert_eq!(
            session_tokens(pairs, "__session"),
            Err(AnonymousReason::Ambiguous)
        );
        assert_eq!(read, MAX_SESSION_COOKIES + 1, "pairs read");
    }

    #[test]
    fn repeated_session_cookies_are_verified_once_each() {
        // 20,000 copies of 4 tokens: every pair is read, but only 4 tokens are verified.
        let header: String = (0..20_000)
            .map(|i| format!("__session=t{}; ", i % 4))
            .collect();
        let tokens = session_tokens(cookie_pairs(&header), "__session").unwrap_or_default();
        assert_eq!(tokens, ["t0", "t1", "t2", "t3"]);
    }

    #[test]
    fn cookie_pairs_trim_and_unquote() {
        let pairs: Vec<_> = cookie_pairs(" a=1;b = \"2\" ;=x; junk ;__session=t=x").collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2"), ("__session", "t=x")]);
    }

    #[test]
    fn an_account_header_must_name_the_subject_exactly() {
        let headers = |values: &[&'static str]| {
            let mut map = HeaderMap::new();
            for value in values {
                map.append(ACCOUNT_HEADER, HeaderValue::from_static(value));
            }
            map
        };
        assert!(!names_other_account(&headers(&[]), "alice"));
        assert!(!names_other_account(&headers(&["alice"]), "alice"));
        assert!(names_other_account(&headers(&["bob"]), "alice"));
        assert!(names_other_account(&headers(&[""]), "alice"));
        assert!(names_other_account(&headers(&["ALICE"]), "alice"));
        assert!(names_other_account(&headers(&["alice", "alice"]), "alice"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_placeholders_are_caught() {
        let token = |v: &'static str| bearer_token(&HeaderValue::from_static(v)).map(str::to_owned);
        assert_eq!(token("Bearer abc"), Ok("abc".to_owned()));
        assert_eq!(token("bearer abc"), Ok("abc".to_owned()));
        assert_eq!(token("BEARER   abc "), Ok("abc".to_owned()));
        assert_eq!(token("Bearer"), Err(AnonymousReason::Placeholder));
        assert_eq!(token("Bearer "), Err(AnonymousReason::Placeholder));
        assert_eq!(token("Bearer null"), Err(AnonymousReason::Placeholder));
        assert_eq!(token("Bearer undefined"), Err(AnonymousReason::Placeholder));
        assert_eq!(token("Basic dXNlcjpwYXNz"), Err(AnonymousReason::BadScheme));
        assert_eq!(token("Bearerabc"), Err(AnonymousReason::BadScheme));
        assert_eq!(token(""), Err(AnonymousReason::BadScheme));
    }
}
