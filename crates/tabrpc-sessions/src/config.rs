//! [`StoreConfig`]: the store's timings and its feature tables.

use std::time::Duration;

use crate::feature::FeatureTable;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// How a session store behaves. Every field has a default; build on
/// [`StoreConfig::default`].
///
/// ```
/// use std::time::Duration;
/// use tabrpc_sessions::{FeatureTable, Merge, StoreConfig};
/// let config = StoreConfig::default()
///     .idle_timeout(Duration::from_secs(7 * 24 * 3600))
///     .feature(FeatureTable::new("cart_items", "session_id").merge(Merge::sum(["item"], "quantity")));
/// assert_eq!(config.features.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// A session not used for this long ends (reason `expired`) at the next sweep, and its
    /// feature data is deleted. Defaults to 30 days.
    pub idle_timeout: Duration,
    /// How often a session's `last_seen_at` is written: a call within this time of the last
    /// write only reads, which keeps the common path free of writes. Expiry is therefore
    /// accurate to this much. Capped at half of [`StoreConfig::idle_timeout`], so a session in
    /// use never expires however short the timeout. Defaults to 60 seconds.
    pub touch_interval: Duration,
    /// How long an ended session's id is remembered, so that a late call with it answers
    /// "expired or revoked" instead of quietly starting an empty session. After that the row
    /// is deleted. Defaults to 30 days.
    pub tombstone_retention: Duration,
    /// How often [`spawn_expiry`](crate::spawn_expiry) sweeps. Defaults to 10 minutes.
    pub sweep_interval: Duration,
    /// The most live anonymous sessions the store keeps. Creating one more ends the least
    /// recently used anonymous sessions beyond it (reason `expired`, their data deleted; a
    /// later call with such an id answers 404 `session_expired`), so a client creating
    /// sessions in a loop cannot grow the database without bound. Sessions linked to an
    /// account are never ended for this. Risk: such a loop can push other visitors' idle
    /// anonymous carts out once the cap is reached; a per-address rate limit in front of the
    /// server (a reverse proxy) keeps that from one client. With several instances on
    /// Postgres, concurrent creations may pass it by a few until the next creation. At least
    /// 1 in effect. Defaults to 100 000.
    pub max_anonymous_sessions: u64,
    /// The most live sessions linked to one account. A new session (or a newly linked one)
    /// beyond it ends that account's least recently used session (reason `expired`): a
    /// signed-in client cannot grow the database without bound either, and a browser rarely
    /// has this many tabs in use. At least 1 in effect. Defaults to 100.
    pub max_sessions_per_user: u64,
    /// The most ended sessions remembered (see [`StoreConfig::tombstone_retention`]). Past
    /// it the longest-ended are forgotten early: their ids then read as never seen (an empty
    /// session) instead of 404 `session_expired`. Defaults to 100 000.
    pub max_ended_sessions: u64,
    /// The tables of session-keyed feature data. Defaults to none.
    pub features: Vec<FeatureTable>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            idle_timeout: 30 * DAY,
            touch_interval: Duration::from_secs(60),
            tombstone_retention: 30 * DAY,
            sweep_interval: Duration::from_secs(10 * 60),
            max_anonymous_sessions: 100_000,
            max_sessions_per_user: 100,
            max_ended_sessions: 100_000,
            features: Vec::new(),
        }
    }
}

impl StoreConfig {
    /// Sets [`StoreConfig::idle_timeout`].
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`StoreConfig::touch_interval`].
    pub fn touch_interval(mut self, touch_interval: Duration) -> Self {
        self.touch_interval = touch_interval;
        self
    }

    /// Sets [`StoreConfig::tombstone_retention`].
    pub fn tombstone_retention(mut self, retention: Duration) -> Self {
        self.tombstone_retention = retention;
        self
    }

    /// Sets [`StoreConfig::sweep_interval`].
    pub fn sweep_interval(mut self, sweep_interval: Duration) -> Self {
        self.sweep_interval = sweep_interval;
        self
    }

    /// Sets [`StoreConfig::max_anonymous_sessions`].
    pub fn max_anonymous_sessions(mut self, max: u64) -> Self {
        self.max_anonymous_sessions = max;
        self
    }

    /// Sets [`StoreConfig::max_sessions_per_user`].
    pub fn max_sessions_per_user(mut self, max: u64) -> Self {
        self.max_sessions_per_user = max;
        self
    }

    /// Sets [`StoreConfig::max_ended_sessions`].
    pub fn max_ended_sessions(mut self, max: u64) -> Self {
        self.max_ended_sessions = max;
        self
    }

    /// The touch interval in force: [`StoreConfig::touch_interval`], at most half the idle
    /// timeout.
    pub(crate) fn effective_touch_interval(&self) -> Duration {
        self.touch_interval.min(self.idle_timeout / 2)
    }

    /// Registers a table of session-keyed feature data.
    pub fn feature(mut self, table: FeatureTable) -> Self {
        self.features.push(table);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_idle_timeout_caps_the_touch_interval() {
        let config = StoreConfig::default().idle_timeout(Duration::from_secs(30));
        assert_eq!(config.effective_touch_interval(), Duration::from_secs(15));
        let config = StoreConfig::default();
        assert_eq!(config.effective_touch_interval(), Duration::from_secs(60));
    }
}
