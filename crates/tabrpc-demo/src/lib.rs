//! The tabrpc demo: its API (`profile.*`, `onboarding.*`, `cart.*`, `catalog.*`, `session.*`, `live.events`), its
//! development identity provider and how they are served.
//!
//! Every request's caller comes from its verified bearer token (or, without one and without
//! the fail-closed marker, the shared `__session` cookie), never from an input field.

mod cart;
mod catalog;
mod config;
mod db;
pub mod idp;
mod live;
mod onboarding;
mod profile;

use std::sync::Arc;

use tabrpc::Router;
use tabrpc::auth::dev_idp::DevIdp;
use tabrpc::auth::{Algorithm, Caller, Resolver};
use tabrpc::sessions::SessionStore;

pub use cart::{Cart, CartAddInput, CartGetInput, CartLine, CartRemoveInput};
pub use catalog::{CatalogItem, CatalogListInput, CatalogPage};
pub use config::{AuthSettings, Issuer, ServeSettings, SessionSettings, Settings};
pub use db::Db;
pub use idp::DevProvider;
pub use onboarding::{GetProgressInput, OnboardingStep, Progress, SaveStepInput};
pub use profile::{GetUserInput, MAX_DISPLAY_NAME, SetDisplayNameInput, User};

/// The per-request context of the demo API.
#[derive(Clone, tabrpc::Context)]
pub struct Ctx {
    /// The database.
    pub db: Db,
    /// Who is calling, resolved once per request by the auth layer.
    #[tabrpc(caller)]
    pub caller: Caller,
    /// The session store (the database's, shared).
    #[tabrpc(sessions)]
    pub sessions: Arc<dyn SessionStore>,
    /// The live invalidation hub (the database's, shared).
    pub live: tabrpc::live::Live,
}

impl tabrpc::live::LiveContext for Ctx {
    fn live(&self) -> &tabrpc::live::Live {
        &self.live
    }
}

/// The context of the procedures that need a signed-in caller ([`authed`]).
pub struct AuthedCtx {
    /// The request's context.
    pub ctx: Ctx,
    /// The verified caller's user id.
    pub user_id: String,
}

/// The base of every procedure that needs a signed-in caller (tRPC's `protectedProcedure`):
/// an anonymous caller is refused with 401 before the handler runs, and the handler gets the
/// verified user id.
pub fn authed() -> tabrpc::ProcedureBuilder<Ctx, AuthedCtx> {
    tabrpc::ProcedureBuilder::new().with(|ctx: Ctx| async move {
        let user_id = ctx.caller.require()?.user_id.clone();
        Ok(AuthedCtx { ctx, user_id })
    })
}

/// The demo API.
pub fn router() -> Router<Ctx> {
    Router::new()
        .nest("profile", profile::router())
        .nest("onboarding", onboarding::router())
        .nest("cart", cart::router())
        .nest("catalog", catalog::router())
        .nest("session", tabrpc::sessions::router())
        .nest("live", live::router())
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
    pub async fn from_settings(settings: &AuthSettings, dev_issuer: &str) -> anyhow::Result<Self> {
        tabrpc::auth::self_check()?;
        let (builder, provider) = match &settings.issuer {
            Issuer::DevIdp { key_pem } => {
                let idp = match key_pem {
                    Some(pem) => DevIdp::from_private_key_pem(dev_issuer, pem)?,
                    None => DevIdp::generate(dev_issuer)?,
                };
                let builder = idp.verifier_builder();
                (builder, Some(Arc::new(DevProvider::new(idp))))
            }
            Issuer::External { issuer, keys } => (
                tabrpc::auth::Verifier::builder()
                    .issuer(issuer.clone())
                    .keys(keys.clone()),
                None,
            ),
        };
        // RS256 (what Clerk and the development provider sign with) and ES256 for EC keys: a
        // key's own `alg` binds it, so allowing both never lets one key verify the other.
        let mut builder = builder.algorithms([Algorithm::RS256, Algorithm::ES256]);
        if !settings.audience.is_empty() {
            builder = builder.audience(settings.audience.clone());
        }
        if !settings.authorized_parties.is_empty() {
            builder = builder.authorized_parties(settings.authorized_parties.clone());
        }
        if let Some(leeway) = settings.leeway {
            builder = builder.leeway(leeway);
        }
        if let Some(lifetime) = settings.max_token_lifetime {
            builder = builder.max_token_lifetime(lifetime);
        }
        if settings.clerk {
            // `sid` required; pending sessions (`sts: "pending"`) refused, as Clerk's SDKs do.
            builder = builder.clerk(tabrpc::auth::ClerkProfile::default());
        }
        let verifier = builder.build().await?;
        let mut resolver = Resolver::builder(verifier);
        if let Some(cookie) = &settings.cookie {
            resolver = resolver.cookie_name(cookie.clone());
        }
        if let Some(marker) = &settings.marker_header {
            resolver = resolver.marker_header(marker.clone());
        }
        if let Some(scheme) = &settings.public_scheme {
            resolver = resolver.public_scheme(scheme.clone());
        }
        Ok(Self {
            resolver: Arc::new(resolver.build()?),
            provider,
        })
    }
}

