// The session store on one sqlx backend, written once for both: `sqlite.rs` and `postgres.rs`
// each `include!` this file in a module that defines the backend, `DB`, and its few SQL
// differences (`BEGIN`, `FOR_UPDATE`, `MIGRATION_LOCK`, `MIGRATIONS`, `BACKEND`). Including
// concrete code twice avoids sqlx's generic-executor bounds, which do not compose with boxed
// futures.

use futures_util::future::BoxFuture;
use tracing::Instrument;

use crate::config::StoreConfig;
use crate::error::{EndReason, Error, ErrorKind};
use crate::id::SessionId;
use crate::store::{
    Database, Rotation, Session, SessionState, SessionStore, Sweep, check_owner, from_millis,
    millis, now_millis,
};

type Pool = sqlx::Pool<DB>;
type Tx = sqlx::Transaction<'static, DB>;
/// `user_id, created_at, last_seen_at, ended_at, end_reason`
type Row = (Option<String>, i64, i64, Option<i64>, Option<String>);

const SELECT_SESSION: &str = "SELECT user_id, created_at, last_seen_at, ended_at, end_reason \
                              FROM tabrpc_sessions WHERE id = $1";

/// A session store (see [`SessionStore`] for what it does, and the [`store`](crate::store)
/// module for its data model). Cheap to clone: it holds a connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    config: std::sync::Arc<StoreConfig>,
}

