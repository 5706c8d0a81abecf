//! In-memory caches for the proxy's hot path: API key → tenant, and appid →
//! authorizer (owner, status, granted sets). With them a proxied call reads
//! nothing from the database in the steady state.
//!
//! Writes through [`Store`] forget the entries they change on this replica at
//! once; other replicas see the change when their entry expires (the TTL,
//! 10 s by default), which bounds how long a revoked authorization or key can
//! still be used elsewhere. Negative answers are cached too, for a shorter
//! time, so a flood of bad keys costs one query per key, not one per call.
//!
//! Written here rather than taken from a crate: two maps with a TTL and a size
//! cap; a general cache (moka) would add more compile time than code.
use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    authorizers::AuthorizerInfo,
    entity::{api_key, tenant},
};

/// Entries per map before expired ones are swept (and, if still full, all
/// dropped): bounds memory whatever the traffic.
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let map = self.lock();
        map.get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(v, _)| v.clone())
    }

    pub(crate) fn insert(&self, key: K, value: V, ttl: Duration) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, now + ttl));
    }

    pub(crate) fn remove(&self, key: &K) {
        self.lock().remove(key);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

pub(crate) type KeyEntry = Option<(api_key::Model, tenant::Model)>;

pub(crate) struct HotCache {
    pub(crate) ttl: Duration,
    /// By key hash; `None`: unknown, revoked or suspended.
    pub(crate) api_keys: TtlMap<String, KeyEntry>,
    pub(crate) authorizers: TtlMap<String, Option<AuthorizerInfo>>,
}

impl HotCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            api_keys: TtlMap::new(),
            authorizers: TtlMap::new(),
        }
    }

    /// Negative answers live a fifth as long (at least a second).
    pub(crate) fn negative_ttl(&self) -> Duration {
        (self.ttl / 5).max(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let map: TtlMap<&str, u32> = TtlMap::new();
        map.insert("a", 1, Duration::from_secs(60));
        map.insert("b", 2, Duration::ZERO);
        assert_eq!(map.get(&"a"), Some(1));
        assert_eq!(map.get(&"b"), None, "expired");
        map.remove(&"a");
        assert_eq!(map.get(&"a"), None);
    }
}
