//! Fixed-window counters, checked and incremented for every dimension of a
//! call at once: either all are incremented or, when any is exhausted, none.
//!
//! With Redis this is one Lua script, so it is one round trip and atomic
//! across replicas. Without Redis, or while Redis fails, an in-process map
//! does the same for this replica alone (fail-open: a Redis outage must not
//! stop merchants from shipping; the limits then hold per replica).
//!
//! Written here rather than taken from a crate: `governor` and friends are
//! GCRA token buckets, but WeChat's quotas are calendar-day counters, and the
//! all-or-nothing check across several keys is the point.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use store::{Store, redis_conn::RedisConn};

/// `KEYS[i]`: counters; `ARGV[2i-1]`: limit (-1 counts without limiting);
/// `ARGV[2i]`: expiry in seconds. Returns `{1, 0, values…}` after
/// incrementing all, or `{0, i, values…}` (current values, nothing
/// incremented) when counter `i` is exhausted.
const CHECK_AND_INCREMENT: &str = r#"
local values = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  values[i] = current
  if limit >= 0 and current + 1 > limit then
    local out = {0, i}
    for j = 1, #KEYS do
      out[j + 2] = tonumber(redis.call('GET', KEYS[j]) or '0')
    end
    return out
  end
end
local out = {1, 0}
for i = 1, #KEYS do
  local v = redis.call('INCR', KEYS[i])
  if v == 1 then
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2 * i]))
  end
  out[i + 2] = v
end
return out
"#;

/// Takes back one increment of each of `KEYS` (never below zero: a counter
/// that expired meanwhile stays gone).
const DECREMENT: &str = r#"
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 1
"#;

/// Adds `ARGV[1]` to the usage counter `KEYS[1]`, which expires after
/// `ARGV[2]` seconds from its first count.
const ADD_USAGE: &str = r#"
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return v
"#;

/// How often counts of calls that no limit applies to are added to Redis.
const USAGE_FLUSH: Duration = Duration::from_secs(1);

/// How long a limiter call may wait for Redis before falling back.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);

/// One counter of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSpec {
    /// Full key (already prefixed).
    pub key: String,
    /// `None`: counted for usage, never limiting.
    pub limit: Option<u64>,
    /// Seconds the counter is kept (its window plus the usage history).
    pub ttl_secs: i64,
}

/// The counters after a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Index of the first exhausted counter; `None` when all were incremented.
    pub exhausted: Option<usize>,
    /// Each counter's value: after incrementing, or as found when exhausted.
    pub values: Vec<u64>,
    /// Whether Redis answered (false: this replica's own counters).
    pub shared: bool,
}

/// Counters in Redis, or in this process.
#[derive(Clone)]
pub struct Counters {
    store: Store,
    script: Arc<redis::Script>,
    refund_script: Arc<redis::Script>,
    usage_script: Arc<redis::Script>,
    /// Counts of calls no limit applies to, not yet added to Redis: key →
    /// (count, ttl seconds).
    usage: Arc<Mutex<HashMap<String, (u64, i64)>>>,
    usage_flusher: Arc<std::sync::Once>,
    local: Arc<Mutex<LocalCounters>>,
    /// Last time a Redis failure was logged (one warning a minute, not one per call).
    warned: Arc<Mutex<Option<Instant>>>,
}

impl Counters {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            script: Arc::new(redis::Script::new(CHECK_AND_INCREMENT)),
            refund_script: Arc::new(redis::Script::new(DECREMENT)),
            usage_script: Arc::new(redis::Script::new(ADD_USAGE)),
            usage: Arc::default(),
            usage_flusher: Arc::new(std::sync::Once::new()),
            local: Arc::default(),
            warned: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks every counter and increments all of them, or none.
    pub async fn check_and_increment(&self, specs: &[CounterSpec], now_unix: i64) -> Outcome {
        if specs.is_empty() {
            return Outcome {
                exhausted: None,
                values: Vec::new(),
                shared: self.store.redis().is_some(),
            };
        }
        // Nothing to check, only to count (the usage of an API group no
        // policy limits, e.g. `get_order` by default): counted here and
        // added to Redis every second in one go, so such a call makes no
        // Redis round trip of its own.
        if self.store.redis().is_some() && specs.iter().all(|s| s.limit.is_none()) {
            self.count_usage(specs);
            return Outcome {
                exhausted: None,
                values: vec![0; specs.len()],
                shared: true,
            };
        }
        if let Some(conn) = self.store.redis() {
            match self.shared_check(conn.clone(), specs).await {
                Ok(outcome) => return outcome,
                Err(error) => self.redis_failed(&error),
            }
        }
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local.check_and_increment(specs, now_unix)
    }

