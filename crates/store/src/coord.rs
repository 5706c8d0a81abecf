//! Coordination between concurrent refreshes, inside one process and across
//! replicas.
//!
//! - [`KeyedLocks`]: one async mutex per key, so within a process only one
//!   task works on a given token while the others wait and then re-read the
//!   fresh value (single-flight). It sits in front of the lease, so a burst
//!   of callers costs one Redis round trip, not one each.
//! - [`Store::try_lease`]: a cross-replica lock with an expiry. With Redis it
//!   is `SET key holder NX PX ttl`, released by a compare-and-delete script so
//!   a holder whose lease already expired cannot delete its successor's. Without
//!   Redis (or when Redis fails), a row in `leases` taken by an upsert that
//!   only overwrites an expired lease, so replicas sharing one Postgres are
//!   still exclusive. While held, a lease is renewed every `ttl / 3` (a
//!   heartbeat), so `ttl` can be a few seconds whatever WeChat's timeout:
//!   a holder killed mid-refresh stops renewing and its lease lapses within
//!   `ttl`. A renewal that finds the lease gone (or cannot reach the backend
//!   before `ttl` passes) marks it lost: [`LeaseFence::is_held`] turns false
//!   and the holder must not commit.
//!
//! A lease is an optimisation for "exactly once", not the last line of
//! defence: token writes are compare-and-set on a version column, so even a
//! holder that stalled past its lease can never overwrite a newer token.
//! (Mixing backends, e.g. one replica on Redis while another's Redis calls
//! fail, can let both refresh once; the CAS keeps that harmless.)
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    ConnectionTrait,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::{Store, StoreError};

#[derive(Default, Clone)]
pub struct KeyedLocks {
    // std Mutex: held only to look up or insert the per-key lock, never across
    // an await. Entries are removed when no one holds or waits for them, so
    // the map holds only keys in use (100 000 authorizers must not leave
    // 100 000 idle mutexes behind).
    inner: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Holds a [`KeyedLocks`] key; dropping it unlocks and prunes the entry.
pub struct KeyedGuard {
    guard: Option<OwnedMutexGuard<()>>,
    key: String,
    locks: KeyedLocks,
}

impl Drop for KeyedGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the map holds it: nobody holds or waits for this key.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> KeyedGuard {
        let lock = {
            let mut map = self
                .inner
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        KeyedGuard {
            guard: Some(lock.lock_owned().await),
            key: key.to_owned(),
            locks: self.clone(),
        }
    }

    /// Keys currently held or waited for.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which mechanism granted a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseBackend {
    Redis,
    Database,
}

impl LeaseBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseBackend::Redis => "redis",
            LeaseBackend::Database => "database",
        }
    }
}

/// A held cross-replica lease. Release it with [`Lease::release`]; dropping
/// it releases in the background (best effort).
pub struct Lease {
    name: String,
    holder: String,
    backend: LeaseBackend,
    store: Store,
    done: bool,
    fence: LeaseFence,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

/// Whether a [`Lease`] is still held: false once a renewal found it taken
/// over or could not renew it in time. Check it right before committing
/// what the lease protects.
#[derive(Debug, Clone)]
pub struct LeaseFence(Arc<AtomicBool>);

impl LeaseFence {
    pub fn is_held(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn lost(&self) {
        self.0.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("backend", &self.backend)
            .finish()
    }
}

/// Compare-and-extend: only the holder may renew its lease.
const RENEW_SCRIPT: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
"#;

/// Compare-and-delete: only the holder that set the key may delete it.
const RELEASE_SCRIPT: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
"#;

const LEASES: &str = "leases";

/// A Redis call that takes longer than this counts as a Redis failure, and
/// the lease falls back to the database.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl Lease {
    pub fn backend(&self) -> LeaseBackend {
        self.backend
    }

    pub fn fence(&self) -> LeaseFence {
        self.fence.clone()
    }

    pub async fn release(mut self) {
        self.done = true;
        self.stop_renewing();
        release(&self.store, self.backend, &self.name, &self.holder).await;
    }

    /// Forget the lease without releasing it, as a process that dies does:
    /// renewals stop and others get it once its ttl has passed. For
    /// fault-injection tests.
    pub fn abandon(mut self) {
        self.done = true;
        self.stop_renewing();
    }

