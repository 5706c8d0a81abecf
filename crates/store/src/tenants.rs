//! Tenants: the service provider's customers, owners of authorizers.
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};

use crate::{Store, StoreError, entity::tenant, new_id, now};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<tenant::Model, StoreError> {
        let row = tenant::ActiveModel {
            id: Set(new_id()),
            name: Set(name.to_owned()),
            status: Set(STATUS_ACTIVE.to_owned()),
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
}
