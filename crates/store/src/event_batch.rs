//! Group commit of events: concurrent [`Store::record_event`] calls share
//! one transaction, so a burst of pushes costs a few round trips and one
//! commit per batch instead of five round trips and a commit each.
//!
//! Every caller still waits for the commit of the transaction holding its
//! event (WeChat is acknowledged only after that), and learns whether its
//! event was new. A batch that fails is written again event by event, so
//! one bad event cannot fail the others. Inside an audited change, events
//! join that change's transaction instead (see [`Store::record_event`]).
use std::{collections::BTreeSet, sync::Arc};

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    TryInsertResult,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{
    Store, StoreError,
    entity::{event, webhook_endpoint as endpoint},
    events::{NewEvent, event_row, insert_event},
    now,
    shipping_orders::write_order_notes,
};

/// Batches written at once: one holds the database while the next fills.
/// Two, not more: with more, a writer is nearly always free, batches stay
/// small and each event pays for its own round trips again (measured with
/// 16 concurrent pushers: 4 writers averaged 2.5 events a transaction, 1
/// writer 7.6, and 1–2 writers accepted as many pushes as 4 or more, with a
/// lower p99); one would leave the database idle while a batch is built.
const WRITERS: usize = 2;

type Reply = oneshot::Sender<Result<bool, StoreError>>;

/// The handle [`Store`] sends events to.
#[derive(Clone)]
pub(crate) struct EventBatcher {
    queue: mpsc::Sender<(NewEvent, Reply)>,
}

impl EventBatcher {
    /// Starts the batching task; `max_batch` events per transaction.
    pub(crate) fn start(store: Store, max_batch: usize) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(NewEvent, Reply)>(max_batch * WRITERS * 4);
        let max_batch = max_batch.max(1);
        tokio::spawn(async move {
            let writers = Arc::new(Semaphore::new(WRITERS));
            while let Some(first) = incoming.recv().await {
                let Ok(permit) = writers.clone().acquire_owned().await else {
                    return;
                };
                // Whatever arrived while the previous batches were written.
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match incoming.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let store = store.clone();
                tokio::spawn(async move {
                    write(&store, batch).await;
                    drop(permit);
                });
            }
        });
        Self { queue }
    }

    /// Records `new` in the next batch; `Ok(false)`: already recorded.
    pub(crate) async fn record(&self, new: &NewEvent) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((new.clone(), reply))
            .await
            .map_err(|_| StoreError::Unavailable("the event writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the event writer stopped".into()))?
    }
}

async fn write(store: &Store, batch: Vec<(NewEvent, Reply)>) {
    if batch.len() == 1 {
        let (new, reply) = batch.into_iter().next().expect("one event");
        let _ = reply.send(store.record_event_alone(&new).await);
        return;
    }
    let events: Vec<&NewEvent> = batch.iter().map(|(new, _)| new).collect();
    match insert_batch(store, &events).await {
        Ok(inserted) => {
            for ((_, reply), inserted) in batch.into_iter().zip(inserted) {
                let _ = reply.send(Ok(inserted));
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, events = batch.len(), "a batch of events failed; writing them one by one");
            for (new, reply) in batch {
                let _ = reply.send(store.record_event_alone(&new).await);
            }
        }
    }
}

