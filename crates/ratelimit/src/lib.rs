//! Rate limits on proxied WeChat calls, enforced before WeChat's quota is
//! spent: per API group, per appid, per user (openid) and per tenant, in
//! fixed windows (a day follows Asia/Shanghai, like WeChat's quotas).
//!
//! - [`policy`]: the policy model, the seed defaults (logistics-query plugin:
//!   100 000 calls/day per appid, 100/day per user) and which policy applies
//!   (appid over tenant over global).
//! - [`counter`]: one atomic check-and-increment of every counter of a call
//!   (a Redis Lua script, one round trip; in-process without Redis).
//! - [`RateLimiter`]: ties them together, renders the `RateLimit-Policy` /
//!   `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers) and reads
//!   usage for the admin API.
//!
//! - [`throttle`]: "N per window" for non-proxy things (onboarding pages,
//!   replays) on the same counters.
//!
//! Every call also counts its appid's daily usage per group (without a limit)
//! in the same script, so usage is there for every appid at no extra cost.
#![forbid(unsafe_code)]

pub mod counter;
pub mod metrics;
pub mod policy;
pub mod throttle;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
pub use counter::{CounterSpec, Counters, Outcome};
pub use policy::{ApiGroup, Dimension, Policy, PolicyError, PolicyTable, Scope, Window};
use store::{Store, StoreError};
pub use throttle::{Rule as ThrottleRule, Throttle, Throttled};

/// Daily usage counters are kept this long past their day, for the admin API.
const USAGE_HISTORY_SECS: i64 = 7 * 86_400;

/// One call to check.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub group: ApiGroup,
    pub tenant_id: &'a str,
    pub appid: &'a str,
    /// The user the call is about (the body's openid), when it names one.
    pub openid: Option<&'a str>,
}

/// Whom a counter counts.
#[derive(Debug, Clone, Copy)]
enum Subject<'a> {
    Appid(&'a str),
    User { appid: &'a str, openid: &'a str },
    Tenant(&'a str),
}

/// A limit's state after a check, for the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitState {
    pub name: String,
    pub limit: u64,
    pub remaining: u64,
    pub window_secs: i64,
    /// Seconds until the window resets.
    pub reset_secs: i64,
}

