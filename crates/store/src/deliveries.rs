//! The webhook outbox ([`crate::entity::webhook_delivery`]): deliveries are
//! created with their event, claimed by workers, and finished as delivered,
//! retried later, or dead after the retry schedule.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use crate::{
    EventId, Store, StoreError, TenantId,
    entity::{event, webhook_delivery as delivery, webhook_endpoint as endpoint},
    events::Event,
    new_id, now,
    webhooks::WebhookEndpoint,
};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

/// Where a delivery stands. Stored as its name; an unknown stored name is
/// an error, never read as `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Gave up after the retry schedule.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => PENDING,
            DeliveryStatus::Delivered => DELIVERED,
            DeliveryStatus::Dead => DEAD,
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            PENDING => Ok(DeliveryStatus::Pending),
            DELIVERED => Ok(DeliveryStatus::Delivered),
            DEAD => Ok(DeliveryStatus::Dead),
            other => Err(StoreError::Invalid {
                what: "delivery status",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

/// Creates, on `conn` (the event's transaction), one pending delivery of the
/// event to each endpoint of `tenant_id` that subscribes to `event_type`.
/// Disabled endpoints get theirs too: they wait until it is re-enabled
/// rather than lose the event. Returns how many were created.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    event_id: &str,
    tenant_id: &str,
    event_type: &str,
) -> Result<u64, StoreError> {
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::TenantId.eq(tenant_id))
        .all(conn)
        .await?;
    let rows: Vec<delivery::ActiveModel> =
        pending_rows(&endpoints, event_id, tenant_id, event_type, now()).collect();
    let n = rows.len() as u64;
    insert_rows(conn, rows).await?;
    Ok(n)
}

/// The pending deliveries of an event of `tenant_id` to those of
/// `endpoints` (any tenants') that are its tenant's and subscribe to it.
pub(crate) fn pending_rows<'a>(
    endpoints: &'a [endpoint::Model],
    event_id: &'a str,
    tenant_id: &'a str,
    event_type: &'a str,
    at: DateTime<Utc>,
) -> impl Iterator<Item = delivery::ActiveModel> + 'a {
    endpoints
        .iter()
        .filter(move |e| e.tenant_id == tenant_id)
        .map(|e| WebhookEndpoint::from(e.clone()))
        .filter(move |e| e.subscribes_to(event_type))
        .map(move |e| pending_row(event_id, &e.id, tenant_id, at))
}

/// Inserts delivery rows, [`INSERT_CHUNK`] per statement.
pub(crate) async fn insert_rows<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<delivery::ActiveModel>,
) -> Result<(), StoreError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        delivery::Entity::insert_many(rows.by_ref().take(INSERT_CHUNK))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Events per replay batch (one transaction each).
const REPLAY_BATCH: usize = 50;
/// Rows per insert statement (SQLite allows 32 766 parameters).
const INSERT_CHUNK: usize = 500;
/// Pause between replay batches, so pushes get the database.
const REPLAY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// A new pending delivery of `event_id` to `endpoint_id`, due now.
fn pending_row(
    event_id: &str,
    endpoint_id: &str,
    tenant_id: &str,
    at: DateTime<Utc>,
) -> delivery::ActiveModel {
    delivery::ActiveModel {
        id: Set(new_id()),
        event_id: Set(event_id.to_owned()),
        endpoint_id: Set(endpoint_id.to_owned()),
        tenant_id: Set(tenant_id.to_owned()),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at_ms: Set(at.timestamp_millis()),
        lease_until_ms: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
        created_at: Set(at),
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub event_id: EventId,
    pub endpoint_id: String,
    pub tenant_id: TenantId,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due (meaningful while pending).
    pub next_attempt_at_ms: i64,
    /// Unix ms: a worker holds the delivery until then.
    pub lease_until_ms: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<delivery::Model> for Delivery {
    type Error = StoreError;

    fn try_from(d: delivery::Model) -> Result<Self, StoreError> {
        Ok(Self {
            status: d.status.parse()?,
            id: d.id,
            event_id: d.event_id.into(),
            endpoint_id: d.endpoint_id,
            tenant_id: d.tenant_id.into(),
            attempts: d.attempts,
            next_attempt_at_ms: d.next_attempt_at_ms,
            lease_until_ms: d.lease_until_ms,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        })
    }
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub endpoint_url: String,
    pub event: Event,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status_code: u16,
    },
    Failed {
        status_code: Option<u16>,
        error: String,
        /// When to try again; None: the schedule is exhausted (dead letter).
        retry_at: Option<DateTime<Utc>>,
    },
}

/// When an endpoint is disabled: after this many consecutive failed
/// attempts *and* failing for at least this long (a burst of events during
/// a short outage must not disable it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisablePolicy {
    pub after_failures: u32,
    pub after_failing_for: std::time::Duration,
}

