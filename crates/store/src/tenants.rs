//! Tenants: the service provider's customers, owners of authorizers.
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{Store, StoreError, entity::tenant, new_id, now};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<tenant::Model, StoreError> {
        let row = tenant::ActiveModel {
            id: Set(new_id()),
            name: Set(name.to_owned()),
            status: Set(STATUS_ACTIVE.to_owned()),
            raw_passthrough: Set(false),
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

    pub async fn tenant(&self, id: &str) -> Result<Option<tenant::Model>, StoreError> {
        Ok(tenant::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?)
    }

    pub async fn list_tenants(&self) -> Result<Vec<tenant::Model>, StoreError> {
        Ok(tenant::Entity::find()
            .order_by_asc(tenant::Column::CreatedAt)
            .order_by_asc(tenant::Column::Id)
            .all(self.db())
            .await?)
    }

    /// Allows or forbids `tenant_id` the raw passthrough. Cached API keys
    /// carry the tenant row, so this replica forgets them at once.
    pub async fn set_tenant_raw_passthrough(
        &self,
        tenant_id: &str,
        enabled: bool,
    ) -> Result<tenant::Model, StoreError> {
        let result = tenant::Entity::update_many()
            .set(tenant::ActiveModel {
                raw_passthrough: Set(enabled),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(tenant::Column::Id.eq(tenant_id))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("tenant"));
        }
        self.cache.api_keys.clear();
        self.tenant(tenant_id)
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }
}
