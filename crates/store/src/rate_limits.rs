//! Rate-limit policies as data: the operator's overrides of the built-in
//! defaults (the proxy owns the defaults and the counting).
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict,
};

use crate::{Store, StoreError, entity::rate_limit_policy, new_id, now};

/// A policy to create or replace (same group, dimension, window and scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub api_group: String,
    pub dimension: String,
    pub window: String,
    pub scope: String,
    pub max_calls: i64,
}

/// A stored policy (its group, dimension, window and scope are parsed by
/// the limiter, which owns their vocabulary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub id: String,
    pub api_group: String,
    pub dimension: String,
    pub window: String,
    pub scope: String,
    pub max_calls: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<rate_limit_policy::Model> for StoredPolicy {
    fn from(m: rate_limit_policy::Model) -> Self {
        Self {
            id: m.id,
            api_group: m.api_group,
            dimension: m.dimension,
            window: m.window,
            scope: m.scope,
            max_calls: m.max_calls,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl Store {
    pub async fn list_rate_limit_policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        Ok(rate_limit_policy::Entity::find()
            .order_by_asc(rate_limit_policy::Column::ApiGroup)
            .order_by_asc(rate_limit_policy::Column::Dimension)
            .order_by_asc(rate_limit_policy::Column::Scope)
            .all(self.db())
            .await?
            .into_iter()
            .map(StoredPolicy::from)
            .collect())
    }

    /// Creates the policy, or replaces the limit of the existing one with the
    /// same group, dimension, window and scope.
    pub async fn upsert_rate_limit_policy(
        &self,
        policy: &PolicyRow,
    ) -> Result<StoredPolicy, StoreError> {
        let row = rate_limit_policy::ActiveModel {
            id: Set(new_id()),
            api_group: Set(policy.api_group.clone()),
            dimension: Set(policy.dimension.clone()),
            window: Set(policy.window.clone()),
            scope: Set(policy.scope.clone()),
            max_calls: Set(policy.max_calls),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        rate_limit_policy::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    rate_limit_policy::Column::ApiGroup,
                    rate_limit_policy::Column::Dimension,
                    rate_limit_policy::Column::Window,
                    rate_limit_policy::Column::Scope,
                ])
                .update_columns([
                    rate_limit_policy::Column::MaxCalls,
                    rate_limit_policy::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec(self.db())
            .await?;
        rate_limit_policy::Entity::find()
            .filter(rate_limit_policy::Column::ApiGroup.eq(&policy.api_group))
            .filter(rate_limit_policy::Column::Dimension.eq(&policy.dimension))
            .filter(rate_limit_policy::Column::Window.eq(&policy.window))
            .filter(rate_limit_policy::Column::Scope.eq(&policy.scope))
            .one(self.db())
            .await?
            .map(StoredPolicy::from)
            .ok_or(StoreError::NotFound("rate-limit policy"))
    }

    /// Deletes a policy; returns it, or None when there was none with that id.
    pub async fn delete_rate_limit_policy(
        &self,
        id: &str,
    ) -> Result<Option<StoredPolicy>, StoreError> {
        let Some(row) = rate_limit_policy::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let result = rate_limit_policy::Entity::delete_by_id(id.to_owned())
            .exec(self.db())
            .await?;
        Ok((result.rows_affected == 1).then(|| row.into()))
    }
}
