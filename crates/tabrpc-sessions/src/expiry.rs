//! The expiry task: sweeps the store periodically (see [`SessionStore::sweep`]).

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::store::SessionStore;

/// The running expiry task; dropping it stops the task.
#[derive(Debug)]
#[must_use = "the expiry task stops when this handle is dropped"]
pub struct ExpiryTask {
    handle: JoinHandle<()>,
}

impl ExpiryTask {
    /// Stops the task (as dropping it does).
    pub fn abort(&self) {
        self.handle.abort();
    }
}

impl Drop for ExpiryTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts sweeping `store` every [`StoreConfig::sweep_interval`](crate::StoreConfig::sweep_interval),
/// the first time at once. A failed sweep is logged at `warn` and retried at the next tick.
/// Several instances may sweep one Postgres database: a sweep locks the rows it ends.
///
/// Must be called within a Tokio runtime.
pub fn spawn_expiry(store: Arc<dyn SessionStore>) -> ExpiryTask {
    // `interval` panics on a zero period.
    let every = store
        .config()
        .sweep_interval
        .max(std::time::Duration::from_millis(1));
    let handle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = store.sweep().await {
                tracing::warn!(%err, "session expiry sweep failed; retrying at the next tick");
            }
        }
    });
    ExpiryTask { handle }
}
