//! The audit log: every change made through the admin API — who, what,
//! when. An entry is written in the same transaction as the change it
//! records ([`Store::audited`]), so a committed change always has its entry
//! and a failed one has none. Entries are never updated.
use std::{
    future::Future,
    sync::{Arc, atomic::AtomicBool},
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::{Store, StoreError, cache::HotCache, conn::Conn, entity::audit_entry, new_id, now};

/// One change to record. `detail` must not contain secrets.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor: String,
    pub actor_role: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub actor_role: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: serde_json::Value,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        Self {
            // Written by `record_audit` from a serde_json::Value.
            detail: serde_json::from_str(&m.detail).unwrap_or(serde_json::Value::Null),
            id: m.id,
            occurred_at: m.occurred_at,
            actor: m.actor,
            actor_role: m.actor_role,
            tenant_id: m.tenant_id,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
        }
    }
}

/// Which entries a listing returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

async fn insert_entry(
    db: &impl ConnectionTrait,
    entry: NewAuditEntry,
) -> Result<String, StoreError> {
    let id = new_id();
    let row = audit_entry::ActiveModel {
        id: Set(id.clone()),
        occurred_at: Set(now()),
        actor: Set(entry.actor),
        actor_role: Set(entry.actor_role),
        tenant_id: Set(entry.tenant_id),
        action: Set(entry.action),
        target_type: Set(entry.target_type),
        target_id: Set(entry.target_id),
        detail: Set(entry.detail.to_string()),
    };
    audit_entry::Entity::insert(row).exec(db).await?;
    Ok(id)
}

impl Store {
    /// Runs `change` on a store whose every query belongs to one
    /// transaction, then writes the entries `entries` derives from its
    /// result in that transaction, and commits. When `change` fails, nothing
    /// it did and no entry is kept. Caches are dropped after the commit.
    ///
    /// `change` must use only the store it is given: another handle would
    /// wait for a connection the transaction holds (SQLite has one).
    /// Nothing in it may wait on anything outside the database (a WeChat
    /// call, a lease): the transaction holds its locks meanwhile.
    pub async fn audited<T, E, Fut>(
        &self,
        change: impl FnOnce(Store) -> Fut,
        entries: impl FnOnce(&T) -> Vec<NewAuditEntry>,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: From<StoreError>,
    {
        let txn = Arc::new(self.db().begin().await.map_err(StoreError::from)?);
        let pending_forget = Arc::new(AtomicBool::new(false));
        let scoped = Store {
            db: Conn::Transaction(Arc::clone(&txn)),
            forget_after_commit: Some(Arc::clone(&pending_forget)),
            // Rows read inside the transaction are not cached for others:
            // they may never commit.
            cache: Arc::new(HotCache::new(self.cache.ttl)),
            ..self.clone()
        };
        let value = change(scoped).await?;
        for entry in entries(&value) {
            insert_entry(&*txn, entry).await?;
        }
        let txn = Arc::try_unwrap(txn).map_err(|_| {
            StoreError::Unavailable("an audited change kept its store after it ended".into())
        })?;
        txn.commit().await.map_err(StoreError::from)?;
        if pending_forget.load(std::sync::atomic::Ordering::Relaxed) {
            self.forget_cached_everywhere().await;
        }
        Ok(value)
    }

    /// Records one entry on its own, for a change that cannot share a
    /// transaction with it (it happened at WeChat, under a lease).
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let id = insert_entry(self.db(), entry).await?;
        audit_entry::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(AuditEntry::from)
            .ok_or(StoreError::NotFound("audit entry"))
    }

    /// Newest first, older than the entry `before`.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::Id.lt(before));
        }
        if let Some(t) = &filter.tenant_id {
            query = query.filter(audit_entry::Column::TenantId.eq(t.as_str()));
        }
        if let Some(a) = &filter.actor {
            query = query.filter(audit_entry::Column::Actor.eq(a.as_str()));
        }
        if let Some(a) = &filter.action {
            query = query.filter(audit_entry::Column::Action.eq(a.as_str()));
        }
        if let Some(t) = &filter.target_id {
            query = query.filter(audit_entry::Column::TargetId.eq(t.as_str()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_entry::Column::OccurredAt.gte(since));
        }
        Ok(query
            .all(self.db())
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect())
    }
}

impl Store {
    /// Deletes audit entries older than `before`; returns how many.
    pub async fn purge_audit_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::OccurredAt.lt(before))
            .exec(self.db())
            .await?
            .rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::TenantStatus;

    use crate::memory_store as store;

    fn entry(action: &str, target_id: &str) -> NewAuditEntry {
        NewAuditEntry {
            actor: "ops".into(),
            actor_role: "platform_admin".into(),
            tenant_id: Some(target_id.into()),
            action: action.into(),
            target_type: "tenant".into(),
            target_id: target_id.into(),
            detail: serde_json::json!({}),
        }
    }

    async fn actions(store: &Store) -> Vec<String> {
        let rows = store
            .list_audit(&AuditFilter::default(), None, 100)
            .await
            .unwrap();
        rows.into_iter().map(|e| e.action).collect()
    }

    #[tokio::test]
    async fn a_change_and_its_entry_commit_together() {
        let store = store().await;
        let tenant = store
            .audited(
                |s| async move { s.create_tenant("acme").await },
                |t: &crate::tenants::Tenant| vec![entry("tenant.create", &t.id)],
            )
            .await
            .unwrap();
        assert!(store.tenant(&tenant.id).await.unwrap().is_some());
        assert_eq!(actions(&store).await, ["tenant.create"]);

        // A method with its own transaction nests (a savepoint).
        let id = tenant.id.clone();
        store
            .audited(
                |s| async move { s.delete_tenant(&id, false).await },
                |_| vec![entry("tenant.delete", &tenant.id)],
            )
            .await
            .unwrap();
        assert!(store.tenant(&tenant.id).await.unwrap().is_none());
        assert_eq!(actions(&store).await, ["tenant.delete", "tenant.create"]);
    }

    #[tokio::test]
    async fn a_change_whose_entry_cannot_be_written_does_not_happen() {
        let store = store().await;
        store
            .db()
            .execute_unprepared("DROP TABLE audit_log")
            .await
            .unwrap();
        let made: Result<crate::tenants::Tenant, StoreError> = store
            .audited(
                |s| async move { s.create_tenant("acme").await },
                |t: &crate::tenants::Tenant| vec![entry("tenant.create", &t.id)],
            )
            .await;
        assert!(made.is_err());
        let tenants = store
            .list_tenants_page(&Default::default(), None, 10)
            .await
            .unwrap();
        assert!(tenants.is_empty(), "the tenant was rolled back");
    }

    #[tokio::test]
    async fn a_failed_change_keeps_nothing_and_records_nothing() {
        let store = store().await;
        let tenant = store.create_tenant("acme").await.unwrap();
        let id = tenant.id.clone();
        let failed: Result<(), StoreError> = store
            .audited(
                |s| async move {
                    s.set_tenant_status(&id, TenantStatus::Suspended).await?;
                    Err(StoreError::Conflict("changed meanwhile".into()))
                },
                |_| vec![entry("tenant.suspend", "t")],
            )
            .await;
        assert!(matches!(failed, Err(StoreError::Conflict(_))));
        let after = store.tenant(&tenant.id).await.unwrap().unwrap();
        assert_eq!(after.status, TenantStatus::Active, "rolled back");
        assert!(actions(&store).await.is_empty());
        // The single SQLite connection is free again.
        store
            .set_tenant_status(&tenant.id, TenantStatus::Suspended)
            .await
            .unwrap();
    }
}
