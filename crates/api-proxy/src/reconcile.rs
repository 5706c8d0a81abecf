//! Reconciliation: which paid orders of each trade-managed Mini Program are
//! still waiting for shipment, found before WeChat's reminder and before
//! settlement is held up.
//!
//! - Every active Mini Program whose trade management is on
//!   (`is_trade_managed`) gets a run every `interval_secs`, at an offset
//!   within the interval derived from its appid, so 100 000 Mini Programs
//!   spread over the hour rather than arriving together; a run is claimed
//!   (`store::shipping_orders`), so one replica makes it.
//! - A run pages through `get_order_list` with `order_state` 1 (待发货) and
//!   a pay-time window of `window_hours`, through the gate as the tenant
//!   (its limits and the call log apply), making at most
//!   `max_calls_per_run` calls. The orders seen are pending; after a
//!   complete pass, pending orders not seen left state 1 (shipped behind
//!   tpgate's back, refunded) and are closed.
//! - A `trade_manage_remind_shipping` push records its order at once and
//!   brings the Mini Program's run forward (`tenant_auth`); an upload
//!   through tpgate closes the order (`gate`).
//! - Each tick announces `shipping.overdue` once per order and threshold
//!   (`overdue_after_hours`, 24 h and 48 h after payment by default).
use std::time::Duration;

use problem::Problem;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use store::{shipping_orders::SeenOrder, tenants::TenantStatus};
use wechat_api::shipping::GetOrderListResponse;

use crate::{
    ProxyState, TenantContext, catalog,
    gate::{self, Call},
};

/// Gauge: paid orders tpgate knows to be waiting for shipment.
pub const ORDERS_PENDING: &str = "tpgate_orders_pending";
/// Gauge: those announced overdue (`shipping.overdue`).
pub const ORDERS_OVERDUE: &str = "tpgate_orders_overdue";

/// `order_state` of a paid order waiting for shipment (seed 004).
const PENDING_SHIPMENT: i64 = 1;

/// The `reconciliation.*` configuration section.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ReconciliationSettings {
    pub enabled: bool,
    /// Each Mini Program is reconciled once per this.
    pub interval_secs: u64,
    /// Orders paid within this many hours are looked at.
    pub window_hours: u64,
    /// The call budget of one run (pages of `get_order_list`).
    pub max_calls_per_run: u32,
    /// `page_size` of `get_order_list`.
    pub page_size: u32,
    /// Ages after payment at which `shipping.overdue` is announced.
    pub overdue_after_hours: Vec<u64>,
    /// How often each replica looks for due runs and overdue orders.
    pub tick_secs: u64,
    /// Runs claimed per tick, and made at once.
    pub batch: u64,
    pub concurrency: usize,
}

impl Default for ReconciliationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 3600,
            window_hours: 14 * 24,
            max_calls_per_run: 10,
            page_size: 100,
            overdue_after_hours: vec![24, 48],
            tick_secs: 30,
            batch: 64,
            concurrency: 4,
        }
    }
}

impl ReconciliationSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.interval_secs < 60 {
            return Err("reconciliation.interval_secs must be at least 60".into());
        }
        if self.max_calls_per_run == 0 || !(1..=1000).contains(&self.page_size) {
            return Err(
                "reconciliation.max_calls_per_run must be at least 1 and page_size 1–1000".into(),
            );
        }
        if self.overdue_after_hours.windows(2).any(|w| w[0] >= w[1]) {
            return Err("reconciliation.overdue_after_hours must increase".into());
        }
        Ok(())
    }

    fn thresholds(&self) -> Vec<i64> {
        self.overdue_after_hours
            .iter()
            .map(|h| i64::try_from(h.saturating_mul(3600)).unwrap_or(i64::MAX))
            .collect()
    }
}