/// The demo served under `/trpc`, with the identity provider's routes, the auth layer, an
/// HTTP trace layer and, when given ([`Settings::cors`]), a CORS layer outside everything.
pub fn app(
    db: Db,
    auth: Auth,
    config: tabrpc::wire::Config,
    cors: Option<tower_http::cors::CorsLayer>,
) -> Result<axum::Router, tabrpc::BuildError> {
    let built = router().build()?;
    let endpoint = tabrpc::axum::Endpoint::new(built, move |parts: &http::request::Parts| {
        let ctx = Ctx {
            db: db.clone(),
            caller: tabrpc::auth::caller(parts),
            sessions: db.sessions().clone(),
            live: db.live().clone(),
        };
        async move { Ok(ctx) }
    })
    .with_config(config.clone());
    let mut app = axum::Router::new()
        .merge(endpoint.into_router_at("/trpc"))
        // The same header and URL limits as the endpoint, enforced before any credential is read.
        .layer(tabrpc::auth::AuthLayer::new(auth.resolver).limits(&config));
    // The provider's routes after the auth layer, so outside it: they never ask who the
    // caller is (their browser is their `__client` cookie), and resolving the shared
    // `__session` cookie on every sign-in or token request would be work for nothing.
    if let Some(provider) = auth.provider {
        app = app.merge(provider.router());
    }
    let app = app.layer(
        // The path only: a query's input (`?input=…`) may hold a session id, which is never
        // logged in full.
        tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |request: &http::Request<axum::body::Body>| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = request.uri().path(),
                    version = ?request.version(),
                )
            },
        ),
    );
    // Outermost, so that a preflight (`OPTIONS`, answered by the layer itself) never reaches
    // the auth layer, and every answer, errors included, carries the CORS headers.
    Ok(match cors {
        Some(cors) => app.layer(cors),
        None => app,
    })
}

/// Where the demo web app's built files are by default: `crates/tabrpc-demo/web/dist` in this
/// repository (`npm --prefix crates/tabrpc-demo/web run build` writes them).
pub fn default_web_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist")
}

/// Serves the demo web app's files from `dir` for every path the API does not answer. When the
/// app has not been built, `/` says how to build it instead.
pub fn with_web_app(app: axum::Router, dir: &std::path::Path) -> axum::Router {
    if dir.join("index.html").is_file() {
        app.fallback_service(tower_http::services::ServeDir::new(dir))
    } else {
        let hint = format!(
            "<!doctype html><title>tabrpc demo</title><p>The demo web app is not built \
             (looked in <code>{}</code>). Run <code>bash crates/tabrpc-demo/run.sh</code>, \
             which builds it and starts the server. The API is at \
             <code>/trpc</code>.</p>",
            dir.display()
        );
        app.fallback(move |uri: http::Uri| {
            let hint = hint.clone();
            async move {
                use axum::response::IntoResponse;
                if matches!(uri.path(), "/" | "/index.html") {
                    axum::response::Html(hint).into_response()
                } else {
                    http::StatusCode::NOT_FOUND.into_response()
                }
            }
        })
    }
}
