//! Tenant API keys. The key is shown once at creation; only its SHA-256 is
//! stored. Keys carry 256 bits of randomness, so a fast hash is safe here
//! (slow password hashes exist for low-entropy human passwords).
use std::collections::BTreeSet;

use rand::RngCore as _;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::ExprTrait,
};
use sha2::{Digest, Sha256};

use crate::{Secret, Store, StoreError, TenantId, entity::api_key, new_id, now};

/// Every key starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "tpk_";
const SHOWN_PREFIX_LEN: usize = 12;

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What a key may do. Stored as its snake_case name; a stored name this
/// version does not know is an error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    /// Proxied WeChat APIs that only read.
    ProxyRead,
    /// Proxied WeChat APIs that change something (and the raw passthrough).
    ProxyWrite,
    /// The tenant's own resources through the admin API, reading.
    AdminRead,
    /// The tenant's own resources through the admin API, changing them
    /// (keys, webhooks, links, revoking Mini Programs).
    AdminWrite,
}

impl KeyScope {
    pub const ALL: [KeyScope; 4] = [
        KeyScope::ProxyRead,
        KeyScope::ProxyWrite,
        KeyScope::AdminRead,
        KeyScope::AdminWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::ProxyRead => "proxy_read",
            KeyScope::ProxyWrite => "proxy_write",
            KeyScope::AdminRead => "admin_read",
            KeyScope::AdminWrite => "admin_write",
        }
    }
}

impl std::str::FromStr for KeyScope {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        KeyScope::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Invalid {
                what: "API key scope",
                value: s.chars().take(32).collect(),
            })
    }
}

/// A key's scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyScopes(BTreeSet<KeyScope>);

impl KeyScopes {
    /// What a new key gets unless asked otherwise: the proxy, read and
    /// write; administration only when asked for.
    pub fn proxy() -> Self {
        Self::from_iter([KeyScope::ProxyRead, KeyScope::ProxyWrite])
    }

    pub fn contains(&self, scope: KeyScope) -> bool {
        self.0.contains(&scope)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &KeyScopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = KeyScope> + '_ {
        self.0.iter().copied()
    }

    fn parse(stored: &str) -> Result<Self, StoreError> {
        stored
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    fn to_stored(&self) -> String {
        self.iter()
            .map(KeyScope::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromIterator<KeyScope> for KeyScopes {
    fn from_iter<I: IntoIterator<Item = KeyScope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// An API key as the rest of tpgate sees it: never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: TenantId,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub scopes: KeyScopes,
    /// The appids it may call; `None`: every appid of its tenant.
    pub allowed_appids: Option<Vec<String>>,
    /// The key that created it, if a key did.
    pub created_by_key_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ApiKey {
    /// Whether it still works at `at`: not revoked, not expired.
    pub fn usable(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > at)
    }

    /// Whether it may call `appid` (its tenant's ownership is checked apart).
    pub fn may_call(&self, appid: &str) -> bool {
        self.allowed_appids
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a == appid))
    }
}

impl TryFrom<api_key::Model> for ApiKey {
    type Error = StoreError;

    fn try_from(m: api_key::Model) -> Result<Self, StoreError> {
        Ok(Self {
            scopes: KeyScopes::parse(&m.scopes)?,
            allowed_appids: m
                .allowed_appids
                .map(|list| list.split(',').map(str::to_owned).collect()),
            id: m.id,
            tenant_id: m.tenant_id.into(),
            name: m.name,
            prefix: m.prefix,
            created_by_key_id: m.created_by_key_id,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
        })
    }
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub scopes: KeyScopes,
    pub allowed_appids: Option<Vec<String>>,
    /// The key creating it, when a key does (revoked with it).
    pub created_by_key_id: Option<String>,
}

impl NewApiKey {
    /// A proxy key (read and write) that never expires.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            expires_at: None,
            scopes: KeyScopes::proxy(),
            allowed_appids: None,
            created_by_key_id: None,
        }
    }
}

