//! Metric names and the helpers that record them (the `metrics` facade; the
//! binary installs the Prometheus exporter). Labels are low-cardinality: no
//! appid, so 100 000 authorizers stay a handful of series.
use std::time::Duration;

/// Seconds since the newest component_verify_ticket was received.
pub const TICKET_AGE: &str = "tpgate_component_ticket_age_seconds";
/// 1 when the ticket is missing or older than the stale threshold.
pub const TICKET_STALE: &str = "tpgate_component_ticket_stale";
/// api_start_push_ticket calls, by outcome.
pub const TICKET_PUSH_REQUESTS: &str = "tpgate_ticket_push_requests_total";
/// Seconds until the component_access_token expires.
pub const COMPONENT_TOKEN_TTL: &str = "tpgate_component_token_expires_in_seconds";
/// Token refreshes, by `kind` (component, authorizer) and `outcome`.
pub const REFRESHES: &str = "tpgate_token_refreshes_total";
/// Time spent waiting for another task's or replica's refresh, by `kind`.
pub const LOCK_WAIT: &str = "tpgate_token_lock_wait_seconds";
/// Soonest expiry among active authorizers' tokens (sweep).
pub const AUTHORIZER_TOKEN_MIN_TTL: &str = "tpgate_authorizer_token_min_expires_in_seconds";
/// Active authorizers whose token is inside the refresh margin (sweep).
pub const AUTHORIZER_TOKENS_IN_MARGIN: &str = "tpgate_authorizer_tokens_in_margin";
/// Authorizers the sweep refreshed, by outcome.
pub const SWEEP_REFRESHES: &str = "tpgate_sweep_refreshes_total";

/// Forced refreshes after WeChat rejected a token, by `outcome`
/// (`refreshed`, `taken_from_peer`, `cooling_down`, `failed`).
pub const FORCED_REFRESHES: &str = "tpgate_forced_token_refreshes_total";

pub(crate) fn forced_refresh(outcome: &'static str) {
    metrics::counter!(FORCED_REFRESHES, "outcome" => outcome).increment(1);
}

pub(crate) fn refreshed(kind: &'static str, outcome: &'static str) {
    metrics::counter!(REFRESHES, "kind" => kind, "outcome" => outcome).increment(1);
}

pub(crate) fn lock_waited(kind: &'static str, waited: Duration) {
    metrics::histogram!(LOCK_WAIT, "kind" => kind).record(waited.as_secs_f64());
}

/// Counter: Mini Program pushes by event type and outcome (`stored`, `duplicate`).
pub const APP_PUSHES: &str = "tpgate_app_pushes_total";

/// Counts a stored (or repeated) Mini Program push. Event types are bounded
/// by what WeChat sends, so they are fine as a label.
pub fn app_push(event_type: &str, stored: bool) {
    let outcome = if stored { "stored" } else { "duplicate" };
    ::metrics::counter!(APP_PUSHES, "event" => event_type.to_owned(), "outcome" => outcome)
        .increment(1);
}
