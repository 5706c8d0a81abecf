//! Shipping assurance for operators: the paid orders reconciliation found
//! waiting for shipment, oldest payment first.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Query, payload::Json};
use problem::Problem;
use store::{
    shipments::{Shipment, ShipmentFilter, ShipmentStatus},
    shipping_orders::{OrderTrack, ShippingOrderFilter, ShippingOrderRecord},
    shipping_uploads::OrderRef,
};

use super::{AdminTags, Page, PageItem, Paging};
use crate::{AdminState, auth::AdminAuth};

/// A paid order waiting for shipment.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PendingOrder {
    pub appid: String,
    pub tenant_id: Option<String>,
    pub transaction_id: String,
    pub merchant_id: String,
    pub sub_merchant_id: Option<String>,
    pub merchant_trade_no: String,
    pub pay_time: DateTime<Utc>,
    /// Hours since payment.
    pub age_hours: i64,
    /// When tpgate first saw it waiting (reconciliation or a reminder push).
    pub first_seen_at: DateTime<Utc>,
    /// When reconciliation last saw it waiting.
    pub last_seen_at: DateTime<Utc>,
    /// When WeChat reminded the Mini Program about it (`trade_manage_remind_shipping`).
    pub reminded_at: Option<DateTime<Utc>>,
    /// `shipping.overdue` thresholds announced for it (0: not overdue yet).
    pub overdue_level: i32,
    /// A durable shipment of it waiting to be uploaded.
    pub shipment_id: Option<String>,
}

impl PageItem for PendingOrder {
    const PAGE: &'static str = "PendingOrderPage";
    const PAGE_DESCRIPTION: Option<&'static str> =
        Some("Paid orders waiting for shipment, oldest payment first.");
}

impl PendingOrder {
    fn of(r: ShippingOrderRecord, shipment_id: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            age_hours: (now.timestamp() - r.order.pay_time) / 3600,
            pay_time: DateTime::from_timestamp(r.order.pay_time, 0).unwrap_or_default(),
            appid: r.appid,
            tenant_id: r.tenant_id,
            transaction_id: r.order.transaction_id,
            merchant_id: r.order.merchant_id,
            sub_merchant_id: r.order.sub_merchant_id,
            merchant_trade_no: r.order.merchant_trade_no,
            first_seen_at: r.first_seen_at,
            last_seen_at: r.last_seen_at,
            reminded_at: r.reminded_at,
            overdue_level: r.overdue_level,
            shipment_id,
        }
    }
}

/// The paging key of a record: its order in the listing.
fn key(r: &ShippingOrderRecord) -> String {
    format!(
        "{}|{}|{}",
        r.order.pay_time, r.appid, r.order.transaction_id
    )
}

/// The `(pay_time, appid, transaction_id)` a decoded cursor names.
fn parse_key(key: &str) -> Result<(i64, &str, &str), Problem> {
    let mut parts = key.splitn(3, '|');
    match (
        parts.next().and_then(|p| p.parse().ok()),
        parts.next(),
        parts.next(),
    ) {
        (Some(pay_time), Some(appid), Some(tx)) => Ok((pay_time, appid, tx)),
        _ => Err(Problem::validation(
            "cursor",
            "not a cursor this API returned; pass next_cursor from the previous page",
        )),
    }
}

/// Where a durable shipment stands (the tenant API's `ShipmentState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ShipmentSummaryStatus {
    Queued,
    Sending,
    Uploaded,
    Failed,
}

/// A durable shipment, for operators (its body is on the tenant API).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ShipmentSummary {
    pub id: String,
    pub tenant_id: String,
    pub appid: String,
    /// `upload` (upload_shipping_info) or `combined`.
    pub kind: String,
    /// `tx:<transaction_id>` or `mch:<mchid>:<out_trade_no>`.
    pub order_key: String,
    pub status: ShipmentSummaryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// WeChat's errcode of the last refusal or failure.
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl PageItem for ShipmentSummary {
    const PAGE: &'static str = "ShipmentSummaryPage";
    const NEWEST_FIRST: bool = true;
}

impl ShipmentSummary {
    fn of(s: Shipment, now: DateTime<Utc>) -> Self {
        let status = match s.status {
            ShipmentStatus::Queued if s.is_sending(now) => ShipmentSummaryStatus::Sending,
            ShipmentStatus::Queued => ShipmentSummaryStatus::Queued,
            ShipmentStatus::Uploaded => ShipmentSummaryStatus::Uploaded,
            ShipmentStatus::Failed => ShipmentSummaryStatus::Failed,
        };
        Self {
            next_attempt_at: (s.status == ShipmentStatus::Queued).then_some(s.next_attempt_at),
            status,
            id: s.id,
            tenant_id: s.tenant_id.to_string(),
            appid: s.appid.to_string(),
            kind: s.kind.as_str().to_owned(),
            order_key: s.order_key,
            attempts: s.attempts,
            errcode: s.errcode,
            error: s.error,
            created_at: s.created_at,
            finished_at: s.finished_at,
        }
    }
}

