//! Tenant API keys. The key is shown once at creation; only its SHA-256 is
//! stored. Keys carry 256 bits of randomness, so a fast hash is safe here
//! (slow password hashes exist for low-entropy human passwords).
use rand::RngCore as _;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};

use crate::{
    Secret, Store, StoreError,
    entity::{api_key, tenant},
    new_id, now,
    tenants::STATUS_ACTIVE,
};

/// Every key starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "tpk_";
const SHOWN_PREFIX_LEN: usize = 12;

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub const SCOPE_READ: &str = "read";
pub const SCOPE_WRITE: &str = "write";

/// Whether `key` lists `scope` (scopes are stored comma-separated).
pub fn has_scope(key: &api_key::Model, scope: &str) -> bool {
    key.scopes.split(',').any(|s| s.trim() == scope)
}

/// Whether `key` still works at `at`: not revoked, not expired.
pub fn key_usable(key: &api_key::Model, at: chrono::DateTime<chrono::Utc>) -> bool {
    key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > at)
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Subset of [`SCOPE_READ`], [`SCOPE_WRITE`].
    pub scopes: Vec<String>,
}

impl NewApiKey {
    /// A read-write key that never expires.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            expires_at: None,
            scopes: vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()],
        }
    }
}

impl Store {
    /// Creates a key for `tenant_id`; returns the row and the key itself (shown once).
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        new: &NewApiKey,
    ) -> Result<(api_key::Model, Secret), StoreError> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let key = format!("{KEY_PREFIX}{}", hex::encode(raw));
        let id = new_id();
        let row = api_key::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            name: Set(new.name.clone()),
            prefix: Set(key[..SHOWN_PREFIX_LEN].to_owned()),
            key_hash: Set(hash_key(&key)),
            created_at: Set(now()),
            revoked_at: Set(None),
            last_used_at: Set(None),
            expires_at: Set(new.expires_at),
            scopes: Set(new.scopes.join(",")),
        };
        api_key::Entity::insert(row).exec(self.db()).await?;
        let model = api_key::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(StoreError::NotFound("api key"))?;
        Ok((model, Secret::new(key)))
    }

    /// The active tenant a key belongs to, if the key exists, is not revoked
    /// or expired, and its tenant is active.
    pub async fn tenant_for_api_key(
        &self,
        key: &str,
    ) -> Result<Option<(api_key::Model, tenant::Model)>, StoreError> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let Some(api_key) = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(hash_key(key)))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        if !key_usable(&api_key, now()) {
            return Ok(None);
        }
        let tenant = self.tenant(&api_key.tenant_id).await?;
        Ok(tenant
            .filter(|t| t.status == STATUS_ACTIVE)
            .map(|t| (api_key, t)))
    }

    /// [`Store::tenant_for_api_key`] through this replica's cache (see
    /// `cache`): no query while the answer is fresh.
    pub async fn cached_tenant_for_api_key(
        &self,
        key: &str,
    ) -> Result<Option<(api_key::Model, tenant::Model)>, StoreError> {
        let hash = hash_key(key);
        if let Some(entry) = self.cache.api_keys.get(&hash) {
            // A cached key may have expired since it was cached.
            return Ok(entry.filter(|(k, _)| key_usable(k, now())));
        }
        let epoch = self.cache.epoch();
        let entry = self.tenant_for_api_key(key).await?;
        self.cache.insert_key(epoch, hash, entry.clone());
        Ok(entry)
    }

    /// A tenant's keys, oldest first, after the key `after`, at most `limit`.
    pub async fn list_api_keys(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<api_key::Model>, StoreError> {
        let mut query = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .order_by_asc(api_key::Column::Id);
        if let Some(after) = after {
            query = query.filter(api_key::Column::Id.gt(after));
        }
        Ok(query.limit(limit).all(self.db()).await?)
    }

    pub async fn api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<Option<api_key::Model>, StoreError> {
        Ok(api_key::Entity::find_by_id(key_id.to_owned())
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .one(self.db())
            .await?)
    }

    /// Revokes a key of `tenant_id` (idempotent: revoking twice keeps the
    /// first time). It stops working at once on every replica.
    pub async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<api_key::Model, StoreError> {
        api_key::Entity::update_many()
            .set(api_key::ActiveModel {
                revoked_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(api_key::Column::Id.eq(key_id))
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(self.db())
            .await?;
        self.forget_cached_everywhere().await;
        self.api_key(tenant_id, key_id)
            .await?
            .ok_or(StoreError::NotFound("api key"))
    }
}