    fn stop_renewing(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop_renewing();
        if self.done {
            return;
        }
        // Cancelled while holding it: release without blocking the drop.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (store, backend, name, holder) = (
                self.store.clone(),
                self.backend,
                std::mem::take(&mut self.name),
                std::mem::take(&mut self.holder),
            );
            handle.spawn(async move { release(&store, backend, &name, &holder).await });
        }
    }
}

async fn release(store: &Store, backend: LeaseBackend, name: &str, holder: &str) {
    let result = match backend {
        LeaseBackend::Redis => match store.redis() {
            Some(conn) => {
                let mut conn = conn.clone();
                let script = redis::Script::new(RELEASE_SCRIPT);
                let mut invocation = script.key(store.redis_key(&format!("lease:{name}")));
                invocation.arg(holder);
                tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(&mut conn))
                    .await
                    .map_err(|_| "timed out".to_owned())
                    .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
            }
            None => Ok(()),
        },
        LeaseBackend::Database => store
            .db()
            .execute(
                Query::delete()
                    .from_table(LEASES)
                    .and_where(ExprTrait::eq(Expr::col("name"), name))
                    .and_where(ExprTrait::eq(Expr::col("holder"), holder)),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    if let Err(error) = result {
        // It expires by itself; the next holder waits at most its ttl.
        tracing::warn!(lease = name, backend = backend.as_str(), error = %error, "lease release failed");
    }
}

/// Extends the lease by `ttl` if `holder` still has it: `Ok(false)` when it
/// was taken over (or expired and vanished).
async fn renew(
    store: &Store,
    backend: LeaseBackend,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, String> {
    let ttl_ms = std::cmp::max(1, i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    match backend {
        LeaseBackend::Redis => {
            let Some(conn) = store.redis() else {
                return Ok(false);
            };
            let mut conn = conn.clone();
            let script = redis::Script::new(RENEW_SCRIPT);
            let mut invocation = script.key(store.redis_key(&format!("lease:{name}")));
            invocation.arg(holder).arg(ttl_ms);
            tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(&mut conn))
                .await
                .map_err(|_| "timed out".to_owned())?
                .map(|renewed| renewed == 1)
                .map_err(|e| e.to_string())
        }
        LeaseBackend::Database => {
            let now_ms = crate::now().timestamp_millis();
            store
                .db()
                .execute(
                    Query::update()
                        .table(LEASES)
                        .value("expires_at_ms", now_ms.saturating_add(ttl_ms))
                        .and_where(ExprTrait::eq(Expr::col("name"), name))
                        .and_where(ExprTrait::eq(Expr::col("holder"), holder)),
                )
                .await
                .map(|r| r.rows_affected() == 1)
                .map_err(|e| e.to_string())
        }
    }
}

/// The heartbeat: renews every `ttl / 3` until aborted; marks the fence
/// lost when the lease was taken over or no renewal succeeded within `ttl`.
async fn keep_renewed(
    store: Store,
    backend: LeaseBackend,
    name: String,
    holder: String,
    ttl: Duration,
    fence: LeaseFence,
) {
    let period = (ttl / 3).max(Duration::from_millis(10));
    let mut valid_until = tokio::time::Instant::now() + ttl;
    loop {
        tokio::time::sleep(period).await;
        let attempt_started = tokio::time::Instant::now();
        match renew(&store, backend, &name, &holder, ttl).await {
            Ok(true) => valid_until = attempt_started + ttl,
            Ok(false) => {
                tracing::warn!(lease = %name, backend = backend.as_str(), "lease lost to another holder; not committing");
                fence.lost();
                return;
            }
            Err(error) => {
                tracing::warn!(lease = %name, backend = backend.as_str(), error = %error, "lease renewal failed");
            }
        }
        if tokio::time::Instant::now() >= valid_until {
            tracing::warn!(lease = %name, "lease could not be renewed in time; treating it as lost");
            fence.lost();
            return;
        }
    }
}

impl Store {
    /// Tries once to take the lease `name` for `ttl`. `Ok(None)`: another
    /// holder has it; wait and re-read whatever it protects.
    pub async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let holder = uuid::Uuid::new_v4().simple().to_string();
        if let Some(conn) = self.redis() {
            let mut conn = conn.clone();
            let ttl_ms = std::cmp::max(1, u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.redis_key(&format!("lease:{name}")))
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms);
            let set = cmd.query_async::<Option<String>>(&mut conn);
            match tokio::time::timeout(REDIS_TIMEOUT, set).await {
                Ok(Ok(reply)) => {
                    return Ok(reply.map(|_| self.lease(name, holder, LeaseBackend::Redis, ttl)));
                }
                Ok(Err(e)) => {
                    tracing::warn!(lease = name, error = %e, "Redis lease failed; using the database lease");
                }
                Err(_) => {
                    tracing::warn!(
                        lease = name,
                        "Redis lease timed out; using the database lease"
                    );
                }
            }
        }
        self.try_db_lease(name, holder, ttl).await
    }

    async fn try_db_lease(
        &self,
        name: &str,
        holder: String,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let now_ms = crate::now().timestamp_millis();
        let until = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        // Inserts a new lease, or takes over an expired one; a live lease is
        // left alone and no row changes.
        let insert = Query::insert()
            .into_table(LEASES)
            .columns(["name", "holder", "expires_at_ms"])
            .values([name.into(), holder.clone().into(), until.into()])
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?
            .on_conflict(
                OnConflict::column("name")
                    .update_columns(["holder", "expires_at_ms"])
                    .action_and_where(Expr::col((LEASES, "expires_at_ms")).lt(now_ms))
                    .to_owned(),
            )
            .to_owned();
        let result = self.db().execute(&insert).await?;
        Ok((result.rows_affected() == 1)
            .then(|| self.lease(name, holder, LeaseBackend::Database, ttl)))
    }

    fn lease(&self, name: &str, holder: String, backend: LeaseBackend, ttl: Duration) -> Lease {
        let fence = LeaseFence(Arc::new(AtomicBool::new(true)));
        let renewer = tokio::spawn(keep_renewed(
            self.clone(),
            backend,
            name.to_owned(),
            holder.clone(),
            ttl,
            fence.clone(),
        ));
        Lease {
            name: name.to_owned(),
            holder,
            backend,
            store: self.clone(),
            done: false,
            fence,
            renewer: Some(renewer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_key_is_exclusive_and_pruned() {
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
        assert!(locks.is_empty(), "idle keys are pruned");
    }

    use crate::memory_store as sqlite_store;

    #[tokio::test]
    async fn a_held_lease_is_renewed_and_an_abandoned_one_lapses_within_its_ttl() {
        let store = sqlite_store().await;
        let ttl = Duration::from_millis(300);
        let held = store.try_lease("a", ttl).await.unwrap().expect("free");
        // Held well past its ttl: the heartbeat keeps it.
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(held.fence().is_held());
        assert!(store.try_lease("a", ttl).await.unwrap().is_none());
        let fence = held.fence();
        held.abandon();
        tokio::time::sleep(Duration::from_millis(350)).await;
        let next = store.try_lease("a", ttl).await.unwrap().expect("lapsed");
        assert!(fence.is_held(), "an abandoned lease's fence is not updated");
        next.release().await;
    }

    #[tokio::test]
    async fn a_lease_taken_over_marks_its_fence_lost() {
        let store = sqlite_store().await;
        let ttl = Duration::from_millis(300);
        let held = store.try_lease("a", ttl).await.unwrap().expect("free");
        // Someone else's row, as after a takeover while this holder stalled.
        store
            .db()
            .execute_unprepared("UPDATE leases SET holder = 'other' WHERE name = 'a'")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!held.fence().is_held());
        held.abandon();
    }

    #[tokio::test]
    async fn database_lease_is_exclusive_until_released_or_expired() {
        let store = sqlite_store().await;
        let ttl = Duration::from_millis(300);
        let first = store.try_lease("a", ttl).await.unwrap().expect("free");
        assert_eq!(first.backend(), LeaseBackend::Database);
        assert!(store.try_lease("a", ttl).await.unwrap().is_none(), "held");
        assert!(
            store.try_lease("b", ttl).await.unwrap().is_some(),
            "other name"
        );
        first.release().await;
        let second = store.try_lease("a", ttl).await.unwrap().expect("released");
        // A holder that dies keeps it until the ttl passes.
        second.abandon();
        assert!(store.try_lease("a", ttl).await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(
            store.try_lease("a", ttl).await.unwrap().is_some(),
            "expired lease taken over"
        );
    }
}
