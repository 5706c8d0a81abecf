//! Tenants: the service provider's customers, owners of authorizers.
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::{
    Store, StoreError, TenantId,
    entity::{
        api_key, authorizer, idempotency_key, onboarding_link, rate_limit_policy, tenant,
        webhook_delivery, webhook_endpoint,
    },
    new_id, now,
};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";

/// Whether a tenant's keys and admins work. Stored as its name; an unknown
/// stored name is an error, never read as `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => STATUS_ACTIVE,
            TenantStatus::Suspended => STATUS_SUSPENDED,
        }
    }
}

impl std::str::FromStr for TenantStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            STATUS_ACTIVE => Ok(TenantStatus::Active),
            STATUS_SUSPENDED => Ok(TenantStatus::Suspended),
            other => Err(StoreError::Invalid {
                what: "tenant status",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

/// A tenant as the rest of tpgate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    /// May use the raw passthrough.
    pub raw_passthrough: bool,
    /// Keep the bodies of its proxied writes in the call log.
    pub capture_call_bodies: bool,
    /// The re-shipment guard (`api_proxy::reshipment`): on by default.
    pub reshipment_guard: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Tenant {
    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }
}

impl TryFrom<tenant::Model> for Tenant {
    type Error = StoreError;

    fn try_from(m: tenant::Model) -> Result<Self, StoreError> {
        Ok(Self {
            status: m.status.parse()?,
            id: m.id.into(),
            name: m.name,
            raw_passthrough: m.raw_passthrough,
            capture_call_bodies: m.capture_call_bodies,
            reshipment_guard: m.reshipment_guard,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, StoreError> {
        let row = tenant::ActiveModel {
            id: Set(new_id()),
            name: Set(name.to_owned()),
            status: Set(STATUS_ACTIVE.to_owned()),
            raw_passthrough: Set(false),
            capture_call_bodies: Set(false),
            reshipment_guard: Set(true),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        match tenant::Entity::insert(row.clone())
            .exec(self.db())
            .await
            .map_err(StoreError::from)
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(StoreError::Conflict(format!(
                    "a tenant named {name:?} already exists"
                )));
            }
            Err(e) => return Err(e),
        }
        self.tenant(row.id.as_ref())
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        tenant::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .map(Tenant::try_from)
            .transpose()
    }

    /// One page of tenants in creation order (ids are UUIDv7), after the
    /// tenant `after`, at most `limit`.
    pub async fn list_tenants_page(
        &self,
        filter: &TenantFilter,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Tenant>, StoreError> {
        let mut query = tenant::Entity::find().order_by_asc(tenant::Column::Id);
        if let Some(after) = after {
            query = query.filter(tenant::Column::Id.gt(after));
        }
        if let Some(status) = &filter.status {
            query = query.filter(tenant::Column::Status.eq(status.as_str()));
        }
        if let Some(name) = &filter.name_contains {
            query = query.filter(crate::contains_ignoring_case(tenant::Column::Name, name));
        }
        query
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(Tenant::try_from)
            .collect()
    }

    /// Renames a tenant and/or switches its raw passthrough.
    pub async fn update_tenant(
        &self,
        tenant_id: &str,
        update: &TenantUpdate,
    ) -> Result<Tenant, StoreError> {
        let mut row = tenant::ActiveModel {
            updated_at: Set(now()),
            ..Default::default()
        };
        if let Some(name) = &update.name {
            row.name = Set(name.clone());
        }
        if let Some(enabled) = update.raw_passthrough {
            row.raw_passthrough = Set(enabled);
        }
        if let Some(enabled) = update.capture_call_bodies {
            row.capture_call_bodies = Set(enabled);
        }
        if let Some(enabled) = update.reshipment_guard {
            row.reshipment_guard = Set(enabled);
        }
        self.write_tenant(tenant_id, row)
            .await
            .map_err(|e| match (e, &update.name) {
                (StoreError::Conflict(_), Some(name)) => {
                    StoreError::Conflict(format!("a tenant named {name:?} already exists"))
                }
                (e, _) => e,
            })
    }

    /// Suspends (`suspended`) or resumes (`active`) a tenant. A suspended
    /// tenant's keys stop working at once on every replica (caches are
    /// dropped here and, through Redis, everywhere).
    pub async fn set_tenant_status(
        &self,
        tenant_id: &str,
        status: TenantStatus,
    ) -> Result<Tenant, StoreError> {
        self.write_tenant(
            tenant_id,
            tenant::ActiveModel {
                status: Set(status.as_str().to_owned()),
                updated_at: Set(now()),
                ..Default::default()
            },
        )
        .await
    }

    /// Sets `row`'s columns on one tenant, then drops the cached keys here
    /// and on every replica (they carry the tenant row) and reads it back.
    async fn write_tenant(
        &self,
        tenant_id: &str,
        row: tenant::ActiveModel,
    ) -> Result<Tenant, StoreError> {
        let result = tenant::Entity::update_many()
            .set(row)
            .filter(tenant::Column::Id.eq(tenant_id))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("tenant"));
        }
        self.forget_cached_everywhere().await;
        self.tenant(tenant_id)
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    /// Deletes a tenant with its keys, links, webhooks, tenant-scoped
    /// policies and idempotency records, in one transaction. Refused
    /// (`Conflict`) while Mini Programs belong to it unless `force`, which
    /// leaves them authorized but unassigned (an operator can move them).
    /// Events and the audit log keep the tenant id: they are history.
    pub async fn delete_tenant(
        &self,
        tenant_id: &str,
        force: bool,
    ) -> Result<DeletedTenant, StoreError> {
        let txn = self.db().begin().await?;
        if tenant::Entity::find_by_id(tenant_id.to_owned())
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound("tenant"));
        }
        // Unassign first and count what that changed: a count read before
        // would miss an onboarding that completes meanwhile.
        let owned = authorizer::Entity::update_many()
            .set(authorizer::ActiveModel {
                tenant_id: Set(None),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(authorizer::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?
            .rows_affected;
        if owned > 0 && !force {
            txn.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "the tenant still owns {owned} authorizer(s); move or revoke them first, or delete with force=true to leave them unassigned"
            )));
        }
        api_key::Entity::delete_many()
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        onboarding_link::Entity::delete_many()
            .filter(onboarding_link::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        webhook_endpoint::Entity::delete_many()
            .filter(webhook_endpoint::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        rate_limit_policy::Entity::delete_many()
            .filter(rate_limit_policy::Column::Scope.eq(format!("tenant:{tenant_id}")))
            .exec(&txn)
            .await?;
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        tenant::Entity::delete_by_id(tenant_id.to_owned())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.forget_cached_everywhere().await;
        Ok(DeletedTenant {
            unassigned_authorizers: owned,
        })
    }

    /// Allows or forbids `tenant_id` the raw passthrough. Cached API keys
    /// carry the tenant row, so this replica forgets them at once.
    pub async fn set_tenant_raw_passthrough(
        &self,
        tenant_id: &str,
        enabled: bool,
    ) -> Result<Tenant, StoreError> {
        self.update_tenant(
            tenant_id,
            &TenantUpdate {
                name: None,
                raw_passthrough: Some(enabled),
                capture_call_bodies: None,
                reshipment_guard: None,
            },
        )
        .await
    }
}

/// Which tenants a listing returns.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    pub status: Option<String>,
    /// Substring of the name, ignoring ASCII case (see [`crate::contains_ignoring_case`]).
    pub name_contains: Option<String>,
}

/// What to change on a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    pub name: Option<String>,
    pub raw_passthrough: Option<bool>,
    pub capture_call_bodies: Option<bool>,
    pub reshipment_guard: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedTenant {
    /// Authorizers left without a tenant (force delete only).
    pub unassigned_authorizers: u64,
}
