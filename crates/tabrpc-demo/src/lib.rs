//! The tabrpc demo: its API (`profile.*`, `onboarding.*`) and how it is served.
//!
//! **Identity is not wired yet**: every caller is treated as the anonymous user
//! [`ANONYMOUS`]. The auth work replaces this with verified per-tab bearer tokens.

mod config;
mod db;
mod onboarding;
mod profile;

use tabrpc::Router;

pub use config::Settings;
pub use db::Db;
pub use onboarding::{OnboardingStep, Progress, SaveStepInput};
pub use profile::{GetUserInput, User};

/// The id every caller has until identity is wired: progress is shared by all callers.
pub const ANONYMOUS: &str = "anonymous";

/// The per-request context of the demo API.
#[derive(Clone)]
pub struct Ctx {
    /// The database.
    pub db: Db,
    /// Who is calling. Always [`ANONYMOUS`] for now: identity is not wired yet.
    pub user_id: String,
}

impl tabrpc::ViewerContext for Ctx {
    fn viewer(&self) -> Result<&str, tabrpc::Error> {
        // Identity is not wired yet: the anonymous caller can claim no viewer.
        if self.user_id == ANONYMOUS {
            Err(tabrpc::Error::new(tabrpc::ErrorCode::Unauthorized))
        } else {
            Ok(&self.user_id)
        }
    }
}

/// The demo API.
pub fn router() -> Router<Ctx> {
    Router::new()
        .nest("profile", profile::router())
        .nest("onboarding", onboarding::router())
}

/// The demo API served under `/trpc`, with an HTTP trace layer.
pub fn app(db: Db, config: tabrpc::wire::Config) -> Result<axum::Router, tabrpc::Error> {
    let built = router().build()?;
    let endpoint = tabrpc::axum::Endpoint::new(built, move |_parts: &http::request::Parts| {
        let db = db.clone();
        async move {
            Ok(Ctx {
                db,
                user_id: ANONYMOUS.to_owned(),
            })
        }
    })
    .with_config(config);
    Ok(axum::Router::new()
        .nest("/trpc", endpoint.into_router())
        .layer(tower_http::trace::TraceLayer::new_for_http()))
}
