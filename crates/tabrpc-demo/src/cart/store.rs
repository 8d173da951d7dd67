//! The cart's queries, one set per session database. Writes follow the rule of
//! `tabrpc_sessions::FeatureTable`: they land only while the session is live, checked in the
//! same statement, and on Postgres they lock the session row against a rotation.

use tabrpc::sessions::{Database, SessionId, SessionStore};
use tabrpc::{Error, ErrorCode};

use super::{Cart, CartLine, MAX_LINES, MAX_QUANTITY};

/// An add lands only while the cart has room: the item is there already, or fewer than `$5`
/// lines are.
macro_rules! has_room {
    () => {
        "((SELECT count(*) FROM cart_items WHERE session_id = $1) < $5 \
         OR EXISTS (SELECT 1 FROM cart_items WHERE session_id = $1 AND item = $2))"
    };
}

// SQLite: the statement takes the write lock before it reads, so the count is exact.
const ADD_SQLITE: &str = concat!(
    "INSERT INTO cart_items (session_id, item, quantity) \
     SELECT $1, $2, $3 WHERE EXISTS \
     (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL) AND ",
    has_room!(),
    " ON CONFLICT (session_id, item) DO UPDATE \
     SET quantity = min(cart_items.quantity + excluded.quantity, $4)"
);
/// Postgres: two adds under `FOR SHARE` could both count 99 lines and both insert, so an add
/// locks the session row `FOR UPDATE` first (which also orders it with a rotation), then
/// counts in a statement of its own, whose snapshot sees every add committed before the lock.
const LOCK_POSTGRES: &str =
    "SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL FOR UPDATE";
const ADD_POSTGRES: &str = concat!(
    "INSERT INTO cart_items (session_id, item, quantity) SELECT $1, $2, $3 WHERE ",
    has_room!(),
    " ON CONFLICT (session_id, item) DO UPDATE \
     SET quantity = least(cart_items.quantity + EXCLUDED.quantity, $4)"
);
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
    let lines = i64::from(MAX_LINES);
    let changed = match store.database() {
        Database::Sqlite(pool) => sqlx::query(ADD_SQLITE)
            .bind(id.as_str())
            .bind(item)
            .bind(quantity)
            .bind(max)
            .bind(lines)
            .execute(&pool)
            .await
            .map_err(Error::internal)?
            .rows_affected(),
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(Error::internal)?;
            let live = sqlx::query(LOCK_POSTGRES)
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(Error::internal)?;
            let changed = match live {
                None => 0,
                Some(_) => sqlx::query(ADD_POSTGRES)
                    .bind(id.as_str())
                    .bind(item)
                    .bind(quantity)
                    .bind(max)
                    .bind(lines)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::internal)?
                    .rows_affected(),
            };
            tx.commit().await.map_err(Error::internal)?;
            changed
        }
        _ => return Err(unknown_backend()),
    };
    if changed == 0 {
        // The session ended after the guard resolved it (a rotation or sign-out in between),
        // or the cart is full.
        store.ensure_live(id).await?;
        return Err(Error::new(ErrorCode::Conflict).with_message(format!(
            "a cart holds at most {MAX_LINES} different items: remove one to add another"
        )));
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
