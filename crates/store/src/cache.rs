//! In-memory caches for the proxy's hot path: API key → tenant, and appid →
//! authorizer (owner, status, granted sets). With them a proxied call reads
//! nothing from the database in the steady state.
//!
//! Writes through [`Store`] forget the entries they change on this replica at
//! once, and those that revoke or suspend something tell the other replicas
//! over Redis pub/sub ([`Store::forget_cached_everywhere`]); without Redis (one
//! replica) or while it is unreachable, the TTL (10 s by default) bounds how
//! long a revoked authorization or key can still be used elsewhere. Negative answers are cached too, for a shorter
//! time, so a flood of bad keys costs one query per key, not one per call.
//!
//! Written here rather than taken from a crate: two maps with a TTL and a size
//! cap; a general cache (moka) would add more compile time than code.
use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::authorizers::AuthorizerInfo;

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

    /// Inserts unless `epoch` moved on from `expected` (a forget happened
    /// while the value was being read, so it may be stale). Checked under
    /// the map's lock, which forgets also take, so no stale value lands after
    /// a forget.
    pub(crate) fn insert_if(
        &self,
        epoch: &AtomicU64,
        expected: u64,
        key: K,
        value: V,
        ttl: Duration,
    ) {
        let now = Instant::now();
        let mut map = self.lock();
        if epoch.load(Ordering::SeqCst) != expected {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, now + ttl));
    }

    /// Bumps `epoch` and removes `key` (all keys when None), under the lock.
    fn forget(&self, epoch: &AtomicU64, key: Option<&K>) {
        let mut map = self.lock();
        epoch.fetch_add(1, Ordering::SeqCst);
        match key {
            Some(k) => {
                map.remove(k);
            }
            None => map.clear(),
        }
    }
}

pub(crate) type KeyEntry = Option<(crate::api_keys::ApiKey, crate::tenants::Tenant)>;

pub(crate) struct HotCache {
    pub(crate) ttl: Duration,
    /// By key hash; `None`: unknown, revoked or suspended.
    pub(crate) api_keys: TtlMap<String, KeyEntry>,
    pub(crate) authorizers: TtlMap<String, Option<AuthorizerInfo>>,
    /// WeChat-host tokens by hash, with their key and tenant.
    pub(crate) host_tokens: TtlMap<String, Option<crate::wechat_host_tokens::TokenHolder>>,
    /// Bumped by every forget; a lookup inserts its answer only if no forget
    /// happened since it started (else a revoke racing a lookup could be
    /// undone for a whole TTL).
    epoch: AtomicU64,
}

impl HotCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            api_keys: TtlMap::new(),
            authorizers: TtlMap::new(),
            host_tokens: TtlMap::new(),
            epoch: AtomicU64::new(0),
        }
    }

    /// Read before a lookup whose answer will be cached.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn insert_key(&self, epoch: u64, hash: String, entry: KeyEntry) {
        let ttl = self.ttl_for(entry.is_some());
        self.api_keys
            .insert_if(&self.epoch, epoch, hash, entry, ttl);
    }

    pub(crate) fn insert_authorizer(
        &self,
        epoch: u64,
        appid: String,
        entry: Option<AuthorizerInfo>,
    ) {
        let ttl = self.ttl_for(entry.is_some());
        self.authorizers
            .insert_if(&self.epoch, epoch, appid, entry, ttl);
    }

    pub(crate) fn insert_host_token(
        &self,
        epoch: u64,
        hash: String,
        entry: Option<crate::wechat_host_tokens::TokenHolder>,
    ) {
        let ttl = self.ttl_for(entry.is_some());
        self.host_tokens
            .insert_if(&self.epoch, epoch, hash, entry, ttl);
    }

    pub(crate) fn forget_all(&self) {
        self.api_keys.forget(&self.epoch, None);
        self.authorizers.forget(&self.epoch, None);
        self.host_tokens.forget(&self.epoch, None);
    }

    pub(crate) fn forget_host_tokens(&self) {
        self.host_tokens.forget(&self.epoch, None);
    }

    pub(crate) fn forget_authorizer(&self, appid: &str) {
        self.authorizers
            .forget(&self.epoch, Some(&appid.to_owned()));
    }

    fn ttl_for(&self, found: bool) -> Duration {
        if found { self.ttl } else { self.negative_ttl() }
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
        let epoch = AtomicU64::new(0);
        let map: TtlMap<&str, u32> = TtlMap::new();
        map.insert_if(&epoch, 0, "a", 1, Duration::from_secs(60));
        map.insert_if(&epoch, 0, "b", 2, Duration::ZERO);
        assert_eq!(map.get(&"a"), Some(1));
        assert_eq!(map.get(&"b"), None, "expired");
        map.forget(&epoch, Some(&"a"));
        assert_eq!(map.get(&"a"), None);
    }

    #[test]
    fn a_lookup_that_raced_a_forget_is_not_cached() {
        let cache = HotCache::new(Duration::from_secs(60));
        let started = cache.epoch();
        // A revoke lands while the lookup reads the (now stale) row.
        cache.forget_all();
        cache.insert_authorizer(started, "wx1".into(), None);
        assert_eq!(cache.authorizers.get(&"wx1".to_owned()), None);
        let fresh = cache.epoch();
        cache.insert_authorizer(fresh, "wx1".into(), None);
        assert_eq!(cache.authorizers.get(&"wx1".to_owned()), Some(None));
    }
}
