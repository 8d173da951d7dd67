//! `catalog.list`: a public product catalog read page by page (cursor pagination: the input's
//! `cursor` is the `nextCursor` of the page before, `null` or absent for the first page).
//! A page holds at most [`MAX_LIMIT`] items, so one call's work is bounded whatever it asks.

use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::{Error, Procedure, Router};

use crate::Ctx;

/// How many items the catalog has.
const SIZE: u32 = 60;
/// The page size when the input gives none.
const DEFAULT_LIMIT: u32 = 10;
/// The largest page a call may ask for.
const MAX_LIMIT: u32 = 50;

const COLOURS: [&str; 6] = ["Red", "Green", "Blue", "Amber", "Violet", "Teal"];
const THINGS: [&str; 10] = [
    "Mug", "Lamp", "Chair", "Kettle", "Notebook", "Scarf", "Clock", "Vase", "Pen", "Rug",
];

/// Input of `catalog.list`.
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogListInput {
    /// Where the page starts: the previous page's `nextCursor`; absent or null for the first.
    #[serde(default)]
    #[specta(optional)]
    pub cursor: Option<u32>,
    /// How many items at most (1 to 50); defaults to 10.
    #[serde(default)]
    #[specta(optional)]
    pub limit: Option<u32>,
}

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    /// Its id (1 to 60).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its price in cents.
    pub price_cents: u32,
}

/// One page of the catalog.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPage {
    /// The items of this page, by id.
    pub items: Vec<CatalogItem>,
    /// The cursor of the next page; null on the last one.
    pub next_cursor: Option<u32>,
}

fn item(id: u32) -> CatalogItem {
    let index = (id - 1) as usize;
    CatalogItem {
        id,
        name: format!(
            "{} {}",
            COLOURS[index % COLOURS.len()],
            THINGS[index % THINGS.len()]
        ),
        price_cents: 250 + (id * 137) % 4750,
    }
}

/// The page of `limit` items after `cursor` (the id of the last item already read).
fn page(input: &CatalogListInput) -> Result<CatalogPage, Error> {
    let limit = input.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let start = input.cursor.unwrap_or(0);
    if start > SIZE {
        return Err(Error::bad_request(format!(
            "cursor {start} is past the end of the catalog: pass a page's nextCursor"
        )));
    }
    let end = start.saturating_add(limit).min(SIZE);
    Ok(CatalogPage {
        items: (start + 1..=end).map(item).collect(),
        next_cursor: (end < SIZE).then_some(end),
    })
}

pub(crate) fn router() -> Router<Ctx> {
    Router::new().procedure(
        "list",
        Procedure::query(|_ctx: Ctx, input: Option<CatalogListInput>| async move {
            page(&input.unwrap_or_default())
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_the_catalog_once() {
        let mut cursor = None;
        let mut ids = Vec::new();
        loop {
            let got = page(&CatalogListInput {
                cursor,
                limit: Some(7),
            })
            .unwrap_or_else(|e| panic!("{}", e.message()));
            ids.extend(got.items.iter().map(|i| i.id));
            match got.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(ids, (1..=SIZE).collect::<Vec<_>>());
    }
}
