//! The session store: the [`SessionStore`] trait, what it returns, and its two
//! implementations on sqlx, [`SqliteStore`] and [`PgStore`].
//!
//! ## Data model
//!
//! One table, `tabrpc_sessions`, created by the store's own migrations (tracked in
//! `tabrpc_sessions_migrations`, apart from sqlx's `_sqlx_migrations` so an application's own
//! migrations can share the database):
//!
//! | column | what |
//! |---|---|
//! | `id TEXT PRIMARY KEY` | the session id, canonical lower-case UUID v4 |
//! | `user_id TEXT NULL` | the account the session is linked to; `NULL` while anonymous |
//! | `created_at`, `last_seen_at BIGINT` | Unix milliseconds |
//! | `ended_at BIGINT NULL`, `end_reason TEXT NULL` | set when the session ends |
//!
//! An ended session keeps its row (without data) for
//! [`StoreConfig::tombstone_retention`], so its id cannot quietly start a new session and a
//! late call gets "expired or revoked". Feature data lives in the features' own tables
//! ([`FeatureTable`](crate::FeatureTable)).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;

use crate::config::StoreConfig;
use crate::error::{EndReason, Error};
use crate::id::SessionId;

mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A live session, as a session procedure receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    id: SessionId,
    user_id: Option<String>,
    created_at: i64,
    last_seen_at: i64,
    stored: bool,
}

impl Session {
    /// Its id (never log it: use [`SessionId::fingerprint`]).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The account it is linked to, or `None` while anonymous.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// When it was created.
    pub fn created_at(&self) -> SystemTime {
        from_millis(self.created_at)
    }

    /// When it was last used (to within [`StoreConfig::touch_interval`]).
    pub fn last_seen_at(&self) -> SystemTime {
        from_millis(self.last_seen_at)
    }

    /// Whether the store holds it: `false` for an id never seen, read by
    /// [`SessionStore::resolve_read`] (it has no data, and its first write creates it).
    pub fn is_stored(&self) -> bool {
        self.stored
    }
}

/// What the store knows about a session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// In use.
    Live(Session),
    /// Ended, with its data deleted or moved.
    Ended {
        /// Why.
        reason: EndReason,
        /// When.
        ended_at: SystemTime,
    },
}

/// The result of [`SessionStore::rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new session, linked to the caller if there is one.
    pub session: Session,
    /// How many feature rows moved from the old session to the new one (rows merged into an
    /// existing row count as moved; rows dropped by [`Merge::KeepNew`](crate::Merge::KeepNew)
    /// do not).
    pub moved: u64,
}

/// The result of one expiry sweep ([`SessionStore::sweep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sweep {
    /// Sessions ended because they were idle past [`StoreConfig::idle_timeout`].
    pub expired: u64,
    /// Ended sessions forgotten because they ended more than
    /// [`StoreConfig::tombstone_retention`] ago.
    pub purged: u64,
}

/// The database a store keeps its sessions in, for features to keep their tables next to them
/// (so a rotation moves their rows in the same transaction).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Database {
    /// A SQLite database ([`SqliteStore`]).
    Sqlite(sqlx::SqlitePool),
    /// A Postgres database ([`PgStore`]).
    Postgres(sqlx::PgPool),
}

