//! Webhook deliveries (status and attempts, per event or per endpoint) and
//! replays: an event delivered again to the endpoints that subscribe to it
//! now, with its original id so receivers can dedupe.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::{
    deliveries::{DeliveryFilter, DeliveryStatus as StoredStatus},
    events::EventFilter,
};

use super::{AdminTags, Change, Page, PageItem, Paging, audited, record_after};
use crate::{AdminState, auth::AdminAuth};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or for its endpoint to be re-enabled).
    Pending,
    Delivered,
    /// Gave up after the retry schedule; replay the event to try again.
    Dead,
}

impl DeliveryStatus {
    pub(crate) fn as_str(self) -> &'static str {
        StoredStatus::from(self).as_str()
    }
}

impl From<DeliveryStatus> for StoredStatus {
    fn from(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Pending => StoredStatus::Pending,
            DeliveryStatus::Delivered => StoredStatus::Delivered,
            DeliveryStatus::Dead => StoredStatus::Dead,
        }
    }
}

impl From<StoredStatus> for DeliveryStatus {
    fn from(status: StoredStatus) -> Self {
        match status {
            StoredStatus::Pending => DeliveryStatus::Pending,
            StoredStatus::Delivered => DeliveryStatus::Delivered,
            StoredStatus::Dead => DeliveryStatus::Dead,
        }
    }
}

/// One event to one endpoint.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub tenant_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<store::deliveries::Delivery> for Delivery {
    fn from(d: store::deliveries::Delivery) -> Self {
        let status: DeliveryStatus = d.status.into();
        Self {
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| DateTime::from_timestamp_millis(d.next_attempt_at_ms))
                .flatten(),
            id: d.id,
            event_id: d.event_id.into(),
            webhook_id: d.endpoint_id,
            tenant_id: d.tenant_id.into(),
            status,
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

impl PageItem for Delivery {
    const PAGE: &'static str = "DeliveryPage";
    const NEWEST_FIRST: bool = true;
}

/// Which events to replay.
#[derive(Debug, Clone, Object, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct ReplayFilter {
    /// Only this tenant's events (a tenant_admin's are always its own).
    pub tenant_id: Option<String>,
    /// Only this Mini Program's events.
    #[oai(validator(max_length = 64))]
    pub appid: Option<String>,
    /// Only events of this type.
    #[oai(rename = "type", validator(max_length = 64))]
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Events that occurred at or after this time (required: replays are bounded).
    pub since: DateTime<Utc>,
    /// Events that occurred before this time.
    pub until: Option<DateTime<Utc>>,
}

impl poem_openapi::types::Example for ReplayFilter {
    fn example() -> Self {
        Self {
            tenant_id: None,
            appid: Some("wx0123456789abcdef".into()),
            event_type: Some("trade_manage_order_settlement".into()),
            since: DateTime::UNIX_EPOCH,
            until: None,
        }
    }
}

/// What a replay queued.
#[derive(Debug, Clone, Object)]
pub struct ReplayResult {
    /// Events replayed.
    pub events: u64,
    /// Deliveries created (one per subscribed endpoint per event).
    pub deliveries: u64,
}

#[derive(ApiResponse)]
enum ListDeliveriesResponse {
    /// Deliveries, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Delivery>>),
}

#[derive(ApiResponse)]
enum ReplayResponse {
    /// Queued; the dispatcher sends them at once.
    #[oai(status = 202)]
    Accepted(Json<ReplayResult>),
}

/// At most this many events per replay request.
const MAX_REPLAY: u64 = 1000;

/// Replays per tenant per hour (`webhooks.replays_per_tenant_per_hour`);
/// platform-wide replays share one budget.
async fn replay_allowed(state: &AdminState, tenant_id: Option<&str>) -> Result<(), Problem> {
    let rule = ratelimit::ThrottleRule {
        name: "replay",
        limit: state.limits.replays_per_tenant_per_hour,
        window_secs: 3600,
    };
    state
        .throttle
        .hit(
            &[(rule, tenant_id.unwrap_or("platform"))],
            chrono::Utc::now(),
        )
        .await
        .map_err(|t| {
            Problem::new(
                poem::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Rate limited",
            )
            .with_detail(format!(
                "at most {} replays per tenant per hour; retry in {} s",
                state.limits.replays_per_tenant_per_hour, t.retry_after_secs
            ))
            .with_retry_after(t.retry_after_secs)
        })
}

