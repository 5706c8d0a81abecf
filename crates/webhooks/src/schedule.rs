//! When to try a failed delivery again.
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;

/// Delays after each failed attempt; after the last one the delivery is
/// dead-lettered. The default spans about 32 hours: a receiver down for a
/// day still gets every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// The default delays, in seconds (config `webhooks.retry_schedule_secs`).
pub const DEFAULT_DELAYS_SECS: &[u64] = &[
    10, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800, 28_800,
];

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::from_secs(DEFAULT_DELAYS_SECS)
    }
}

impl RetrySchedule {
    pub fn from_secs(delays: &[u64]) -> Self {
        Self {
            delays: delays.iter().map(|s| Duration::from_secs(*s)).collect(),
        }
    }

    /// When to retry after `attempts` attempts (≥ 1) failed, ±20 % jitter so
    /// deliveries that failed together do not retry together; None: give up.
    pub fn next_attempt(&self, attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let delay = self.delays.get(attempts.checked_sub(1)? as usize)?;
        let jitter = rand::rng().random_range(0.8..=1.2);
        let millis = (delay.as_millis() as f64 * jitter) as i64;
        Some(now + chrono::Duration::milliseconds(millis))
    }

    /// The whole span of retries (without jitter).
    pub fn total(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// Attempts in all: the first and one per delay.
    pub fn attempts(&self) -> usize {
        self.delays.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retries_for_more_than_a_day_then_gives_up() {
        let s = RetrySchedule::default();
        assert!(
            s.total() > Duration::from_secs(24 * 3600),
            "{:?}",
            s.total()
        );
        let now = Utc::now();
        let first = s.next_attempt(1, now).unwrap();
        let secs = (first - now).num_milliseconds();
        assert!((8_000..=12_000).contains(&secs), "{secs}");
        assert!(s.next_attempt(s.attempts() as u32 - 1, now).is_some());
        assert_eq!(s.next_attempt(s.attempts() as u32, now), None);
        assert_eq!(s.next_attempt(0, now), None);
    }
}
