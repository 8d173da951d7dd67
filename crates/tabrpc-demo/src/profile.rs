//! `profile.*`: the caller's own profile.

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::{Procedure, Router, ViewerGuard};

use crate::Ctx;
use crate::idp::display_name;

/// Input of `profile.getUser`.
#[tabrpc::input]
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GetUserInput {
    /// The account the client expects to be answered for. It scopes client caches per
    /// account; the server never takes identity from it.
    #[tabrpc(viewer)]
    pub viewer_id: Option<String>,
}

/// A user's profile.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id (the verified token's subject); empty when anonymous.
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
            // Public: an anonymous caller gets the anonymous profile. The answer is always
            // the verified caller's own, whatever `viewerId` says (the guard checked it).
            Ok(match ctx.caller.user_id() {
                Some(id) => User {
                    display_name: display_name(id).unwrap_or(id).to_owned(),
                    id: id.to_owned(),
                    signed_in: true,
                },
                None => User {
                    id: String::new(),
                    display_name: "Anonymous".into(),
                    signed_in: false,
                },
            })
        })
        .guard(ViewerGuard),
    )
}
