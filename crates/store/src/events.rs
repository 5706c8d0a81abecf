//! Events about tenants' authorizers (authorized, permission sets updated,
//! revoked, re-authorization required), kept for the tenant and for webhook
//! delivery. Each has a `dedupe_key`: recording the same happening twice (a
//! push WeChat retries) stores it once, and the caller learns it was a repeat.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use crate::{
    Appid, EventId, Store, StoreError, TenantId,
    entity::event,
    new_id, now,
    shipping_orders::{AppOrderNote, OrderNote, write_order_notes},
};

pub const AUTHORIZED: &str = "authorization.authorized";
pub const UPDATED: &str = "authorization.updated";
pub const REVOKED: &str = "authorization.revoked";
pub const REAUTHORIZATION_REQUIRED: &str = "authorization.reauthorization_required";
/// A paid order still unshipped at a configured age (`shipping_orders`).
pub const SHIPPING_OVERDUE: &str = "shipping.overdue";
/// A durable shipment WeChat has (`shipments`).
pub const SHIPMENT_UPLOADED: &str = "shipment.uploaded";
/// A durable shipment WeChat refused for good, or whose retries ran out.
pub const SHIPMENT_FAILED: &str = "shipment.failed";

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tenant_id: Option<TenantId>,
    pub authorizer_appid: Option<Appid>,
    pub event_type: String,
    pub data: serde_json::Value,
    pub dedupe_key: String,
    pub occurred_at: DateTime<Utc>,
    /// What the event says about a paid order (a shipping push), written
    /// with the event, once: not again for a repeat (WeChat's retry).
    pub order_note: Option<OrderNote>,
}

/// Who ended an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedBy {
    /// The account's administrator, at WeChat (an `unauthorized` push).
    Wechat,
    /// A platform operator or the tenant, through the admin API.
    Operator,
}

/// The authorization events, built only here: whoever produces one, its
/// tenants' webhooks get one payload shape per type (README: "Events and
/// webhooks"). The tenant is set when the event is stored.
impl NewEvent {
    /// `authorization.authorized` (or `.updated` for `updateauthorized`):
    /// `{authorizer_appid, funcscopes}`.
    pub fn authorized(
        appid: &str,
        funcscopes: &std::collections::BTreeSet<i64>,
        update: bool,
        dedupe_key: String,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::authorization(
            if update { UPDATED } else { AUTHORIZED },
            appid,
            serde_json::json!({ "authorizer_appid": appid, "funcscopes": funcscopes }),
            dedupe_key,
            occurred_at,
        )
    }

    /// `authorization.revoked`: `{authorizer_appid, by, reason}`, `by` being
    /// `wechat` or `operator`.
    pub fn revoked(
        appid: &str,
        by: RevokedBy,
        reason: &str,
        dedupe_key: String,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        let by = match by {
            RevokedBy::Wechat => "wechat",
            RevokedBy::Operator => "operator",
        };
        Self::authorization(
            REVOKED,
            appid,
            serde_json::json!({ "authorizer_appid": appid, "by": by, "reason": reason }),
            dedupe_key,
            occurred_at,
        )
    }

    /// `authorization.reauthorization_required`: `{authorizer_appid, reason}`.
    pub fn reauthorization_required(
        appid: &str,
        reason: &str,
        dedupe_key: String,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::authorization(
            REAUTHORIZATION_REQUIRED,
            appid,
            serde_json::json!({ "authorizer_appid": appid, "reason": reason }),
            dedupe_key,
            occurred_at,
        )
    }

    /// `shipment.uploaded` / `shipment.failed`: `{shipment_id, kind,
    /// order_key, status, attempts, errcode, error}` (errcode and error of
    /// a failure: WeChat's errcode, if it answered one, and what to do).
    pub fn shipment_finished(
        shipment: &crate::shipments::Shipment,
        status: crate::shipments::ShipmentStatus,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        use crate::shipments::ShipmentStatus;
        let event_type = match status {
            ShipmentStatus::Failed => SHIPMENT_FAILED,
            _ => SHIPMENT_UPLOADED,
        };
        Self {
            tenant_id: Some(shipment.tenant_id.clone()),
            authorizer_appid: Some(shipment.appid.clone()),
            event_type: event_type.to_owned(),
            data: serde_json::json!({
                "shipment_id": shipment.id,
                "kind": shipment.kind.as_str(),
                "order_key": shipment.order_key,
                "status": status.as_str(),
                "attempts": shipment.attempts,
                "errcode": shipment.errcode,
                "error": shipment.error,
            }),
            // One outcome per shipment.
            dedupe_key: format!("shipment:{}", shipment.id),
            occurred_at,
            order_note: None,
        }
    }