pub struct DeliveriesApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "AdminTags::Events")]
impl DeliveriesApi {
    /// List an event's webhook deliveries
    #[oai(
        path = "/events/:event_id/deliveries",
        method = "get",
        operation_id = "list_event_deliveries"
    )]
    async fn list_event_deliveries(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Event id.
        event_id: Path<String>,
    ) -> Result<ListDeliveriesResponse, Problem> {
        let not_found = || Problem::not_found(format!("event {} not found", event_id.0));
        let event = state.store.event(&event_id).await?.ok_or_else(not_found)?;
        if !auth.0.can_see(event.tenant_id.as_deref()) {
            return Err(not_found());
        }
        let filter = DeliveryFilter {
            event_id: Some(event_id.0.clone()),
            ..Default::default()
        };
        let rows = state.store.list_deliveries(&filter, None, 200).await?;
        Ok(ListDeliveriesResponse::Ok(Json(Page {
            items: rows.into_iter().map(Delivery::from).collect(),
            next_cursor: None,
        })))
    }

    /// List a webhook endpoint's deliveries
    #[oai(
        path = "/tenants/:tenant_id/webhooks/:webhook_id/deliveries",
        method = "get",
        operation_id = "list_webhook_deliveries",
        tag = "AdminTags::Webhooks"
    )]
    #[allow(clippy::too_many_arguments)] // one per parameter
    async fn list_webhook_deliveries(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Webhook endpoint id.
        webhook_id: Path<String>,
        /// Only deliveries with this status.
        status: Query<Option<DeliveryStatus>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListDeliveriesResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        state
            .store
            .webhook(&tenant_id, &webhook_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("webhook {} not found", webhook_id.0)))?;
        let filter = DeliveryFilter {
            tenant_id: Some(tenant_id.0.clone()),
            endpoint_id: Some(webhook_id.0.clone()),
            status: status.0.map(|s| s.as_str().to_owned()),
            ..Default::default()
        };
        let rows = state
            .store
            .list_deliveries(&filter, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |d| &d.id).map(Delivery::from);
        Ok(ListDeliveriesResponse::Ok(Json(page)))
    }

    /// Replay an event
    ///
    /// Delivers it again (same event id) to every endpoint of its tenant that
    /// subscribes to its type now, whatever happened before.
    #[oai(
        path = "/events/:event_id/replay",
        method = "post",
        operation_id = "replay_event"
    )]
    async fn replay_event(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Event id.
        event_id: Path<String>,
    ) -> Result<ReplayResponse, Problem> {
        let not_found = || Problem::not_found(format!("event {} not found", event_id.0));
        let event = state.store.event(&event_id).await?.ok_or_else(not_found)?;
        if !auth.0.can_see(event.tenant_id.as_deref()) {
            return Err(not_found());
        }
        match event.tenant_id.as_deref() {
            Some(t) => auth.0.require_tenant_write(t)?,
            None => auth.0.require_platform_write()?,
        }
        replay_allowed(&state, event.tenant_id.as_deref()).await?;
        let deliveries = audited(
            &state,
            &auth.0,
            |s| async move { s.replay_event(&event.id).await },
            |deliveries| {
                [Change {
                    action: "event.replay",
                    target_type: "event",
                    target_id: event_id.0.clone(),
                    tenant_id: event.tenant_id.clone().map(Into::into),
                    detail: json!({ "deliveries": deliveries }),
                }]
            },
        )
        .await?;
        Ok(ReplayResponse::Accepted(Json(ReplayResult {
            events: 1,
            deliveries,
        })))
    }

    /// Replay the events a filter matches
    ///
    /// Oldest first, at most 1 000 per request (narrow `since`/`until` and
    /// repeat for more).
    #[oai(
        path = "/events/replay",
        method = "post",
        operation_id = "replay_events"
    )]
    async fn replay_events(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        body: Json<Checked<ReplayFilter>>,
    ) -> Result<ReplayResponse, Problem> {
        let f = body.0.0;
        let tenant_id = auth.0.tenant_scope(f.tenant_id.clone())?;
        match tenant_id.as_deref() {
            Some(t) => auth.0.require_tenant_write(t)?,
            None => auth.0.require_platform_write()?,
        }
        if f.until.is_some_and(|u| u <= f.since) {
            return Err(Problem::validation("until", "must be after since"));
        }
        let filter = EventFilter {
            tenant_id: tenant_id.clone(),
            appid: f.appid.clone(),
            event_type: f.event_type.clone(),
            since: Some(f.since),
            until: f.until,
        };
        replay_allowed(&state, tenant_id.as_deref()).await?;
        let (events, deliveries) = state.store.replay_events(&filter, MAX_REPLAY).await?;
        // Queued in many short transactions (pushes must not wait behind a
        // long one), so recorded once they are all queued.
        record_after(
            &state,
            &auth.0,
            Change {
                action: "event.replay_many",
                target_type: "event",
                target_id: "*".to_owned(),
                tenant_id,
                detail: json!({
                    "appid": f.appid, "type": f.event_type, "since": f.since, "until": f.until,
                    "events": events, "deliveries": deliveries,
                }),
            },
        )
        .await;
        Ok(ReplayResponse::Accepted(Json(ReplayResult {
            events,
            deliveries,
        })))
    }
}
