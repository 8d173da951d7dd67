//! CORS for a front end served from another origin (`app.example.com` calling
//! `api.example.com`).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use tabrpc_core::protocol::{
    ACCOUNT_HEADER, LAST_EVENT_ID_HEADER, MARKER_HEADER, TRPC_ACCEPT_HEADER,
};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

/// The request headers a tabrpc client sends, which [`cors`] lets a listed origin send:
/// `authorization`, `content-type`, the fail-closed marker, `x-tabrpc-account`, `trpc-accept`
/// and `last-event-id`.
///
/// The CSRF header ([`tabrpc_core::protocol::CSRF_HEADER`]) is deliberately not among them:
/// the CSRF rule for cookie-authenticated mutations relies on a cross-origin page being unable
/// to send it (`docs/auth.md` section 1). A listed origin's mutations by cookie pass that rule
/// by their `Origin` only if it is the server's own; otherwise they are refused, so a
/// cross-origin front end sends a bearer token.
pub const CORS_REQUEST_HEADERS: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static(MARKER_HEADER),
    HeaderName::from_static(ACCOUNT_HEADER),
    HeaderName::from_static(TRPC_ACCEPT_HEADER),
    HeaderName::from_static(LAST_EVENT_ID_HEADER),
];

/// How long a browser may reuse a preflight's answer (browsers cap it: Chromium at 2 hours).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// A CORS layer that lets exactly the listed `origins` (such as `https://app.example.com`,
/// compared byte for byte with the `Origin` header) call the API with credentials (cookies):
/// methods `GET` and `POST`, the request headers of [`CORS_REQUEST_HEADERS`], and
/// `www-authenticate` readable by the page (the client reads it on a 401).
///
/// Credentials are allowed for listed origins only, and never with `*`: another origin's
/// requests and preflights get no `access-control-allow-origin`, so the browser does not
/// give it the answer. Every answer carries `Vary: Origin`.
///
/// Without this layer there is no CORS at all (same-origin front ends need none): add it only
/// when origins are configured, outermost, so that preflights (`OPTIONS`, which the layer
/// answers itself) never reach authentication. With a renamed fail-closed marker, allow that
/// name too: `cors(origins).allow_headers(AllowHeaders::list(CORS_REQUEST_HEADERS.into_iter().chain([marker])))`
/// (`tower_http::cors::AllowHeaders`).
///
/// ```
/// let origins = [http::HeaderValue::from_static("https://app.example.com")];
/// let app: axum::Router = axum::Router::new().layer(tabrpc_axum::cors(origins));
/// ```
pub fn cors(origins: impl IntoIterator<Item = HeaderValue>) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.into_iter().collect();
    let listed = origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        // A predicate rather than `true`: `access-control-allow-credentials` is sent to listed
        // origins only, never to a page the server does not know.
        .allow_credentials(AllowCredentials::predicate(move |origin, _| {
            listed.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(CORS_REQUEST_HEADERS)
        .expose_headers([header::WWW_AUTHENTICATE])
        .max_age(PREFLIGHT_MAX_AGE)
}