/// One transaction: the events (a repeat of a stored or an earlier one in
/// the batch is skipped), which of them are new, their deliveries and what
/// they say about orders.
async fn insert_batch(store: &Store, events: &[&NewEvent]) -> Result<Vec<bool>, StoreError> {
    let txn = store.db().begin().await?;
    let rows: Vec<(String, event::ActiveModel)> = events.iter().map(|e| event_row(e)).collect();
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    let insert = event::Entity::insert_many(rows.into_iter().map(|(_, row)| row))
        .on_conflict_do_nothing_on([event::Column::DedupeKey]);
    // Which are new: RETURNING names the inserted rows (a round trip less).
    let stored: BTreeSet<String> = if txn.support_returning() {
        match insert.exec_with_returning_keys(&txn).await? {
            TryInsertResult::Inserted(keys) => keys.into_iter().collect(),
            // Every one a repeat.
            TryInsertResult::Conflicted | TryInsertResult::Empty => BTreeSet::new(),
        }
    } else {
        insert.exec_without_returning(&txn).await?;
        event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .filter(event::Column::Id.is_in(ids.iter().cloned()))
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect()
    };
    let inserted: Vec<bool> = ids.iter().map(|id| stored.contains(id)).collect();
    // The outbox: each new event's deliveries, in the same transaction.
    let tenants: BTreeSet<&str> = events
        .iter()
        .zip(&inserted)
        .filter(|(_, inserted)| **inserted)
        .filter_map(|(e, _)| e.tenant_id.as_deref())
        .collect();
    if !tenants.is_empty() {
        let endpoints = endpoint::Entity::find()
            .filter(endpoint::Column::TenantId.is_in(tenants.iter().copied()))
            .all(&txn)
            .await?;
        let at = now();
        let deliveries = events
            .iter()
            .zip(&ids)
            .zip(&inserted)
            .filter(|(_, inserted)| **inserted)
            .filter_map(|((e, id), _)| e.tenant_id.as_deref().map(|t| (t, id, &e.event_type)))
            .flat_map(|(tenant_id, id, event_type)| {
                crate::deliveries::pending_rows(&endpoints, id, tenant_id, event_type, at)
            });
        crate::deliveries::insert_rows(&txn, deliveries.collect()).await?;
    }
    let notes: Vec<_> = events
        .iter()
        .zip(&inserted)
        .filter(|(_, inserted)| **inserted)
        .filter_map(|(e, _)| e.app_order_note())
        .collect();
    if !notes.is_empty() {
        write_order_notes(&txn, &notes).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

impl Store {
    /// One event in its own transaction (what a batch of one, or a batch
    /// that failed, does). Should its order note be what fails, the event is
    /// stored without it, as it was before notes joined the transaction: the
    /// push is acknowledged, and the next reconciliation finds the order.
    pub(crate) async fn record_event_alone(&self, new: &NewEvent) -> Result<bool, StoreError> {
        match self.insert_event_committed(new).await {
            Err(error) if new.order_note.is_some() => {
                tracing::warn!(error = %error, event = %new.event_type, "could not record what a push says about its order; storing the event without it");
                let bare = NewEvent {
                    order_note: None,
                    ..new.clone()
                };
                self.insert_event_committed(&bare).await
            }
            result => result,
        }
    }

    async fn insert_event_committed(&self, new: &NewEvent) -> Result<bool, StoreError> {
        let txn = self.db().begin().await?;
        let inserted = insert_event(&txn, new).await?;
        txn.commit().await?;
        Ok(inserted)
    }

    /// Writes events through a group commit of up to `max_batch` per
    /// transaction (0 or 1: each in its own). Start it once per process.
    pub fn with_event_batching(mut self, max_batch: usize) -> Self {
        self.event_batcher = (max_batch > 1).then(|| EventBatcher::start(self.clone(), max_batch));
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::{events::NewEvent, now, webhooks::NewWebhook};

    #[tokio::test]
    async fn concurrent_events_share_transactions_and_each_learns_its_outcome() {
        let store = crate::memory_store().await.with_event_batching(16);
        let mut tenants = Vec::new();
        for name in ["a", "b"] {
            let tenant = store.create_tenant(name).await.unwrap();
            let hook = NewWebhook {
                url: "https://hooks.example/x".into(),
                description: None,
                event_types: vec![],
            };
            store.create_webhook(&tenant.id, &hook, 20).await.unwrap();
            tenants.push(tenant.id);
        }
        store
            .record_event(&NewEvent {
                tenant_id: Some(tenants[0].clone()),
                authorizer_appid: None,
                event_type: "x".into(),
                data: serde_json::json!({}),
                dedupe_key: "seen-before".into(),
                occurred_at: now(),
                order_note: None,
            })
            .await
            .unwrap();
        // 60 events at once: 40 distinct across two tenants, 19 repeats of
        // them, and one of an event stored before.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60usize {
            let store = store.clone();
            let tenant = tenants[i % 2].clone();
            let key = match i {
                0 => "seen-before".to_owned(),
                i if i >= 41 => format!("k{}", i - 40),
                i => format!("k{i}"),
            };
            tasks.spawn(async move {
                let new = NewEvent {
                    tenant_id: Some(tenant),
                    authorizer_appid: None,
                    event_type: "x".into(),
                    data: serde_json::json!({ "i": i }),
                    dedupe_key: key.clone(),
                    occurred_at: now(),
                    order_note: None,
                };
                (key, store.record_event(&new).await.unwrap())
            });
        }
        let mut stored = std::collections::BTreeMap::<String, u32>::new();
        while let Some(joined) = tasks.join_next().await {
            let (key, inserted) = joined.unwrap();
            *stored.entry(key).or_default() += u32::from(inserted);
        }
        // Each new key was reported stored exactly once; the old one never.
        assert_eq!(stored.len(), 41);
        assert_eq!(stored["seen-before"], 0);
        assert!(
            stored
                .iter()
                .filter(|(k, _)| *k != "seen-before")
                .all(|(_, n)| *n == 1)
        );
        // One delivery per stored event (each tenant has one endpoint).
        assert_eq!(store.count_pending_deliveries().await.unwrap(), 41);
    }

    #[tokio::test]
    async fn order_notes_are_stored_with_their_events_and_cannot_lose_them() {
        use sea_orm::ConnectionTrait as _;

        use crate::shipping_orders::{OrderNews, OrderNote, SeenOrder, ShippingOrderFilter};
        let store = crate::memory_store().await.with_event_batching(16);
        let push = |i: usize| NewEvent {
            tenant_id: None,
            authorizer_appid: Some("wx1".to_owned().into()),
            event_type: "trade_manage_remind_shipping".into(),
            data: serde_json::json!({ "i": i }),
            dedupe_key: format!("remind-{i}"),
            occurred_at: now(),
            order_note: Some(OrderNote {
                order: SeenOrder {
                    transaction_id: format!("tx{}", i % 5),
                    merchant_id: "m".into(),
                    sub_merchant_id: None,
                    merchant_trade_no: format!("no{i}"),
                    pay_time: 1,
                },
                news: OrderNews::Reminded,
                at: now(),
            }),
        };
        let record_all = async |range: std::ops::Range<usize>| {
            let mut tasks = tokio::task::JoinSet::new();
            for i in range {
                let store = store.clone();
                tasks.spawn(async move { store.record_event(&push(i)).await });
            }
            tasks.join_all().await
        };
        // 20 pushes about 5 orders at once: each order noted once, in the
        // transactions of its events.
        assert!(record_all(0..20).await.into_iter().all(|r| r.unwrap()));
        let orders = store
            .list_shipping_orders(&ShippingOrderFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(orders.len(), 5);
        assert!(orders.iter().all(|o| o.reminded_at.is_some()));

        // Should the notes fail, the events are stored anyway (and acknowledged).
        store
            .db()
            .execute_unprepared("DROP TABLE shipping_orders")
            .await
            .unwrap();
        assert!(record_all(20..30).await.into_iter().all(|r| r.unwrap()));
        for i in 0..30 {
            let key = format!("remind-{i}");
            assert!(store.event_by_dedupe_key(&key).await.unwrap().is_some());
        }
    }
}
