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
use std::{
    future::Future,
    time::{Duration, Instant},
};

use rand::Rng as _;
use store::coord::LeaseFence;

use crate::{AuthError, TenantAuth, TokenSettings, config::LEASE_POLL, metrics};

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
        let lease_name = format!("{}:{key}", self.config.component.appid);
        loop {
            let snapshot = load().await?;
            if let Some(value) = usable(&snapshot) {
                if started.elapsed() > LEASE_POLL {
                    metrics::lock_waited(kind, started.elapsed());
                }
                return Ok(value);
            }
            if let Some(lease) = self
                .store
                .try_lease(&lease_name, settings.lease_ttl())
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
            let jitter = rand::rng().random_range(0.5..1.5);
            let Some(poll) = next_poll(started.elapsed(), settings, jitter) else {
                metrics::lock_waited(kind, started.elapsed());
                return Err(AuthError::LeaseTimeout {
                    name: lease_name,
                    waited: started.elapsed(),
                });
            };
            tokio::time::sleep(poll).await;
        }
    }
}

/// How long to wait, having waited `waited` for another replica's refresh,
/// before the next look: [`LEASE_POLL`] times `jitter` (drawn from 0.5–1.5,
/// so waiting replicas do not poll in step); `None` once `lease_wait` is
/// used up.
fn next_poll(waited: Duration, settings: &TokenSettings, jitter: f64) -> Option<Duration> {
    (waited < settings.lease_wait())
        .then(|| Duration::from_secs_f64(LEASE_POLL.as_secs_f64() * jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_poll_jittered_until_the_lease_wait_is_used_up() {
        let settings = TokenSettings {
            lease_wait_secs: 25,
            ..TokenSettings::default()
        };
        let ms = Duration::from_millis;
        assert_eq!(next_poll(Duration::ZERO, &settings, 1.0), Some(ms(100)));
        assert_eq!(next_poll(ms(300), &settings, 0.5), Some(ms(50)));
        assert_eq!(next_poll(ms(24_999), &settings, 1.5), Some(ms(150)));
        // The wait is a bound: at it, or past it, the caller gives up.
        assert_eq!(next_poll(Duration::from_secs(25), &settings, 1.0), None);
        assert_eq!(next_poll(Duration::from_secs(60), &settings, 0.5), None);
    }
}
