//! The cart's queries, one set per session database. Writes follow the rule of
//! `tabrpc_sessions::FeatureTable`: they land only while the session is live, checked in the
//! same statement, and on Postgres they lock the session row against a rotation.

use tabrpc::Error;
use tabrpc::sessions::{Database, SessionId, SessionStore};

use super::{Cart, CartLine, MAX_QUANTITY};

const ADD_SQLITE: &str = "INSERT INTO cart_items (session_id, item, quantity) \
    SELECT $1, $2, $3 WHERE EXISTS \
    (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL) \
    ON CONFLICT (session_id, item) DO UPDATE \
    SET quantity = min(cart_items.quantity + excluded.quantity, $4)";
const ADD_POSTGRES: &str = "INSERT INTO cart_items (session_id, item, quantity) \
    SELECT s.id, $2, $3 FROM tabrpc_sessions s WHERE s.id = $1 AND s.ended_at IS NULL FOR SHARE \
    ON CONFLICT (session_id, item) DO UPDATE \
    SET quantity = least(cart_items.quantity + EXCLUDED.quantity, $4)";
const REMOVE_SQLITE: &str = "DELETE FROM cart_items WHERE session_id = $1 AND item = $2 \
    AND EXISTS (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL)";
const REMOVE_POSTGRES: &str = "DELETE FROM cart_items WHERE session_id = $1 AND item = $2 \
    AND EXISTS (SELECT 1 FROM tabrpc_sessions s WHERE s.id = $1 AND s.ended_at IS NULL FOR SHARE)";
const READ: &str = "SELECT item, quantity FROM cart_items WHERE session_id = $1 ORDER BY item";

fn unknown_backend() -> Error {
    Error::internal(std::io::Error::other(
        "the cart has no queries for this session database",
    ))
}

pub(super) async fn add(
    store: &dyn SessionStore,
    id: &SessionId,
    item: &str,
    quantity: u32,
) -> Result<(), Error> {
    let (quantity, max) = (i64::from(quantity), i64::from(MAX_QUANTITY));
    let changed = match store.database() {
        Database::Sqlite(pool) => sqlx::query(ADD_SQLITE)
            .bind(id.as_str())
            .bind(item)
            .bind(quantity)
            .bind(max)
            .execute(&pool)
            .await
            .map_err(Error::internal)?
            .rows_affected(),
        Database::Postgres(pool) => sqlx::query(ADD_POSTGRES)
            .bind(id.as_str())
            .bind(item)
            .bind(quantity)
            .bind(max)
            .execute(&pool)
            .await
            .map_err(Error::internal)?
            .rows_affected(),
        _ => return Err(unknown_backend()),
    };
    if changed == 0 {
        // The session ended after the guard resolved it (a rotation or sign-out in between).
        store.ensure_live(id).await?;
    }
    Ok(())
}

pub(super) async fn remove(
    store: &dyn SessionStore,
    id: &SessionId,
    item: &str,
) -> Result<(), Error> {
    let changed = match store.database() {
        Database::Sqlite(pool) => sqlx::query(REMOVE_SQLITE)
            .bind(id.as_str())
            .bind(item)
            .execute(&pool)
            .await
            .map_err(Error::internal)?
            .rows_affected(),
        Database::Postgres(pool) => sqlx::query(REMOVE_POSTGRES)
            .bind(id.as_str())
            .bind(item)
            .execute(&pool)
            .await
            .map_err(Error::internal)?
            .rows_affected(),
        _ => return Err(unknown_backend()),
    };
    if changed == 0 {
        // Either the item was not there (fine) or the session ended meanwhile (say so).
        store.ensure_live(id).await?;
    }
    Ok(())
}

pub(super) async fn read(store: &dyn SessionStore, id: &SessionId) -> Result<Cart, Error> {
    let rows: Vec<(String, i64)> = match store.database() {
        Database::Sqlite(pool) => {
            sqlx::query_as(READ)
                .bind(id.as_str())
                .fetch_all(&pool)
                .await
        }
        Database::Postgres(pool) => {
            sqlx::query_as(READ)
                .bind(id.as_str())
                .fetch_all(&pool)
                .await
        }
        _ => return Err(unknown_backend()),
    }
    .map_err(Error::internal)?;
    Ok(Cart {
        lines: rows
            .into_iter()
            .map(|(item, quantity)| CartLine {
                item,
                quantity: u32::try_from(quantity).unwrap_or(u32::MAX),
            })
            .collect(),
    })
}
