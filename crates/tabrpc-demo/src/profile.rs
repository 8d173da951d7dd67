//! `profile.*`: the caller's own profile.

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::{Error, Procedure, Router, ViewerInput};

use crate::{ANONYMOUS, Ctx};

/// Input of `profile.getUser`.
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GetUserInput {
    /// The account the client expects to be answered for. It scopes client caches per
    /// account; the server never takes identity from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = String)]
    pub viewer_id: Option<String>,
}

impl ViewerInput for GetUserInput {
    fn viewer_id(&self) -> Option<&str> {
        self.viewer_id.as_deref()
    }
}

/// A user's profile.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id (the token subject, once identity is wired).
    pub id: String,
    /// The name to show.
    pub display_name: String,
    /// Whether the caller is signed in.
    pub signed_in: bool,
}

pub(crate) fn router() -> Router<Ctx> {
    Router::new().procedure(
        "getUser",
        Procedure::query(|ctx: Ctx, _input: Option<GetUserInput>| async move {
            // Identity is not wired yet: every caller is the anonymous user.
            let signed_in = ctx.user_id != ANONYMOUS;
            Ok::<_, Error>(User {
                display_name: if signed_in {
                    ctx.user_id.clone()
                } else {
                    "Anonymous".into()
                },
                id: ctx.user_id,
                signed_in,
            })
        })
        .viewer_guard(),
    )
}
