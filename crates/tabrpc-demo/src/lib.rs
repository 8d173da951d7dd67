//! The tabrpc demo: its API (`profile.*`, `onboarding.*`), its development identity provider
//! and how they are served.
//!
//! Every request's caller comes from its verified bearer token (or, without one and without
//! the fail-closed marker, the shared `__session` cookie), never from an input field.

mod config;
mod db;
pub mod idp;
mod onboarding;
mod profile;

use std::sync::Arc;

use tabrpc::Router;
use tabrpc::auth::{Caller, Resolver};

pub use config::{AuthSettings, Settings};
pub use db::Db;
pub use idp::DevProvider;
pub use onboarding::{GetProgressInput, OnboardingStep, Progress, SaveStepInput};
pub use profile::{GetUserInput, User};

/// The per-request context of the demo API.
#[derive(Clone)]
pub struct Ctx {
    /// The database.
    pub db: Db,
    /// Who is calling, resolved once per request by the auth layer.
    pub caller: Caller,
}

impl tabrpc::ViewerContext for Ctx {
    fn viewer(&self) -> Result<&str, tabrpc::Error> {
        self.caller.viewer()
    }
}

/// The demo API.
pub fn router() -> Router<Ctx> {
    Router::new()
        .nest("profile", profile::router())
        .nest("onboarding", onboarding::router())
}

/// How callers are identified: the resolver, and the development identity provider when the
/// demo is its own issuer.
#[derive(Clone)]
pub struct Auth {
    /// Resolves every request's caller.
    pub resolver: Arc<Resolver>,
    /// The embedded development identity provider, if enabled.
    pub provider: Option<Arc<DevProvider>>,
}

impl Auth {
    /// Sets up auth from `settings`: the embedded development identity provider (issuer
    /// `issuer`), or the external issuer and key source they name. Installs the crypto provider
    /// and verifies a fixture token first, so a mis-built binary fails here.
    pub async fn from_settings(settings: &AuthSettings, issuer: &str) -> anyhow::Result<Self> {
        tabrpc::auth::self_check()?;
        let (verifier, provider) = match settings {
            AuthSettings::DevIdp { key_pem } => {
                let idp = match key_pem {
                    Some(pem) => tabrpc::auth::dev_idp::DevIdp::from_private_key_pem(issuer, pem)?,
                    None => tabrpc::auth::dev_idp::DevIdp::generate(issuer)?,
                };
                let verifier = idp.verifier_builder().build().await?;
                (verifier, Some(Arc::new(DevProvider::new(idp))))
            }
            AuthSettings::External { issuer, keys } => {
                let verifier = tabrpc::auth::Verifier::builder()
                    .issuer(issuer.clone())
                    .keys(keys.clone())
                    .build()
                    .await?;
                (verifier, None)
            }
        };
        let resolver = Resolver::builder(verifier).build()?;
        Ok(Self {
            resolver: Arc::new(resolver),
            provider,
        })
    }
}

/// The demo served under `/trpc`, with the identity provider's routes, the auth layer and an
/// HTTP trace layer.
pub fn app(
    db: Db,
    auth: Auth,
    config: tabrpc::wire::Config,
) -> Result<axum::Router, tabrpc::Error> {
    let built = router().build()?;
    let endpoint = tabrpc::axum::Endpoint::new(built, move |parts: &http::request::Parts| {
        let ctx = Ctx {
            db: db.clone(),
            caller: tabrpc::auth::caller(parts),
        };
        async move { Ok(ctx) }
    })
    .with_config(config);
    let mut app = axum::Router::new().nest("/trpc", endpoint.into_router());
    if let Some(provider) = auth.provider {
        app = app.merge(provider.router());
    }
    Ok(app
        .layer(tabrpc::auth::AuthLayer::new(auth.resolver))
        .layer(tower_http::trace::TraceLayer::new_for_http()))
}