/// The verdict on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The limits that applied, in a stable order.
    pub limits: Vec<LimitState>,
    /// The limit that refused the call; `None` when it may proceed.
    pub exhausted: Option<LimitState>,
    /// Whether the counters were shared (Redis) or this replica's own.
    pub shared: bool,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.exhausted.is_none()
    }

    /// `RateLimit-Policy`: `"name";q=LIMIT;w=WINDOW, …`; `None` without limits.
    pub fn policy_header(&self) -> Option<String> {
        (!self.limits.is_empty()).then(|| {
            self.limits
                .iter()
                .map(|l| format!("\"{}\";q={};w={}", l.name, l.limit, l.window_secs))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// `RateLimit`: `"name";r=REMAINING;t=RESET, …`; `None` without limits.
    pub fn state_header(&self) -> Option<String> {
        (!self.limits.is_empty()).then(|| {
            self.limits
                .iter()
                .map(|l| format!("\"{}\";r={};t={}", l.name, l.remaining, l.reset_secs))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }
}

/// Usage of one group by one appid (and optionally one user) on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub group: ApiGroup,
    pub appid_calls: u64,
    /// `None` when no user was asked for.
    pub user_calls: Option<u64>,
}

/// A policy that applies to a Mini Program, and its current window's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyUsage {
    pub policy: Policy,
    /// Calls counted in the current window; `None` for a per-user policy
    /// (a counter per user, no one figure) or a per-tenant one without a
    /// tenant.
    pub used: Option<u64>,
    /// Seconds until the window resets.
    pub reset_secs: i64,
}

/// Policies in force plus the counters. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct RateLimiter {
    counters: Counters,
    table: Arc<RwLock<Arc<PolicyTable>>>,
}

impl RateLimiter {
    /// Starts with the built-in defaults; call [`reload`](Self::reload) to
    /// apply the operator's policies from the database.
    pub fn new(store: Store) -> Self {
        Self {
            counters: Counters::new(store),
            table: Arc::new(RwLock::new(Arc::new(PolicyTable::new([])))),
        }
    }

    /// Re-reads the operator's policies (rows that no longer parse are
    /// skipped with a warning, never applied half-way).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let rows = self.counters.store().list_rate_limit_policies().await?;
        let policies = rows.into_iter().filter_map(|row| {
            let parsed = (|| {
                Ok::<_, PolicyError>(Policy {
                    group: row.api_group.parse()?,
                    dimension: row.dimension.parse()?,
                    window: row.window.parse()?,
                    scope: row.scope.parse()?,
                    max_calls: u64::try_from(row.max_calls).unwrap_or(0),
                })
            })();
            parsed
                .map_err(|e| tracing::warn!(policy.id = %row.id, error = %e, "skipping an unreadable rate-limit policy"))
                .ok()
        });
        let table = Arc::new(PolicyTable::new(policies));
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = table;
        Ok(())
    }

    fn table(&self) -> Arc<PolicyTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds the usage counted in this process but not yet in Redis (calls
    /// no limit applies to are added every second); for shutdown.
    pub async fn flush_usage(&self) {
        self.counters.flush_usage().await;
    }

    /// The policies that apply to a call (for documentation and tests).
    pub fn applicable(&self, group: ApiGroup, tenant_id: &str, appid: &str) -> Vec<Policy> {
        self.table()
            .applicable(group, tenant_id, appid)
            .into_iter()
            .cloned()
            .collect()
    }

    /// A counter's key. Per-appid and per-user counters are tagged with the
    /// appid, so on a Redis Cluster one script checks them together; a
    /// tenant's counters are tagged with the tenant (see
    /// [`Counters::check_and_increment`] for how both stay exact).
    fn key(
        &self,
        group: ApiGroup,
        dimension: Dimension,
        subject: &Subject<'_>,
        window: Window,
        label: &str,
    ) -> String {
        let (tag, subject) = match subject {
            Subject::Appid(appid) => ((*appid).to_owned(), String::new()),
            Subject::User { appid, openid } => ((*appid).to_owned(), format!(":{openid}")),
            Subject::Tenant(tenant) => (format!("tenant:{tenant}"), String::new()),
        };
        self.counters.store().redis_tagged_key(
            &tag,
            &format!(
                "rl:{}:{}{subject}:{}:{label}",
                group.as_str(),
                dimension.as_str(),
                window.as_str()
            ),
        )
    }

    fn subject<'a>(dimension: Dimension, call: &Call<'a>) -> Option<Subject<'a>> {
        match dimension {
            Dimension::Appid => Some(Subject::Appid(call.appid)),
            Dimension::Tenant => Some(Subject::Tenant(call.tenant_id)),
            Dimension::User => call
                .openid
                .filter(|o| !o.is_empty())
                .map(|openid| Subject::User {
                    appid: call.appid,
                    openid,
                }),
        }
    }

    /// Checks the call against every applicable limit and, when it may
    /// proceed, counts it everywhere in the same step.
    pub async fn check(&self, call: Call<'_>, now: DateTime<Utc>) -> Decision {
        let table = self.table();
        let mut specs = Vec::new();
        let mut states = Vec::new();
        let mut counts_appid_day = false;
        // A tenant's counters last: on a Redis Cluster they are in another
        // slot, checked after the appid's, and the last slot checked is
        // never taken back (see `Counters::check_and_increment`).
        let mut applicable = table.applicable(call.group, call.tenant_id, call.appid);
        applicable.sort_by_key(|policy| policy.dimension == Dimension::Tenant);
        for policy in applicable {
            // A user limit does not apply to a call that names no user.
            let Some(subject) = Self::subject(policy.dimension, &call) else {
                continue;
            };
            let (label, reset_secs) = policy.window.current(now);
            if (policy.dimension, policy.window) == (Dimension::Appid, Window::Day) {
                counts_appid_day = true;
            }
            specs.push(CounterSpec {
                key: self.key(
                    call.group,
                    policy.dimension,
                    &subject,
                    policy.window,
                    &label,
                ),
                limit: Some(policy.max_calls),
                ttl_secs: policy.window.seconds()
                    + if policy.window == Window::Day {
                        USAGE_HISTORY_SECS
                    } else {
                        0
                    },
            });
            states.push(LimitState {
                name: policy.name(),
                limit: policy.max_calls,
                remaining: 0,
                window_secs: policy.window.seconds(),
                reset_secs,
            });
        }
        if !counts_appid_day {
            let (label, _) = Window::Day.current(now);
            specs.push(CounterSpec {
                key: self.key(
                    call.group,
                    Dimension::Appid,
                    &Subject::Appid(call.appid),
                    Window::Day,
                    &label,
                ),
                limit: None,
                ttl_secs: Window::Day.seconds() + USAGE_HISTORY_SECS,
            });
        }
        let outcome = self
            .counters
            .check_and_increment(&specs, now.timestamp())
            .await;
        for (state, value) in states.iter_mut().zip(&outcome.values) {
            state.remaining = state.limit.saturating_sub(*value);
        }
        let exhausted = outcome.exhausted.and_then(|i| states.get(i).cloned());
        if let Some(limit) = &exhausted {
            ::metrics::counter!(crate::metrics::REJECTIONS, "group" => call.group.as_str(), "limit" => limit.name.clone()).increment(1);
        }
        Decision {
            limits: states,
            exhausted,
            shared: outcome.shared,
        }
    }

    /// Every policy that applies to `appid` (owned by `tenant_id`), group by
    /// group, with what its current window counted: the counters
    /// [`check`](Self::check) increments, read in one round trip.
    pub async fn policy_usage(
        &self,
        tenant_id: Option<&str>,
        appid: &str,
        now: DateTime<Utc>,
    ) -> Vec<PolicyUsage> {
        let table = self.table();
        let mut keys = Vec::new();
        let mut rows = Vec::new();
        for group in ApiGroup::ALL {
            // No tenant: no tenant-scoped policy can match an empty id.
            for policy in table.applicable(group, tenant_id.unwrap_or(""), appid) {
                let (label, reset_secs) = policy.window.current(now);
                let subject = match policy.dimension {
                    Dimension::Appid => Some(Subject::Appid(appid)),
                    Dimension::Tenant => tenant_id.map(Subject::Tenant),
                    Dimension::User => None,
                };
                let key = subject.map(|subject| {
                    keys.push(self.key(group, policy.dimension, &subject, policy.window, &label));
                    keys.len() - 1
                });
                rows.push((policy.clone(), key, reset_secs));
            }
        }
        let values = self.counters.values(&keys, now.timestamp()).await;
        rows.into_iter()
            .map(|(policy, key, reset_secs)| PolicyUsage {
                policy,
                used: key.map(|i| values.get(i).copied().unwrap_or(0)),
                reset_secs,
            })
            .collect()
    }

    /// Calls counted for `appid` (and `openid`) per group on the Shanghai
    /// calendar `day`.
    pub async fn usage(
        &self,
        appid: &str,
        openid: Option<&str>,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<Usage> {
        let label = policy::day_label(day);
        let mut keys = Vec::new();
        for group in ApiGroup::ALL {
            keys.push(self.key(
                group,
                Dimension::Appid,
                &Subject::Appid(appid),
                Window::Day,
                &label,
            ));
            if let Some(openid) = openid {
                keys.push(self.key(
                    group,
                    Dimension::User,
                    &Subject::User { appid, openid },
                    Window::Day,
                    &label,
                ));
            }
        }
        let values = self.counters.values(&keys, now.timestamp()).await;
        let per_group = if openid.is_some() { 2 } else { 1 };
        ApiGroup::ALL
            .into_iter()
            .enumerate()
            .map(|(i, group)| Usage {
                group,
                appid_calls: values.get(i * per_group).copied().unwrap_or(0),
                user_calls: openid.map(|_| values.get(i * per_group + 1).copied().unwrap_or(0)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policy_usage_reads_each_applicable_counter() {
        let store = Store::connect("sqlite::memory:", None, store::Sealer::for_testing())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let limiter = RateLimiter::new(store);
        let now = Utc::now();
        let call = Call {
            group: ApiGroup::LogisticsPlugin,
            tenant_id: "t1",
            appid: "wx1",
            openid: Some("o1"),
        };
        for _ in 0..3 {
            assert!(limiter.check(call, now).await.allowed());
        }
        let usage = limiter.policy_usage(Some("t1"), "wx1", now).await;
        let of = |dimension| {
            usage
                .iter()
                .find(|u| {
                    u.policy.group == ApiGroup::LogisticsPlugin && u.policy.dimension == dimension
                })
                .unwrap()
        };
        // The seed defaults: 100 000 a day per appid, 100 per user.
        assert_eq!(of(Dimension::Appid).used, Some(3));
        assert_eq!(of(Dimension::Appid).policy.max_calls, 100_000);
        assert_eq!(of(Dimension::User).used, None);
        assert!(of(Dimension::Appid).reset_secs > 0);
        // Another Mini Program's counters are its own.
        let other = limiter.policy_usage(Some("t1"), "wx2", now).await;
        assert!(
            other
                .iter()
                .filter(|u| u.policy.dimension == Dimension::Appid)
                .all(|u| u.used == Some(0))
        );
    }
}
