//! `profile.*`: the caller's own profile, and its display name (stored per account in the
//! demo's database; a change is published to the account's tabs).

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::{Error, Procedure, Router, ViewerGuard};

use crate::Ctx;
use crate::idp::display_name;

/// The longest display name accepted, in characters (after trimming).
pub const MAX_DISPLAY_NAME: usize = 50;

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

/// Input of `profile.setDisplayName`.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SetDisplayNameInput {
    /// The account the client expects to change (checked, never trusted).
    #[tabrpc(viewer)]
    pub viewer_id: Option<String>,
    /// The new name: 1 to 50 characters once trimmed, no control characters.
    pub display_name: String,
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

/// The profile of signed-in `id`: its stored name, else the identity provider's.
async fn user(ctx: &Ctx, id: &str) -> Result<User, Error> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT display_name FROM profiles WHERE user_id = ?")
            .bind(id)
            .fetch_optional(ctx.db.pool())
            .await
            .map_err(Error::internal)?;
    Ok(User {
        display_name: stored.unwrap_or_else(|| display_name(id).unwrap_or(id).to_owned()),
        id: id.to_owned(),
        signed_in: true,
    })
}

/// The name as stored: trimmed, 1 to [`MAX_DISPLAY_NAME`] characters, no control characters.
fn checked_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_DISPLAY_NAME {
        return Err(Error::bad_request(format!(
            "`displayName` must be 1 to {MAX_DISPLAY_NAME} characters long"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "`displayName` must not contain control characters",
        ));
    }
    Ok(name)
}

pub(crate) fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "getUser",
            Procedure::query(|ctx: Ctx, _input: Option<GetUserInput>| async move {
                // Public: an anonymous caller gets the anonymous profile. The answer is always
                // the verified caller's own, whatever `viewerId` says (the guard checked it).
                match ctx.caller.user_id() {
                    Some(id) => user(&ctx, id).await,
                    None => Ok(User {
                        id: String::new(),
                        display_name: "Anonymous".into(),
                        signed_in: false,
                    }),
                }
            })
            .guard(ViewerGuard),
        )
        .procedure(
            "setDisplayName",
            Procedure::mutation(|ctx: Ctx, input: SetDisplayNameInput| async move {
                let user_id = ctx.caller.require()?.user_id.clone();
                let name = checked_name(&input.display_name)?;
                sqlx::query(
                    "INSERT INTO profiles (user_id, display_name) VALUES (?, ?) \
                     ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name",
                )
                .bind(&user_id)
                .bind(name)
                .execute(ctx.db.pool())
                .await
                .map_err(Error::internal)?;
                // Committed: the account's other tabs refetch their profile.
                crate::live::after_commit(
                    ctx.live
                        .account(&user_id)
                        .invalidate(["profile.getUser"])
                        .await,
                );
                user(&ctx, &user_id).await
            })
            .guard(ViewerGuard),
        )
}
