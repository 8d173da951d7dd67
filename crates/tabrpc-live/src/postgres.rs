//! Several instances on one Postgres database: events are rows, `NOTIFY` carries only their
//! id, and each instance's listener reads the new rows in id order into its hub.
//!
//! Ids are the rows' `BIGSERIAL`. A reader that goes "everything after the last id I read"
//! must never see id 6 committed before id 5, or it would skip 5 for good: publishes take a
//! transaction-scoped advisory lock before drawing their id, so ids commit in order. That
//! serialises publishes across instances (one short transaction each), which invalidation
//! traffic can afford.

use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::error::Error;
use crate::event::LiveEvent;
use crate::hub::{Hub, LiveConfig};

/// The `LISTEN`/`NOTIFY` channel.
const CHANNEL: &str = "tabrpc_live";
/// The advisory lock key of publishes (it spells "tabrpcli").
const PUBLISH_LOCK: i64 = 0x7461_6272_7063_6c69;
/// The advisory lock key of table creation, so instances starting at once create it once.
const CREATE_LOCK: i64 = 0x7461_6272_7063_6c6d;
/// Rows read per query while catching up.
const BATCH: i64 = 256;
/// Every this many ids a publish prunes the rows older than 8 × the retention.
const PRUNE_EVERY: i64 = 128;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS tabrpc_live_events (\
    id BIGSERIAL PRIMARY KEY, \
    event TEXT NOT NULL, \
    created_at TIMESTAMPTZ NOT NULL DEFAULT now())";
/// The table's oid is the epoch of its ids: a table dropped and created again numbers from 1
/// again, and ids of the old one must not resume against it.
const EPOCH: &str = "SELECT 'tabrpc_live_events'::regclass::oid::bigint";
const LATEST: &str = "SELECT id, event FROM \
    (SELECT id, event FROM tabrpc_live_events ORDER BY id DESC LIMIT $1) latest ORDER BY id";
const AFTER: &str = "SELECT id, event FROM tabrpc_live_events WHERE id > $1 ORDER BY id LIMIT $2";

/// The Postgres side of a [`Live`](crate::Live): the pool to publish with, and the listener
/// task (aborted on drop).
#[derive(Debug)]
pub(crate) struct PgBackend {
    pool: PgPool,
    retention: i64,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgBackend {
    /// Creates the table if missing, starts listening, loads the latest rows and spawns the
    /// listener task.
    pub(crate) async fn start(pool: PgPool, config: LiveConfig) -> Result<(Arc<Hub>, Self), Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CREATE_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::query(CREATE).execute(&mut *tx).await?;
        tx.commit().await?;
        let epoch: i64 = sqlx::query_scalar(EPOCH).fetch_one(&pool).await?;

        // Listening before reading: a row committed in between is read by the first catch-up.
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let retention = i64::try_from(config.retention.max(1)).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = sqlx::query_as(LATEST)
            .bind(retention)
            .fetch_all(&pool)
            .await?;
        let hub = Arc::new(Hub::new(format!("p{epoch:x}"), config, 0));
        let floor = rows.first().map_or(0, |(id, _)| seq(*id).saturating_sub(1));
        let events = rows
            .into_iter()
            .filter_map(|(id, json)| parse(id, &json).map(|e| (seq(id), e)))
            .collect();
        hub.seed(floor, events);
        let task = tokio::spawn(listen(listener, pool.clone(), hub.clone()));
        Ok((
            hub,
            Self {
                pool,
                retention,
                listener: task,
            },
        ))
    }

    /// Stores `event` and announces its id; the listeners (this instance's too) deliver it.
    pub(crate) async fn publish(&self, event: &LiveEvent) -> Result<u64, Error> {
        let json = serde_json::to_string(event).map_err(|e| {
            Error::new(
                crate::ErrorKind::InvalidEvent,
                format!("unserializable event: {e}"),
            )
        })?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUBLISH_LOCK)
            .execute(&mut *tx)
            .await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO tabrpc_live_events (event) VALUES ($1) RETURNING id")
                .bind(json)
                .fetch_one(&mut *tx)
                .await?;
        // Delivered at commit, to every session listening on the channel.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if id % PRUNE_EVERY == 0 {
            let keep = self.retention.saturating_mul(8);
            let pruned = sqlx::query("DELETE FROM tabrpc_live_events WHERE id <= $1")
                .bind(id.saturating_sub(keep))
                .execute(&self.pool)
                .await;
            if let Err(err) = pruned {
                tracing::warn!(error = %err, "pruning old live events failed");
            }
        }
        Ok(seq(id))
    }
}

fn seq(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

fn parse(id: i64, json: &str) -> Option<LiveEvent> {
    serde_json::from_str(json)
        .inspect_err(
            |err| tracing::warn!(id, error = %err, "skipping an unreadable live event row"),
        )
        .ok()
}

/// Reads every row after the hub's head into the hub.
async fn catch_up(pool: &PgPool, hub: &Hub) -> Result<(), sqlx::Error> {
    loop {
        let after = i64::try_from(hub.head()).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = sqlx::query_as(AFTER)
            .bind(after)
            .bind(BATCH)
            .fetch_all(pool)
            .await?;
        let full = rows.len() as i64 == BATCH;
        for (id, json) in rows {
            match parse(id, &json) {
                Some(event) => hub.insert(seq(id), event),
                // Keep the order moving past an unreadable row: it invalidates nothing.
                None => hub.insert(seq(id), LiveEvent::Reset { scope: None }),
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// The listener task: every notification (its payload is only a hint) triggers a catch-up.
/// A lost connection may have lost notifications and, if it lasted, pruned rows: after it,
/// every stream gets a reset.
async fn listen(mut listener: PgListener, pool: PgPool, hub: Arc<Hub>) {
    let mut lost = false;
    loop {
        if let Err(err) = catch_up(&pool, &hub).await {
            tracing::warn!(error = %err, "reading live events failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        if lost {
            hub.reset_all();
            lost = false;
        }
        match listener.try_recv().await {
            Ok(Some(_)) => {}
            // The connection dropped; the next call reconnects and listens again.
            Ok(None) => lost = true,
            Err(err) => {
                tracing::warn!(error = %err, "the live events listener failed; reconnecting");
                lost = true;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