/// Which deliveries a listing returns.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub tenant_id: Option<String>,
    pub event_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub status: Option<String>,
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease` (another worker may
    /// take them after that, e.g. if this one died). On Postgres concurrent
    /// workers skip each other's rows (`FOR UPDATE SKIP LOCKED`); SQLite has
    /// one writer, so claims are serialised anyway.
    pub async fn claim_due_deliveries(
        &self,
        at: DateTime<Utc>,
        limit: u64,
        lease: std::time::Duration,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let now_ms = at.timestamp_millis();
        let lease_until = now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let backend = self.db().get_database_backend();
        let (sql, lock) = match backend {
            DatabaseBackend::Postgres => ("$", " FOR UPDATE OF d SKIP LOCKED"),
            _ => ("?", ""),
        };
        let p = |i: usize| {
            if sql == "$" {
                format!("${i}")
            } else {
                "?".to_owned()
            }
        };
        let query = format!(
            "UPDATE webhook_deliveries SET lease_until_ms = {p1} WHERE id IN (\
               SELECT d.id FROM webhook_deliveries d \
               JOIN webhook_endpoints e ON e.id = d.endpoint_id \
               WHERE d.status = 'pending' AND d.next_attempt_at_ms <= {p2} \
                 AND (d.lease_until_ms IS NULL OR d.lease_until_ms < {p3}) AND e.enabled \
               ORDER BY d.next_attempt_at_ms LIMIT {p4}{lock}) \
             RETURNING id",
            p1 = p(1),
            p2 = p(2),
            p3 = p(3),
            p4 = p(4),
        );
        let rows = self
            .db()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                query,
                [
                    lease_until.into(),
                    now_ms.into(),
                    now_ms.into(),
                    i64::try_from(limit).unwrap_or(100).into(),
                ],
            ))
            .await?;
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "id").ok())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let deliveries = delivery::Entity::find()
            .filter(delivery::Column::Id.is_in(ids.clone()))
            .order_by_asc(delivery::Column::NextAttemptAtMs)
            .all(self.db())
            .await?
            .into_iter()
            .map(Delivery::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let endpoints = endpoint::Entity::find()
            .filter(endpoint::Column::Id.is_in(deliveries.iter().map(|d| d.endpoint_id.clone())))
            .all(self.db())
            .await?;
        let events = event::Entity::find()
            .filter(event::Column::Id.is_in(deliveries.iter().map(|d| d.event_id.as_str())))
            .all(self.db())
            .await?;
        Ok(deliveries
            .into_iter()
            .filter_map(|d| {
                let url = endpoints
                    .iter()
                    .find(|e| e.id == d.endpoint_id)?
                    .url
                    .clone();
                let event = events.iter().find(|e| d.event_id == e.id)?.clone();
                Some(DueDelivery {
                    delivery: d,
                    endpoint_url: url,
                    event: event.into(),
                })
            })
            .collect())
    }

    /// Records an attempt's outcome and the endpoint's failure streak; an
    /// endpoint failing as `disable` says is disabled (its deliveries wait
    /// until someone re-enables it).
    pub async fn finish_attempt(
        &self,
        delivery_id: &str,
        claimed_lease: Option<i64>,
        endpoint_id: &str,
        outcome: &AttemptOutcome,
        disable: &DisablePolicy,
    ) -> Result<(), StoreError> {
        let at = now();
        let mut update = delivery::ActiveModel {
            lease_until_ms: Set(None),
            last_attempt_at: Set(Some(at)),
            ..Default::default()
        };
        match outcome {
            AttemptOutcome::Delivered { status_code } => {
                update.status = Set(DELIVERED.to_owned());
                update.delivered_at = Set(Some(at));
                update.last_status_code = Set(Some(i32::from(*status_code)));
                update.last_error = Set(None);
            }
            AttemptOutcome::Failed {
                status_code,
                error,
                retry_at,
            } => {
                update.last_status_code = Set(status_code.map(i32::from));
                // Bounded: a receiver's error text is not ours to store whole.
                update.last_error = Set(Some(error.chars().take(500).collect()));
                match retry_at {
                    Some(t) => {
                        update.status = Set(PENDING.to_owned());
                        update.next_attempt_at_ms = Set(t.timestamp_millis());
                    }
                    None => update.status = Set(DEAD.to_owned()),
                }
            }
        }
        use sea_orm::sea_query::{Expr, ExprTrait as _};
        // Only while this worker's claim stands: if its lease ran out and
        // another worker took the delivery, that one's outcome counts.
        let result = delivery::Entity::update_many()
            .set(update)
            .col_expr(
                delivery::Column::Attempts,
                Expr::col(delivery::Column::Attempts).add(1),
            )
            .filter(delivery::Column::Id.eq(delivery_id))
            .filter(delivery::Column::Status.eq(PENDING))
            .filter(delivery::Column::LeaseUntilMs.eq(claimed_lease))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            tracing::warn!(
                delivery.id = delivery_id,
                "a delivery's claim ended before its attempt was recorded; the later claim decides"
            );
            return Ok(());
        }
        self.record_endpoint_result(
            endpoint_id,
            matches!(outcome, AttemptOutcome::Delivered { .. }),
            disable,
        )
        .await
    }

    async fn record_endpoint_result(
        &self,
        endpoint_id: &str,
        delivered: bool,
        disable: &DisablePolicy,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::{Expr, ExprTrait as _, Func};
        if delivered {
            endpoint::Entity::update_many()
                .col_expr(endpoint::Column::ConsecutiveFailures, Expr::value(0))
                .col_expr(
                    endpoint::Column::FailingSinceMs,
                    Expr::value(Option::<i64>::None),
                )
                .filter(endpoint::Column::Id.eq(endpoint_id))
                .exec(self.db())
                .await?;
            return Ok(());
        }
        let now_ms = now().timestamp_millis();
        // In SQL: concurrent failures must all count, and the run's start
        // is kept from its first failure.
        endpoint::Entity::update_many()
            .col_expr(
                endpoint::Column::ConsecutiveFailures,
                Expr::col(endpoint::Column::ConsecutiveFailures).add(1),
            )
            .col_expr(
                endpoint::Column::FailingSinceMs,
                Func::coalesce([
                    Expr::col(endpoint::Column::FailingSinceMs),
                    Expr::value(now_ms),
                ])
                .into(),
            )
            .filter(endpoint::Column::Id.eq(endpoint_id))
            .exec(self.db())
            .await?;
        let failing_for_ms =
            i64::try_from(disable.after_failing_for.as_millis()).unwrap_or(i64::MAX);
        let disabled = endpoint::Entity::update_many()
            .set(endpoint::ActiveModel {
                enabled: Set(false),
                disabled_reason: Set(Some(format!(
                    "disabled after {} consecutive failed deliveries over at least {} s; re-enable it once the receiver works (pending deliveries then resume)",
                    disable.after_failures,
                    disable.after_failing_for.as_secs()
                ))),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(endpoint::Column::Id.eq(endpoint_id))
            .filter(endpoint::Column::Enabled.eq(true))
            .filter(endpoint::Column::ConsecutiveFailures.gte(i64::from(disable.after_failures)))
            .filter(endpoint::Column::FailingSinceMs.lte(now_ms.saturating_sub(failing_for_ms)))
            .exec(self.db())
            .await?;
        if disabled.rows_affected > 0 {
            tracing::warn!(
                webhook.id = endpoint_id,
                "webhook endpoint disabled after failing repeatedly"
            );
        }
        Ok(())
    }

    /// Deliveries waiting to be delivered (due or retrying later), across
    /// tenants.
    pub async fn count_pending_deliveries(&self) -> Result<u64, StoreError> {
        Ok(delivery::Entity::find()
            .filter(delivery::Column::Status.eq(PENDING))
            .count(self.db())
            .await?)
    }

    /// Newest first, older than the delivery `before`.
    pub async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut query = delivery::Entity::find()
            .order_by_desc(delivery::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(delivery::Column::Id.lt(before));
        }
        if let Some(t) = &filter.tenant_id {
            query = query.filter(delivery::Column::TenantId.eq(t.as_str()));
        }
        if let Some(e) = &filter.event_id {
            query = query.filter(delivery::Column::EventId.eq(e.as_str()));
        }
        if let Some(e) = &filter.endpoint_id {
            query = query.filter(delivery::Column::EndpointId.eq(e.as_str()));
        }
        if let Some(s) = &filter.status {
            query = query.filter(delivery::Column::Status.eq(s.as_str()));
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(Delivery::try_from)
            .collect()
    }

    /// Delivers `event_id` again to its tenant's endpoints that subscribe to
    /// it now (new deliveries, attempted at once). Returns how many.
    pub async fn replay_event(&self, event_id: &str) -> Result<u64, StoreError> {
        let Some(ev) = event::Entity::find_by_id(event_id.to_owned())
            .one(self.db())
            .await?
        else {
            return Err(StoreError::NotFound("event"));
        };
        let Some(tenant_id) = ev.tenant_id else {
            return Ok(0);
        };
        enqueue(self.db(), &ev.id, &tenant_id, &ev.event_type).await
    }

    /// Replays the events `filter` matches, oldest first, at most `limit`:
    /// returns (events replayed, deliveries created).
    ///
    /// In batches of [`REPLAY_BATCH`] events, each one transaction of
    /// multi-row inserts, with a pause between batches: a large replay
    /// (1 000 events × 20 endpoints) never holds the database (SQLite's one
    /// writer included) long enough to delay WeChat's pushes.
    pub async fn replay_events(
        &self,
        filter: &crate::events::EventFilter,
        limit: u64,
    ) -> Result<(u64, u64), StoreError> {
        let events = self.list_events_oldest_first(filter, limit).await?;
        let mut endpoints: std::collections::HashMap<TenantId, Vec<WebhookEndpoint>> =
            std::collections::HashMap::new();
        let mut deliveries = 0;
        for batch in events.chunks(REPLAY_BATCH) {
            let at = now();
            let mut rows = Vec::new();
            for ev in batch {
                let Some(tenant_id) = &ev.tenant_id else {
                    continue;
                };
                if !endpoints.contains_key(tenant_id) {
                    let list = endpoint::Entity::find()
                        .filter(endpoint::Column::TenantId.eq(tenant_id.as_str()))
                        .all(self.db())
                        .await?
                        .into_iter()
                        .map(WebhookEndpoint::from)
                        .collect();
                    endpoints.insert(tenant_id.clone(), list);
                }
                for e in endpoints[tenant_id]
                    .iter()
                    .filter(|e| e.subscribes_to(&ev.event_type))
                {
                    rows.push(pending_row(&ev.id, &e.id, tenant_id, at));
                }
            }
            deliveries += rows.len() as u64;
            let txn = self.db().begin().await?;
            insert_rows(&txn, rows).await?;
            txn.commit().await?;
            tokio::time::sleep(REPLAY_PAUSE).await;
        }
        Ok((events.len() as u64, deliveries))
    }

    /// Gives back claims that were not sent (a worker stopping): due again at once.
    pub async fn release_claims(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        delivery::Entity::update_many()
            .set(delivery::ActiveModel {
                lease_until_ms: Set(None),
                ..Default::default()
            })
            .filter(delivery::Column::Id.is_in(ids.iter().cloned()))
            .filter(delivery::Column::Status.eq(PENDING))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Deletes delivered and dead deliveries created before `before`
    /// (their events stay, and can be replayed). Returns how many.
    pub async fn purge_finished_deliveries(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(delivery::Entity::delete_many()
            .filter(delivery::Column::Status.is_in([DELIVERED, DEAD]))
            .filter(delivery::Column::CreatedAt.lt(before))
            .exec(self.db())
            .await?
            .rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{events::NewEvent, webhooks::NewWebhook};

    #[tokio::test]
    async fn outbox_claim_finish_and_purge() {
        let store = crate::memory_store().await;
        let tenant = store.create_tenant("t").await.unwrap();
        let hook = |types: Vec<String>| NewWebhook {
            url: "https://hooks.example/x".into(),
            description: None,
            event_types: types,
        };
        let (all, _) = store
            .create_webhook(&tenant.id, &hook(vec![]), 20)
            .await
            .unwrap();
        store
            .create_webhook(&tenant.id, &hook(vec!["other".into()]), 20)
            .await
            .unwrap();
        let event = |key: &str| NewEvent {
            tenant_id: Some(tenant.id.clone()),
            authorizer_appid: Some("wx1".into()),
            event_type: "trade_manage_remind_shipping".into(),
            data: serde_json::json!({}),
            dedupe_key: key.into(),
            occurred_at: now(),
            order_note: None,
        };
        assert!(store.record_event(&event("a")).await.unwrap());
        assert!(store.record_event(&event("b")).await.unwrap());
        // A repeat adds neither an event nor deliveries.
        assert!(!store.record_event(&event("a")).await.unwrap());

        // Only the endpoint subscribing to the type gets deliveries.
        let lease = std::time::Duration::from_secs(60);
        let due = store.claim_due_deliveries(now(), 10, lease).await.unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|d| d.delivery.endpoint_id == all.id));
        // Claimed: not due again while the lease lasts.
        assert!(
            store
                .claim_due_deliveries(now(), 10, lease)
                .await
                .unwrap()
                .is_empty()
        );

        let policy = DisablePolicy {
            after_failures: 100,
            after_failing_for: std::time::Duration::ZERO,
        };
        let first = &due[0].delivery;
        store
            .finish_attempt(
                &first.id,
                first.lease_until_ms,
                &all.id,
                &AttemptOutcome::Delivered { status_code: 200 },
                &policy,
            )
            .await
            .unwrap();
        // A stale claim (lease not ours) changes nothing.
        let second = &due[1].delivery;
        store
            .finish_attempt(
                &second.id,
                Some(1),
                &all.id,
                &AttemptOutcome::Delivered { status_code: 200 },
                &policy,
            )
            .await
            .unwrap();
        let rows = store
            .list_deliveries(&DeliveryFilter::default(), None, 10)
            .await
            .unwrap();
        let status = |id: &str| rows.iter().find(|r| r.id == id).unwrap().status;
        assert_eq!(status(&first.id), DeliveryStatus::Delivered);
        assert_eq!(status(&second.id), DeliveryStatus::Pending);
        assert_eq!(store.count_pending_deliveries().await.unwrap(), 1);

        // Purging keeps what is unfinished.
        let later = now() + chrono::Duration::seconds(1);
        assert_eq!(store.purge_finished_deliveries(later).await.unwrap(), 1);
        let left = store
            .list_deliveries(&DeliveryFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, second.id);
    }
}
