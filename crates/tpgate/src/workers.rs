//! Background tasks every replica runs next to the HTTP server:
//! - the **ticket watchdog** (every minute): when the verify ticket is
//!   missing or stale, ask WeChat to restart pushes (rate-limited across
//!   replicas in the DB), and keep the ticket and token gauges current;
//! - the **refresh sweep** (every `tokens.sweep_interval_secs`, with a random
//!   start offset so replicas do not tick together): see
//!   `tenant_auth::sweep`;
//! - the **proxy upkeep** (every 30 s): re-reads rate-limit policies (so an
//!   operator's change on another replica applies here within 30 s), writes
//!   API keys' `last_used_at` (noted in memory by requests) and deletes
//!   expired idempotency keys;
//! - the **webhook dispatcher**: sends due deliveries (see `webhooks`);
//! - the **shipments worker**: uploads due durable shipments (see
//!   `api_proxy::shipments`);
//! - **reconciliation** (every `reconciliation.tick_secs`): pending orders
//!   of trade-managed Mini Programs and their overdue announcements (see
//!   `api_proxy::reconcile`);
//! - **housekeeping** (at start, then hourly): deletes events (with
//!   finished shipments and shipped orders), audit entries and recorded
//!   WeChat calls past their retention and expired
//!   onboarding visits, and counts values sealed with an old key (gauge
//!   [`SEALED_ON_OLD_KEYS`]).
//!
//! All stop when `stop` flips to true; a tick in progress finishes first
//! (its refreshes release their leases, its deliveries record their outcome).
use std::time::Duration;

use call_log::CallLogSettings;
use rand::Rng as _;
use ratelimit::RateLimiter;
use tenant_auth::TenantAuth;
use tokio::{sync::watch, task::JoinSet};

const WATCHDOG_INTERVAL: Duration = Duration::from_secs(60);
const PROXY_UPKEEP_INTERVAL: Duration = Duration::from_secs(30);
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(3600);
/// Calls deleted per statement (no statement holds locks for long).
const CALL_PURGE_BATCH: u64 = 5000;

/// Gauge: stored values sealed with a key other than the current one (run
/// `tpgate rotate-keys` before dropping an old key while this is above 0).
pub const SEALED_ON_OLD_KEYS: &str = "tpgate_sealed_values_on_old_keys";

/// How long housekeeping keeps records that would otherwise grow forever,
/// in days (0: forever): the `retention.*` configuration section.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Events (with their finished deliveries); events still waiting for
    /// a delivery are kept.
    pub events_days: u64,
    /// The admin audit log.
    pub audit_days: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            events_days: 90,
            audit_days: 365,
        }
    }
}

impl RetentionSettings {
    /// How long events are kept; `None`: forever.
    pub fn events(&self) -> Option<Duration> {
        days(self.events_days)
    }

    /// How long audit entries are kept; `None`: forever.
    pub fn audit(&self) -> Option<Duration> {
        days(self.audit_days)
    }
}

fn days(d: u64) -> Option<Duration> {
    (d > 0).then(|| Duration::from_secs(d.saturating_mul(86_400)))
}

pub fn spawn(
    auth: TenantAuth,
    limiter: RateLimiter,
    dispatcher: webhooks::Dispatcher,
    proxy: api_proxy::ProxyState,
    retention: RetentionSettings,
    call_log: CallLogSettings,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let dispatcher_stop = stop.clone();
    tasks.spawn(async move { dispatcher.run(dispatcher_stop).await });
    tasks.spawn(api_proxy::shipments::run(proxy.clone(), stop.clone()));
    tasks.spawn(api_proxy::reconcile::run(proxy, stop.clone()));
    tasks.spawn(ticket_watchdog(auth.clone(), stop.clone()));
    tasks.spawn(proxy_upkeep(auth.clone(), limiter, stop.clone()));
    tasks.spawn(housekeeping(
        auth.clone(),
        retention,
        call_log,
        stop.clone(),
    ));
    tasks.spawn(refresh_sweep(auth, stop));
    tasks
}

async fn housekeeping(
    auth: TenantAuth,
    retention: RetentionSettings,
    call_log: CallLogSettings,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        housekeep(&auth, retention, &call_log).await;
        if !wait(&mut stop, HOUSEKEEPING_INTERVAL).await {
            return;
        }
    }
}

