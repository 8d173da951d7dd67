//! The CSRF rule for cookie-authenticated mutations.
//!
//! A browser attaches the session cookie to cross-site requests too, so a cookie alone does not
//! show that the page making a mutation is ours. A bearer header does (a foreign page cannot
//! read the tab's token), hence the rule applies to cookie-authenticated requests only.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName, Method, Uri};

/// The default custom header that proves a same-origin script sent the request: a cross-origin
/// page can only add it after a CORS preflight the server approved. The tabrpc client sends it
/// on every request.
pub const DEFAULT_CSRF_HEADER: &str = tabrpc_core::protocol::CSRF_HEADER;

/// Whether a cookie-authenticated request may mutate, with the default custom header
/// ([`DEFAULT_CSRF_HEADER`]). See [`Resolver::cookie_csrf_ok`](crate::Resolver::cookie_csrf_ok)
/// for the rule.
pub fn cookie_csrf_ok(parts: &http::request::Parts) -> bool {
    csrf_ok(
        &parts.headers,
        &parts.uri,
        &HeaderName::from_static(DEFAULT_CSRF_HEADER),
        None,
    )
}

/// Methods that must not change state (RFC 9110 §9.2.1); the rule is not applied to them.
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Any one of: `Sec-Fetch-Site: same-origin`; an `Origin` whose scheme is the server's and
/// whose host and port equal the request's `Host` (or HTTP/2 authority); the custom header,
/// with any value.
///
/// The server's scheme is `public_scheme` when configured, else the request URI's (HTTP/2
/// requests carry one), else `http`: an `https` page and an `http` page of the same host are
/// different origins, and a network attacker can serve the latter.
pub(crate) fn csrf_ok(
    headers: &HeaderMap,
    uri: &Uri,
    custom: &HeaderName,
    public_scheme: Option<&str>,
) -> bool {
    if headers.contains_key(custom) {
        return true;
    }
    // Browsers set `Sec-Fetch-Site` themselves and scripts cannot; `same-site` is not enough,
    // since a sibling subdomain may be someone else's.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin")
    {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // `Origin: null` (sandboxed frames, some redirects) has no authority and never matches.
    let Some((origin_scheme, origin_authority)) = origin.split_once("://") else {
        return false;
    };
    let scheme = public_scheme.or(uri.scheme_str()).unwrap_or("http");
    if !origin_scheme.eq_ignore_ascii_case(scheme) {
        return false;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    host.is_some_and(|host| host.eq_ignore_ascii_case(origin_authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn ok(pairs: &[(&'static str, &'static str)]) -> bool {
        ok_as(None, pairs)
    }

    fn ok_as(public_scheme: Option<&str>, pairs: &[(&'static str, &'static str)]) -> bool {
        csrf_ok(
            &headers(pairs),
            &Uri::from_static("/rpc/x"),
            &HeaderName::from_static(DEFAULT_CSRF_HEADER),
            public_scheme,
        )
    }

    #[test]
    fn same_origin_passes() {
        assert!(ok_as(
            Some("https"),
            &[("origin", "https://app.test"), ("host", "app.test")]
        ));
        assert!(ok(&[("origin", "http://app.test"), ("host", "app.test")]));
        assert!(ok(&[
            ("origin", "http://localhost:3000"),
            ("host", "LOCALHOST:3000")
        ]));
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(ok(&[("x-tabrpc-csrf", "1")]));
    }

    #[test]
    fn cross_site_fails() {
        assert!(!ok(&[]));
        assert!(!ok(&[
            ("origin", "https://evil.test"),
            ("host", "app.test")
        ]));
        assert!(!ok(&[
            ("origin", "https://app.test.evil.test"),
            ("host", "app.test")
        ]));
        assert!(!ok(&[("origin", "null"), ("host", "app.test")]));
        assert!(!ok(&[
            ("origin", "http://localhost:3001"),
            ("host", "localhost:3000")
        ]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(!ok(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.test"),
            ("host", "app.test")
        ]));
    }

    #[test]
    fn the_origin_scheme_must_be_the_servers() {
        let same_host = |origin| [("origin", origin), ("host", "app.test")];
        // Plain HTTP with nothing configured: the server is `http`.
        assert!(!ok(&same_host("https://app.test")));
        assert!(ok(&same_host("HTTP://app.test")));
        // Behind a TLS-terminating proxy, configured.
        assert!(ok_as(Some("https"), &same_host("https://app.test")));
        assert!(!ok_as(Some("https"), &same_host("http://app.test")));
        assert!(!ok_as(Some("https"), &same_host("wss://app.test")));
    }

    #[test]
    fn http2_authority_stands_in_for_host_and_its_scheme_for_the_servers() {
        let custom = HeaderName::from_static(DEFAULT_CSRF_HEADER);
        let map = headers(&[("origin", "https://app.test")]);
        let uri = Uri::from_static("https://app.test/rpc/x");
        assert!(csrf_ok(&map, &uri, &custom, None));
        let cleartext = Uri::from_static("http://app.test/rpc/x");
        assert!(!csrf_ok(&map, &cleartext, &custom, None));
        // A configured public scheme wins over the URI's (h2c behind a TLS proxy).
        assert!(csrf_ok(&map, &cleartext, &custom, Some("https")));
    }

    #[test]
    fn safe_methods() {
        assert!(is_safe(&Method::GET));
        assert!(!is_safe(&Method::POST));
    }
}