    /// The check in Redis. One script when every key is in one hash slot
    /// (always on a single server; on a cluster, the limiter tags a call's
    /// counters with its appid). On a cluster, counters in other slots (a
    /// tenant's, shared by all its Mini Programs) are checked slot by slot
    /// in order of their first counter, and the slots already incremented
    /// are decremented again when a later one is exhausted. So no counter
    /// ever admits more than its limit, and the last slot's counters are
    /// never taken back: they fill exactly. An earlier slot's counter can
    /// read one too high for the moment between a call's increment and its
    /// refund, which refuses a racing call only when the later limit is
    /// itself full by then.
    async fn shared_check(
        &self,
        mut conn: RedisConn,
        specs: &[CounterSpec],
    ) -> Result<Outcome, String> {
        let groups = slot_groups(specs, conn.is_cluster());
        let mut values = vec![0u64; specs.len()];
        for (done, group) in groups.iter().enumerate() {
            let mut invocation = self.script.prepare_invoke();
            for &i in group {
                let spec = &specs[i];
                invocation.key(&spec.key);
                invocation.arg(
                    spec.limit
                        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)),
                );
                invocation.arg(spec.ttl_secs.max(1));
            }
            let reply = match tokio::time::timeout(
                REDIS_TIMEOUT,
                invocation.invoke_async::<Vec<i64>>(&mut conn),
            )
            .await
            {
                Ok(Ok(reply)) if reply.len() == group.len() + 2 => reply,
                Ok(Ok(reply)) => {
                    self.refund(&mut conn, specs, &groups[..done]).await;
                    return Err(format!("unexpected script reply of {} values", reply.len()));
                }
                Ok(Err(e)) => {
                    self.refund(&mut conn, specs, &groups[..done]).await;
                    return Err(e.to_string());
                }
                Err(_) => {
                    self.refund(&mut conn, specs, &groups[..done]).await;
                    return Err("timed out".into());
                }
            };
            for (&i, value) in group.iter().zip(&reply[2..]) {
                values[i] = u64::try_from(*value).unwrap_or(0);
            }
            if reply[0] == 0 {
                let exhausted = usize::try_from(reply[1] - 1)
                    .ok()
                    .and_then(|j| group.get(j).copied())
                    .unwrap_or(group[0]);
                if groups.len() > 1 {
                    // Undo the earlier slots, and report every counter as it
                    // is now (the later slots were not checked).
                    self.refund(&mut conn, specs, &groups[..done]).await;
                    let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
                    if let Ok(Ok(current)) = tokio::time::timeout(
                        REDIS_TIMEOUT,
                        redis::cmd("MGET")
                            .arg(&keys)
                            .query_async::<Vec<Option<u64>>>(&mut conn),
                    )
                    .await
                    {
                        for (value, current) in values.iter_mut().zip(current) {
                            *value = current.unwrap_or_default();
                        }
                    }
                }
                return Ok(Outcome {
                    exhausted: Some(exhausted),
                    values,
                    shared: true,
                });
            }
        }
        Ok(Outcome {
            exhausted: None,
            values,
            shared: true,
        })
    }

    /// Takes back one increment from each counter of `groups`.
    async fn refund(&self, conn: &mut RedisConn, specs: &[CounterSpec], groups: &[Vec<usize>]) {
        for group in groups {
            let mut invocation = self.refund_script.prepare_invoke();
            for &i in group {
                invocation.key(&specs[i].key);
            }
            let result =
                tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(conn)).await;
            if !matches!(result, Ok(Ok(_))) {
                // The call was refused anyway; the counters over-count by one
                // until their window ends.
                tracing::warn!("rate limiter: could not take back an increment");
            }
        }
    }

    fn count_usage(&self, specs: &[CounterSpec]) {
        {
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            for spec in specs {
                let entry = usage.entry(spec.key.clone()).or_insert((0, spec.ttl_secs));
                entry.0 += 1;
            }
        }
        self.usage_flusher.call_once(|| {
            let counters = self.clone();
            // Stops once only the task holds the counts (every limiter
            // clone is gone), after a last flush.
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(USAGE_FLUSH).await;
                    counters.flush_usage().await;
                    if Arc::strong_count(&counters.usage) == 1 {
                        return;
                    }
                }
            });
        });
    }

    /// Adds the usage counted since the last flush to Redis (at shutdown,
    /// and every second in the background). What Redis refused stays for
    /// the next flush.
    pub async fn flush_usage(&self) {
        let pending = std::mem::take(&mut *self.usage.lock().unwrap_or_else(|p| p.into_inner()));
        let Some(conn) = self.store.redis() else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let mut adds = tokio::task::JoinSet::new();
        for (key, (count, ttl_secs)) in pending {
            let (mut conn, script) = (conn.clone(), self.usage_script.clone());
            adds.spawn(async move {
                let mut invocation = script.prepare_invoke();
                invocation.key(&key).arg(count).arg(ttl_secs.max(1));
                let added =
                    tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(&mut conn))
                        .await;
                match added {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err((key, count, ttl_secs, e.to_string())),
                    Err(_) => Err((key, count, ttl_secs, "timed out".to_owned())),
                }
            });
        }
        let mut failed = None;
        while let Some(joined) = adds.join_next().await {
            if let Ok(Err((key, count, ttl_secs, error))) = joined {
                let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
                // Bounded like the local counters: past that, counts are lost.
                if usage.len() < MAX_LOCAL_COUNTERS {
                    usage.entry(key).or_insert((0, ttl_secs)).0 += count;
                }
                failed = Some(error);
            }
        }
        if let Some(error) = failed {
            self.redis_failed(&error);
        }
    }

    /// Current values of `keys` (0 when absent), for usage reports.
    pub async fn values(&self, keys: &[String], now_unix: i64) -> Vec<u64> {
        if keys.is_empty() {
            return Vec::new();
        }
        if let Some(conn) = self.store.redis() {
            let mut conn = conn.clone();
            let mut cmd = redis::cmd("MGET");
            for key in keys {
                cmd.arg(key);
            }
            let call = cmd.query_async::<Vec<Option<u64>>>(&mut conn);
            match tokio::time::timeout(REDIS_TIMEOUT, call).await {
                Ok(Ok(values)) if values.len() == keys.len() => {
                    return values.into_iter().map(Option::unwrap_or_default).collect();
                }
                Ok(Ok(_)) => self.redis_failed("MGET answered the wrong number of values"),
                Ok(Err(e)) => self.redis_failed(&e.to_string()),
                Err(_) => self.redis_failed("timed out"),
            }
        }
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter().map(|k| local.value(k, now_unix)).collect()
    }

    fn redis_failed(&self, error: &str) {
        ::metrics::counter!(crate::metrics::FALLBACKS).increment(1);
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *warned = Some(Instant::now());
            tracing::warn!(
                error,
                "rate limiter: Redis failed; counting in this process until it is back (limits now hold per replica)"
            );
        }
    }
}