async fn proxy_upkeep(auth: TenantAuth, limiter: RateLimiter, mut stop: watch::Receiver<bool>) {
    while wait(&mut stop, PROXY_UPKEEP_INTERVAL).await {
        if let Err(e) = limiter.reload().await {
            tracing::warn!(error = %e, "could not reload rate-limit policies; keeping the current ones");
        }
        match auth.store().flush_key_uses().await {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record API keys' last use"),
        }
        match auth.store().purge_expired_idempotency_keys().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "expired idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired idempotency keys"),
        }
    }
}

/// Sleeps `period`, or returns false when asked to stop.
async fn wait(stop: &mut watch::Receiver<bool>, period: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(period) => true,
        _ = stop.changed() => false,
    }
}

async fn ticket_watchdog(auth: TenantAuth, mut stop: watch::Receiver<bool>) {
    // Give a starting deployment's first push a chance before asking.
    while wait(&mut stop, WATCHDOG_INTERVAL).await {
        match auth.ensure_ticket().await {
            Ok(check) => tracing::debug!(?check, "ticket watchdog"),
            Err(e) => {
                tracing::warn!(error = %e, "ticket watchdog: could not check or request a ticket")
            }
        }
        crate::telemetry::prometheus().run_upkeep();
    }
}

async fn refresh_sweep(auth: TenantAuth, mut stop: watch::Receiver<bool>) {
    let interval = auth.config().tokens.sweep_interval();
    let offset = interval.mul_f64(rand::rng().random_range(0.0..1.0));
    if !wait(&mut stop, offset).await {
        return;
    }
    loop {
        match auth.sweep_authorizer_tokens().await {
            Ok(report) if report.selected > 0 => tracing::info!(
                active = report.active,
                budget = report.budget,
                refreshed = report.refreshed,
                failed = report.failed,
                "token sweep"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "token sweep failed"),
        }
        if !wait(&mut stop, interval).await {
            return;
        }
    }
}

/// One round of housekeeping; every step logs its own failure and the
/// next steps still run.
pub async fn housekeep(
    auth: &TenantAuth,
    retention: RetentionSettings,
    call_log: &CallLogSettings,
) {
    let now = auth.clock().now();
    let before = |keep: Duration| {
        chrono::Duration::from_std(keep)
            .ok()
            .and_then(|keep| now.checked_sub_signed(keep))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    };
    if let Some(keep) = retention.events() {
        match auth.store().purge_events_before(before(keep)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "events past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "could not delete old events"),
        }
    }
    if let Some(keep) = retention.events() {
        // Finished shipments and shipped orders: kept as long as events.
        match auth.store().purge_finished_shipments(before(keep)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                "finished shipments past their retention deleted"
            ),
            Err(e) => tracing::warn!(error = %e, "could not delete old shipments"),
        }
        match auth.store().purge_settled_orders(before(keep)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "shipped orders past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "could not delete old shipped orders"),
        }
    }
    if let Some(keep) = retention.audit() {
        match auth.store().purge_audit_before(before(keep)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "audit entries past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "could not delete old audit entries"),
        }
    }
    // Also when the log is off: rows from when it was on still expire.
    let calls_before = now
        .checked_sub_signed(call_log.retention())
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    match auth
        .store()
        .purge_calls_before(calls_before, CALL_PURGE_BATCH)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deleted = n,
            "recorded WeChat calls past their retention deleted"
        ),
        Err(e) => tracing::warn!(error = %e, "could not delete old recorded WeChat calls"),
    }
    match auth
        .store()
        .purge_expired_onboarding_visits(auth.clock().now())
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired onboarding visits deleted"),
        Err(e) => tracing::warn!(error = %e, "could not delete expired onboarding visits"),
    }
    // Sessions idle for a day are over whatever `console.idle_timeout_secs`
    // says (at most a day); shorter ones are refused at use and go later.
    match auth
        .store()
        .purge_console_sessions(chrono::Duration::days(1))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deleted = n,
            "ended console sessions and sign-in links deleted"
        ),
        Err(e) => tracing::warn!(error = %e, "could not delete ended console sessions"),
    }
    match auth.store().purge_host_tokens().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired WeChat-host tokens deleted"),
        Err(e) => tracing::warn!(error = %e, "could not delete expired WeChat-host tokens"),
    }
    match auth.store().sealed_with_old_keys().await {
        Ok(old) => {
            metrics::gauge!(SEALED_ON_OLD_KEYS).set(old.total() as f64);
        }
        Err(e) => tracing::warn!(error = %e, "could not count values on old sealing keys"),
    }
}
