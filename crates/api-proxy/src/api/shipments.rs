//! Durable shipments over HTTP (`crate::shipments`): hand an upload over
//! (202), batch up to 100, read one, list by status.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::ParseFromJSON,
};
use problem::{Problem, ProblemBody, checked::NoNulls};
use serde_json::Value;
use store::shipments::{Shipment, ShipmentFilter, ShipmentKind as StoredKind, ShipmentStatus};
use wechat_api::shipping::{UploadCombinedShippingInfoRequest, UploadShippingInfoRequest};

use super::ApiTags;
use crate::{
    ProxyState, TenantApiKey, TenantContext, catalog, reshipment,
    shipments::{self, Accepted, ShipmentBody},
    wechat_json::WechatJson,
};

/// Most shipments per batch.
const MAX_BATCH: usize = 100;

/// An upload to hand over: exactly one of the two bodies, in WeChat's shape.
#[derive(Object)]
#[oai(example)]
pub struct ShipmentRequest {
    /// An `upload_shipping_info` body.
    pub upload_shipping_info: Option<WechatJson<UploadShippingInfoRequest>>,
    /// An `upload_combined_shipping_info` body.
    pub upload_combined_shipping_info: Option<WechatJson<UploadCombinedShippingInfoRequest>>,
    /// Confirms a re-shipment, as `Tpgate-Confirm-Reshipment: true` does for the synchronous call.
    #[oai(default)]
    pub confirm_reshipment: bool,
    /// In a batch: this item's idempotency key (the single call takes the `Idempotency-Key` header). The same key again answers the shipment it created.
    #[oai(validator(min_length = 1, max_length = 255))]
    pub idempotency_key: Option<String>,
}

impl poem_openapi::types::Example for ShipmentRequest {
    /// The seed's example upload.
    fn example() -> Self {
        let typed = <UploadShippingInfoRequest as poem_openapi::types::Example>::example();
        let raw = serde_json::to_value(&typed).unwrap_or_default();
        Self {
            upload_shipping_info: Some(WechatJson { typed, raw }),
            upload_combined_shipping_info: None,
            confirm_reshipment: false,
            idempotency_key: None,
        }
    }
}

impl ShipmentRequest {
    fn into_body(self) -> Result<(ShipmentBody, bool, Option<String>), Problem> {
        let body = match (
            self.upload_shipping_info,
            self.upload_combined_shipping_info,
        ) {
            (Some(upload), None) => ShipmentBody::Upload(upload),
            (None, Some(combined)) => ShipmentBody::Combined(combined),
            _ => {
                return Err(Problem::validation(
                    "upload_shipping_info",
                    "give exactly one of upload_shipping_info and upload_combined_shipping_info",
                ));
            }
        };
        Ok((body, self.confirm_reshipment, self.idempotency_key))
    }
}

/// What a shipment uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ShipmentKind {
    UploadShippingInfo,
    UploadCombinedShippingInfo,
}

/// Where a shipment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ShipmentState {
    /// Waiting for its next attempt.
    Queued,
    /// Being sent to WeChat now.
    Sending,
    /// WeChat has it.
    Uploaded,
    /// WeChat refused it for good, or retries ran out (`errcode`, `error`).
    Failed,
}

impl ShipmentState {
    fn of(shipment: &Shipment, now: DateTime<Utc>) -> Self {
        match shipment.status {
            ShipmentStatus::Queued if shipment.is_sending(now) => Self::Sending,
            ShipmentStatus::Queued => Self::Queued,
            ShipmentStatus::Uploaded => Self::Uploaded,
            ShipmentStatus::Failed => Self::Failed,
        }
    }

    fn stored(self) -> ShipmentStatus {
        match self {
            Self::Queued | Self::Sending => ShipmentStatus::Queued,
            Self::Uploaded => ShipmentStatus::Uploaded,
            Self::Failed => ShipmentStatus::Failed,
        }
    }
}