/// The key creating a key, when a key does (not a person): what it has
/// bounds what it can give.
#[derive(Debug, Clone, Copy)]
pub struct Creator<'a> {
    pub id: &'a str,
    pub scopes: &'a KeyScopes,
    pub allowed_appids: Option<&'a [String]>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a new key asks for.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    /// `None`: [`KeyScopes::proxy`].
    pub scopes: Option<KeyScopes>,
    /// `None`: every appid of the tenant (or of the creator, if restricted).
    pub allowed_appids: Option<Vec<String>>,
    /// `None`: never (or when the creator expires).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a key may not create the key asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("a key cannot create a key with scopes it does not have itself")]
    ScopesBeyondCreator,
    #[error(
        "a key restricted to some Mini Programs can only create keys restricted to some of them"
    )]
    AppidsBeyondCreator,
}

impl MintError {
    /// The request field at fault.
    pub fn field(self) -> &'static str {
        match self {
            MintError::ScopesBeyondCreator => "scopes",
            MintError::AppidsBeyondCreator => "allowed_appids",
        }
    }
}

/// The key `request` gets: defaults filled in, appids sorted and deduplicated,
/// and no more than its `creator` has, so a key cannot escalate (scopes,
/// appids) or outlive itself through the keys it makes.
pub fn mint(
    name: String,
    request: KeyRequest,
    creator: Option<Creator<'_>>,
) -> Result<NewApiKey, MintError> {
    let scopes = request.scopes.unwrap_or_else(KeyScopes::proxy);
    let mut allowed_appids = request.allowed_appids.map(|mut list| {
        list.sort_unstable();
        list.dedup();
        list
    });
    let mut expires_at = request.expires_at;
    if let Some(creator) = creator {
        if !scopes.is_subset(creator.scopes) {
            return Err(MintError::ScopesBeyondCreator);
        }
        if let Some(own) = creator.allowed_appids {
            match &allowed_appids {
                None => allowed_appids = Some(own.to_vec()),
                Some(list) if list.iter().all(|a| own.contains(a)) => {}
                Some(_) => return Err(MintError::AppidsBeyondCreator),
            }
        }
        expires_at = match (expires_at, creator.expires_at) {
            (Some(r), Some(c)) => Some(Ord::min(r, c)),
            (r, c) => r.or(c),
        };
    }
    Ok(NewApiKey {
        name,
        expires_at,
        scopes,
        allowed_appids,
        created_by_key_id: creator.map(|c| c.id.to_owned()),
    })
}

