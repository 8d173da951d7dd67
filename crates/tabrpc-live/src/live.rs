//! The publish handle.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tabrpc_sessions::SessionId;

use crate::error::Error;
use crate::event::{LiveEvent, LiveScope, Paths};
use crate::hub::{Hub, LiveConfig};
use crate::postgres::PgBackend;
use crate::subscription::Subscription;

/// The live hub of one server: publish invalidations with [`Live::account`],
/// [`Live::session`] or [`Live::public`], serve them with [`events`](crate::events). Cheap to
/// clone (one shared hub); two `Live`s never see each other's events unless they share a
/// Postgres database ([`Live::postgres`]). Background work (the Postgres listener) stops when
/// the last clone is dropped.
///
/// ```
/// # async fn run() -> Result<(), tabrpc_live::Error> {
/// let live = tabrpc_live::Live::in_process();
/// live.account("user_2").invalidate(["profile.getUser"]).await?;
/// live.public().publish(tabrpc_live::Paths::new().prefix("posts").input(serde_json::json!({ "postId": 5 }))).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    hub: Arc<Hub>,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    InProcess,
    Postgres(PgBackend),
}

impl Live {
    /// A hub for one process ([`LiveConfig::default`]): events reach the streams of this
    /// process only. Ids carry a per-process epoch, so an id from before a restart gets a
    /// reset.
    pub fn in_process() -> Self {
        Self::in_process_with(LiveConfig::default())
    }

    /// As [`Live::in_process`] with `config`.
    pub fn in_process_with(config: LiveConfig) -> Self {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // The address of a fresh allocation tells two hubs made in the same nanosecond apart.
        let salt = Arc::new(0u8);
        let epoch = format!("{:x}", epoch ^ (Arc::as_ptr(&salt) as usize as u128));
        Self::with_backend(Arc::new(Hub::new(epoch, config, 0)), Backend::InProcess)
    }

    /// A hub shared by every instance on this Postgres database: events are rows of
    /// `tabrpc_live_events` (created if missing), announced with `NOTIFY tabrpc_live` carrying
    /// only the row id; each instance listens, reads the new rows and hands them to its
    /// streams. The last [`LiveConfig::retention`] rows are loaded at start, so a stream resumes
    /// on another instance, or after a restart, without a reset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Storage`](crate::ErrorKind::Storage) when the table cannot be created or
    /// read, or the listener cannot connect.
    pub async fn postgres(pool: sqlx::PgPool) -> Result<Self, Error> {
        Self::postgres_with(pool, LiveConfig::default()).await
    }

    /// As [`Live::postgres`] with `config`.
    ///
    /// # Errors
    ///
    /// As [`Live::postgres`].
    pub async fn postgres_with(pool: sqlx::PgPool, config: LiveConfig) -> Result<Self, Error> {
        let (hub, backend) = PgBackend::start(pool, config).await?;
        Ok(Self::with_backend(hub, Backend::Postgres(backend)))
    }

    fn with_backend(hub: Arc<Hub>, backend: Backend) -> Self {
        Self {
            inner: Arc::new(Inner { hub, backend }),
        }
    }

    /// Publishes to the tabs signed in to account `user_id` (the verified `sub`).
    pub fn account(&self, user_id: impl Into<String>) -> Publisher<'_> {
        self.scope(LiveScope::Account { id: user_id.into() })
    }

    /// Publishes to the tabs that opened their stream with session `id`.
    pub fn session(&self, id: &SessionId) -> Publisher<'_> {
        self.scope(LiveScope::Session {
            id: id.as_str().to_owned(),
        })
    }

    /// Publishes to every tab.
    pub fn public(&self) -> Publisher<'_> {
        self.scope(LiveScope::Public)
    }

    /// Publishes to `scope`.
    pub fn scope(&self, scope: LiveScope) -> Publisher<'_> {
        Publisher { live: self, scope }
    }

    /// How many streams this instance holds open.
    pub fn streams(&self) -> usize {
        self.inner.hub.subscribers()
    }

    /// Opens a stream for these verified scopes; `live.events` calls it after the guards.
    pub(crate) fn subscribe(
        &self,
        account: Option<String>,
        session: Option<String>,
        cursor: Option<&str>,
    ) -> Subscription {
        let mut scopes = Vec::with_capacity(3);
        scopes.extend(account.clone().map(|id| LiveScope::Account { id }));
        scopes.extend(session.clone().map(|id| LiveScope::Session { id }));
        scopes.push(LiveScope::Public);
        let ready = LiveEvent::Ready { account, session };
        self.inner.hub.subscribe(ready, scopes, cursor)
    }

    async fn send(&self, event: LiveEvent) -> Result<String, Error> {
        let seq = match &self.inner.backend {
            Backend::InProcess => self.inner.hub.insert_next(event),
            Backend::Postgres(pg) => pg.publish(&event).await?,
        };
        Ok(self.inner.hub.id(seq))
    }
}

/// Publishes to one scope; made by [`Live::account`], [`Live::session`], [`Live::public`].
#[derive(Debug)]
#[must_use = "a publisher does nothing until `invalidate` or `publish` is awaited"]
pub struct Publisher<'a> {
    live: &'a Live,
    scope: LiveScope,
}

impl Publisher<'_> {
    /// Invalidates these exact procedure paths. Call it after the change is committed: a tab
    /// refetches as soon as the event arrives. Returns the event's id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidEvent`](crate::ErrorKind::InvalidEvent) for no path, too many
    /// ([`MAX_PATHS`](crate::MAX_PATHS)) or too long ones; `Storage` when the Postgres insert
    /// fails (nothing was published).
    pub async fn invalidate<P: Into<String>>(
        self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<String, Error> {
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        self.publish(paths).await
    }

    /// Invalidates every path under these prefixes (`cart` covers `cart` and `cart.*`).
    ///
    /// # Errors
    ///
    /// As [`Publisher::invalidate`].
    pub async fn invalidate_prefixes<P: Into<String>>(
        self,
        prefixes: impl IntoIterator<Item = P>,
    ) -> Result<String, Error> {
        let paths = prefixes.into_iter().fold(Paths::new(), |p, x| p.prefix(x));
        self.publish(paths).await
    }

    /// Publishes paths, prefixes and an optional input subset at once.
    ///
    /// # Errors
    ///
    /// As [`Publisher::invalidate`].
    pub async fn publish(self, paths: impl Into<Paths>) -> Result<String, Error> {
        let event = paths.into().into_event(self.scope)?;
        self.live.send(event).await
    }
}
