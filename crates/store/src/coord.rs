//! Coordination between concurrent refreshes.
//!
//! [`KeyedLocks`] gives one async mutex per key (a component appid, an
//! authorizer appid) so that within one process only one task refreshes a
//! given token while the others wait and then re-read the fresh value
//! (single-flight). Cross-replica exclusion (a Redis `SET NX PX` lock, or a DB
//! lease without Redis) is layered on top of this in the "tokens exactly once
//! across replicas" work; the DB write itself is already compare-and-set on a
//! version column, so a lost race can never overwrite a newer token.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default, Clone)]
pub struct KeyedLocks {
    // std Mutex: held only to look up or insert the per-key lock, never across
    // an await. Entries are few (one per active appid) and tiny, so they are
    // kept rather than reference-counted away.
    inner: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self
                .inner
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_key_is_exclusive() {
        let locks = KeyedLocks::default();
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside, max) = (locks.clone(), inside.clone(), max.clone());
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock("wx1").await;
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
    }
}