/// Indexes of `specs` grouped so that each group can run as one script: all
/// of them on a single server; by hash slot (hash tag) on a cluster, in the
/// order their first counter appears.
fn slot_groups(specs: &[CounterSpec], cluster: bool) -> Vec<Vec<usize>> {
    if !cluster {
        return vec![(0..specs.len()).collect()];
    }
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let tag = store::redis_conn::hash_tag(&spec.key);
        match groups.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, group)) => group.push(i),
            None => groups.push((tag, vec![i])),
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// The in-process counters: value and expiry (unix seconds) per key.
#[derive(Default)]
struct LocalCounters {
    counters: HashMap<String, (u64, i64)>,
    /// Inserts since the last sweep of expired entries.
    inserts: usize,
}

/// Expired counters are swept after this many new ones, so the map stays
/// bounded by the live windows' keys.
const SWEEP_EVERY: usize = 10_000;

/// At most this many live counters in this process (a Redis outage during
/// a day with millions of users must not grow memory without bound). When
/// full, a call with a counter not yet tracked is let through uncounted:
/// the same fail-open choice as the outage itself.
const MAX_LOCAL_COUNTERS: usize = 200_000;

impl LocalCounters {
    fn value(&self, key: &str, now: i64) -> u64 {
        self.counters
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map_or(0, |(v, _)| *v)
    }

