//! The background refresh sweep: keeps recently used authorizers' tokens
//! fresh before callers need them, at a steady rate.
//!
//! Refreshing every token when it enters the margin would follow the
//! authorizations' own rhythm: 10 000 Mini Programs onboarded in one hour
//! would all refresh in one hour, two hours later, forever (the thundering
//! herd). Instead each tick refreshes a *budget* of tokens, oldest first:
//! `active × interval / (lifetime − margin − min_age)`, the rate at which
//! every active token is renewed once per usable lifetime, raised to the
//! pace that refreshes every token before it turns urgent (so tokens issued
//! together do not all turn urgent together; the horizons' spacing leaves a
//! smaller burst at the end of the first cycle). Refreshing the soonest-expiring
//! first spreads expiries out, so after one cycle the load is flat whatever
//! the starting point. Tokens that would otherwise enter the margin before
//! the next tick are refreshed regardless of the budget, and the lazy
//! refresh on use remains the safety net.
//!
//! Every replica sweeps; the per-token lease and re-read make a token that
//! two replicas both pick refresh once.
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::task::JoinSet;

use crate::{
    AuthError, TenantAuth,
    config::{TOKEN_LIFETIME, TokenSettings},
    metrics,
};

/// How many horizons [`SweepPolicy::pace`] looks at (about four ticks
/// apart with the defaults).
const HORIZONS: i32 = 48;

/// The sweep's sizing, derived from [`TokenSettings`] and the margin.
#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    pub interval: Duration,
    pub margin: Duration,
    pub lifetime: Duration,
    pub min_age: Duration,
    pub active_window: Duration,
}

impl SweepPolicy {
    pub fn new(settings: &TokenSettings, margin: StdDuration) -> Self {
        let d = |s: StdDuration| Duration::from_std(s).unwrap_or(Duration::zero());
        Self {
            interval: d(settings.sweep_interval()),
            margin: d(margin),
            lifetime: d(TOKEN_LIFETIME),
            min_age: d(settings.sweep_min_token_age()),
            active_window: d(settings.sweep_active_window()),
        }
    }

    /// Seconds in which every active token must be renewed once.
    fn cycle(&self) -> Duration {
        (self.lifetime - self.margin - self.min_age).max(self.interval.max(Duration::seconds(1)))
    }

    /// Tokens to refresh per tick for `active` authorizers.
    pub fn budget(&self, active: u64) -> u64 {
        let per_tick = active as f64 * self.interval.num_milliseconds() as f64
            / self.cycle().num_milliseconds() as f64;
        per_tick.ceil() as u64
    }

    /// Where the sweep counts expiring tokens ([`SweepPolicy::pace`]):
    /// evenly from the urgent line to the candidates' end.
    pub fn horizons(&self, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let first = self.urgent_before(now);
        let span = (self.candidate_before(now) - first).max(self.interval);
        (1..=HORIZONS)
            .map(|k| first + span * k / HORIZONS)
            .collect()
    }

    /// Refreshes per tick that get every token refreshed before it turns
    /// urgent: the tokens expiring before a horizon must all be done in the
    /// ticks until that horizon reaches the urgent line. The budget alone
    /// would let a crowd issued together (a mass onboarding, the end of an
    /// outage) turn urgent together at the end of its first cycle, a burst
    /// of up to twice the budget in a tick; this raises the pace smoothly
    /// instead (a few percent). Horizons are about four ticks apart, so the
    /// pace can run a little behind near the end of a crowd's first cycle.
    pub fn pace(&self, now: DateTime<Utc>, expiring_before: &[u64]) -> u64 {
        let urgent_line = self.urgent_before(now);
        let interval_ms = self.interval.num_milliseconds().max(1);
        self.horizons(now)
            .into_iter()
            .zip(expiring_before)
            .map(|(horizon, &count)| {
                let ticks = (horizon - urgent_line).num_milliseconds() / interval_ms + 1;
                count.div_ceil(u64::try_from(ticks.max(1)).unwrap_or(1))
            })
            .max()
            .unwrap_or(0)
    }

    /// Tokens expiring before this are candidates (at least `min_age` old).
    pub fn candidate_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.lifetime - self.min_age
    }

    /// Tokens expiring before this must be refreshed this tick, budget or
    /// not: by the next tick they would be inside the margin.
    pub fn urgent_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.margin + self.interval * 2
    }

    /// From candidates sorted soonest-expiring first (a missing token sorts
    /// as already expired), how many to refresh now.
    pub fn take(
        &self,
        now: DateTime<Utc>,
        budget: u64,
        candidates: &[(String, Option<DateTime<Utc>>)],
    ) -> usize {
        let urgent_before = self.urgent_before(now);
        let urgent = candidates
            .iter()
            .take_while(|(_, expires)| expires.is_none_or(|e| e < urgent_before))
            .count();
        urgent.max(
            usize::try_from(budget)
                .unwrap_or(usize::MAX)
                .min(candidates.len()),
        )
    }
}

/// What one sweep tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub active: u64,
    pub budget: u64,
    pub candidates: usize,
    pub selected: usize,
    pub refreshed: usize,
    pub failed: usize,
}

impl TenantAuth {
    pub fn sweep_policy(&self) -> SweepPolicy {
        SweepPolicy::new(&self.config.tokens, self.config.wechat.refresh_margin())
    }

