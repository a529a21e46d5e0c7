//! A small bounded TTL cache for TokenReview and SubjectAccessReview answers.
//!
//! The delegated authenticator and authorizer of `k8s.io/apiserver` cache
//! webhook answers for a few seconds (`--authentication-token-webhook-cache-ttl`,
//! `--authorization-webhook-cache-{authorized,unauthorized}-ttl`, 10 s each)
//! so that the HPA's polling does not turn into one API call per request.
//! Errors are never cached. Bounded: when full, expired entries are purged,
//! and if that frees nothing the cache starts over.
//!
//! Time is tokio's ([`tokio::time::Instant`]), so tests can expire entries
//! with a paused clock instead of sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Entries above this are not kept (an attacker cycling tokens cannot grow memory).
const MAX_ENTRIES: usize = 10_000;

/// Key → (value, expiry).
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new() -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value if present and not expired.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_entry(key).map(|(v, _)| v)
    }

    /// The value and its expiry, if present and not expired.
    pub fn get_entry(&self, key: &K) -> Option<(V, Instant)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(v, until)| (v.clone(), *until))
    }

    /// Stores `value` for `ttl` (a zero TTL stores nothing); returns the expiry.
    pub fn insert(&self, key: K, value: V, ttl: Duration) -> Instant {
        let until = Instant::now() + ttl;
        if !ttl.is_zero() {
            self.insert_until(key, value, until);
        }
        until
    }

    /// Stores `value` until `until` (a past instant stores nothing).
    pub fn insert_until(&self, key: K, value: V, until: Instant) {
        let now = Instant::now();
        if until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (value, until));
    }
}

impl<K: Hash + Eq, V: Clone> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expires_and_bounds() {
        let c = TtlCache::new();
        let until = c.insert(1, "a", Duration::from_millis(30));
        c.insert(2, "b", Duration::ZERO);
        assert_eq!(c.get(&1), Some("a"));
        assert_eq!(c.get_entry(&1), Some(("a", until)));
        assert_eq!(c.get(&2), None);
        tokio::time::advance(Duration::from_millis(29)).await;
        assert_eq!(c.get(&1), Some("a"));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(c.get(&1), None);
        // A past expiry stores nothing.
        c.insert_until(3, "c", Instant::now());
        assert_eq!(c.get(&3), None);
        for i in 0..(MAX_ENTRIES + 10) {
            c.insert(i, "x", Duration::from_secs(60));
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
