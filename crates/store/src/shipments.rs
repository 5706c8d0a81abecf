//! Durable shipments: uploads of shipping information tpgate accepted and
//! sends itself, retrying until WeChat has them or refuses them for good.
//!
//! A worker claims due shipments with a lease (like the webhook outbox:
//! `FOR UPDATE SKIP LOCKED` on Postgres), so each is sent by one replica
//! at a time, and one that dies mid-send leaves it to another after the
//! lease. The outcome is recorded only by the lease holder, with its
//! `shipment.uploaded` or `shipment.failed` event (and the tenant's webhook
//! deliveries) in the same transaction: nothing is lost across restarts.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::{
    Appid, Store, StoreError, TenantId,
    entity::shipment as row,
    events::{NewEvent, insert_event},
    new_id, now,
};

/// Where a shipment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentStatus {
    /// Waiting for its next attempt (or being sent: see `Shipment::is_sending`).
    Queued,
    /// WeChat has it.
    Uploaded,
    /// WeChat refused it for good, or retries ran out.
    Failed,
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 3] = [Self::Queued, Self::Uploaded, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Uploaded => "uploaded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a shipment uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentKind {
    /// `upload_shipping_info`.
    Upload,
    /// `upload_combined_shipping_info`.
    Combined,
}

impl ShipmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Combined => "combined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Upload, Self::Combined]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A shipment to store.
#[derive(Debug, Clone)]
pub struct NewShipment {
    pub tenant_id: TenantId,
    pub appid: Appid,
    pub kind: ShipmentKind,
    /// `OrderRef::key` of the payment order (the combined order's for a
    /// combined upload).
    pub order_key: String,
    /// The JSON body for WeChat.
    pub body: serde_json::Value,
    pub confirm_reshipment: bool,
    pub idempotency_key: Option<String>,
    pub request_id: Option<String>,
    /// Retries stop then.
    pub give_up_at: DateTime<Utc>,
}

/// A stored shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub id: String,
    pub tenant_id: TenantId,
    pub appid: Appid,
    pub kind: ShipmentKind,
    pub order_key: String,
    pub body: serde_json::Value,
    pub confirm_reshipment: bool,
    pub idempotency_key: Option<String>,
    pub status: ShipmentStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's outcome is unknown: read the order first.
    pub verify_first: bool,
    pub give_up_at: DateTime<Utc>,
    /// The last refusal or failure: WeChat's errcode, if any, and words.
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Unix ms a worker holds it until (the lease this copy was claimed
    /// with, for [`Store::finish_shipment`]).
    pub lease: Option<i64>,
}

impl TryFrom<row::Model> for Shipment {
    type Error = StoreError;

    fn try_from(m: row::Model) -> Result<Self, StoreError> {
        let bad = |what: &'static str| StoreError::Invalid {
            what,
            value: m.id.clone(),
        };
        Ok(Self {
            kind: ShipmentKind::parse(&m.kind).ok_or_else(|| bad("shipment kind"))?,
            status: ShipmentStatus::parse(&m.status).ok_or_else(|| bad("shipment status"))?,
            body: serde_json::from_str(&m.body).map_err(|_| bad("shipment body"))?,
            next_attempt_at: DateTime::from_timestamp_millis(m.next_attempt_at_ms)
                .ok_or_else(|| bad("shipment next attempt"))?,
            lease: m.lease_until_ms,
            id: m.id,
            tenant_id: m.tenant_id.into(),
            appid: m.appid.into(),
            order_key: m.order_key,
            confirm_reshipment: m.confirm_reshipment,
            idempotency_key: m.idempotency_key,
            attempts: m.attempts,
            verify_first: m.verify_first,
            give_up_at: m.give_up_at,
            errcode: m.errcode,
            error: m.error,
            request_id: m.request_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
            finished_at: m.finished_at,
        })
    }
}

