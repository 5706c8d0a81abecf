//! "Exactly one refresh across replicas": the loop every token refresh runs.
//!
//! 1. The in-process single-flight ([`store::coord::KeyedLocks`]) lets one
//!    task per process through; the rest wait for it and then find the token
//!    fresh.
//! 2. That task re-reads the token: if it is usable (another replica
//!    refreshed it), done.
//! 3. Else it tries the cross-replica lease. Busy: another replica is
//!    refreshing; poll (jittered) until the token becomes usable or the lease
//!    frees up, for at most `lease_wait`. Taken: re-read once more under the
//!    lease (the previous holder may have committed just before releasing),
//!    then refresh, commit, release. The lease is renewed while held; the
//!    refresh gets its [`LeaseFence`] and commits only while it holds, so a
//!    holder that stalled past its lease never writes.
use std::{future::Future, time::Instant};

use rand::Rng as _;
use store::coord::LeaseFence;

use crate::{AuthError, TenantAuth, metrics};

impl TenantAuth {
    /// Runs `refresh` for `key` only if `usable` finds nothing usable in what
    /// `load` reads, with at most one refresh at a time across replicas.
    /// `kind` labels the metrics (`component`, `authorizer`).
    pub(crate) async fn refresh_exclusively<S, V, L, LF, R, RF>(
        &self,
        kind: &'static str,
        key: &str,
        load: L,
        usable: impl Fn(&S) -> Option<V>,
        refresh: R,
    ) -> Result<V, AuthError>
    where
        L: Fn() -> LF,
        LF: Future<Output = Result<S, AuthError>>,
        R: FnOnce(S, LeaseFence) -> RF,
        RF: Future<Output = Result<V, AuthError>>,
    {
        let _local = self.locks.lock(key).await;
        let settings = &self.config.tokens;
        let started = Instant::now();
        let lease_name = format!("{}:{key}", self.config.appid);
        loop {
            let snapshot = load().await?;
            if let Some(value) = usable(&snapshot) {
                if started.elapsed() > settings.lease_poll {
                    metrics::lock_waited(kind, started.elapsed());
                }
                return Ok(value);
            }
            if let Some(lease) = self
                .store
                .try_lease(&lease_name, settings.lease_ttl)
                .await?
            {
                metrics::lock_waited(kind, started.elapsed());
                // The previous holder may have committed just before it let go.
                let snapshot = load().await?;
                if let Some(value) = usable(&snapshot) {
                    lease.release().await;
                    return Ok(value);
                }
                let result = refresh(snapshot, lease.fence()).await;
                if matches!(result, Err(AuthError::InjectedCrash)) {
                    // A dead process releases nothing: others wait out the ttl.
                    lease.abandon();
                } else {
                    lease.release().await;
                }
                return result;
            }
            if started.elapsed() >= settings.lease_wait {
                metrics::lock_waited(kind, started.elapsed());
                return Err(AuthError::LeaseTimeout {
                    name: lease_name,
                    waited: started.elapsed(),
                });
            }
            let poll = settings.lease_poll.as_secs_f64() * rand::rng().random_range(0.5..1.5);
            tokio::time::sleep(std::time::Duration::from_secs_f64(poll)).await;
        }
    }
}
