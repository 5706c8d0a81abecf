//! [`Throttle`]: "at most N per window" for things that are not proxied
//! WeChat calls (onboarding pages per link and per client address, event
//! replays per tenant), on the same counters as the limits (Redis, shared
//! by every replica; this process's own while Redis is unreachable).
use chrono::{DateTime, Utc};
use store::Store;

use crate::counter::{CounterSpec, Counters};

/// A refused hit: try again in this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

/// One throttle rule: `limit` hits per `window_secs` per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Names the counters (`onboard-link`, `replay`, …).
    pub name: &'static str,
    pub limit: u64,
    pub window_secs: i64,
}

/// Fixed-window throttles. Cheap to clone; clones share counters.
#[derive(Clone)]
pub struct Throttle {
    counters: Counters,
}

impl Throttle {
    pub fn new(store: Store) -> Self {
        Self {
            counters: Counters::new(store),
        }
    }

    /// Counts one hit against every `(rule, key)` pair, all or none: `Err`
    /// (with the longest wait among the exhausted) when any is used up. A
    /// rule with a limit of 0 is off.
    pub async fn hit(&self, checks: &[(Rule, &str)], now: DateTime<Utc>) -> Result<(), Throttled> {
        let now_unix = now.timestamp();
        let checks: Vec<&(Rule, &str)> = checks.iter().filter(|(r, _)| r.limit > 0).collect();
        let specs: Vec<CounterSpec> = checks
            .iter()
            .map(|(rule, key)| {
                let window = rule.window_secs.max(1);
                let start = now_unix - now_unix.rem_euclid(window);
                CounterSpec {
                    key: self
                        .counters
                        .store()
                        .redis_key(&format!("throttle:{}:{start}:{key}", rule.name)),
                    limit: Some(rule.limit),
                    ttl_secs: window,
                }
            })
            .collect();
        let outcome = self.counters.check_and_increment(&specs, now_unix).await;
        match outcome.exhausted {
            None => Ok(()),
            Some(i) => {
                let window = checks.get(i).map_or(60, |(r, _)| r.window_secs.max(1));
                let reset = window - now_unix.rem_euclid(window);
                Err(Throttled {
                    retry_after_secs: u64::try_from(reset).unwrap_or(1).max(1),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hits_are_counted_per_key_and_window() {
        let store = Store::connect("sqlite::memory:", None, store::Sealer::for_testing())
            .await
            .unwrap();
        let throttle = Throttle::new(store);
        let rule = Rule {
            name: "t",
            limit: 2,
            window_secs: 60,
        };
        let now = DateTime::from_timestamp(1_700_000_040, 0).unwrap();
        assert!(throttle.hit(&[(rule, "a")], now).await.is_ok());
        assert!(throttle.hit(&[(rule, "a")], now).await.is_ok());
        let refused = throttle.hit(&[(rule, "a")], now).await.unwrap_err();
        assert_eq!(refused.retry_after_secs, 60);
        assert!(throttle.hit(&[(rule, "b")], now).await.is_ok(), "own key");
        let next_window = now + chrono::Duration::seconds(60);
        assert!(throttle.hit(&[(rule, "a")], next_window).await.is_ok());
        // Off when the limit is 0.
        let off = Rule { limit: 0, ..rule };
        for _ in 0..5 {
            assert!(throttle.hit(&[(off, "a")], now).await.is_ok());
        }
    }
}
