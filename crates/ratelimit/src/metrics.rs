//! Metric names (the `metrics` facade; the binary installs the exporter).

/// Calls refused by a limit, by `group` and `limit` (the policy name).
pub const REJECTIONS: &str = "tpgate_rate_limit_rejections_total";
/// Limiter calls that fell back to in-process counters because Redis failed.
pub const FALLBACKS: &str = "tpgate_rate_limit_redis_fallbacks_total";
/// Calls let through uncounted because this process's counters were full
/// (only while Redis is unreachable).
pub const LOCAL_COUNTERS_FULL: &str = "tpgate_rate_limit_local_counters_full_total";
