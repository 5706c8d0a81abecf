//! Tokens of the WeChat-compatible host: tpgate's own access tokens, each
//! for one Mini Program, issued to a tenant's API key by `/cgi-bin/token`
//! or `/cgi-bin/stable_token`, and accepted as `?access_token=` by the APIs
//! at tpgate's root. WeChat's real token never leaves tpgate.
//!
//! Only a SHA-256 of a token is stored. Its value is derived from its id
//! ([`Sealer::derive`](crate::Sealer::derive)), so `stable_token` can hand
//! the same token out again without it being kept anywhere; after a sealing
//! key rotation the old tokens still work (their hash is what is checked)
//! and the next `stable_token` issues a new one.
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use crate::{
    Appid, Secret, Store, StoreError, TenantId,
    api_keys::{ApiKey, hash_key},
    entity::wechat_host_token as row,
    new_id, now,
    tenants::Tenant,
};

const PURPOSE: &str = "wechat-host-token";
/// Longer than 32 characters (Senparc takes a shorter string for an appid),
/// URL-safe, no `@`.
const PREFIX: &str = "TPG_";
/// How long an expired token is still known (so it gets "expired", 42001,
/// rather than "invalid", 40001) before housekeeping deletes it.
const KEEP_EXPIRED: Duration = Duration::days(1);

/// A token as tpgate keeps it (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostToken {
    pub id: String,
    pub tenant_id: TenantId,
    pub api_key_id: String,
    pub appid: Appid,
    /// Issued by stable_token.
    pub stable: bool,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When a newer token replaced it: it then lasts a grace only, and
    /// afterwards is "not the latest" (40001) rather than expired (42001).
    pub superseded_at: Option<DateTime<Utc>>,
}

impl From<row::Model> for HostToken {
    fn from(m: row::Model) -> Self {
        Self {
            id: m.id,
            tenant_id: m.tenant_id.into(),
            api_key_id: m.api_key_id,
            appid: m.appid.into(),
            stable: m.stable,
            issued_at: m.issued_at,
            expires_at: m.expires_at,
            superseded_at: m.superseded_at,
        }
    }
}

/// Who holds a token: the token, its key and the key's tenant, as stored
/// now (whether they still allow a call is the caller's check).
pub type TokenHolder = (HostToken, ApiKey, Tenant);

impl Store {
    /// The value of the token with id `id`.
    fn host_token_value(&self, id: &str) -> Secret {
        let mac = self.sealer().derive(PURPOSE, id);
        Secret::new(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// Issues a token of `api_key_id` for `appid` (of stable_token's kind
    /// or `/cgi-bin/token`'s: WeChat keeps the two apart), valid for
    /// `lifetime`; the pair's other tokens of that kind stay valid for at
    /// most `grace` more (as WeChat keeps an old token working for a while
    /// after a refresh).
    pub async fn issue_host_token(
        &self,
        tenant_id: &str,
        api_key_id: &str,
        appid: &str,
        stable: bool,
        lifetime: Duration,
        grace: Duration,
    ) -> Result<(HostToken, Secret), StoreError> {
        let at = now();
        let cut = at + grace;
        row::Entity::update_many()
            .col_expr(row::Column::ExpiresAt, Expr::value(cut))
            .col_expr(row::Column::SupersededAt, Expr::value(Some(at)))
            .filter(row::Column::ApiKeyId.eq(api_key_id))
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::Stable.eq(stable))
            .filter(row::Column::ExpiresAt.gt(cut))
            .exec(self.db())
            .await?;
        let id = new_id();
        let token = self.host_token_value(&id);
        let model = row::Model {
            id: id.clone(),
            token_hash: hash_key(token.expose()),
            tenant_id: tenant_id.to_owned(),
            api_key_id: api_key_id.to_owned(),
            appid: appid.to_owned(),
            stable,
            issued_at: at,
            expires_at: at + lifetime,
            superseded_at: None,
        };
        row::Entity::insert(row::ActiveModel {
            id: Set(model.id.clone()),
            token_hash: Set(model.token_hash.clone()),
            tenant_id: Set(model.tenant_id.clone()),
            api_key_id: Set(model.api_key_id.clone()),
            appid: Set(model.appid.clone()),
            stable: Set(model.stable),
            issued_at: Set(model.issued_at),
            expires_at: Set(model.expires_at),
            superseded_at: Set(None),
        })
        .exec(self.db())
        .await?;
        // Other tokens' lifetimes changed: this replica forgets them now.
        self.cache.forget_host_tokens();
        Ok((model.into(), token))
    }

    /// The newest stable token of `api_key_id` for `appid` with more than
    /// `min_left` to live, with its value (`stable_token` without
    /// `force_refresh`). None also when it was issued under another
    /// sealing key (its value can no longer be derived).
    pub async fn current_host_token(
        &self,
        api_key_id: &str,
        appid: &str,
        min_left: Duration,
    ) -> Result<Option<(HostToken, Secret)>, StoreError> {
        let Some(found) = row::Entity::find()
            .filter(row::Column::ApiKeyId.eq(api_key_id))
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::Stable.eq(true))
            .filter(row::Column::SupersededAt.is_null())
            .filter(row::Column::ExpiresAt.gt(now() + min_left))
            .order_by_desc(row::Column::IssuedAt)
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let token = self.host_token_value(&found.id);
        if hash_key(token.expose()) != found.token_hash {
            return Ok(None);
        }
        Ok(Some((found.into(), token)))
    }

