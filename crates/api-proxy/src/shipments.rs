//! Durable shipments: an upload of shipping information that tpgate
//! accepts (202), stores, and sends itself until WeChat has it or refuses
//! it for good; a tenant's system hands the shipment over and need not
//! retry, reconcile or worry about spending the order's one re-shipment.
//!
//! - **Accepted like the synchronous call**: the key's scope, ownership,
//!   permission sets, seed rules and courier codes (`gate::precheck`), a
//!   filled-in `upload_time`, and the re-shipment guard's verdict as it
//!   stands (a second upload needs confirmation; `upload_time` must move
//!   on). One queued shipment per order: a second is a 409 naming the first.
//! - **Sent through the gate** by a worker on every replica, each shipment
//!   claimed with a lease (`store::shipments`), so each is sent once at a
//!   time; the guard and the rate limits apply as to any call, and the call
//!   log records each attempt under its own request id.
//! - **Retried** after WeChat's busy codes, no answer, a rate limit or a
//!   missing token, with exponential backoff (`first_retry_secs` doubling
//!   to `max_retry_secs`, jittered) until `retry_for_secs` after it was
//!   accepted. **After an unknown outcome** (no answer: WeChat may have
//!   acted) the next attempt reads `get_order` first: when WeChat has the
//!   upload the shipment is uploaded without sending it again, so a retry
//!   never becomes a re-shipment.
//! - **Failed** on a permanent refusal (WeChat's errcode and the seed's
//!   advice), or when time runs out. `shipment.uploaded` and
//!   `shipment.failed` events go to the tenant's webhooks.
use std::time::Duration;

use chrono::DateTime;
use poem::http::StatusCode;
use problem::Problem;
use rand::Rng as _;
use serde_json::Value;
use store::{
    shipments::{Enqueued, NewShipment, Shipment, ShipmentKind, ShipmentOutcome},
    shipping_uploads::OrderRef,
    tenants::TenantStatus,
};
use wechat_api::Validate as _;
use wechat_api::shipping::{
    GetOrderResponse, OrderKey, ShippingOrder, UploadCombinedShippingInfoRequest,
    UploadShippingInfoRequest,
};

use crate::{
    ProxyState, TenantContext, catalog,
    gate::{self, Call},
    reshipment,
    wechat_json::WechatJson,
};

/// Gauge: durable shipments by status (`queued`, `uploaded`, `failed`).
pub const SHIPMENTS: &str = "tpgate_shipments";
/// How often a worker refreshes [`SHIPMENTS`].
const GAUGE_EVERY: Duration = Duration::from_secs(30);

/// The `shipments.*` configuration section.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ShipmentSettings {
    /// How long after it was accepted a shipment is retried.
    pub retry_for_secs: u64,
    /// First retry delay, doubling per attempt up to `max_retry_secs`.
    pub first_retry_secs: u64,
    pub max_retry_secs: u64,
    /// How often each replica looks for due shipments.
    pub poll_interval_ms: u64,
    /// Claimed per round, and sent at once.
    pub batch: u64,
    pub concurrency: usize,
    /// How long a claim holds a shipment (longer than an attempt).
    pub lease_secs: u64,
}

impl Default for ShipmentSettings {
    fn default() -> Self {
        Self {
            retry_for_secs: 24 * 3600,
            first_retry_secs: 10,
            max_retry_secs: 600,
            poll_interval_ms: 1000,
            batch: 32,
            concurrency: 4,
            lease_secs: 120,
        }
    }
}

/// An upload to make durable, parsed and checked by its endpoint's types.
pub enum ShipmentBody {
    Upload(WechatJson<UploadShippingInfoRequest>),
    Combined(WechatJson<UploadCombinedShippingInfoRequest>),
}

/// The problem for a shipment of an order that has one queued.
fn already_queued(earlier: &Shipment) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "shipment_already_queued",
        "A shipment of this order is queued",
    )
    .with_detail(format!(
        "shipment {} of this payment order is still queued ({} attempt(s) so far); wait for its outcome (GET …/shipments/{}) before sending another",
        earlier.id, earlier.attempts, earlier.id
    ))
}