    /// `shipping.overdue`: `{transaction_id, merchant_id, sub_merchant_id,
    /// merchant_trade_no, pay_time, threshold_hours, age_hours, reminded}`,
    /// once per order and threshold.
    pub fn shipping_overdue(
        order: &crate::shipping_orders::ShippingOrderRecord,
        threshold_secs: i64,
        at: DateTime<Utc>,
    ) -> Self {
        let o = &order.order;
        Self {
            tenant_id: order.tenant_id.clone().map(Into::into),
            authorizer_appid: Some(order.appid.clone().into()),
            event_type: SHIPPING_OVERDUE.to_owned(),
            data: serde_json::json!({
                "transaction_id": o.transaction_id,
                "merchant_id": o.merchant_id,
                "sub_merchant_id": o.sub_merchant_id,
                "merchant_trade_no": o.merchant_trade_no,
                "pay_time": o.pay_time,
                "threshold_hours": threshold_secs / 3600,
                "age_hours": (at.timestamp() - o.pay_time) / 3600,
                "reminded": order.reminded_at.is_some(),
            }),
            dedupe_key: format!(
                "overdue:{}:{}:{}",
                order.appid, o.transaction_id, order.overdue_level
            ),
            occurred_at: at,
            order_note: None,
        }
    }

    fn authorization(
        event_type: &str,
        appid: &str,
        data: serde_json::Value,
        dedupe_key: String,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self {
            tenant_id: None,
            authorizer_appid: Some(appid.to_owned().into()),
            event_type: event_type.to_owned(),
            data,
            dedupe_key,
            occurred_at,
            order_note: None,
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub tenant_id: Option<TenantId>,
    pub authorizer_appid: Option<Appid>,
    pub event_type: String,
    pub data: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<event::Model> for Event {
    fn from(row: event::Model) -> Self {
        Self {
            id: row.id.into(),
            tenant_id: row.tenant_id.map(Into::into),
            authorizer_appid: row.authorizer_appid.map(Into::into),
            event_type: row.event_type,
            // Written by `insert_event` from a serde_json::Value.
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
            occurred_at: row.occurred_at,
            created_at: row.created_at,
        }
    }
}

impl NewEvent {
    /// Its order note, with the Mini Program and tenant it is about.
    pub(crate) fn app_order_note(&self) -> Option<AppOrderNote<'_>> {
        Some((
            self.tenant_id.as_deref(),
            self.authorizer_appid.as_deref()?,
            self.order_note.as_ref()?,
        ))
    }
}

/// A new event's row and its id.
pub(crate) fn event_row(new: &NewEvent) -> (String, event::ActiveModel) {
    let id = new_id();
    let row = event::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(new.tenant_id.clone().map(String::from)),
        authorizer_appid: Set(new.authorizer_appid.clone().map(String::from)),
        event_type: Set(new.event_type.clone()),
        data: Set(new.data.to_string()),
        dedupe_key: Set(new.dedupe_key.clone()),
        occurred_at: Set(new.occurred_at),
        created_at: Set(now()),
    };
    (id, row)
}

/// Inserts `new` on `conn` (a transaction, to commit it with its cause).
/// `Ok(false)`: an event with the same dedupe key exists.
pub(crate) async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    new: &NewEvent,
) -> Result<bool, StoreError> {
    let (id, row) = event_row(new);
    let result = event::Entity::insert(row)
        .on_conflict_do_nothing_on([event::Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
    let inserted = matches!(result, TryInsertResult::Inserted(1));
    // The outbox: deliveries are committed with the event, or not at all.
    if inserted && let Some(tenant_id) = &new.tenant_id {
        crate::deliveries::enqueue(conn, &id, tenant_id, &new.event_type).await?;
    }
    if inserted && let Some(note) = new.app_order_note() {
        write_order_notes(conn, &[note]).await?;
    }
    Ok(inserted)
}

impl Store {
    /// Records an event with its webhook deliveries, in one transaction
    /// (shared with concurrent events when batching is on, see
    /// [`Store::with_event_batching`]; the caller's own inside an audited
    /// change); `Ok(false)` when it was already recorded. Returns once
    /// committed.
    pub async fn record_event(&self, new: &NewEvent) -> Result<bool, StoreError> {
        match &self.event_batcher {
            Some(batcher) if self.db().is_pool() => batcher.record(new).await,
            _ => self.record_event_alone(new).await,
        }
    }

    pub async fn event(&self, id: &str) -> Result<Option<Event>, StoreError> {
        Ok(event::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .map(Event::from))
    }

    pub async fn event_by_dedupe_key(&self, dedupe_key: &str) -> Result<Option<Event>, StoreError> {
        Ok(event::Entity::find()
            .filter(event::Column::DedupeKey.eq(dedupe_key))
            .one(self.db())
            .await?
            .map(Event::from))
    }

    /// Oldest first, at most `limit` (for replays, which go in order).
    pub async fn list_events_oldest_first(
        &self,
        filter: &EventFilter,
        limit: u64,
    ) -> Result<Vec<Event>, StoreError> {
        Ok(filter
            .apply(event::Entity::find())
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(Event::from)
            .collect())
    }

    /// Newest first (ids are UUIDv7), older than the event `before`.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Event>, StoreError> {
        let mut query = filter
            .apply(event::Entity::find())
            .order_by_desc(event::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(event::Column::Id.lt(before));
        }
        Ok(query
            .all(self.db())
            .await?
            .into_iter()
            .map(Event::from)
            .collect())
    }
}

/// Which events a listing returns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    pub event_type: Option<String>,
    /// `occurred_at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `occurred_at < until`.
    pub until: Option<DateTime<Utc>>,
}

