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