/// A Mini Program's offset within the interval: the same on every replica
/// and every run, uniform over the appids (the first 8 bytes of SHA-256).
pub fn offset_ms(appid: &str, interval_ms: i64) -> i64 {
    let digest = Sha256::digest(appid.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first);
    i64::try_from(n % u64::try_from(interval_ms.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// The first run of a newly scheduled Mini Program: its offset in the
/// current interval, or the next one's when that passed.
pub fn first_run_ms(appid: &str, now_ms: i64, interval_ms: i64) -> i64 {
    let start = now_ms - now_ms.rem_euclid(interval_ms);
    let at = start + offset_ms(appid, interval_ms);
    if at < now_ms { at + interval_ms } else { at }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub calls: u32,
    pub seen: usize,
    /// The pass covered the whole window (so unseen orders were closed).
    pub complete: bool,
    pub closed: u64,
}

/// One run for `appid` (see the module doc).
pub async fn run_for(state: &ProxyState, appid: &str) -> Result<RunReport, Problem> {
    let settings = &state.reconciliation;
    let store = state.auth.store();
    let authorizer = store
        .cached_authorizer(appid)
        .await?
        .ok_or_else(|| Problem::not_found(format!("Mini Program {appid} is not authorized")))?;
    let tenant_id = authorizer
        .tenant_id
        .clone()
        .ok_or_else(|| Problem::not_found(format!("Mini Program {appid} has no tenant")))?;
    let tenant = match store.tenant(&tenant_id).await? {
        Some(t) if t.status == TenantStatus::Active => {
            TenantContext::acting_for(&t, "reconciliation".to_owned())
        }
        _ => return Err(Problem::forbidden("the tenant is not active")),
    };
    let began = state.auth.clock().now();
    let end = began.timestamp();
    let begin = end - i64::try_from(settings.window_hours * 3600).unwrap_or(i64::MAX / 2);
    let mut report = RunReport::default();
    let mut last_index: Option<String> = None;
    while report.calls < settings.max_calls_per_run {
        let mut body = json!({
            "pay_time_range": { "begin_time": begin, "end_time": end },
            "order_state": PENDING_SHIPMENT,
            "page_size": settings.page_size,
        });
        if let Some(index) = &last_index {
            body["last_index"] = json!(index);
        }
        report.calls += 1;
        let answer = gate::forward::<GetOrderListResponse>(
            state,
            &tenant,
            Call {
                api: catalog::GET_ORDER_LIST,
                path: catalog::GET_ORDER_LIST.path,
                appid,
                body: &body,
                idempotency_key: None,
                shipment: None,
            },
            || Ok(()),
            crate::api::any_answer,
        )
        .await?;
        let page: GetOrderListResponse = serde_json::from_slice(answer.body())
            .map_err(|e| Problem::bad_request(format!("unreadable get_order_list answer: {e}")))?;
        let seen: Vec<SeenOrder> = page
            .order_list
            .iter()
            // WeChat filtered by state; a stray order of another state is
            // not pending.
            .filter(|o| i64::from(o.order_state) == PENDING_SHIPMENT)
            .map(|o| SeenOrder {
                transaction_id: o.transaction_id.clone(),
                merchant_id: o.merchant_id.clone(),
                sub_merchant_id: Some(o.sub_merchant_id.clone()).filter(|s| !s.is_empty()),
                merchant_trade_no: o.merchant_trade_no.clone(),
                pay_time: o.pay_time,
            })
            .collect();
        report.seen += seen.len();
        store
            .note_pending_orders(Some(&tenant_id), appid, &seen, began)
            .await?;
        if !page.has_more || page.last_index.is_empty() {
            report.complete = true;
            break;
        }
        last_index = Some(page.last_index);
    }
    if report.complete {
        report.closed = store.close_unseen_orders(appid, began, begin).await?;
    }
    Ok(report)
}

/// One tick: schedule new Mini Programs, make the due runs, announce
/// overdue orders.
pub async fn tick(state: &ProxyState) {
    use futures_util::StreamExt as _;
    let settings = state.reconciliation.clone();
    let store = state.auth.store();
    let now = state.auth.clock().now();
    let now_ms = now.timestamp_millis();
    let interval_ms = i64::try_from(settings.interval_secs * 1000).unwrap_or(3_600_000);
    discover_trade_management(state, now).await;
    if let Err(e) = store
        .schedule_new_reconciliations(|appid| first_run_ms(appid, now_ms, interval_ms), 10_000)
        .await
    {
        tracing::warn!(error = %e, "could not schedule reconciliations");
    }
    let due = match store
        .claim_due_reconciliations(now_ms, now_ms + interval_ms, settings.batch.max(1))
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim due reconciliations");
            Vec::new()
        }
    };
    futures_util::stream::iter(due)
        .for_each_concurrent(settings.concurrency.max(1), |appid| async move {
            let scope = call_log::RequestScope::new(call_log::RequestId::generate());
            let result = scope.run(run_for(state, &appid)).await;
            state.auth.client().call_log().submit(scope.finish(match &result {
                Ok(_) => 200,
                Err(p) => p.status().as_u16(),
            }));
            let at = state.auth.clock().now();
            let recorded = match &result {
                Ok(r) => {
                    tracing::info!(authorizer.appid = %appid, calls = r.calls, seen = r.seen, closed = r.closed, complete = r.complete, "reconciliation");
                    store
                        .finish_reconciliation(&appid, at, r.calls as i32, r.complete, None)
                        .await
                }
                Err(p) => {
                    let why = p.body().detail.clone().unwrap_or_else(|| p.body().title.clone());
                    tracing::warn!(authorizer.appid = %appid, error = %why, "reconciliation failed");
                    store
                        .finish_reconciliation(&appid, at, 0, false, Some(why))
                        .await
                }
            };
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "could not record a reconciliation");
            }
        })
        .await;
    announce_overdue(state, &settings).await;
    match store.count_all_pending_orders().await {
        Ok(counts) => {
            metrics::gauge!(ORDERS_PENDING).set(counts.pending as f64);
            metrics::gauge!(ORDERS_OVERDUE).set(counts.overdue as f64);
        }
        Err(e) => tracing::warn!(error = %e, "could not count pending orders"),
    }
}