impl EventFilter {
    fn apply(&self, mut query: sea_orm::Select<event::Entity>) -> sea_orm::Select<event::Entity> {
        if let Some(tenant_id) = &self.tenant_id {
            query = query.filter(event::Column::TenantId.eq(tenant_id.as_str()));
        }
        if let Some(appid) = &self.appid {
            query = query.filter(event::Column::AuthorizerAppid.eq(appid.as_str()));
        }
        if let Some(event_type) = &self.event_type {
            query = query.filter(event::Column::EventType.eq(event_type.as_str()));
        }
        if let Some(since) = self.since {
            query = query.filter(event::Column::OccurredAt.gte(since));
        }
        if let Some(until) = self.until {
            query = query.filter(event::Column::OccurredAt.lt(until));
        }
        query
    }
}

impl Store {
    /// Deletes events that occurred before `before`, with their finished
    /// deliveries, except events still waiting for a delivery. Returns how
    /// many events went.
    pub async fn purge_events_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        use sea_orm::sea_query::{Expr, ExprTrait, Query};

        use crate::{deliveries::PENDING, entity::webhook_delivery as delivery};
        let old_events = Query::select()
            .column(event::Column::Id)
            .from(event::Entity)
            .and_where(Expr::col(event::Column::OccurredAt).lt(before))
            .to_owned();
        delivery::Entity::delete_many()
            .filter(delivery::Column::Status.ne(PENDING))
            .filter(Expr::col(delivery::Column::EventId).in_subquery(old_events))
            .exec(self.db())
            .await?;
        let waiting = Query::select()
            .column(delivery::Column::EventId)
            .from(delivery::Entity)
            .and_where(Expr::col(delivery::Column::Status).eq(PENDING))
            .to_owned();
        let result = event::Entity::delete_many()
            .filter(event::Column::OccurredAt.lt(before))
            .filter(Expr::col(event::Column::Id).not_in_subquery(waiting))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }
}