/// A durable shipment.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Shipment")]
pub struct ShipmentView {
    pub id: String,
    pub appid: String,
    pub kind: ShipmentKind,
    /// The payment order: `tx:<transaction_id>` or `mch:<mchid>:<out_trade_no>`.
    pub order_key: String,
    pub status: ShipmentState,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (queued shipments).
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Retries stop then.
    pub give_up_at: DateTime<Utc>,
    /// A confirmed re-shipment.
    pub confirm_reshipment: bool,
    /// WeChat's errcode of the last refusal or failure, if it answered one.
    #[oai(skip_serializing_if_is_none)]
    pub errcode: Option<i64>,
    /// The last refusal or failure, with what to do.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub idempotency_key: Option<String>,
    /// The request that handed it over.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// The body sent to WeChat (`upload_time` filled in when it was absent).
    pub body: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl ShipmentView {
    fn of(s: Shipment, now: DateTime<Utc>) -> Self {
        let status = ShipmentState::of(&s, now);
        Self {
            kind: match s.kind {
                StoredKind::Upload => ShipmentKind::UploadShippingInfo,
                StoredKind::Combined => ShipmentKind::UploadCombinedShippingInfo,
            },
            next_attempt_at: (s.status == ShipmentStatus::Queued).then_some(s.next_attempt_at),
            status,
            id: s.id,
            appid: s.appid.to_string(),
            order_key: s.order_key,
            attempts: s.attempts,
            give_up_at: s.give_up_at,
            confirm_reshipment: s.confirm_reshipment,
            errcode: s.errcode,
            error: s.error,
            idempotency_key: s.idempotency_key,
            request_id: s.request_id,
            body: s.body,
            created_at: s.created_at,
            updated_at: s.updated_at,
            finished_at: s.finished_at,
        }
    }
}

/// Up to 100 shipments.
#[derive(Object)]
#[oai(example)]
pub struct ShipmentBatchRequest {
    /// Each a `ShipmentRequest`; one that does not parse gets its own 400 in the results.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub shipments: Vec<Value>,
}

impl poem_openapi::types::Example for ShipmentBatchRequest {
    fn example() -> Self {
        use poem_openapi::types::ToJSON as _;
        let mut item = ShipmentRequest::example();
        item.idempotency_key = Some("order-1001-ship".to_owned());
        Self {
            shipments: item.to_json().into_iter().collect(),
        }
    }
}

/// The outcome of one batch item.
#[derive(Debug, Clone, Object)]
pub struct ShipmentBatchItem {
    /// Its position in the request.
    pub index: u32,
    /// 202 accepted, 200 an earlier shipment with its idempotency key, else the problem's status.
    pub status: u16,
    #[oai(skip_serializing_if_is_none)]
    pub shipment: Option<ShipmentView>,
    #[oai(skip_serializing_if_is_none)]
    pub problem: Option<ProblemBody>,
    /// `skipped; list=…` when a courier list could not be had to check its codes (as the `Tpgate-Courier-Check` header says for one shipment).
    #[oai(skip_serializing_if_is_none)]
    pub courier_check: Option<String>,
}

/// A result per item, in order.
#[derive(Debug, Clone, Object)]
pub struct ShipmentBatchResult {
    pub accepted: u32,
    pub refused: u32,
    pub results: Vec<ShipmentBatchItem>,
}

/// A page of shipments, newest first.
#[derive(Debug, Clone, Object)]
pub struct ShipmentPage {
    pub items: Vec<ShipmentView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
enum AcceptedResponse {
    /// Accepted: tpgate will upload it (see `status`).
    #[oai(status = 202)]
    Accepted(
        Json<ShipmentView>,
        /// The `upload_time` tpgate filled in (the body had none).
        #[oai(header = "Tpgate-Filled-Upload-Time")]
        Option<String>,
        /// `skipped; list=…` when a courier list could not be had to check the codes.
        #[oai(header = "Tpgate-Courier-Check")]
        Option<String>,
    ),
    /// An earlier shipment created with this Idempotency-Key.
    #[oai(status = 200)]
    Existing(
        Json<ShipmentView>,
        #[oai(header = "Tpgate-Filled-Upload-Time")] Option<String>,
        #[oai(header = "Tpgate-Courier-Check")] Option<String>,
    ),
}

pub struct ShipmentsApi;

#[OpenApi(prefix_path = "/v1/apps")]
impl ShipmentsApi {
    /// Hand over a shipment
    ///
    /// A durable `upload_shipping_info` (or `upload_combined_shipping_info`): checked like the synchronous call (seed rules, courier codes, the re-shipment guard, a missing `upload_time` filled in), stored, and answered 202; tpgate uploads it, retrying WeChat's busy codes, timeouts and outages with backoff for `shipments.retry_for_secs` (24 h). After an attempt WeChat did not answer, tpgate reads `get_order` before sending again, so a retry never becomes a re-shipment. A permanent refusal ends it as `failed` with WeChat's errcode and what to do. Webhook events `shipment.uploaded` and `shipment.failed`. One queued shipment per order (else 409). Needs the `proxy_write` scope.
    #[oai(
        path = "/:appid/shipments",
        method = "post",
        operation_id = "create_shipment",
        tag = "ApiTags::Shipping"
    )]
    async fn create_shipment(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// The same key again answers the shipment it created (200); with another body, 422.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))]
        idempotency_key: Header<Option<String>>,
        /// `true` confirms a re-shipment (see `upload_shipping_info`).
        #[oai(name = "Tpgate-Confirm-Reshipment")]
        confirm_reshipment: Header<Option<String>>,
        body: Json<NoNulls<ShipmentRequest>>,
    ) -> Result<AcceptedResponse, Problem> {
        let (shipment, confirmed, key) = body.0.0.into_body()?;
        let confirmed = confirmed || reshipment::confirms(confirm_reshipment.0.as_deref());
        let key = match (idempotency_key.0, key) {
            (Some(a), Some(b)) if a != b => {
                return Err(Problem::validation(
                    "idempotency_key",
                    "differs from the Idempotency-Key header; send one",
                ));
            }
            (a, b) => a.or(b),
        };
        let accepted = accept(&state, &auth.0, &appid, shipment, confirmed, key).await?;
        let now = state.auth.clock().now();
        let view = Json(ShipmentView::of(accepted.shipment, now));
        Ok(if accepted.created {
            AcceptedResponse::Accepted(view, accepted.filled_upload_time, accepted.courier_check)
        } else {
            AcceptedResponse::Existing(view, None, None)
        })
    }