/// How often reconciliation asks WeChat whether a Mini Program's trade
/// management is on (as the health view does).
const TRADE_MANAGEMENT_MAX_AGE: chrono::Duration = chrono::Duration::days(1);
/// Asked per tick, so a fleet's first day spreads over its ticks.
const TRADE_MANAGEMENT_PER_TICK: u64 = 50;

/// Asks WeChat about the trade management of Mini Programs not asked in a
/// day: only trade-managed ones are reconciled.
async fn discover_trade_management(state: &ProxyState, now: chrono::DateTime<chrono::Utc>) {
    let due = match state
        .auth
        .store()
        .authorizers_due_trade_management(now - TRADE_MANAGEMENT_MAX_AGE, TRADE_MANAGEMENT_PER_TICK)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "could not list Mini Programs to ask about trade management");
            return;
        }
    };
    for appid in due {
        if let Err(e) = state
            .auth
            .trade_management(&appid, TRADE_MANAGEMENT_MAX_AGE, false)
            .await
        {
            tracing::info!(authorizer.appid = %appid, error = %e, "could not ask about trade management");
        }
    }
}

async fn announce_overdue(state: &ProxyState, settings: &ReconciliationSettings) {
    let thresholds = settings.thresholds();
    let now = state.auth.clock().now();
    let store = state.auth.store();
    let due = match store
        .overdue_orders(now.timestamp(), &thresholds, 1000)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "could not look for overdue orders");
            return;
        }
    };
    for order in due {
        let Some(threshold) = usize::try_from(order.overdue_level)
            .ok()
            .and_then(|l| thresholds.get(l))
        else {
            continue;
        };
        if let Err(e) = store.announce_overdue(&order, *threshold, now).await {
            tracing::warn!(error = %e, "could not announce an overdue order");
        }
    }
}

/// The worker: a [`tick`] every `tick_secs`, until `stop`.
pub async fn run(state: ProxyState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !state.reconciliation.enabled {
        return;
    }
    let every = Duration::from_secs(state.reconciliation.tick_secs.max(1));
    loop {
        tick(&state).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_spread_evenly_over_the_interval() {
        let interval = 3_600_000;
        let mut per_minute = [0u32; 60];
        for i in 0..60_000 {
            let offset = offset_ms(&format!("wx{i:016x}"), interval);
            assert!((0..interval).contains(&offset));
            per_minute[(offset / 60_000) as usize] += 1;
        }
        let (min, max) = (
            per_minute.iter().min().unwrap(),
            per_minute.iter().max().unwrap(),
        );
        // 1 000 a minute on average; a uniform hash stays within ±15 %.
        assert!(*min > 850 && *max < 1150, "{min}..{max}");
        // Stable, and the first run is never in the past.
        assert_eq!(offset_ms("wxa", interval), offset_ms("wxa", interval));
        let now = 1_700_000_123_456;
        let first = first_run_ms("wxa", now, interval);
        assert!(first >= now && first < now + interval);
        assert_eq!(first.rem_euclid(interval), offset_ms("wxa", interval));
    }

    #[test]
    fn settings_are_checked() {
        assert!(ReconciliationSettings::default().validate().is_ok());
        let bad = ReconciliationSettings {
            overdue_after_hours: vec![48, 24],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        assert_eq!(
            ReconciliationSettings::default().thresholds(),
            [86_400, 172_800]
        );
    }
}