impl Shipment {
    /// A worker holds it at `now`: it is being sent.
    pub fn is_sending(&self, now: DateTime<Utc>) -> bool {
        self.status == ShipmentStatus::Queued
            && self.lease.is_some_and(|l| l > now.timestamp_millis())
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipmentOutcome {
    /// WeChat has it (answered 0, or get_order shows it after a timeout).
    Uploaded,
    /// Refused for good (or out of time): WeChat's errcode, if any.
    Failed { errcode: Option<i64>, error: String },
    /// Try again then; `verify_first` when WeChat may have acted.
    Retry {
        at: DateTime<Utc>,
        verify_first: bool,
        errcode: Option<i64>,
        error: String,
    },
}

/// Which shipments a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ShipmentFilter {
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    pub status: Option<ShipmentStatus>,
}

/// What enqueueing found.
#[derive(Debug, Clone, PartialEq)]
pub enum Enqueued {
    Created(Shipment),
    /// The tenant's earlier shipment with the same idempotency key.
    Existing(Shipment),
    /// The order has a queued shipment already (one per order).
    OrderQueued(Shipment),
}

/// Bounded words for `error` columns.
fn bounded(error: &str) -> String {
    error.chars().take(500).collect()
}

impl Store {
    /// Stores a shipment, due now. With an idempotency key the tenant used
    /// before, the earlier shipment instead (its body is the caller's to
    /// compare); with a queued shipment of the same order, that one. The
    /// unique indexes decide, so concurrent requests agree.
    pub async fn enqueue_shipment(&self, new: NewShipment) -> Result<Enqueued, StoreError> {
        let at = now();
        let id = new_id();
        let order_key = new.order_key.clone();
        let model = row::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(new.tenant_id.to_string()),
            appid: Set(new.appid.to_string()),
            kind: Set(new.kind.as_str().to_owned()),
            order_key: Set(order_key.clone()),
            body: Set(new.body.to_string()),
            confirm_reshipment: Set(new.confirm_reshipment),
            idempotency_key: Set(new.idempotency_key.clone()),
            status: Set(ShipmentStatus::Queued.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at_ms: Set(at.timestamp_millis()),
            lease_until_ms: Set(None),
            verify_first: Set(false),
            give_up_at: Set(new.give_up_at),
            errcode: Set(None),
            error: Set(None),
            request_id: Set(new.request_id.clone()),
            created_at: Set(at),
            updated_at: Set(at),
            finished_at: Set(None),
        };
        if let Err(e) = row::Entity::insert(model)
            .exec_without_returning(self.db())
            .await
        {
            // A unique index let another request in first: one with the same
            // key, or another shipment of the order.
            if let Some(key) = &new.idempotency_key
                && let Some(existing) = self.shipment_by_key(&new.tenant_id, key).await?
            {
                return Ok(Enqueued::Existing(existing));
            }
            if let Some(queued) = self
                .queued_shipment_for_order(&new.tenant_id, &new.appid, &order_key)
                .await?
            {
                return Ok(Enqueued::OrderQueued(queued));
            }
            return Err(e.into());
        }
        let created = self
            .shipment(&id)
            .await?
            .ok_or(StoreError::NotFound("shipment"))?;
        Ok(Enqueued::Created(created))
    }

    /// The tenant's queued shipment of an order, if any (a second one
    /// would be a re-shipment or a refusal).
    pub async fn queued_shipment_for_order(
        &self,
        tenant_id: &str,
        appid: &str,
        order_key: &str,
    ) -> Result<Option<Shipment>, StoreError> {
        row::Entity::find()
            .filter(row::Column::TenantId.eq(tenant_id))
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::OrderKey.eq(order_key))
            .filter(row::Column::Status.eq(ShipmentStatus::Queued.as_str()))
            .one(self.db())
            .await?
            .map(Shipment::try_from)
            .transpose()
    }