    /// Hand over up to 100 shipments
    ///
    /// Each item as `POST …/shipments` takes it (its own `confirm_reshipment` and `idempotency_key`), each with its own result: 202 accepted, 200 an earlier shipment with its key, or the problem that refused it. Items are independent: one refused does not stop the others.
    #[oai(
        path = "/:appid/shipments/batch",
        method = "post",
        operation_id = "create_shipments",
        tag = "ApiTags::Shipping"
    )]
    async fn create_shipments(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<ShipmentBatchRequest>,
    ) -> Result<Json<ShipmentBatchResult>, Problem> {
        // The key may make writes at all, and this appid: one answer for
        // the whole batch rather than a hundred identical ones.
        may_write(&auth.0, &appid)?;
        let mut results = Vec::with_capacity(body.0.shipments.len().min(MAX_BATCH));
        for (index, item) in body.0.shipments.into_iter().take(MAX_BATCH).enumerate() {
            let outcome = match NoNulls::<ShipmentRequest>::parse_from_json(Some(item)) {
                Ok(NoNulls(request)) => match request.into_body() {
                    Ok((shipment, confirmed, key)) => {
                        accept(&state, &auth.0, &appid, shipment, confirmed, key).await
                    }
                    Err(p) => Err(p),
                },
                Err(e) => Err(Problem::bad_request(e.into_message())),
            };
            let now = state.auth.clock().now();
            results.push(match outcome {
                Ok(a) => ShipmentBatchItem {
                    index: index as u32,
                    status: if a.created { 202 } else { 200 },
                    shipment: Some(ShipmentView::of(a.shipment, now)),
                    problem: None,
                    courier_check: a.courier_check,
                },
                Err(p) => ShipmentBatchItem {
                    index: index as u32,
                    status: p.status().as_u16(),
                    shipment: None,
                    problem: Some(p.body().clone()),
                    courier_check: None,
                },
            });
        }
        let accepted = results.iter().filter(|r| r.shipment.is_some()).count() as u32;
        Ok(Json(ShipmentBatchResult {
            accepted,
            refused: results.len() as u32 - accepted,
            results,
        }))
    }

    /// Get a shipment
    ///
    /// Where a durable shipment stands: `queued` (with `next_attempt_at` and the last error), `sending`, `uploaded` or `failed` (with WeChat's errcode and what to do). Needs the `proxy_read` scope.
    #[oai(
        path = "/:appid/shipments/:shipment_id",
        method = "get",
        operation_id = "get_shipment",
        tag = "ApiTags::Shipping"
    )]
    async fn get_shipment(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// The shipment's id.
        #[oai(validator(max_length = 64))]
        shipment_id: Path<String>,
    ) -> Result<Json<ShipmentView>, Problem> {
        may_read(&auth.0, &appid)?;
        let found = state
            .auth
            .store()
            .shipment(&shipment_id)
            .await?
            .filter(|s| s.tenant_id == auth.0.tenant_id && s.appid == appid.0)
            .ok_or_else(|| {
                Problem::not_found(format!("no shipment {} of {}", shipment_id.0, appid.0))
            })?;
        Ok(Json(ShipmentView::of(found, state.auth.clock().now())))
    }

    /// List shipments
    ///
    /// A Mini Program's durable shipments, newest first, optionally by status. Needs the `proxy_read` scope.
    #[oai(
        path = "/:appid/shipments",
        method = "get",
        operation_id = "list_shipments",
        tag = "ApiTags::Shipping"
    )]
    async fn list_shipments(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Only shipments with this status (`sending` ones are listed as `queued`).
        status: Query<Option<ShipmentState>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 64))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<ShipmentPage>, Problem> {
        may_read(&auth.0, &appid)?;
        let limit = u64::from(limit.0.unwrap_or(50));
        let filter = ShipmentFilter {
            tenant_id: Some(auth.0.tenant_id.clone()),
            appid: Some(appid.0.clone()),
            status: status.0.map(ShipmentState::stored),
        };
        let mut rows = state
            .auth
            .store()
            .list_shipments(&filter, cursor.0.as_deref(), limit + 1)
            .await?;
        let next_cursor = (rows.len() as u64 > limit).then(|| {
            rows.truncate(limit as usize);
            rows.last().map(|s| s.id.clone())
        });
        let now = state.auth.clock().now();
        Ok(Json(ShipmentPage {
            items: rows.into_iter().map(|s| ShipmentView::of(s, now)).collect(),
            next_cursor: next_cursor.flatten(),
        }))
    }
}

async fn accept(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    body: ShipmentBody,
    confirmed: bool,
    key: Option<String>,
) -> Result<Accepted, Problem> {
    let request_id = call_log::RequestScope::current().map(|s| s.id().as_str().to_owned());
    shipments::accept(state, tenant, appid, body, confirmed, key, request_id).await
}

/// The key may write shipments for `appid` (step 1 of the gate).
fn may_write(tenant: &TenantContext, appid: &str) -> Result<(), Problem> {
    shipments::may_call(tenant, appid, catalog::UPLOAD_SHIPPING_INFO)
}

/// The key may read `appid`'s shipments.
fn may_read(tenant: &TenantContext, appid: &str) -> Result<(), Problem> {
    shipments::may_call(tenant, appid, catalog::GET_ORDER)
}
