//! Tenants' webhook endpoints: where their events are delivered, which event
//! types they want, and the secret deliveries are signed with.
//!
//! The secret must be readable to sign, so it is sealed (like tokens), not
//! hashed. A rotation keeps the previous secret for a grace period: deliveries
//! are signed with both until it ends, so receivers switch without a gap.
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::{
    Secret, Store, StoreError, TenantId,
    entity::{tenant, webhook_endpoint as endpoint},
    new_id, now,
};

/// Every signing secret starts with this, so a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

pub(crate) fn secret_purpose(endpoint_id: &str) -> String {
    format!("webhook.secret:{endpoint_id}")
}

fn new_secret() -> Secret {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    Secret::new(format!("{SECRET_PREFIX}{}", hex::encode(raw)))
}

/// A webhook endpoint as the rest of tpgate sees it: no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
    /// Until when deliveries are also signed with the secret before the last rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<endpoint::Model> for WebhookEndpoint {
    fn from(m: endpoint::Model) -> Self {
        // Written by this module from a Vec<String>; should it ever be
        // unreadable, the endpoint is shown disabled rather than read as
        // "every type" (which would deliver what the tenant did not ask for).
        let (event_types, readable) = match serde_json::from_str(&m.event_types) {
            Ok(types) => (types, true),
            Err(e) => {
                tracing::error!(webhook.id = %m.id, error = %e, "stored event types unreadable");
                (Vec::new(), false)
            }
        };
        Self {
            event_types,
            enabled: m.enabled && readable,
            disabled_reason: if readable {
                m.disabled_reason
            } else {
                Some("stored event types unreadable; set event_types again".to_owned())
            },
            id: m.id,
            tenant_id: m.tenant_id.into(),
            url: m.url,
            description: m.description,
            consecutive_failures: m.consecutive_failures,
            previous_secret_expires_at: m.previous_secret_expires_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl WebhookEndpoint {
    /// Whether this endpoint wants events of `event_type`.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

/// Endpoints that are failing or disabled, across tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingWebhooks {
    /// How many there are.
    pub total: u64,
    /// The ones failing longest first, up to the limit asked for.
    pub endpoints: Vec<WebhookEndpoint>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
}

/// What to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// Re-enabling also clears the failure count.
    pub enabled: Option<bool>,
}

impl Store {
    /// Creates an endpoint; returns it and its signing secret (shown once).
    /// Creates an endpoint, unless the tenant has `max_per_tenant` already
    /// (a conflict): each push writes one delivery per endpoint, so the
    /// number bounds the work one event can cause.
    pub async fn create_webhook(
        &self,
        tenant_id: &str,
        new: &NewWebhook,
        max_per_tenant: u64,
    ) -> Result<(WebhookEndpoint, Secret), StoreError> {
        let id = new_id();
        let secret = new_secret();
        let at = now();
        let row = endpoint::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            url: Set(new.url.clone()),
            description: Set(new.description.clone()),
            event_types: Set(serde_json::Value::from(new.event_types.clone()).to_string()),
            secret_sealed: Set(self.sealer().seal(&secret_purpose(&id), &secret)),
            previous_secret_sealed: Set(None),
            previous_secret_expires_at: Set(None),
            enabled: Set(true),
            consecutive_failures: Set(0),
            failing_since_ms: Set(None),
            disabled_reason: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        };
        let txn = self.db().begin().await?;
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Concurrent creates for one tenant queue here, so the count
            // below sees every committed endpoint (SQLite has one writer).
            tenant::Entity::find_by_id(tenant_id.to_owned())
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        endpoint::Entity::insert(row).exec(&txn).await?;
        let count = endpoint::Entity::find()
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .count(&txn)
            .await?;
        if count > max_per_tenant {
            txn.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "the tenant has {max_per_tenant} webhook endpoints already, the most allowed; delete one first"
            )));
        }
        txn.commit().await?;
        let created = self
            .webhook(tenant_id, &id)
            .await?
            .ok_or(StoreError::NotFound("webhook endpoint"))?;
        Ok((created, secret))
    }

    pub async fn webhook(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(endpoint::Entity::find_by_id(id.to_owned())
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .one(self.db())
            .await?
            .map(WebhookEndpoint::from))
    }

    /// A tenant's endpoints, oldest first, after the endpoint `after`.
    pub async fn list_webhooks(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut query = endpoint::Entity::find()
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .order_by_asc(endpoint::Column::Id);
        if let Some(after) = after {
            query = query.filter(endpoint::Column::Id.gt(after));
        }
        Ok(query
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect())
    }

    pub async fn update_webhook(
        &self,
        tenant_id: &str,
        id: &str,
        update: &WebhookUpdate,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut row = endpoint::ActiveModel {
            updated_at: Set(now()),
            ..Default::default()
        };
        if let Some(url) = &update.url {
            row.url = Set(url.clone());
        }
        if let Some(description) = &update.description {
            row.description = Set(Some(description.clone()));
        }
        if let Some(types) = &update.event_types {
            row.event_types = Set(serde_json::Value::from(types.clone()).to_string());
        }
        if let Some(enabled) = update.enabled {
            row.enabled = Set(enabled);
            if enabled {
                row.consecutive_failures = Set(0);
                row.failing_since_ms = Set(None);
                row.disabled_reason = Set(None);
            } else {
                row.disabled_reason = Set(Some("disabled by an operator".to_owned()));
            }
        }
        let result = endpoint::Entity::update_many()
            .set(row)
            .filter(endpoint::Column::Id.eq(id))
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("webhook endpoint"));
        }
        self.webhook(tenant_id, id)
            .await?
            .ok_or(StoreError::NotFound("webhook endpoint"))
    }

    /// Deletes an endpoint and its deliveries (nothing would ever send them).
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        let txn = self.db().begin().await?;
        let result = endpoint::Entity::delete_many()
            .filter(endpoint::Column::Id.eq(id))
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("webhook endpoint"));
        }
        crate::entity::webhook_delivery::Entity::delete_many()
            .filter(crate::entity::webhook_delivery::Column::EndpointId.eq(id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Replaces the signing secret; the old one stays valid (deliveries are
    /// signed with both) until `previous_valid_until`. Returns the new secret
    /// (shown once).
    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        id: &str,
        previous_valid_until: DateTime<Utc>,
    ) -> Result<(WebhookEndpoint, Secret), StoreError> {
        let Some(row) = endpoint::Entity::find_by_id(id.to_owned())
            .filter(endpoint::Column::TenantId.eq(tenant_id))
            .one(self.db())
            .await?
        else {
            return Err(StoreError::NotFound("webhook endpoint"));
        };
        let secret = new_secret();
        let keep_previous = previous_valid_until > now();
        let result = endpoint::Entity::update_many()
            .set(endpoint::ActiveModel {
                secret_sealed: Set(self.sealer().seal(&secret_purpose(id), &secret)),
                previous_secret_sealed: Set(keep_previous.then(|| row.secret_sealed.clone())),
                previous_secret_expires_at: Set(keep_previous.then_some(previous_valid_until)),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(endpoint::Column::Id.eq(id))
            // Compare-and-set: of two concurrent rotations one wins, and the
            // other is told, rather than handing out a secret never in force.
            .filter(endpoint::Column::SecretSealed.eq(row.secret_sealed))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::Conflict(
                "the secret was rotated concurrently; read the endpoint and rotate again if needed"
                    .into(),
            ));
        }
        let updated = self
            .webhook(tenant_id, id)
            .await?
            .ok_or(StoreError::NotFound("webhook endpoint"))?;
        Ok((updated, secret))
    }

    /// Endpoints with failed deliveries since their last success, or
    /// disabled (after failing, or by an operator), platform-wide: the
    /// platform status shows them.
    pub async fn failing_webhooks(&self, limit: u64) -> Result<FailingWebhooks, StoreError> {
        let failing = Condition::any()
            .add(endpoint::Column::Enabled.eq(false))
            .add(endpoint::Column::ConsecutiveFailures.gt(0));
        let total = endpoint::Entity::find()
            .filter(failing.clone())
            .count(self.db())
            .await?;
        let endpoints = endpoint::Entity::find()
            .filter(failing)
            .order_by_desc(endpoint::Column::ConsecutiveFailures)
            .order_by_asc(endpoint::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect();
        Ok(FailingWebhooks { total, endpoints })
    }

    /// The secrets deliveries to `id` are signed with: the current one, and
    /// the previous one while its grace period lasts.
    pub async fn webhook_signing_secrets(&self, id: &str) -> Result<Vec<Secret>, StoreError> {
        let Some(row) = endpoint::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
        else {
            return Err(StoreError::NotFound("webhook endpoint"));
        };
        let purpose = secret_purpose(id);
        let mut secrets = vec![self.sealer().open(&purpose, &row.secret_sealed)?];
        if let (Some(previous), Some(until)) =
            (&row.previous_secret_sealed, row.previous_secret_expires_at)
            && until > now()
        {
            secrets.push(self.sealer().open(&purpose, previous)?);
        }
        Ok(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_and_disabled_endpoints_are_listed() {
        let store = crate::memory_store().await;
        let tenant = store.create_tenant("t").await.unwrap();
        let hook = NewWebhook {
            url: "https://hooks.example/x".into(),
            description: None,
            event_types: vec![],
        };
        let (healthy, _) = store.create_webhook(&tenant.id, &hook, 20).await.unwrap();
        let (off, _) = store.create_webhook(&tenant.id, &hook, 20).await.unwrap();
        assert_eq!(store.failing_webhooks(10).await.unwrap().total, 0);
        let disable = WebhookUpdate {
            enabled: Some(false),
            ..Default::default()
        };
        store
            .update_webhook(&tenant.id, &off.id, &disable)
            .await
            .unwrap();
        let failing = store.failing_webhooks(10).await.unwrap();
        assert_eq!(failing.total, 1);
        assert_eq!(failing.endpoints[0].id, off.id);
        assert_ne!(failing.endpoints[0].id, healthy.id);
        assert!(
            store
                .failing_webhooks(0)
                .await
                .unwrap()
                .endpoints
                .is_empty()
        );
    }
}