    /// The queued shipments of `appid` among the orders `order_keys`.
    pub async fn queued_shipments_for_orders(
        &self,
        appid: &str,
        order_keys: &[String],
    ) -> Result<Vec<Shipment>, StoreError> {
        if order_keys.is_empty() {
            return Ok(Vec::new());
        }
        row::Entity::find()
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::OrderKey.is_in(order_keys.iter().cloned()))
            .filter(row::Column::Status.eq(ShipmentStatus::Queued.as_str()))
            .all(self.db())
            .await?
            .into_iter()
            .map(Shipment::try_from)
            .collect()
    }

    /// The tenant's shipment created with idempotency key `key`.
    pub async fn shipment_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<Shipment>, StoreError> {
        row::Entity::find()
            .filter(row::Column::TenantId.eq(tenant_id))
            .filter(row::Column::IdempotencyKey.eq(key))
            .one(self.db())
            .await?
            .map(Shipment::try_from)
            .transpose()
    }

    pub async fn shipment(&self, id: &str) -> Result<Option<Shipment>, StoreError> {
        row::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .map(Shipment::try_from)
            .transpose()
    }

    /// Newest first (ids are UUIDv7), older than the shipment `before`.
    pub async fn list_shipments(
        &self,
        filter: &ShipmentFilter,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Shipment>, StoreError> {
        let mut query = row::Entity::find()
            .order_by_desc(row::Column::Id)
            .limit(limit);
        if let Some(tenant_id) = &filter.tenant_id {
            query = query.filter(row::Column::TenantId.eq(tenant_id.as_str()));
        }
        if let Some(appid) = &filter.appid {
            query = query.filter(row::Column::Appid.eq(appid.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(row::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = before {
            query = query.filter(row::Column::Id.lt(before));
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(Shipment::try_from)
            .collect()
    }

    /// How many shipments of each status a tenant (or everyone) has.
    pub async fn count_shipments_by_status(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<(ShipmentStatus, i64)>, StoreError> {
        let mut query = row::Entity::find()
            .select_only()
            .column(row::Column::Status)
            .column_as(row::Column::Id.count(), "n")
            .group_by(row::Column::Status);
        if let Some(tenant_id) = tenant_id {
            query = query.filter(row::Column::TenantId.eq(tenant_id));
        }
        let rows: Vec<(String, i64)> = query.into_tuple().all(self.db()).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((ShipmentStatus::parse(&s)?, n)))
            .collect())
    }

    /// Claims up to `limit` due shipments for `lease` (see the module doc).
    pub async fn claim_due_shipments(
        &self,
        at: DateTime<Utc>,
        limit: u64,
        lease: std::time::Duration,
    ) -> Result<Vec<Shipment>, StoreError> {
        let now_ms = at.timestamp_millis();
        let lease_until = now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let queue = crate::claims::Queue {
            table: "shipments",
            key: "id",
            moved: "lease_until_ms",
            due: "next_attempt_at_ms",
            only: "status = 'queued'",
            lease: Some("lease_until_ms"),
        };
        let ids = self.claim_due(&queue, now_ms, lease_until, limit).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        row::Entity::find()
            .filter(row::Column::Id.is_in(ids))
            .order_by_asc(row::Column::NextAttemptAtMs)
            .all(self.db())
            .await?
            .into_iter()
            .map(Shipment::try_from)
            .collect()
    }

    /// Records the outcome of an attempt on a shipment claimed with
    /// `lease`; a finished one gets its event (and webhook deliveries) in
    /// the same transaction. `Ok(None)` when the lease was lost (another
    /// worker took the shipment over): nothing is changed.
    pub async fn finish_shipment(
        &self,
        id: &str,
        lease: Option<i64>,
        outcome: ShipmentOutcome,
    ) -> Result<Option<Shipment>, StoreError> {
        use sea_orm::sea_query::{Expr, ExprTrait as _};
        let at = now();
        // The guarded write first, then the reads: on SQLite a transaction
        // that reads before it writes cannot take the write lock once
        // another replica wrote (SQLITE_BUSY_SNAPSHOT).
        let txn = self.db().begin().await?;
        let mut update = row::Entity::update_many()
            .col_expr(
                row::Column::Attempts,
                Expr::col(row::Column::Attempts).add(1),
            )
            .col_expr(row::Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(row::Column::UpdatedAt, Expr::value(at))
            .filter(row::Column::Id.eq(id))
            .filter(row::Column::Status.eq(ShipmentStatus::Queued.as_str()));
        update = match lease {
            Some(lease) => update.filter(row::Column::LeaseUntilMs.eq(lease)),
            None => update.filter(row::Column::LeaseUntilMs.is_null()),
        };
        let finished = match &outcome {
            ShipmentOutcome::Uploaded => {
                update = update
                    .col_expr(
                        row::Column::Status,
                        Expr::value(ShipmentStatus::Uploaded.as_str()),
                    )
                    .col_expr(row::Column::VerifyFirst, Expr::value(false))
                    .col_expr(row::Column::FinishedAt, Expr::value(Some(at)))
                    .col_expr(row::Column::Errcode, Expr::value(Option::<i64>::None))
                    .col_expr(row::Column::Error, Expr::value(Option::<String>::None));
                Some(ShipmentStatus::Uploaded)
            }
            ShipmentOutcome::Failed { errcode, error } => {
                update = update
                    .col_expr(
                        row::Column::Status,
                        Expr::value(ShipmentStatus::Failed.as_str()),
                    )
                    .col_expr(row::Column::FinishedAt, Expr::value(Some(at)))
                    .col_expr(row::Column::Errcode, Expr::value(*errcode))
                    .col_expr(row::Column::Error, Expr::value(Some(bounded(error))));
                Some(ShipmentStatus::Failed)
            }
            ShipmentOutcome::Retry {
                at: next,
                verify_first,
                errcode,
                error,
            } => {
                update = update
                    .col_expr(
                        row::Column::NextAttemptAtMs,
                        Expr::value(next.timestamp_millis()),
                    )
                    .col_expr(row::Column::Errcode, Expr::value(*errcode))
                    .col_expr(row::Column::Error, Expr::value(Some(bounded(error))));
                // Once unsure, stay unsure until get_order settles it.
                if *verify_first {
                    update = update.col_expr(row::Column::VerifyFirst, Expr::value(true));
                }
                None
            }
        };
        if update.exec(&txn).await?.rows_affected != 1 {
            // The lease was lost (another worker took the shipment over).
            return Ok(None);
        }
        let updated: Shipment = row::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("shipment"))?
            .try_into()?;
        if let Some(status) = finished {
            insert_event(&txn, &NewEvent::shipment_finished(&updated, status, at)).await?;
        }
        txn.commit().await?;
        Ok(Some(updated))
    }

    /// Deletes finished shipments (uploaded or failed) that finished before
    /// `before`; their events stay as long as events do. How many went.
    pub async fn purge_finished_shipments(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = row::Entity::delete_many()
            .filter(row::Column::Status.ne(ShipmentStatus::Queued.as_str()))
            .filter(row::Column::FinishedAt.lt(before))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }

    /// Settles a shipment whose outcome was unknown once the order showed
    /// WeChat does not have it: sending again is a first upload.
    pub async fn clear_shipment_doubt(
        &self,
        id: &str,
        lease: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut query = row::Entity::update_many()
            .col_expr(row::Column::VerifyFirst, false.into())
            .filter(row::Column::Id.eq(id));
        query = match lease {
            Some(lease) => query.filter(row::Column::LeaseUntilMs.eq(lease)),
            None => query.filter(row::Column::LeaseUntilMs.is_null()),
        };
        query.exec(self.db()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::memory_store as store;

    fn new(key: Option<&str>) -> NewShipment {
        NewShipment {
            tenant_id: "t1".into(),
            appid: "wx1".into(),
            kind: ShipmentKind::Upload,
            order_key: "tx:42".into(),
            body: json!({"order_key": {"transaction_id": "42"}}),
            confirm_reshipment: false,
            idempotency_key: key.map(str::to_owned),
            request_id: Some("r1".into()),
            give_up_at: now() + Duration::hours(1),
        }
    }

    #[tokio::test]
    async fn a_shipment_is_claimed_once_retried_and_finished_with_its_event() {
        let store = store().await;
        let Enqueued::Created(created) = store.enqueue_shipment(new(Some("k1"))).await.unwrap()
        else {
            panic!("created")
        };
        assert_eq!(created.status, ShipmentStatus::Queued);
        // The same key: the same shipment.
        let again = store.enqueue_shipment(new(Some("k1"))).await.unwrap();
        assert_eq!(again, Enqueued::Existing(created.clone()));
        // Another shipment of the same order while it is queued: refused by
        // the index, whatever raced.
        let other = store.enqueue_shipment(new(Some("k2"))).await.unwrap();
        assert_eq!(other, Enqueued::OrderQueued(created.clone()));

        let lease = std::time::Duration::from_secs(30);
        let t = now() + Duration::seconds(1);
        let claimed = store.claim_due_shipments(t, 10, lease).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // Held: nobody else gets it.
        assert!(
            store
                .claim_due_shipments(t, 10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        let retry = ShipmentOutcome::Retry {
            at: t + Duration::seconds(10),
            verify_first: true,
            errcode: None,
            error: "WeChat timed out".into(),
        };
        let retried = store
            .finish_shipment(&created.id, claimed[0].lease, retry)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(retried.attempts, 1);
        assert!(retried.verify_first);
        // A stale lease changes nothing.
        assert_eq!(
            store
                .finish_shipment(&created.id, claimed[0].lease, ShipmentOutcome::Uploaded)
                .await
                .unwrap(),
            None
        );
        // Not due yet; then due, and a lapsed lease is claimed again.
        assert!(
            store
                .claim_due_shipments(t, 10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        let later = t + Duration::seconds(11);
        let first = store.claim_due_shipments(later, 10, lease).await.unwrap();
        assert_eq!(first.len(), 1);
        let after_lease = later + Duration::seconds(31);
        let taken_over = store
            .claim_due_shipments(after_lease, 10, lease)
            .await
            .unwrap();
        assert_eq!(taken_over.len(), 1);
        // The first worker's lease is gone: its outcome is ignored.
        assert_eq!(
            store
                .finish_shipment(&created.id, first[0].lease, ShipmentOutcome::Uploaded)
                .await
                .unwrap(),
            None
        );
        let done = store
            .finish_shipment(&created.id, taken_over[0].lease, ShipmentOutcome::Uploaded)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, ShipmentStatus::Uploaded);
        assert_eq!(done.attempts, 2);
        assert!(done.finished_at.is_some());
        let events = store
            .list_events(&crate::events::EventFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, crate::events::SHIPMENT_UPLOADED);
        assert_eq!(events[0].data["shipment_id"], created.id.as_str());
        // Finished: never claimed again.
        let much_later = after_lease + Duration::hours(1);
        assert!(
            store
                .claim_due_shipments(much_later, 10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        let counts = store.count_shipments_by_status(Some("t1")).await.unwrap();
        assert_eq!(counts, vec![(ShipmentStatus::Uploaded, 1)]);
        let listed = store
            .list_shipments(
                &ShipmentFilter {
                    status: Some(ShipmentStatus::Uploaded),
                    ..Default::default()
                },
                None,
                10,
            )
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
    }
}