/// What accepting a shipment did.
pub struct Accepted {
    pub shipment: Shipment,
    /// False: an earlier shipment with the same idempotency key.
    pub created: bool,
    /// The `upload_time` tpgate filled in, if any.
    pub filled_upload_time: Option<String>,
    /// The courier-check header's value, when a list was missing.
    pub courier_check: Option<String>,
}

/// Checks a shipment like the synchronous call and stores it (see the
/// module doc). The same idempotency key with another body is a 422.
pub async fn accept(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    body: ShipmentBody,
    confirmed: bool,
    idempotency_key: Option<String>,
    request_id: Option<String>,
) -> Result<Accepted, Problem> {
    let now = state.auth.clock().now();
    // The seed rules are run on the typed body now, and reported in the
    // gate's order below (after the key's scope and the ownership).
    let (kind, api, raw, order, filled, guarded, rules) = match body {
        ShipmentBody::Upload(mut body) => {
            let filled = reshipment::fill_upload_time(&mut body.typed, &mut body.raw, now);
            let guarded = reshipment::shipment_of(&body.typed, confirmed);
            let order = reshipment::order_ref(&body.typed.order_key);
            let rules = body.typed.validate();
            let api = catalog::UPLOAD_SHIPPING_INFO;
            (
                ShipmentKind::Upload,
                api,
                body.raw,
                order,
                filled,
                guarded,
                rules,
            )
        }
        ShipmentBody::Combined(body) => {
            let order = reshipment::order_ref(&body.typed.order_key);
            let rules = body.typed.validate();
            let api = catalog::UPLOAD_COMBINED_SHIPPING_INFO;
            (
                ShipmentKind::Combined,
                api,
                body.raw,
                order,
                None,
                None,
                rules,
            )
        }
    };
    let store = state.auth.store();
    let repeat = |existing: Shipment| {
        if existing.kind != kind || !same_request(&existing.body, &raw, filled.is_some()) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused with another request",
            )
            .with_detail(format!(
                "shipment {} was created with this Idempotency-Key and another body",
                existing.id
            )));
        }
        Ok(Accepted {
            shipment: existing,
            created: false,
            filled_upload_time: None,
            courier_check: None,
        })
    };
    // A repeat answers its shipment as it was accepted: the key may still
    // make the call, but the rules and WeChat's courier list of that time
    // stand (the list may have changed since).
    if let Some(key) = &idempotency_key
        && let Some(existing) = store.shipment_by_key(&tenant.tenant_id, key).await?
    {
        may_call(tenant, appid, api)?;
        return repeat(existing);
    }
    let courier_check = precheck(state, tenant, appid, api, &raw, || {
        rules.map_err(Problem::from)
    })
    .await?;
    // The seed rules ran: a body that reaches here names its order.
    let order = order.ok_or_else(|| Problem::validation("order_key", "names no payment order"))?;
    // The guard as it stands: refused now rather than failed later.
    if let Some(shipment) = &guarded
        && let Some(previous) = store.shipping_upload(appid, &shipment.order).await?
    {
        let verdict = reshipment::decide(
            Some(&previous),
            shipment.upload_time_at,
            shipment.confirmed,
            tenant.reshipment_guard,
        );
        if let Some(refused) = reshipment::refusal(&verdict, &previous) {
            return Err(refused);
        }
    }
    let give_up_at = now + chrono::Duration::seconds(state.shipments.retry_for_secs as i64);
    let enqueued = store
        .enqueue_shipment(NewShipment {
            tenant_id: tenant.tenant_id.clone().into(),
            appid: appid.into(),
            kind,
            order_key: order.key(),
            body: raw.clone(),
            confirm_reshipment: confirmed,
            idempotency_key,
            request_id,
            give_up_at,
        })
        .await?;
    match enqueued {
        Enqueued::Created(shipment) => Ok(Accepted {
            shipment,
            created: true,
            filled_upload_time: filled,
            courier_check,
        }),
        // Another request with the key got in first.
        Enqueued::Existing(existing) => repeat(existing),
        Enqueued::OrderQueued(earlier) => Err(already_queued(&earlier)),
    }
}