impl Store {
    /// Creates a key for `tenant_id`; returns the row and the key itself (shown once).
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        new: &NewApiKey,
    ) -> Result<(ApiKey, Secret), StoreError> {
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
            scopes: Set(new.scopes.to_stored()),
            allowed_appids: Set(new.allowed_appids.as_ref().map(|list| list.join(","))),
            created_by_key_id: Set(new.created_by_key_id.clone()),
        };
        api_key::Entity::insert(row).exec(self.db()).await?;
        let model = api_key::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(StoreError::NotFound("api key"))?;
        Ok((model.try_into()?, Secret::new(key)))
    }

    /// The active tenant a key belongs to, if the key exists, is not revoked
    /// or expired, and its tenant is active.
    pub async fn tenant_for_api_key(
        &self,
        key: &str,
    ) -> Result<Option<(ApiKey, crate::tenants::Tenant)>, StoreError> {
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
        let api_key = ApiKey::try_from(api_key)?;
        if !api_key.usable(now()) {
            return Ok(None);
        }
        let tenant = self.tenant(&api_key.tenant_id).await?;
        Ok(tenant
            .filter(crate::tenants::Tenant::is_active)
            .map(|t| (api_key, t)))
    }

    /// [`Store::tenant_for_api_key`] through this replica's cache (see
    /// `cache`): no query while the answer is fresh.
    pub async fn cached_tenant_for_api_key(
        &self,
        key: &str,
    ) -> Result<Option<(ApiKey, crate::tenants::Tenant)>, StoreError> {
        let hash = hash_key(key);
        if let Some(entry) = self.cache.api_keys.get(&hash) {
            // A cached key may have expired since it was cached.
            return Ok(entry.filter(|(k, _)| k.usable(now())));
        }
        let epoch = self.cache.epoch();
        // Boxed: the query's future is kilobytes, and inline it would make
        // every caller's future (each proxied call's, hit or miss) as large.
        let entry = Box::pin(self.tenant_for_api_key(key)).await?;
        self.cache.insert_key(epoch, hash, entry.clone());
        Ok(entry)
    }

    /// A tenant's keys, oldest first, after the key `after`, at most `limit`.
    pub async fn list_api_keys(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut query = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .order_by_asc(api_key::Column::Id);
        if let Some(after) = after {
            query = query.filter(api_key::Column::Id.gt(after));
        }
        query
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(ApiKey::try_from)
            .collect()
    }

    pub async fn api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<Option<ApiKey>, StoreError> {
        api_key::Entity::find_by_id(key_id.to_owned())
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .one(self.db())
            .await?
            .map(ApiKey::try_from)
            .transpose()
    }

    /// Revokes a key of `tenant_id`, and every key it made (and they made),
    /// idempotently: revoking twice keeps the first time. They stop working
    /// at once on every replica. Returns the key and how many keys it had
    /// made that were revoked with it.
    pub async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<(ApiKey, u64), StoreError> {
        let at = now();
        let revoke = |ids: Vec<String>| {
            api_key::Entity::update_many()
                .set(api_key::ActiveModel {
                    revoked_at: Set(Some(at)),
                    ..Default::default()
                })
                .filter(api_key::Column::Id.is_in(ids))
                .filter(api_key::Column::TenantId.eq(tenant_id))
                .filter(api_key::Column::RevokedAt.is_null())
                .exec(self.db())
        };
        revoke(vec![key_id.to_owned()]).await?;
        // Descendants, generation by generation (keys only make keys of
        // their own tenant, and the tree is shallow in practice).
        let mut frontier = vec![key_id.to_owned()];
        let mut descendants = 0u64;
        while !frontier.is_empty() {
            let children: Vec<String> = api_key::Entity::find()
                .filter(api_key::Column::CreatedByKeyId.is_in(frontier))
                .filter(api_key::Column::TenantId.eq(tenant_id))
                .all(self.db())
                .await?
                .into_iter()
                .map(|k| k.id)
                .collect();
            if !children.is_empty() {
                descendants += revoke(children.clone()).await?.rows_affected;
            }
            frontier = children;
        }
        self.forget_cached_everywhere().await;
        let key = self
            .api_key(tenant_id, key_id)
            .await?
            .ok_or(StoreError::NotFound("api key"))?;
        Ok((key, descendants))
    }

    /// Notes that a key was used now; [`Store::flush_key_uses`] writes it.
    /// In memory only, so the hot path never writes to the database.
    /// A use already noted within the last minute is not noted again (no
    /// allocation per request on the proxy's hot path).
    pub fn note_key_use(&self, key_id: &str) {
        let at = now();
        let mut uses = self.key_uses.lock().unwrap_or_else(|p| p.into_inner());
        match uses.get_mut(key_id) {
            Some(noted) if at - *noted < chrono::Duration::minutes(1) => {}
            Some(noted) => *noted = at,
            None => {
                uses.insert(key_id.to_owned(), at);
            }
        }
    }

    /// Writes the noted uses as `last_used_at` (one statement per key used
    /// since the last flush, only ever moving forward); returns how many.
    pub async fn flush_key_uses(&self) -> Result<usize, StoreError> {
        let used: Vec<(String, chrono::DateTime<chrono::Utc>)> = {
            let mut uses = self.key_uses.lock().unwrap_or_else(|p| p.into_inner());
            uses.drain().collect()
        };
        for (id, at) in &used {
            api_key::Entity::update_many()
                .set(api_key::ActiveModel {
                    last_used_at: Set(Some(*at)),
                    ..Default::default()
                })
                .filter(api_key::Column::Id.eq(id.as_str()))
                .filter(
                    api_key::Column::LastUsedAt
                        .is_null()
                        .or(api_key::Column::LastUsedAt.lt(*at)),
                )
                .exec(self.db())
                .await?;
        }
        Ok(used.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_unknown_ones_are_refused() {
        let all = KeyScopes::from_iter(KeyScope::ALL);
        assert_eq!(KeyScopes::parse(&all.to_stored()).unwrap(), all);
        assert_eq!(
            all.to_stored(),
            "proxy_read,proxy_write,admin_read,admin_write"
        );
        assert!(KeyScopes::proxy().is_subset(&all));
        assert!(!all.is_subset(&KeyScopes::proxy()));
        // A value from the future (or a typo) is an error, not "active".
        assert!(matches!(
            KeyScopes::parse("proxy_read,superuser"),
            Err(StoreError::Invalid { .. })
        ));
        // The pre-scope vocabulary is migrated, never read.
        assert!(KeyScopes::parse("read,write").is_err());
    }

    fn request(scopes: &[KeyScope], appids: Option<&[&str]>) -> KeyRequest {
        KeyRequest {
            scopes: (!scopes.is_empty()).then(|| scopes.iter().copied().collect()),
            allowed_appids: appids.map(|l| l.iter().map(|a| a.to_string()).collect()),
            expires_at: None,
        }
    }

    #[test]
    fn a_person_gets_what_is_asked_with_defaults_and_tidy_appids() {
        let key = mint("k".into(), request(&[], Some(&["wx2", "wx1", "wx2"])), None).unwrap();
        assert_eq!(key.scopes, KeyScopes::proxy());
        assert_eq!(key.allowed_appids, Some(vec!["wx1".into(), "wx2".into()]));
        assert_eq!((key.expires_at, key.created_by_key_id), (None, None));
        let all = mint("k".into(), request(&KeyScope::ALL, None), None).unwrap();
        assert_eq!(all.scopes, KeyScopes::from_iter(KeyScope::ALL));
    }

    #[test]
    fn a_key_gives_no_more_than_it_has() {
        let own_scopes = KeyScopes::from_iter([KeyScope::ProxyRead, KeyScope::AdminWrite]);
        let own_appids = ["wx1".to_owned(), "wx2".to_owned()];
        let creator = Creator {
            id: "key_1",
            scopes: &own_scopes,
            allowed_appids: Some(&own_appids),
            expires_at: None,
        };
        let read = [KeyScope::ProxyRead];
        let key = mint("k".into(), request(&read, None), Some(creator)).unwrap();
        assert_eq!(key.created_by_key_id.as_deref(), Some("key_1"));
        // Unrestricted asked, restricted given: the creator's own appids.
        assert_eq!(key.allowed_appids.as_deref(), Some(&own_appids[..]));
        let some = mint("k".into(), request(&read, Some(&["wx2"])), Some(creator)).unwrap();
        assert_eq!(some.allowed_appids, Some(vec!["wx2".into()]));
        let err = mint("k".into(), request(&read, Some(&["wx3"])), Some(creator)).unwrap_err();
        assert_eq!(err, MintError::AppidsBeyondCreator);
        assert_eq!(err.field(), "allowed_appids");
        // The default (proxy read and write) is more than this creator has.
        let err = mint("k".into(), request(&[], None), Some(creator)).unwrap_err();
        assert_eq!(err, MintError::ScopesBeyondCreator);
        assert_eq!(err.field(), "scopes");
        // An unrestricted creator passes its appid restriction on to no one.
        let free = Creator {
            allowed_appids: None,
            ..creator
        };
        let key = mint("k".into(), request(&read, None), Some(free)).unwrap();
        assert_eq!(key.allowed_appids, None);
    }

    #[test]
    fn keys_do_not_outlive_the_key_that_made_them() {
        let now = chrono::Utc::now();
        let (soon, later) = (
            now + chrono::Duration::hours(1),
            now + chrono::Duration::days(30),
        );
        let scopes = KeyScopes::proxy();
        let creator = |expires_at| Creator {
            id: "key_1",
            scopes: &scopes,
            allowed_appids: None,
            expires_at,
        };
        let expiry = |asked, by: Option<Creator<'_>>| {
            let request = KeyRequest {
                expires_at: asked,
                ..KeyRequest::default()
            };
            mint("k".into(), request, by).unwrap().expires_at
        };
        assert_eq!(expiry(None, None), None);
        assert_eq!(expiry(Some(later), None), Some(later));
        assert_eq!(expiry(None, Some(creator(None))), None);
        assert_eq!(expiry(Some(later), Some(creator(None))), Some(later));
        assert_eq!(expiry(None, Some(creator(Some(soon)))), Some(soon));
        assert_eq!(expiry(Some(later), Some(creator(Some(soon)))), Some(soon));
        assert_eq!(expiry(Some(soon), Some(creator(Some(later)))), Some(soon));
    }
}