    /// One tick of the sweep (the binary runs it every `tokens.sweep_interval_secs`).
    pub async fn sweep_authorizer_tokens(&self) -> Result<SweepReport, AuthError> {
        self.prune_touches();
        let policy = self.sweep_policy();
        let now = self.clock.now();
        let active_since = now - policy.active_window;
        let (active, expiring) = self
            .store
            .refresh_outlook(active_since, &policy.horizons(now))
            .await?;
        let budget = policy.budget(active).max(policy.pace(now, &expiring));
        // Urgent ones come first in the ordering; fetch a little beyond the
        // budget so a backlog of urgent tokens is seen.
        let limit = budget.saturating_mul(2).max(64);
        let candidates = self
            .store
            .authorizers_to_refresh(policy.candidate_before(now), active_since, limit)
            .await?;
        self.record_token_gauges(now, &policy, &candidates);
        let selected = policy.take(now, budget, &candidates);
        let mut report = SweepReport {
            active,
            budget,
            candidates: candidates.len(),
            selected,
            ..Default::default()
        };
        let due_before = policy.candidate_before(now);
        let concurrency = self.config.tokens.sweep_concurrency.max(1);
        let mut queue = candidates
            .into_iter()
            .take(selected)
            .map(|(appid, _)| appid);
        let mut running = JoinSet::new();
        loop {
            while running.len() < concurrency {
                let Some(appid) = queue.next() else { break };
                let auth = self.clone();
                running.spawn(async move {
                    let result = auth.refresh_ahead(&appid, due_before).await;
                    (appid, result)
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok((_, Ok(_))) => {
                    report.refreshed += 1;
                    ::metrics::counter!(metrics::SWEEP_REFRESHES, "outcome" => "ok").increment(1);
                }
                Ok((appid, Err(e))) => {
                    report.failed += 1;
                    ::metrics::counter!(metrics::SWEEP_REFRESHES, "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(authorizer.appid = %appid, error = %e, "sweep refresh failed");
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(error = %e, "sweep refresh task failed");
                }
            }
        }
        Ok(report)
    }

    fn record_token_gauges(
        &self,
        now: DateTime<Utc>,
        policy: &SweepPolicy,
        candidates: &[(String, Option<DateTime<Utc>>)],
    ) {
        let soonest = candidates
            .first()
            .map(|(_, e)| e.map_or(0, |e| (e - now).num_seconds()));
        if let Some(secs) = soonest {
            ::metrics::gauge!(metrics::AUTHORIZER_TOKEN_MIN_TTL).set(secs as f64);
        }
        let margin_end = now + policy.margin;
        let in_margin = candidates
            .iter()
            .take_while(|(_, e)| e.is_none_or(|e| e < margin_end))
            .count();
        ::metrics::gauge!(metrics::AUTHORIZER_TOKENS_IN_MARGIN).set(in_margin as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SweepPolicy {
        SweepPolicy::new(&TokenSettings::default(), StdDuration::from_secs(600))
    }

    #[test]
    fn budget_renews_every_active_token_once_per_cycle() {
        let p = policy();
        // cycle = 7200 − 600 − 600 = 6000 s; 30 s ticks → 200 ticks per cycle.
        assert_eq!(p.cycle(), Duration::seconds(6000));
        assert_eq!(p.budget(100_000), 500);
        assert_eq!(p.budget(1), 1);
        assert_eq!(p.budget(0), 0);
    }

    #[test]
    fn the_pace_refreshes_a_crowd_before_it_turns_urgent() {
        let p = policy();
        let now = Utc::now();
        let horizons = p.horizons(now);
        assert_eq!(horizons.len(), HORIZONS as usize);
        assert_eq!(horizons.last(), Some(&p.candidate_before(now)));
        // Nothing expiring: no pace beyond the budget.
        assert_eq!(p.pace(now, &vec![0; horizons.len()]), 0);
        // 100 000 tokens all expiring just before the last horizon: done in
        // the 199 ticks until it reaches the urgent line (now + 660 s), a
        // little above the budget's 500.
        let mut crowd = vec![0; horizons.len()];
        *crowd.last_mut().unwrap() = 100_000;
        let ticks = (p.candidate_before(now) - p.urgent_before(now)).num_seconds() / 30 + 1;
        assert_eq!(ticks, 199);
        assert_eq!(p.pace(now, &crowd), 100_000u64.div_ceil(199));
        // Tokens spread evenly over the lifetime: the budget's pace.
        let spread: Vec<u64> = (1..=horizons.len() as u64).map(|k| k * 2_000).collect();
        assert!(p.pace(now, &spread) <= 2_000u64.div_ceil(4) + 1);
    }

    #[test]
    fn urgent_tokens_are_taken_beyond_the_budget() {
        let p = policy();
        let now = Utc::now();
        let at = |secs| Some(now + Duration::seconds(secs));
        let candidates = vec![
            ("a".to_owned(), None),
            ("b".to_owned(), at(300)),
            ("c".to_owned(), at(600 + 59)),
            ("d".to_owned(), at(3000)),
            ("e".to_owned(), at(4000)),
        ];
        // a, b, c would be inside the margin by the next tick.
        assert_eq!(p.take(now, 1, &candidates), 3);
        assert_eq!(p.take(now, 4, &candidates), 4);
        assert_eq!(p.take(now, 10, &candidates), 5);
        assert_eq!(p.take(now, 0, &[]), 0);
    }
}
