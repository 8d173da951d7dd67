//! `cart.*`: an anonymous per-tab cart, kept under the tab's session id (`sessionId`, which
//! the client injects) in the session store's database. It survives a reload of the tab, is
//! separate in two tabs, and moves to the account at sign-in (`session.rotate`). A cart holds
//! at most `MAX_LINES` (100) different items: adding another answers 409 CONFLICT.

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::sessions::{FeatureTable, Merge, SessionCtx, SessionGuard, SessionId, StoreConfig};
use tabrpc::{Procedure, Router};

use crate::Ctx;

mod store;

use store::{add, read, remove};

/// The most of one item a cart holds (also in `CartAddInput`'s rule, which must be a literal).
const MAX_QUANTITY: u32 = 99;
/// The most different items (lines) one cart holds: one session cannot grow the database
/// without bound.
const MAX_LINES: u32 = 100;

/// The cart's table, registered with the session store: a rotation adds up the quantities of
/// an item present in both sessions, and refuses (409, changing nothing) a merge that would
/// leave more than [`MAX_LINES`] lines; into a fresh id, as at sign-in, it always fits.
pub(crate) fn session_config() -> StoreConfig {
    StoreConfig::default().feature(
        FeatureTable::new("cart_items", "session_id")
            .merge(Merge::sum(["item"], "quantity").at_most(MAX_QUANTITY.into()))
            .max_rows(MAX_LINES.into()),
    )
}

/// Input of `cart.get`.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartGetInput {
    /// The tab's session (injected by the client).
    #[tabrpc(session)]
    pub session_id: SessionId,
}

/// Input of `cart.add`: its limits are garde rules, checked by `.validate()` (a broken one
/// answers 400 with `error.data.fieldErrors`).
#[tabrpc::input]
#[derive(Debug, Deserialize, Type, garde::Validate)]
#[serde(rename_all = "camelCase")]
pub struct CartAddInput {
    /// The tab's session (injected by the client; checked by the session guard).
    #[tabrpc(session)]
    #[garde(skip)]
    pub session_id: SessionId,
    /// What to add (1 to 100 bytes).
    #[garde(length(bytes, min = 1, max = 100))]
    pub item: String,
    /// How many; defaults to 1. At most 99 of an item in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    #[garde(range(min = 1, max = 99))]
    pub quantity: Option<u32>,
}

/// Input of `cart.remove`.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartRemoveInput {
    /// The tab's session (injected by the client).
    #[tabrpc(session)]
    pub session_id: SessionId,
    /// The item to take out entirely.
    pub item: String,
}

/// One line of the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    /// The item.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// A cart, sorted by item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Cart {
    /// Its lines.
    pub lines: Vec<CartLine>,
}

/// After a cart write committed: the session's tabs refetch everything under `cart`.
async fn changed(ctx: &SessionCtx<Ctx>) {
    let session = ctx.session().id();
    crate::live::after_commit(
        ctx.live
            .session(session)
            .invalidate_prefixes(["cart"])
            .await,
    );
}

pub(crate) fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "get",
            Procedure::query(|ctx: SessionCtx<Ctx>, _: CartGetInput| async move {
                read(ctx.sessions.as_ref(), ctx.session().id()).await
            })
            .guard(SessionGuard),
        )
        .procedure(
            "add",
            Procedure::mutation(|ctx: SessionCtx<Ctx>, input: CartAddInput| async move {
                let store = ctx.sessions.as_ref();
                let quantity = input.quantity.unwrap_or(1);
                add(store, ctx.session().id(), &input.item, quantity).await?;
                changed(&ctx).await;
                read(store, ctx.session().id()).await
            })
            .validate()
            .guard(SessionGuard),
        )
        .procedure(
            "remove",
            Procedure::mutation(|ctx: SessionCtx<Ctx>, input: CartRemoveInput| async move {
                let store = ctx.sessions.as_ref();
                remove(store, ctx.session().id(), &input.item).await?;
                changed(&ctx).await;
                read(store, ctx.session().id()).await
            })
            .guard(SessionGuard),
        )
}
