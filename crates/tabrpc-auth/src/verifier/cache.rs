//! The verified-token cache: the claims of tokens that passed every check, keyed by the
//! token's SHA-256, so that a tab sending the same token again skips the signature check.
//!
//! What keeps it safe:
//!
//! - only successes are stored (a refused token costs the same every time, as without a cache);
//! - the key is the SHA-256 of the whole token, signature included, so a hit means the exact
//!   bytes that were verified (the token itself is not kept);
//! - `exp`, `nbf` and `iat` are checked again, with the leeway, on every hit: a token past
//!   `exp` + leeway is a miss and is evicted, then refused as `expired` by the full check;
//! - each entry remembers the key generation it was verified under, and a change of the key
//!   set (a JWKS refresh that returns different keys) clears the cache, so a revoked key stops
//!   vouching for its tokens at once;
//! - it is bounded in entries (`quick_cache`, S3-FIFO eviction), so a flood of distinct valid
//!   tokens cannot grow it without limit.
//!
//! `quick_cache` rather than a hand-rolled map: a sharded, lock-per-shard cache with scan-
//! resistant eviction and a small dependency tree (hashbrown, foldhash, parking_lot), kept up to
//! date by its author; `moka` would bring background maintenance and many more dependencies
//! for features (time-to-live, listeners) that the per-hit claim check already covers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::claims::{ClaimRules, Claims};

/// A token's SHA-256.
pub(crate) type Digest = [u8; 32];

/// What a hit gives back: the verified claims and the `kid` that verified them (for the log).
pub(crate) struct Entry {
    pub(crate) claims: Claims,
    pub(crate) kid: Option<String>,
    /// The key generation the signature was checked under.
    generation: u64,
}

impl Entry {
    pub(crate) fn new(claims: Claims, kid: Option<String>, generation: u64) -> Self {
        Self {
            claims,
            kid,
            generation,
        }
    }
}

pub(crate) struct TokenCache {
    entries: quick_cache::sync::Cache<Digest, Arc<Entry>>,
    /// The newest key generation seen; entries of older ones are never returned.
    generation: AtomicU64,
}

impl TokenCache {
    /// A cache of about `capacity` entries (`quick_cache` splits it in shards and rounds each
    /// shard up, so the bound may exceed `capacity` by less than the shard count); `None` for 0.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            entries: quick_cache::sync::Cache::new(capacity),
            generation: AtomicU64::new(0),
        })
    }

    /// The entry for `digest`, if it was verified under key `generation` and its time claims
    /// still pass at `now` (seconds since the Unix epoch) with the leeway of `rules`. An entry
    /// that fails them is evicted.
    pub(crate) fn get(
        &self,
        digest: &Digest,
        generation: u64,
        now: u64,
        rules: &ClaimRules,
    ) -> Option<Arc<Entry>> {
        self.observe(generation);
        let entry = self.entries.get(digest)?;
        if entry.generation != generation {
            // Verified under other keys: only a fresh verification may vouch for it now.
            return None;
        }
        let claims = &entry.claims;
        if rules.times_ok(claims.exp, claims.nbf, claims.iat, now) {
            Some(entry)
        } else {
            self.entries.remove(digest);
            None
        }
    }

    /// Stores a verified token's entry.
    pub(crate) fn insert(&self, digest: Digest, entry: Entry) {
        self.entries.insert(digest, Arc::new(entry));
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Clears the cache the first time a newer key generation is seen: its entries can never
    /// be returned again, and keeping them would only hold memory.
    fn observe(&self, generation: u64) {
        let seen = self.generation.fetch_max(generation, Ordering::AcqRel);
        if seen < generation {
            self.entries.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rules(leeway_secs: u64) -> ClaimRules {
        ClaimRules {
            issuer: "https://idp.test".into(),
            leeway_secs,
            audience: None,
            authorized_parties: None,
            require_sid: false,
            reject_pending: false,
            max_lifetime_secs: None,
        }
    }

    fn entry(exp: u64, nbf: Option<u64>, generation: u64) -> Entry {
        let claims = Claims {
            iss: "https://idp.test".into(),
            sub: "user_1".into(),
            aud: Vec::new(),
            exp,
            nbf,
            iat: nbf,
            jti: None,
            azp: None,
            sid: None,
            sts: None,
            extra: serde_json::Map::new(),
        };
        Entry::new(claims, Some("k1".into()), generation)
    }

    #[test]
    fn capacity_zero_disables() {
        assert!(TokenCache::new(0).is_none());
    }

    #[test]
    fn exp_is_checked_with_the_leeway_on_every_hit_and_expired_entries_are_evicted() {
        let cache = TokenCache::new(8).unwrap();
        cache.insert([1; 32], entry(NOW, Some(NOW - 10), 0));
        let rules = rules(5);
        assert!(cache.get(&[1; 32], 0, NOW, &rules).is_some());
        assert!(
            cache.get(&[1; 32], 0, NOW + 5, &rules).is_some(),
            "within the leeway"
        );
        assert!(
            cache.get(&[1; 32], 0, NOW + 6, &rules).is_none(),
            "past exp + leeway"
        );
        assert_eq!(cache.len(), 0, "evicted");
        // Even if the clock steps back, the evicted entry is gone: a full check decides.
        assert!(cache.get(&[1; 32], 0, NOW, &rules).is_none());
    }

    #[test]
    fn nbf_and_iat_are_checked_on_every_hit() {
        let cache = TokenCache::new(8).unwrap();
        cache.insert([2; 32], entry(NOW + 100, Some(NOW), 0));
        let rules = rules(5);
        assert!(cache.get(&[2; 32], 0, NOW - 5, &rules).is_some());
        // The clock stepped back past nbf - leeway.
        assert!(cache.get(&[2; 32], 0, NOW - 6, &rules).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn entries_of_another_key_generation_are_never_returned_and_a_new_one_flushes() {
        let cache = TokenCache::new(8).unwrap();
        let rules = rules(0);
        cache.insert([3; 32], entry(NOW + 100, None, 0));
        cache.insert([4; 32], entry(NOW + 100, None, 0));
        assert!(cache.get(&[3; 32], 0, NOW, &rules).is_some());
        assert!(cache.get(&[3; 32], 1, NOW, &rules).is_none());
        assert_eq!(cache.len(), 0, "the new generation cleared the cache");
        // A verification that started under generation 0 and finishes after the change.
        cache.insert([4; 32], entry(NOW + 100, None, 0));
        assert!(cache.get(&[4; 32], 1, NOW, &rules).is_none());
        // A reader that still saw generation 0 neither flushes nor gets a generation-1 entry.
        cache.insert([5; 32], entry(NOW + 100, None, 1));
        assert!(cache.get(&[5; 32], 0, NOW, &rules).is_none());
        assert!(cache.get(&[5; 32], 1, NOW, &rules).is_some());
    }

    #[test]
    fn the_bound_holds_with_many_distinct_tokens() {
        let cache = TokenCache::new(16).unwrap();
        for i in 0..1000u32 {
            let mut digest = [0; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            cache.insert(digest, entry(NOW + 100, None, 0));
            assert!(cache.len() <= 16, "{} entries after {i}", cache.len());
        }
    }
}