    /// Who holds `token` (even an expired one, for a day), through this
    /// replica's cache: the proxy's hot path reads nothing from the
    /// database in the steady state. Revoking a key, suspending a tenant or
    /// ending an authorization forgets the cache everywhere.
    pub async fn cached_host_token(&self, token: &str) -> Result<Option<TokenHolder>, StoreError> {
        let hash = hash_key(token);
        if let Some(entry) = self.cache.host_tokens.get(&hash) {
            return Ok(entry);
        }
        let epoch = self.cache.epoch();
        let entry = self.host_token_holder(&hash).await?;
        self.cache.insert_host_token(epoch, hash, entry.clone());
        Ok(entry)
    }

    async fn host_token_holder(&self, hash: &str) -> Result<Option<TokenHolder>, StoreError> {
        let Some(found) = row::Entity::find()
            .filter(row::Column::TokenHash.eq(hash))
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let Some(key) = self.api_key(&found.tenant_id, &found.api_key_id).await? else {
            return Ok(None);
        };
        let Some(tenant) = self.tenant(&found.tenant_id).await? else {
            return Ok(None);
        };
        Ok(Some((found.into(), key, tenant)))
    }

    /// Deletes tokens a day past their expiry (housekeeping). How many.
    pub async fn purge_host_tokens(&self) -> Result<u64, StoreError> {
        let done = row::Entity::delete_many()
            .filter(row::Column::ExpiresAt.lt(now() - KEEP_EXPIRED))
            .exec(self.db())
            .await?;
        Ok(done.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api_keys::NewApiKey, memory_store};

    #[tokio::test]
    async fn tokens_are_derived_stored_as_hashes_and_cut_to_a_grace_on_reissue() {
        let store = memory_store().await;
        let tenant = store.create_tenant("t").await.unwrap();
        let (key, _) = store
            .create_api_key(&tenant.id, &NewApiKey::named("k"))
            .await
            .unwrap();
        let hour = Duration::hours(1);
        let (first, value) = store
            .issue_host_token(
                &tenant.id,
                &key.id,
                "wxa",
                true,
                hour * 2,
                Duration::minutes(5),
            )
            .await
            .unwrap();
        let v = value.expose();
        assert!(
            v.len() > 32 && v.starts_with(PREFIX) && !v.contains('@'),
            "{v}"
        );
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        // stable_token hands out the same one.
        let (current, again) = store
            .current_host_token(&key.id, "wxa", Duration::minutes(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (current.id.as_str(), again.expose()),
            (first.id.as_str(), v)
        );
        let (holder, found_key, found_tenant) = store.cached_host_token(v).await.unwrap().unwrap();
        assert_eq!(
            (holder.appid.as_ref(), found_key.id.as_str()),
            ("wxa", key.id.as_str())
        );
        assert_eq!(found_tenant.id, tenant.id);
        assert!(
            store
                .cached_host_token("TPG_nonsense")
                .await
                .unwrap()
                .is_none()
        );

        // A new one: the old one keeps working for the grace only.
        let (second, newer) = store
            .issue_host_token(
                &tenant.id,
                &key.id,
                "wxa",
                true,
                hour * 2,
                Duration::minutes(5),
            )
            .await
            .unwrap();
        assert_ne!(newer.expose(), v);
        let (old, _, _) = store.cached_host_token(v).await.unwrap().unwrap();
        assert!(old.expires_at <= now() + Duration::minutes(5));
        assert!(old.superseded_at.is_some());
        // /cgi-bin/token's tokens are another kind: they leave stable ones be.
        store
            .issue_host_token(
                &tenant.id,
                &key.id,
                "wxa",
                false,
                hour * 2,
                Duration::minutes(5),
            )
            .await
            .unwrap();
        let (current, _) = store
            .current_host_token(&key.id, "wxa", Duration::minutes(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current.id, second.id);
        // Another Mini Program's token is untouched and separate.
        assert!(
            store
                .current_host_token(&key.id, "wxb", Duration::zero())
                .await
                .unwrap()
                .is_none()
        );
    }
}