impl Store {
    /// A store on `pool`: applies the store's migrations, then checks that every feature
    /// table of `config` has a valid name and exists with its columns.
    ///
    /// # Errors
    ///
    /// `Config` for an invalid or missing feature table; `Storage` when a migration fails.
    pub async fn new(pool: Pool, config: StoreConfig) -> Result<Self, Error> {
        for feature in &config.features {
            feature.validate()?;
        }
        migrate(&pool).await?;
        for feature in &config.features {
            if let Err(err) = sqlx::query(&feature.probe_sql()).execute(&pool).await {
                return Err(Error::config(format!(
                    "feature table `{}` is missing or lacks a column the store uses ({err}): \
                     create it before opening the store",
                    feature.table()
                )));
            }
        }
        Ok(Self {
            pool,
            config: std::sync::Arc::new(config),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn begin(&self) -> Result<Tx, Error> {
        Ok(self.pool.begin_with(BEGIN).await?)
    }

    async fn resolve_inner(
        &self,
        id: &SessionId,
        caller: Option<&str>,
        create: bool,
    ) -> Result<Session, Error> {
        // A few rounds at most: each retry follows a concurrent change of this very row.
        for _ in 0..3 {
            let now = now_millis();
            let row: Option<Row> = sqlx::query_as(SELECT_SESSION)
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            match row {
                None if !create => {
                    // A read of an id never seen: the empty session it would be, stored only
                    // by the first write.
                    return Ok(Session {
                        id: id.clone(),
                        user_id: caller.map(str::to_owned),
                        created_at: now,
                        last_seen_at: now,
                        stored: false,
                    });
                }
                None => {
                    if self.create(id, caller, now).await? {
                        tracing::debug!(linked = caller.is_some(), "session created");
                        return Ok(Session {
                            id: id.clone(),
                            user_id: caller.map(str::to_owned),
                            created_at: now,
                            last_seen_at: now,
                            stored: true,
                        });
                    }
                }
                Some((_, _, _, Some(_), reason)) => {
                    return Err(Error::ended(EndReason::parse(reason.as_deref().unwrap_or(""))));
                }
                Some((None, created_at, _, None, _)) if caller.is_some() => {
                    // A signed-in caller's first use of an anonymous session makes it theirs,
                    // so it is no longer readable by whoever else holds the id.
                    let user = caller.unwrap_or_default();
                    if self.link(id, user, now).await? {
                        tracing::debug!("anonymous session linked on first signed-in use");
                        return Ok(Session {
                            id: id.clone(),
                            user_id: Some(user.to_owned()),
                            created_at,
                            last_seen_at: now,
                            stored: true,
                        });
                    }
                }
                Some((user_id, created_at, last_seen_at, None, _)) => {
                    check_owner(user_id.as_deref(), caller)?;
                    let mut session = Session {
                        id: id.clone(),
                        user_id,
                        created_at,
                        last_seen_at,
                        stored: true,
                    };
                    if now.saturating_sub(last_seen_at) < millis(self.config.effective_touch_interval()) {
                        return Ok(session);
                    }
                    let touched = sqlx::query(
                        "UPDATE tabrpc_sessions SET last_seen_at = $2 \
                         WHERE id = $1 AND ended_at IS NULL",
                    )
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                    if touched == 1 {
                        session.last_seen_at = now;
                        return Ok(session);
                    }
                }
            }
        }
        Err(Error::storage(
            "the session row kept changing while being resolved",
        ))
    }

    /// Stores session `id` of `owner` and keeps the store within its bounds, in one
    /// transaction; `false` when the row exists already (made concurrently).
    async fn create(&self, id: &SessionId, owner: Option<&str>, now: i64) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let created = sqlx::query(
            "INSERT INTO tabrpc_sessions (id, user_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(owner)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 1 {
            self.trim(&mut tx, now, owner, [id, id]).await?;
        }
        tx.commit().await?;
        Ok(created == 1)
    }

    /// Links the live anonymous session `id` to `user`, keeping the user's sessions within
    /// bounds, in one transaction; `false` when it is no longer live and anonymous.
    async fn link(&self, id: &SessionId, user: &str, now: i64) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let linked = sqlx::query(
            "UPDATE tabrpc_sessions SET user_id = $2, last_seen_at = $3 \
             WHERE id = $1 AND user_id IS NULL AND ended_at IS NULL",
        )
        .bind(id.as_str())
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if linked == 1 {
            self.trim(&mut tx, now, Some(user), [id, id]).await?;
        }
        tx.commit().await?;
        Ok(linked == 1)
    }

    /// Keeps the store within its bounds after `tx` stored or linked a live session of
    /// `owner`, or ended one: ends the least recently used live sessions of `owner` (the
    /// anonymous ones when `None`) beyond their cap, then forgets the longest-ended sessions
    /// beyond theirs. Never touches `keep` (the sessions `tx` is working on) and, on Postgres,
    /// skips rows another transaction holds (a feature write, a rotation) rather than wait.
    async fn trim(
        &self,
        tx: &mut Tx,
        now: i64,
        owner: Option<&str>,
        keep: [&SessionId; 2],
    ) -> Result<(), Error> {
        let live: i64 = match owner {
            None => sqlx::query_scalar(
                "SELECT count(*) FROM tabrpc_sessions WHERE ended_at IS NULL AND user_id IS NULL",
            )
            .fetch_one(&mut **tx)
            .await?,
            Some(user) => sqlx::query_scalar(
                "SELECT count(*) FROM tabrpc_sessions WHERE ended_at IS NULL AND user_id = $1",
            )
            .bind(user)
            .fetch_one(&mut **tx)
            .await?,
        };
        let (cap, whose) = match owner {
            None => (self.config.max_anonymous_sessions, "user_id IS NULL"),
            Some(_) => (self.config.max_sessions_per_user, "user_id = $5"),
        };
        let live = u64::try_from(live).unwrap_or(0);
        let excess = live.saturating_sub(cap.max(1));
        if excess > 0 {
            let evict = format!(
                "UPDATE tabrpc_sessions SET ended_at = $1, end_reason = $2 \
                 WHERE ended_at IS NULL AND id IN (SELECT id FROM tabrpc_sessions \
                 WHERE ended_at IS NULL AND {whose} AND id <> $3 AND id <> $4 \
                 ORDER BY last_seen_at, id LIMIT {excess}{SKIP_LOCKED})"
            );
            let mut evict = sqlx::query(&evict)
                .bind(now)
                .bind(EndReason::Expired.as_str())
                .bind(keep[0].as_str())
                .bind(keep[1].as_str());
            if let Some(user) = owner {
                evict = evict.bind(user);
            }
            let evicted = evict.execute(&mut **tx).await?.rows_affected();
            if evicted > 0 {
                let sessions =
                    "IN (SELECT id FROM tabrpc_sessions WHERE ended_at = $1 AND end_reason = $2)";
                for feature in &self.config.features {
                    sqlx::query(&feature.delete_sql(sessions))
                        .bind(now)
                        .bind(EndReason::Expired.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
                // Debug, not info: a client creating sessions in a loop drives this line, and
                // traffic must not be able to flood the log.
                tracing::debug!(
                    evicted,
                    linked = owner.is_some(),
                    "least recently used sessions ended: over the store's cap"
                );
            }
        }
        self.trim_ended(tx, keep).await
    }

    /// Forgets the longest-ended sessions beyond [`StoreConfig::max_ended_sessions`], never
    /// `keep`.
    async fn trim_ended(&self, tx: &mut Tx, keep: [&SessionId; 2]) -> Result<(), Error> {
        let ended: i64 =
            sqlx::query_scalar("SELECT count(*) FROM tabrpc_sessions WHERE ended_at IS NOT NULL")
                .fetch_one(&mut **tx)
                .await?;
        let excess = u64::try_from(ended)
            .unwrap_or(0)
            .saturating_sub(self.config.max_ended_sessions);
        if excess > 0 {
            let forget = format!(
                "DELETE FROM tabrpc_sessions WHERE id IN (SELECT id FROM tabrpc_sessions \
                 WHERE ended_at IS NOT NULL AND id <> $1 AND id <> $2 \
                 ORDER BY ended_at, id LIMIT {excess}{SKIP_LOCKED})"
            );
            let forgotten = sqlx::query(&forget)
                .bind(keep[0].as_str())
                .bind(keep[1].as_str())
                .execute(&mut **tx)
                .await?
                .rows_affected();
            tracing::debug!(forgotten, "ended sessions forgotten early: over the store's cap");
        }
        Ok(())
    }

    async fn lookup_inner(&self, id: &SessionId) -> Result<Option<SessionState>, Error> {
        let row: Option<Row> = sqlx::query_as(SELECT_SESSION)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(user_id, created_at, last_seen_at, ended_at, reason)| match ended_at {
            Some(ended_at) => SessionState::Ended {
                reason: EndReason::parse(reason.as_deref().unwrap_or("")),
                ended_at: from_millis(ended_at),
            },
            None => SessionState::Live(Session {
                id: id.clone(),
                user_id,
                created_at,
                last_seen_at,
                stored: true,
            }),
        }))
    }

    async fn rotate_inner(
        &self,
        old: &SessionId,
        new: &SessionId,
        caller: Option<&str>,
    ) -> Result<Rotation, Error> {
        if old == new {
            return Err(Error::new(
                ErrorKind::InvalidRotation,
                "a rotation needs a new session id: `newSessionId` equals `sessionId`",
            ));
        }
        let now = now_millis();
        let mut tx = self.begin().await?;
        // Both rows exist from here on (an unknown old id becomes a session that ends below,
        // so it can never be used), and both are locked: a concurrent feature write holds
        // `FOR SHARE` on the old row, so it either finished before this point (its rows move)
        // or waits and then finds the session ended (it writes nothing). Rows are created and
        // locked in id order, so two rotations between the same two ids cannot deadlock.
        let (first, second) = if old < new { (old, new) } else { (new, old) };
        for id in [first, second] {
            sqlx::query(
                "INSERT INTO tabrpc_sessions (id, user_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(if id == new { caller } else { None })
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let lock = format!("{SELECT_SESSION}{FOR_UPDATE}");
        let first_row: Row = sqlx::query_as(&lock).bind(first.as_str()).fetch_one(&mut *tx).await?;
        let second_row: Row = sqlx::query_as(&lock).bind(second.as_str()).fetch_one(&mut *tx).await?;
        let (old_row, new_row) = if first == old {
            (first_row, second_row)
        } else {
            (second_row, first_row)
        };
        let old_live = old_row.3.is_none();
        if old_live {
            check_owner(old_row.0.as_deref(), caller)?;
        }
        if new_row.3.is_some() {
            return Err(Error::ended(EndReason::parse(new_row.4.as_deref().unwrap_or(""))));
        }
        check_owner(new_row.0.as_deref(), caller)?;
        let mut moved = 0;
        if old_live {
            for feature in &self.config.features {
                let mut moved_here = 0;
                for (index, statement) in feature.move_sql().iter().enumerate() {
                    let changed = sqlx::query(statement)
                        .bind(old.as_str())
                        .bind(new.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if feature.counts_as_moved(index) {
                        moved += changed;
                        moved_here += changed;
                    }
                }
                if let Some(max) = feature.row_limit().filter(|_| moved_here > 0) {
                    let rows: i64 = sqlx::query_scalar(&feature.count_sql())
                        .bind(new.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if u64::try_from(rows).unwrap_or(0) > max {
                        // Dropping the transaction rolls it back: nothing moved, old is live.
                        return Err(Error::limit(format!(
                            "the new session would hold {rows} rows of `{}`, more than its \
                             limit of {max}: nothing was moved",
                            feature.table()
                        )));
                    }
                }
            }
            sqlx::query(
                "UPDATE tabrpc_sessions SET ended_at = $2, end_reason = $3 \
                 WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(old.as_str())
            .bind(now)
            .bind(EndReason::Rotated.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let user_id = new_row.0.or_else(|| caller.map(str::to_owned));
        sqlx::query("UPDATE tabrpc_sessions SET user_id = $2, last_seen_at = $3 WHERE id = $1")
            .bind(new.as_str())
            .bind(user_id.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        self.trim(&mut tx, now, user_id.as_deref(), [old, new]).await?;
        tx.commit().await?;
        tracing::debug!(moved, linked = user_id.is_some(), "session rotated");
        Ok(Rotation {
            session: Session {
                id: new.clone(),
                user_id,
                created_at: new_row.1,
                last_seen_at: now,
                stored: true,
            },
            moved,
        })
    }

    async fn end_inner(&self, id: &SessionId, caller: Option<&str>) -> Result<(), Error> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        // An unknown id is remembered as ended, so it cannot start a session later.
        let remembered = sqlx::query(
            "INSERT INTO tabrpc_sessions (id, user_id, created_at, last_seen_at, ended_at, end_reason) \
             VALUES ($1, NULL, $2, $2, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(now)
        .bind(EndReason::Ended.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let lock = format!("{SELECT_SESSION}{FOR_UPDATE}");
        let (owner, _, _, ended_at, _): Row =
            sqlx::query_as(&lock).bind(id.as_str()).fetch_one(&mut *tx).await?;
        if ended_at.is_some() {
            if remembered == 1 {
                self.trim_ended(&mut tx, [id, id]).await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        check_owner(owner.as_deref(), caller)?;
        for feature in &self.config.features {
            sqlx::query(&feature.delete_sql("= $1"))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE tabrpc_sessions SET ended_at = $2, end_reason = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(now)
            .bind(EndReason::Ended.as_str())
            .execute(&mut *tx)
            .await?;
        self.trim_ended(&mut tx, [id, id]).await?;
        tx.commit().await?;
        tracing::debug!("session ended");
        Ok(())
    }

    async fn revoke_user_inner(&self, user_id: &str) -> Result<u64, Error> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(
            "UPDATE tabrpc_sessions SET ended_at = $2, end_reason = $3 \
             WHERE user_id = $1 AND ended_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .bind(EndReason::Revoked.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked > 0 {
            let sessions = "IN (SELECT id FROM tabrpc_sessions \
                            WHERE user_id = $1 AND ended_at = $2 AND end_reason = $3)";
            for feature in &self.config.features {
                sqlx::query(&feature.delete_sql(sessions))
                    .bind(user_id)
                    .bind(now)
                    .bind(EndReason::Revoked.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        tracing::info!(revoked, "sessions of a user revoked");
        Ok(revoked)
    }

    async fn sweep_inner(&self) -> Result<Sweep, Error> {
        let now = now_millis();
        let idle_before = now.saturating_sub(millis(self.config.idle_timeout));
        let forget_before = now.saturating_sub(millis(self.config.tombstone_retention));
        let mut tx = self.begin().await?;
        let expired = sqlx::query(
            "UPDATE tabrpc_sessions SET ended_at = $1, end_reason = $2 \
             WHERE ended_at IS NULL AND last_seen_at < $3",
        )
        .bind(now)
        .bind(EndReason::Expired.as_str())
        .bind(idle_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if expired > 0 {
            let sessions =
                "IN (SELECT id FROM tabrpc_sessions WHERE ended_at = $1 AND end_reason = $2)";
            for feature in &self.config.features {
                sqlx::query(&feature.delete_sql(sessions))
                    .bind(now)
                    .bind(EndReason::Expired.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let purged = sqlx::query(
            "DELETE FROM tabrpc_sessions WHERE ended_at IS NOT NULL AND ended_at < $1",
        )
        .bind(forget_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if expired > 0 || purged > 0 {
            tracing::info!(expired, purged, "session expiry sweep");
        }
        Ok(Sweep { expired, purged })
    }
}

fn span(operation: &'static str, id: &SessionId) -> tracing::Span {
    tracing::debug_span!("session", op = operation, backend = BACKEND, session = %id.fingerprint())
}

impl SessionStore for Store {
    fn resolve<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Session, Error>> {
        Box::pin(self.resolve_inner(id, caller, true).instrument(span("resolve", id)))
    }

    fn resolve_read<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Session, Error>> {
        Box::pin(self.resolve_inner(id, caller, false).instrument(span("resolve_read", id)))
    }

    fn lookup<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<SessionState>, Error>> {
        Box::pin(self.lookup_inner(id).instrument(span("lookup", id)))
    }

    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Rotation, Error>> {
        let span = tracing::debug_span!(
            "session",
            op = "rotate",
            backend = BACKEND,
            session = %old.fingerprint(),
            new_session = %new.fingerprint()
        );
        Box::pin(self.rotate_inner(old, new, caller).instrument(span))
    }

    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.end_inner(id, caller).instrument(span("end", id)))
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, Error>> {
        let span = tracing::debug_span!("session", op = "revoke_user", backend = BACKEND);
        Box::pin(self.revoke_user_inner(user_id).instrument(span))
    }

    fn sweep(&self) -> BoxFuture<'_, Result<Sweep, Error>> {
        let span = tracing::debug_span!("session", op = "sweep", backend = BACKEND);
        Box::pin(self.sweep_inner().instrument(span))
    }

    fn database(&self) -> Database {
        wrap_pool(self.pool.clone())
    }

    fn config(&self) -> &StoreConfig {
        &self.config
    }
}

/// Applies the store's migrations that are not applied yet, in one transaction that holds the
/// backend's lock, so several instances starting at once migrate once.
async fn migrate(pool: &Pool) -> Result<(), Error> {
    let mut tx = pool.begin_with(BEGIN).await?;
    if let Some(lock) = MIGRATION_LOCK {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS tabrpc_sessions_migrations (\
         version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM tabrpc_sessions_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for (version, description, sql) in MIGRATIONS {
        if applied.iter().any(|(v,)| v == version) {
            continue;
        }
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO tabrpc_sessions_migrations (version, description, applied_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(description)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tracing::info!(version, description, backend = BACKEND, "session store migrated");
    }
    tx.commit().await?;
    Ok(())
}
