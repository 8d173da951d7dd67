//! Who is calling: resolves each request's caller from its `Authorization: Bearer` token first
//! and the shared session cookie second, and verifies JWTs against a PEM key or a JWKS
//! (`jsonwebtoken` on aws-lc-rs). Uses `http` types only, so any transport can use it.
//!
//! A bad token is never an error: it is [`Identity::Anonymous`] with an [`AnonymousReason`]
//! (`expired`, `bad_signature`, `unknown_kid`, …), which a transport maps to 401 (or 503 for
//! [`AnonymousReason::NotReady`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tabrpc_auth::Error> {
//! use tabrpc_auth::dev_idp::DevIdp;
//! use tabrpc_auth::{AnonymousReason, Identity, Resolver, Source};
//!
//! tabrpc_auth::self_check()?; // first thing at start-up: a mis-built binary fails here
//!
//! // In production: .issuer("https://clerk.example.com").jwks_url("https://…/.well-known/jwks.json")
//! let idp = DevIdp::generate("http://localhost:3000")?;
//! let verifier = idp.verifier_builder().build().await?;
//! let resolver = Resolver::builder(verifier).build()?;
//!
//! let request = |auth: &str| {
//!     let (parts, ()) = http::Request::get("/rpc/me")
//!         .header("authorization", auth)
//!         .header("cookie", "__session=not-even-a-jwt")
//!         .body(())
//!         .unwrap()
//!         .into_parts();
//!     parts
//! };
//!
//! // The tab's own token decides, whatever the shared cookie says.
//! let token = idp.sign_session("user_a", "sess_a", None)?;
//! match resolver.resolve(&request(&format!("Bearer {token}"))).await {
//!     Identity::Authenticated(who) => {
//!         assert_eq!((who.user_id.as_str(), who.source), ("user_a", Source::Header));
//!     }
//!     other => panic!("{other:?}"),
//! }
//!
//! // A client without a token never falls back to the cookie.
//! let identity = resolver.resolve(&request("Bearer null")).await;
//! assert_eq!(identity.anonymous_reason(), Some(AnonymousReason::Placeholder));
//! # Ok(()) }
//! ```
//!
//! Contents: [`Resolver`] decides who is calling (spec `auth.md` §1) and, with
//! [`Resolver::require`], the 401/503 answer when nobody is; [`Verifier`] checks one token
//! (§2) against a [`KeySource`]; [`Identity`], [`Claims`] and [`AnonymousReason`] are the
//! results; [`cookie_csrf_ok`] is the CSRF rule for cookie mutations; [`self_check`] proves
//! the crypto backend at start-up; [`Error`] is the crate's one error type (configuration and
//! key loading only). [`dev_idp`] (feature `dev-idp`) is a development identity provider.

mod algorithm;
mod caller;
mod claims;
mod crypto;
mod csrf;
#[cfg(feature = "dev-idp")]
pub mod dev_idp;
mod error;
mod header;
mod identity;
mod keys;
mod resolver;
mod rpc;
mod trace;
mod verifier;

pub use algorithm::Algorithm;
pub use caller::Caller;
pub use claims::Claims;
pub use crypto::{install_crypto_provider, self_check};
pub use csrf::{DEFAULT_CSRF_HEADER, cookie_csrf_ok};
pub use error::{Error, ErrorKind};
pub use identity::{AnonymousReason, Authenticated, Claim, Identity, Source};
pub use keys::KeySource;
pub use resolver::{DEFAULT_MARKER_HEADER, DEFAULT_SESSION_COOKIE, Resolver, ResolverBuilder};
pub use verifier::{ClerkProfile, PendingPolicy, Verifier, VerifierBuilder};