/// A session store. Object-safe: applications keep an `Arc<dyn SessionStore>` and pick the
/// backend at start-up ([`SqliteStore`] by default, [`PgStore`] for several instances).
///
/// `caller` arguments are the **verified** user id of the caller (from the request's token,
/// never from an input field), or `None` for an anonymous caller. A session linked to an
/// account answers only that account ([`ErrorKind::WrongOwner`](crate::ErrorKind::WrongOwner)
/// otherwise); an anonymous session answers whoever holds its id.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tabrpc_sessions::Error> {
/// use tabrpc_sessions::{SessionId, SessionStore, SqliteStore, StoreConfig};
/// let store = SqliteStore::open("sqlite::memory:", StoreConfig::default()).await?;
/// let tab: SessionId = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10".parse()?;
/// let session = store.resolve(&tab, None).await?; // created on first use
/// assert_eq!(session.user_id(), None);
/// // At sign-in the client makes a new id and the data moves to it, linked to the account.
/// let signed_in: SessionId = "9b2e4c6a-1d3f-4a5b-8c7d-0e1f2a3b4c5d".parse()?;
/// let rotation = store.rotate(&tab, &signed_in, Some("user_alice")).await?;
/// assert_eq!(rotation.session.user_id(), Some("user_alice"));
/// // The old id is over; the new one answers alice only.
/// assert!(store.resolve(&tab, None).await.is_err());
/// assert!(store.resolve(&signed_in, Some("user_bob")).await.is_err());
/// # Ok(()) }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The live session `id` for `caller`: created on first use (linked to `caller` if there
    /// is one), its `last_seen_at` refreshed at most every
    /// [`StoreConfig::touch_interval`]. A live anonymous session used by a signed-in `caller`
    /// is linked to that caller, atomically, on this first signed-in use: from then on it
    /// answers that account only (see [`StoreConfig`] for the caps a creation enforces).
    ///
    /// # Errors
    ///
    /// `Ended` for an ended session, `WrongOwner` for a session linked to another account (or
    /// used anonymously), `Storage` when the database fails.
    fn resolve<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Session, Error>>;

    /// As [`SessionStore::resolve`], for reading: an id never seen is not created, and the
    /// answer is the empty session it would be (not [stored](Session::is_stored)), so queries
    /// never grow the store. A live session is checked, linked and touched as by `resolve`.
    ///
    /// # Errors
    ///
    /// As [`SessionStore::resolve`].
    fn resolve_read<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Session, Error>>;

    /// What the store knows about `id`, changing nothing; `None` for an id never seen (or
    /// forgotten after [`StoreConfig::tombstone_retention`]).
    ///
    /// # Errors
    ///
    /// `Storage` when the database fails.
    fn lookup<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<SessionState>, Error>>;

    /// Sign-in (or any change of hands): in **one transaction**, moves every registered
    /// feature's rows from `old` to `new` (merging by each table's [`Merge`](crate::Merge)),
    /// links `new` to `caller`, and ends `old` (reason `rotated`). If anything fails, nothing
    /// changes: `old` stays live with its data.
    ///
    /// `new` is normally a fresh id the client just made; it may also be a live session of
    /// the same caller (or an anonymous one, which is then linked). An `old` that is unknown
    /// or already ended has nothing to move: the rotation still creates `new`, so a client
    /// whose session expired can always recover by rotating.
    ///
    /// # Errors
    ///
    /// `InvalidRotation` when `old == new`; `WrongOwner` when `old` or `new` is linked to an
    /// account other than `caller`'s; `Ended` when `new` has ended; `Storage`.
    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Rotation, Error>>;

    /// Sign-out: ends `id` (reason `ended`) and deletes its feature data, in one transaction.
    /// Ending an ended or unknown id succeeds (and an unknown id can then never be used).
    ///
    /// # Errors
    ///
    /// `WrongOwner` when `id` is linked to an account other than `caller`'s; `Storage`.
    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        caller: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Ends every live session linked to `user_id` (reason `revoked`) and deletes their
    /// feature data, in one transaction; returns how many ended. For the server's own use (an
    /// account deleted, "sign out everywhere"): it checks no caller.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, Error>>;

    /// One expiry sweep: ends the sessions idle past [`StoreConfig::idle_timeout`] (reason
    /// `expired`) with their feature data, and forgets sessions that ended more than
    /// [`StoreConfig::tombstone_retention`] ago. [`spawn_expiry`](crate::spawn_expiry) runs it
    /// periodically; several instances may sweep the same database at once.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn sweep(&self) -> BoxFuture<'_, Result<Sweep, Error>>;

    /// The database, for features to run their queries next to the sessions (see
    /// [`FeatureTable`](crate::FeatureTable) for how to write safely).
    fn database(&self) -> Database;

    /// The store's configuration.
    fn config(&self) -> &StoreConfig;

    /// `Ok` while `id` is live; otherwise the error to answer. For a feature write that
    /// changed no row, to tell "the session ended meanwhile" from "nothing to change".
    ///
    /// # Errors
    ///
    /// `Ended` when the session ended (an id the store does not know counts as expired);
    /// `Storage`.
    fn ensure_live<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            match self.lookup(id).await? {
                Some(SessionState::Live(_)) => Ok(()),
                Some(SessionState::Ended { reason, .. }) => Err(Error::ended(reason)),
                None => Err(Error::ended(EndReason::Expired)),
            }
        })
    }
}

/// A session linked to an account answers that account only.
fn check_owner(owner: Option<&str>, caller: Option<&str>) -> Result<(), Error> {
    match owner {
        Some(owner) if caller != Some(owner) => Err(Error::wrong_owner()),
        _ => Ok(()),
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