    fn check_and_increment(&mut self, specs: &[CounterSpec], now: i64) -> Outcome {
        let values: Vec<u64> = specs.iter().map(|s| self.value(&s.key, now)).collect();
        if let Some(i) = specs
            .iter()
            .zip(&values)
            .position(|(spec, value)| spec.limit.is_some_and(|l| value + 1 > l))
        {
            return Outcome {
                exhausted: Some(i),
                values,
                shared: false,
            };
        }
        if self.inserts >= SWEEP_EVERY {
            self.counters.retain(|_, (_, expires)| *expires > now);
            self.inserts = 0;
        }
        let new_keys = specs
            .iter()
            .filter(|s| !self.counters.contains_key(&s.key))
            .count();
        if self.counters.len() + new_keys > MAX_LOCAL_COUNTERS {
            self.counters.retain(|_, (_, expires)| *expires > now);
            if self.counters.len() + new_keys > MAX_LOCAL_COUNTERS {
                ::metrics::counter!(crate::metrics::LOCAL_COUNTERS_FULL).increment(1);
                return Outcome {
                    exhausted: None,
                    values,
                    shared: false,
                };
            }
        }
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let entry = self
                .counters
                .entry(spec.key.clone())
                .or_insert((0, now + spec.ttl_secs));
            if entry.1 <= now {
                *entry = (0, now + spec.ttl_secs);
            }
            if entry.0 == 0 {
                self.inserts += 1;
            }
            entry.0 += 1;
            out.push(entry.0);
        }
        Outcome {
            exhausted: None,
            values: out,
            shared: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: &str, limit: Option<u64>) -> CounterSpec {
        CounterSpec {
            key: key.to_owned(),
            limit,
            ttl_secs: 60,
        }
    }

    #[test]
    fn counters_are_grouped_by_hash_slot_on_a_cluster() {
        let specs = [
            spec("tp:{wx1}:rl:a", Some(1)),
            spec("tp:{tenant:t1}:rl:b", Some(1)),
            spec("tp:{wx1}:rl:c", None),
        ];
        assert_eq!(slot_groups(&specs, false), [vec![0, 1, 2]]);
        assert_eq!(slot_groups(&specs, true), [vec![0, 2], vec![1]]);
    }

    #[test]
    fn local_counters_are_bounded() {
        let mut local = LocalCounters::default();
        for i in 0..MAX_LOCAL_COUNTERS {
            local.check_and_increment(&[spec(&i.to_string(), Some(1))], 0);
        }
        assert_eq!(local.counters.len(), MAX_LOCAL_COUNTERS);
        // Full: a new key passes uncounted, nothing grows.
        let extra = local.check_and_increment(&[spec("new", Some(1))], 0);
        assert_eq!(extra.exhausted, None);
        assert_eq!(local.counters.len(), MAX_LOCAL_COUNTERS);
        // Known keys are still limited.
        assert_eq!(
            local
                .check_and_increment(&[spec("0", Some(1))], 0)
                .exhausted,
            Some(0)
        );
        // Expired windows make room again.
        local.check_and_increment(&[spec("new", Some(1))], 61);
        assert_eq!(local.counters.len(), 1);
    }

    #[test]
    fn local_counts_all_or_nothing() {
        let mut local = LocalCounters::default();
        let specs = [spec("a", Some(3)), spec("b", Some(2)), spec("c", None)];
        assert_eq!(local.check_and_increment(&specs, 0).values, [1, 1, 1]);
        assert_eq!(local.check_and_increment(&specs, 0).values, [2, 2, 2]);
        let third = local.check_and_increment(&specs, 0);
        assert_eq!(third.exhausted, Some(1));
        // Nothing was incremented, not even the counters before the exhausted one.
        assert_eq!(third.values, [2, 2, 2]);
        assert_eq!(local.value("a", 0), 2);
        assert_eq!(local.value("c", 0), 2);
    }

    #[test]
    fn local_counters_expire_with_their_window() {
        let mut local = LocalCounters::default();
        let specs = [spec("a", Some(1))];
        assert_eq!(local.check_and_increment(&specs, 0).exhausted, None);
        assert_eq!(local.check_and_increment(&specs, 59).exhausted, Some(0));
        assert_eq!(local.check_and_increment(&specs, 60).exhausted, None);
        assert_eq!(local.value("a", 60), 1);
    }
}