#[derive(ApiResponse)]
enum ShipmentsResponse {
    /// Durable shipments, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<ShipmentSummary>>),
}

#[derive(ApiResponse)]
enum PendingResponse {
    /// Paid orders waiting for shipment, oldest payment first.
    #[oai(status = 200)]
    Ok(Json<Page<PendingOrder>>),
}

pub struct ShippingApi;

#[OpenApi(prefix_path = "/admin/v1/shipping", tag = "AdminTags::Shipping")]
impl ShippingApi {
    /// List paid orders waiting for shipment
    ///
    /// What reconciliation found in WeChat's order_state 1 (待发货) for trade-managed Mini Programs, and orders WeChat reminded about, until they ship (through tpgate or not). Oldest payment first. A tenant_admin sees only its tenant's.
    #[oai(
        path = "/pending",
        method = "get",
        operation_id = "list_pending_orders"
    )]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_pending(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only this tenant's orders.
        tenant_id: Query<Option<String>>,
        /// Only this Mini Program's orders.
        #[oai(validator(max_length = 64))]
        appid: Query<Option<String>>,
        /// Only orders paid at least this many hours ago.
        #[oai(validator(maximum(value = "100000")))]
        min_age_hours: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<PendingResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let after = paging.after().map(parse_key).transpose()?;
        let now = Utc::now();
        let filter = ShippingOrderFilter {
            tenant_id: scope,
            appid: appid.0.filter(|a| !a.is_empty()),
            state: Some(OrderTrack::Pending),
            paid_before: min_age_hours
                .0
                .map(|h| now.timestamp() - i64::from(h) * 3600),
        };
        let rows = state
            .store
            .list_shipping_orders(&filter, after, paging.fetch())
            .await?;
        let keyed: Vec<(String, ShippingOrderRecord)> =
            rows.into_iter().map(|r| (key(&r), r)).collect();
        let page = paging.page(keyed, |(k, _)| k);
        // The durable shipments waiting for these orders, per Mini Program
        // (keyed as shipments name their order).
        let order_key =
            |r: &ShippingOrderRecord| OrderRef::Transaction(r.order.transaction_id.clone()).key();
        let mut queued = std::collections::HashMap::new();
        let mut by_app: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (_, r) in &page.items {
            by_app
                .entry(r.appid.as_str())
                .or_default()
                .push(order_key(r));
        }
        for (appid, keys) in by_app {
            for s in state
                .store
                .queued_shipments_for_orders(appid, &keys)
                .await?
            {
                queued.insert((s.appid.to_string(), s.order_key.clone()), s.id);
            }
        }
        let page = page.map(|(_, r)| {
            let shipment = queued.get(&(r.appid.clone(), order_key(&r))).cloned();
            PendingOrder::of(r, shipment, now)
        });
        Ok(PendingResponse::Ok(Json(page)))
    }
}

#[OpenApi(prefix_path = "/admin/v1/shipping", tag = "AdminTags::Shipping")]
impl ShipmentsAdminApi {
    /// List durable shipments
    ///
    /// Shipments tenants handed over (`POST /v1/apps/{appid}/shipments`), newest first, by status. A tenant_admin sees only its tenant's.
    #[oai(
        path = "/shipments",
        method = "get",
        operation_id = "list_shipments_admin"
    )]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_shipments(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only this tenant's shipments.
        tenant_id: Query<Option<String>>,
        /// Only this Mini Program's shipments.
        #[oai(validator(max_length = 64))]
        appid: Query<Option<String>>,
        /// Only shipments with this status (`sending` ones are listed as `queued`).
        status: Query<Option<ShipmentSummaryStatus>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ShipmentsResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let filter = ShipmentFilter {
            tenant_id: scope,
            appid: appid.0.filter(|a| !a.is_empty()),
            status: status.0.map(|s| match s {
                ShipmentSummaryStatus::Queued | ShipmentSummaryStatus::Sending => {
                    ShipmentStatus::Queued
                }
                ShipmentSummaryStatus::Uploaded => ShipmentStatus::Uploaded,
                ShipmentSummaryStatus::Failed => ShipmentStatus::Failed,
            }),
        };
        let rows = state
            .store
            .list_shipments(&filter, paging.after(), paging.fetch())
            .await?;
        let now = Utc::now();
        let page = paging
            .page(rows, |s| &s.id)
            .map(|s| ShipmentSummary::of(s, now));
        Ok(ShipmentsResponse::Ok(Json(page)))
    }
}

/// Durable shipments for operators.
pub struct ShipmentsAdminApi;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_keys_round_trip_and_refuse_garbage() {
        assert_eq!(
            parse_key("1700000000|wx1|42|x").unwrap(),
            (1_700_000_000, "wx1", "42|x")
        );
        assert!(parse_key("nope").is_err());
        assert!(parse_key("x|wx1|42").is_err());
    }
}
