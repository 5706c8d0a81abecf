//! The audit log: every change made through the admin API — who, what,
//! when. Entries are written after the change commits and never updated.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{Store, StoreError, entity::audit_entry, new_id, now};

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

impl Store {
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
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
        audit_entry::Entity::insert(row).exec(self.db()).await?;
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
