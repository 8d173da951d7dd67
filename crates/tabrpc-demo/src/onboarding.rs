//! `onboarding.*`: progress through the onboarding steps, stored per user in SQLite.

use serde::{Deserialize, Serialize};
use specta::Type;

use tabrpc::{Error, Router, ViewerGuard};

use crate::{AuthedCtx, Ctx, authed};

/// The onboarding steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum OnboardingStep {
    /// Welcome screen.
    Welcome,
    /// Profile details.
    Profile,
    /// Preferences.
    Preferences,
    /// All done.
    Done,
}

impl OnboardingStep {
    const ALL: [OnboardingStep; 4] = [Self::Welcome, Self::Profile, Self::Preferences, Self::Done];

    fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::Profile => "profile",
            Self::Preferences => "preferences",
            Self::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == s)
    }
}

/// Input of `onboarding.getProgress`.
#[tabrpc::input]
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GetProgressInput {
    /// The account the client expects to be answered for (checked, never trusted).
    #[tabrpc(viewer)]
    pub viewer_id: Option<String>,
}

/// Input of `onboarding.saveStep`.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SaveStepInput {
    /// The step just completed.
    pub step: OnboardingStep,
    /// The account the client expects to be answered for (checked, never trusted).
    #[tabrpc(viewer)]
    pub viewer_id: Option<String>,
}

/// The caller's onboarding progress.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Completed steps, in onboarding order.
    pub completed: Vec<OnboardingStep>,
    /// The first step not yet completed; null when all are.
    pub next: Option<OnboardingStep>,
}

/// The progress of `user_id` (always the verified caller: never an input field).
async fn progress(ctx: &Ctx, user_id: &str) -> Result<Progress, Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT step FROM onboarding_steps WHERE user_id = ?")
            .bind(user_id)
            .fetch_all(ctx.db.pool())
            .await
            .map_err(Error::internal)?;
    let done: Vec<OnboardingStep> = rows
        .iter()
        .filter_map(|(s,)| OnboardingStep::parse(s))
        .collect();
    let completed: Vec<_> = OnboardingStep::ALL
        .into_iter()
        .filter(|s| done.contains(s))
        .collect();
    let next = OnboardingStep::ALL.into_iter().find(|s| !done.contains(s));
    Ok(Progress { completed, next })
}

/// `onboarding.getProgress`.
async fn get_progress(authed: AuthedCtx, _: Option<GetProgressInput>) -> Result<Progress, Error> {
    progress(&authed.ctx, &authed.user_id).await
}

/// `onboarding.saveStep`.
async fn save_step(authed: AuthedCtx, input: SaveStepInput) -> Result<Progress, Error> {
    let AuthedCtx { ctx, user_id } = authed;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    sqlx::query(
        "INSERT INTO onboarding_steps (user_id, step, completed_at) VALUES (?, ?, ?) \
         ON CONFLICT (user_id, step) DO NOTHING",
    )
    .bind(&user_id)
    .bind(input.step.as_str())
    .bind(now)
    .execute(ctx.db.pool())
    .await
    .map_err(Error::internal)?;
    progress(&ctx, &user_id).await
}

/// Both procedures start from the [`authed`] base: an anonymous caller gets 401 before either
/// handler runs, and the viewer guard checks `viewerId` first.
pub(crate) fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "getProgress",
            authed().query(get_progress).guard(ViewerGuard),
        )
        .procedure("saveStep", authed().mutation(save_step).guard(ViewerGuard))
}