/// Step 1 of the gate alone: the key's scope and appids allow `api`.
pub(crate) fn may_call(
    tenant: &TenantContext,
    appid: &str,
    api: catalog::WechatApi,
) -> Result<(), Problem> {
    gate::key_may_call(
        tenant,
        &Call {
            api,
            path: api.path,
            appid,
            body: &Value::Null,
            idempotency_key: None,
            shipment: None,
        },
    )
}

async fn precheck(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    api: catalog::WechatApi,
    body: &Value,
    validate: impl FnOnce() -> Result<(), Problem>,
) -> Result<Option<String>, Problem> {
    let call = Call {
        api,
        path: api.path,
        appid,
        body,
        idempotency_key: None,
        shipment: None,
    };
    gate::precheck(state, tenant, &call, validate).await
}

/// Whether a repeat with the same idempotency key is the same request: the
/// same body, ignoring `upload_time` when tpgate filled it in (it is now's).
fn same_request(stored: &Value, new: &Value, filled: bool) -> bool {
    if !filled {
        return stored == new;
    }
    let without_time = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("upload_time");
        }
        v
    };
    without_time(stored) == without_time(new)
}

/// Whether WeChat's order shows the upload `body` made: one of its parcels
/// was uploaded at the body's `upload_time` (WeChat reports each parcel's
/// upload time, to the second), or, for a first upload, it has every
/// tracking number the body sent (a re-shipment may reuse the earlier
/// ones, so only its time tells). Used after an unknown outcome, before
/// sending again.
pub fn wechat_has(body: &Value, order: &ShippingOrder, reshipment: bool) -> bool {
    let Some(shipping) = &order.shipping else {
        return false;
    };
    let sent_at = body
        .get("upload_time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp());
    if sent_at.is_some_and(|at| shipping.shipping_list.iter().any(|p| p.upload_time == at)) {
        return true;
    }
    if reshipment {
        return false;
    }
    let tracking: Vec<&str> = parcels(body)
        .filter_map(|p| p.get("tracking_no").and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .collect();
    !tracking.is_empty()
        && tracking
            .iter()
            .all(|t| shipping.shipping_list.iter().any(|p| p.tracking_no == *t))
}

/// The parcels of an upload, or of a combined upload's first sub-order
/// (the one [`verify_key`] reads).
fn parcels(body: &Value) -> impl Iterator<Item = &Value> {
    let order = body
        .get("sub_orders")
        .and_then(|s| s.get(0))
        .unwrap_or(body);
    order
        .get("shipping_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The `get_order` body that reads the order an upload is for (a combined
/// upload's first sub-order: WeChat applies a combined upload whole).
fn verify_key(body: &Value) -> Option<Value> {
    let key = match body.get("sub_orders").and_then(|s| s.get(0)) {
        Some(sub) => sub.get("order_key")?,
        None => body.get("order_key")?,
    };
    let key: OrderKey = serde_json::from_value(key.clone()).ok()?;
    match reshipment::order_ref(&key)? {
        OrderRef::Transaction(tx) => Some(serde_json::json!({ "transaction_id": tx })),
        OrderRef::Merchant {
            mchid,
            out_trade_no,
        } => Some(serde_json::json!({ "merchant_id": mchid, "merchant_trade_no": out_trade_no })),
    }
}

/// What to do after an attempt that ended with `problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try again later; `verify_first` when WeChat may have acted.
    Retry { verify_first: bool, soon: bool },
    /// A permanent refusal.
    Fail,
}

/// Classifies a failed attempt: WeChat's busy codes and no answer are
/// retried (reading the order first, since WeChat may have acted); tpgate's
/// own refusals that pass (a rate limit, no token yet, another upload of the
/// order in flight, storage down) are retried as they are; the rest are
/// permanent (WeChat's errcodes, a rule, a re-shipment not confirmed).
pub fn next_after(problem: &Problem) -> Next {
    let body = problem.body();
    if let Some(code) = body.wechat_errcode {
        if gate::is_busy_errcode(code) {
            return Next::Retry {
                verify_first: true,
                soon: false,
            };
        }
        // A token WeChat rejected, or a quota or frequency limit of
        // WeChat's (45009, 9300513…): refused before acting, and it passes.
        if wechat_api::errcode::is_token_error(code)
            || problem.status() == StatusCode::TOO_MANY_REQUESTS
        {
            return Next::Retry {
                verify_first: false,
                soon: false,
            };
        }
        return Next::Fail;
    }
    if gate::is_unanswered(problem) {
        return Next::Retry {
            verify_first: true,
            soon: false,
        };
    }
    let in_flight = body.type_.ends_with("/shipment_upload_in_progress");
    match problem.status() {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Next::Retry {
            verify_first: false,
            soon: false,
        },
        StatusCode::CONFLICT if in_flight => Next::Retry {
            verify_first: false,
            soon: true,
        },
        s if s.is_server_error() => Next::Retry {
            verify_first: false,
            soon: false,
        },
        _ => Next::Fail,
    }
}

/// The delay before attempt `attempts + 1`: `first` doubling per attempt
/// up to `max`, ±20 % jitter. Computed (not `backon`): the schedule is
/// persisted between attempts, which may run on other replicas.
pub fn backoff(attempts: i32, settings: &ShipmentSettings, jitter: f64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = settings
        .first_retry_secs
        .saturating_mul(1u64 << exp)
        .min(settings.max_retry_secs)
        .max(1);
    Duration::from_secs_f64(base as f64 * (0.8 + 0.4 * jitter.clamp(0.0, 1.0)))
}

/// One attempt at `shipment` (claimed), and its outcome to record.
pub async fn attempt(state: &ProxyState, shipment: &Shipment) -> ShipmentOutcome {
    let settings = &state.shipments;
    let now = state.auth.clock().now();
    let retry = |verify_first: bool, soon: bool, errcode: Option<i64>, error: String| {
        let delay = if soon {
            Duration::from_secs(2)
        } else {
            backoff(
                shipment.attempts,
                settings,
                rand::rng().random_range(0.0..1.0),
            )
        };
        let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
        if at > shipment.give_up_at {
            let unknown = if verify_first || shipment.verify_first {
                " WeChat did not answer the last attempt, so it may have the upload: check with get_order."
            } else {
                ""
            };
            return ShipmentOutcome::Failed {
                errcode,
                error: format!(
                    "gave up after {} attempt(s): {error}.{unknown}",
                    shipment.attempts + 1
                ),
            };
        }
        ShipmentOutcome::Retry {
            at,
            verify_first,
            errcode,
            error,
        }
    };
    let tenant = match state.auth.store().tenant(&shipment.tenant_id).await {
        Ok(Some(t)) if t.status == TenantStatus::Active => {
            TenantContext::acting_for(&t, format!("shipment:{}", shipment.id))
        }
        Ok(Some(_)) => return retry(false, false, None, "the tenant is suspended".into()),
        Ok(None) => {
            return ShipmentOutcome::Failed {
                errcode: None,
                error: "the tenant was deleted".into(),
            };
        }
        Err(e) => return retry(false, false, None, format!("storage: {e}")),
    };
    if shipment.verify_first {
        match verify(state, &tenant, shipment).await {
            Ok(true) => return ShipmentOutcome::Uploaded,
            Ok(false) => {}
            Err(problem) => {
                return retry(
                    true,
                    false,
                    problem.body().wechat_errcode,
                    describe(&problem),
                );
            }
        }
    }
    let sent = send(state, &tenant, shipment).await;
    match sent {
        Ok(()) => ShipmentOutcome::Uploaded,
        Err(problem) => match next_after(&problem) {
            Next::Retry { verify_first, soon } => retry(
                verify_first,
                soon,
                problem.body().wechat_errcode,
                describe(&problem),
            ),
            // The guard knows an upload of this order: it may be this
            // shipment's own (its outcome recorded too late, after another
            // worker took it over). WeChat's order tells.
            Next::Fail if may_be_its_own_upload(&problem) => {
                match verify(state, &tenant, shipment).await {
                    Ok(true) => ShipmentOutcome::Uploaded,
                    _ => ShipmentOutcome::Failed {
                        errcode: problem.body().wechat_errcode,
                        error: describe(&problem),
                    },
                }
            }
            Next::Fail => ShipmentOutcome::Failed {
                errcode: problem.body().wechat_errcode,
                error: describe(&problem),
            },
        },
    }
}

/// Whether the guard refused because tpgate recorded an upload of the
/// order (a re-shipment not confirmed, or an `upload_time` not later).
/// WeChat's own refusals of a second identical upload (an `upload_time`
/// not later, nothing changed) mean the same, when tpgate lost the record
/// of the first (a replica killed between WeChat's answer and the record).
fn may_be_its_own_upload(problem: &Problem) -> bool {
    use wechat_api::errcode::{SHIPPING_UNCHANGED, UPLOAD_TIME_INVALID};
    let body = problem.body();
    body.type_.ends_with("/reshipment_requires_confirmation")
        || (body.field.as_deref() == Some("upload_time")
            && body.prevents_errcode == Some(UPLOAD_TIME_INVALID))
        || matches!(
            body.wechat_errcode,
            Some(UPLOAD_TIME_INVALID | SHIPPING_UNCHANGED)
        )
}

/// A problem in words for the shipment's record (its detail carries the
/// seed's advice for WeChat's errcodes).
fn describe(problem: &Problem) -> String {
    let body = problem.body();
    body.detail.clone().unwrap_or_else(|| body.title.clone())
}

/// After an unknown outcome: whether WeChat has the upload. When it does
/// not, the doubt is settled (the guard forgets the uncertain upload, the
/// shipment will be sent as a first upload).
async fn verify(
    state: &ProxyState,
    tenant: &TenantContext,
    shipment: &Shipment,
) -> Result<bool, Problem> {
    let body = verify_key(&shipment.body)
        .ok_or_else(|| Problem::validation("order_key", "names no payment order"))?;
    let answer = gate::forward::<GetOrderResponse>(
        state,
        tenant,
        Call {
            api: catalog::GET_ORDER,
            path: catalog::GET_ORDER.path,
            appid: &shipment.appid,
            body: &body,
            idempotency_key: None,
            shipment: None,
        },
        || Ok(()),
        crate::api::any_answer,
    )
    .await?;
    let order = serde_json::from_slice::<GetOrderResponse>(answer.body())
        .ok()
        .and_then(|r| r.order);
    if order
        .as_ref()
        .is_some_and(|o| wechat_has(&shipment.body, o, shipment.confirm_reshipment))
    {
        return Ok(true);
    }
    let store = state.auth.store();
    if let Some(order) = serde_json::from_value::<OrderKey>(shipment.body["order_key"].clone())
        .ok()
        .as_ref()
        .and_then(reshipment::order_ref)
        && shipment.kind == ShipmentKind::Upload
    {
        store
            .forget_uncertain_upload(&shipment.appid, &order)
            .await?;
    }
    store
        .clear_shipment_doubt(&shipment.id, shipment.lease)
        .await?;
    Ok(false)
}

/// Sends the upload through the gate, the guard watching.
async fn send(
    state: &ProxyState,
    tenant: &TenantContext,
    shipment: &Shipment,
) -> Result<(), Problem> {
    let (api, guarded) = match shipment.kind {
        ShipmentKind::Upload => {
            let typed: UploadShippingInfoRequest = serde_json::from_value(shipment.body.clone())
                .map_err(|e| Problem::bad_request(format!("stored body unreadable: {e}")))?;
            (
                catalog::UPLOAD_SHIPPING_INFO,
                reshipment::shipment_of(&typed, shipment.confirm_reshipment),
            )
        }
        ShipmentKind::Combined => (catalog::UPLOAD_COMBINED_SHIPPING_INFO, None),
    };
    gate::forward::<wechat_api::shipping::WechatAck>(
        state,
        tenant,
        Call {
            api,
            path: api.path,
            appid: &shipment.appid,
            body: &shipment.body,
            idempotency_key: None,
            shipment: guarded,
        },
        || Ok(()),
        crate::api::any_answer,
    )
    .await
    .map(|_| ())
}

/// The worker: every `poll_interval_ms`, claims due shipments and attempts
/// them (`concurrency` at once), until `stop`.
pub async fn run(state: ProxyState, mut stop: tokio::sync::watch::Receiver<bool>) {
    use futures_util::StreamExt as _;
    let settings = state.shipments.clone();
    let lease = Duration::from_secs(settings.lease_secs.max(10));
    let mut observed: Option<std::time::Instant> = None;
    loop {
        if observed.is_none_or(|at| at.elapsed() >= GAUGE_EVERY) {
            observe(&state).await;
            observed = Some(std::time::Instant::now());
        }
        let now = state.auth.clock().now();
        let claimed = match state
            .auth
            .store()
            .claim_due_shipments(now, settings.batch.max(1), lease)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim due shipments");
                Vec::new()
            }
        };
        let full = claimed.len() as u64 >= settings.batch.max(1);
        futures_util::stream::iter(claimed)
            .for_each_concurrent(settings.concurrency.max(1), |shipment| {
                let state = state.clone();
                async move { run_one(&state, shipment).await }
            })
            .await;
        if *stop.borrow() {
            return;
        }
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(settings.poll_interval_ms.max(10))) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Sets [`SHIPMENTS`] from the store (every status, zero included).
async fn observe(state: &ProxyState) {
    match state.auth.store().count_shipments_by_status(None).await {
        Ok(counts) => {
            for status in store::shipments::ShipmentStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(SHIPMENTS, "status" => status.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count shipments"),
    }
}

/// Attempts one claimed shipment under its own request id (the call log
/// groups the attempt's WeChat calls by it) and records the outcome.
async fn run_one(state: &ProxyState, shipment: Shipment) {
    let scope = call_log::RequestScope::new(call_log::RequestId::generate());
    let outcome = scope.run(attempt(state, &shipment)).await;
    let status = match &outcome {
        ShipmentOutcome::Uploaded => 200,
        ShipmentOutcome::Failed { .. } => 400,
        ShipmentOutcome::Retry { .. } => 503,
    };
    state.auth.client().call_log().submit(scope.finish(status));
    // Retried briefly: the upload happened, and a lost record would send
    // it again after the lease (the guard and get_order would then catch
    // it, at the cost of WeChat calls).
    let record = || {
        state
            .auth
            .store()
            .finish_shipment(&shipment.id, shipment.lease, outcome.clone())
    };
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_times(4)
        .with_jitter();
    match backon::Retryable::retry(record, backoff).await {
        Ok(Some(done)) => tracing::info!(
            shipment.id = %done.id,
            authorizer.appid = %done.appid,
            status = done.status.as_str(),
            attempts = done.attempts,
            request_id = %scope.id().as_str(),
            "shipment attempt"
        ),
        Ok(None) => {
            tracing::warn!(shipment.id = %shipment.id, "a shipment's lease ran out before its outcome was recorded; another worker has it")
        }
        Err(e) => {
            tracing::error!(shipment.id = %shipment.id, error = %e, "could not record a shipment's outcome; it is attempted again after its lease")
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use wechat_api::shipping::{OrderShipping, OrderShippingItem};

    use super::*;

    fn order(parcels: &[(&str, i64)]) -> ShippingOrder {
        ShippingOrder {
            transaction_id: "42".into(),
            merchant_id: String::new(),
            sub_merchant_id: String::new(),
            merchant_trade_no: String::new(),
            description: String::new(),
            paid_amount: 1,
            openid: "o".into(),
            trade_create_time: 0,
            pay_time: 0,
            order_state: 2,
            in_complaint: false,
            shipping: Some(OrderShipping {
                shipping_list: parcels
                    .iter()
                    .map(|(t, at)| OrderShippingItem {
                        tracking_no: (*t).into(),
                        upload_time: *at,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn wechat_has_an_upload_by_its_time_or_its_tracking_numbers() {
        let body = json!({
            "upload_time": "2026-12-05T10:00:00+08:00",
            "shipping_list": [{"tracking_no": "SF1"}, {"tracking_no": "SF2"}],
        });
        let at = DateTime::parse_from_rfc3339("2026-12-05T10:00:00+08:00")
            .unwrap()
            .timestamp();
        assert!(wechat_has(&body, &order(&[("X", at)]), false));
        assert!(wechat_has(&body, &order(&[("SF1", 1), ("SF2", 1)]), false));
        assert!(!wechat_has(&body, &order(&[("SF1", 1)]), false));
        // A re-shipment reusing the tracking numbers: only its time tells.
        assert!(!wechat_has(&body, &order(&[("SF1", 1), ("SF2", 1)]), true));
        assert!(wechat_has(&body, &order(&[("X", at)]), true));
        let mut unshipped = order(&[]);
        unshipped.shipping = None;
        assert!(!wechat_has(&body, &unshipped, false));
        // No tracking numbers (virtual goods): only the time tells.
        let virtual_goods = json!({"upload_time": "2026-12-05T10:00:00+08:00", "shipping_list": [{"item_desc": "x"}]});
        assert!(!wechat_has(&virtual_goods, &order(&[("", at - 1)]), false));
        // A combined upload is read on its first sub-order.
        let combined = json!({"sub_orders": [{"order_key": {"order_number_type": 2, "transaction_id": "7"}, "shipping_list": [{"tracking_no": "SF9"}]}]});
        assert!(wechat_has(&combined, &order(&[("SF9", 1)]), false));
        assert_eq!(verify_key(&combined), Some(json!({"transaction_id": "7"})));
        let by_merchant =
            json!({"order_key": {"order_number_type": 1, "mchid": "m", "out_trade_no": "n"}});
        assert_eq!(
            verify_key(&by_merchant),
            Some(json!({"merchant_id": "m", "merchant_trade_no": "n"}))
        );
    }

    #[test]
    fn busy_codes_and_silence_are_retried_after_reading_the_order() {
        let busy = problem::wechat::wechat_problem(-1, "system busy");
        assert_eq!(
            next_after(&busy),
            Next::Retry {
                verify_first: true,
                soon: false
            }
        );
        let timeout = Problem::new(StatusCode::GATEWAY_TIMEOUT, "wechat-timeout", "t");
        assert_eq!(
            next_after(&timeout),
            Next::Retry {
                verify_first: true,
                soon: false
            }
        );
        let limited = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "r");
        assert_eq!(
            next_after(&limited),
            Next::Retry {
                verify_first: false,
                soon: false
            }
        );
        let in_flight = reshipment::in_flight(Utc::now());
        assert_eq!(
            next_after(&in_flight),
            Next::Retry {
                verify_first: false,
                soon: true
            }
        );
        // Permanent: WeChat's refusals, rules, an unconfirmed re-shipment.
        let refused = problem::wechat::wechat_problem(10060003, "no more re-shipment");
        assert_eq!(next_after(&refused), Next::Fail);
        let quota = problem::wechat::wechat_problem(45009, "reach max api daily quota limit");
        assert_eq!(
            next_after(&quota),
            Next::Retry {
                verify_first: false,
                soon: false
            }
        );
        assert_eq!(
            next_after(&Problem::validation("upload_time", "not later")),
            Next::Fail
        );
        let conflict = Problem::new(
            StatusCode::CONFLICT,
            "reshipment_requires_confirmation",
            "c",
        );
        assert_eq!(next_after(&conflict), Next::Fail);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let s = ShipmentSettings::default();
        assert_eq!(backoff(0, &s, 0.5), Duration::from_secs(10));
        assert_eq!(backoff(1, &s, 0.5), Duration::from_secs(20));
        assert_eq!(backoff(10, &s, 0.5), Duration::from_secs(600));
        assert_eq!(backoff(1000, &s, 0.5), Duration::from_secs(600));
        assert_eq!(backoff(0, &s, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(0, &s, 1.0), Duration::from_secs(12));
    }

    #[test]
    fn a_repeat_is_the_same_request_whatever_upload_time_was_filled() {
        let a = json!({"order_key": 1, "upload_time": "a"});
        let b = json!({"order_key": 1, "upload_time": "b"});
        assert!(same_request(&a, &b, true));
        assert!(!same_request(&a, &b, false));
        assert!(!same_request(&a, &json!({"order_key": 2}), true));
    }
}
