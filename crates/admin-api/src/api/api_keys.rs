//! A tenant's API keys: create (the key is shown once), list, get, revoke.
use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::api_keys::{ApiKey as StoreApiKey, KeyRequest, KeyScope, mint};

use super::{AdminTags, Change, Page, PageItem, Paging, audited, existing_tenant};
use crate::{AdminState, auth::AdminAuth};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Proxied WeChat APIs that only read.
    ProxyRead,
    /// Proxied WeChat APIs that change something, and the raw passthrough.
    ProxyWrite,
    /// The tenant's resources through the admin API, reading.
    AdminRead,
    /// The tenant's resources through the admin API, changing them: keys,
    /// webhooks, onboarding links, revoking Mini Programs.
    AdminWrite,
    /// Deprecated (before scopes were split): accepted when creating a key,
    /// as `proxy_read`.
    Read,
    /// Deprecated: accepted when creating a key, as `proxy_write`.
    Write,
}

impl From<ApiKeyScope> for KeyScope {
    fn from(scope: ApiKeyScope) -> Self {
        match scope {
            ApiKeyScope::ProxyRead | ApiKeyScope::Read => KeyScope::ProxyRead,
            ApiKeyScope::ProxyWrite | ApiKeyScope::Write => KeyScope::ProxyWrite,
            ApiKeyScope::AdminRead => KeyScope::AdminRead,
            ApiKeyScope::AdminWrite => KeyScope::AdminWrite,
        }
    }
}

impl From<KeyScope> for ApiKeyScope {
    fn from(scope: KeyScope) -> Self {
        match scope {
            KeyScope::ProxyRead => ApiKeyScope::ProxyRead,
            KeyScope::ProxyWrite => ApiKeyScope::ProxyWrite,
            KeyScope::AdminRead => ApiKeyScope::AdminRead,
            KeyScope::AdminWrite => ApiKeyScope::AdminWrite,
        }
    }
}

/// An API key to create.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct NewApiKey {
    /// A label for humans, 1–128 characters.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub name: String,
    /// Lifetime in seconds, 60 s to 5 years; absent: never expires.
    #[oai(validator(minimum(value = "60"), maximum(value = "157680000")))]
    pub expires_in_secs: Option<i64>,
    /// Default `["proxy_read", "proxy_write"]`: tenant administration
    /// (`admin_read`, `admin_write`) only when asked for. A key creating a
    /// key cannot give it scopes it lacks itself.
    #[oai(validator(min_items = 1, max_items = 6))]
    pub scopes: Option<Vec<ApiKeyScope>>,
    /// Restrict the key to these Mini Programs (of its tenant); absent:
    /// all of them. A restricted key can only create keys restricted to
    /// some of its own appids.
    #[oai(validator(min_items = 1, max_items = 100, pattern = "^wx[0-9a-f]{16}$"))]
    pub allowed_appids: Option<Vec<String>>,
}

impl poem_openapi::types::Example for NewApiKey {
    fn example() -> Self {
        NewApiKey {
            name: "order-sync service".into(),
            expires_in_secs: Some(90 * 86400),
            scopes: Some(vec![ApiKeyScope::ProxyRead, ApiKeyScope::ProxyWrite]),
            allowed_appids: Some(vec!["wx0123456789abcdef".into()]),
        }
    }
}

/// An API key as listed: never the key itself, nor its hash.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// First characters of the key, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<ApiKeyScope>,
    /// The Mini Programs it may call; absent: all of its tenant's.
    pub allowed_appids: Option<Vec<String>>,
    /// The key that created it (revoking that key revokes this one).
    pub created_by_key_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<StoreApiKey> for ApiKey {
    fn from(m: StoreApiKey) -> Self {
        Self {
            scopes: m.scopes.iter().map(ApiKeyScope::from).collect(),
            allowed_appids: m.allowed_appids,
            created_by_key_id: m.created_by_key_id,
            id: m.id,
            tenant_id: m.tenant_id.into(),
            name: m.name,
            prefix: m.prefix,
            created_at: m.created_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
        }
    }
}

/// A newly created API key. `key` is shown only in this response.
/// No `Debug`: it holds the key.
#[derive(Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreatedApiKey {
    #[oai(flatten)]
    pub api_key: ApiKey,
    /// The key itself: send it as `Authorization: Bearer <key>`. Store it now;
    /// tpgate keeps only a hash and cannot show it again.
    pub key: String,
}

impl PageItem for ApiKey {
    const PAGE: &'static str = "ApiKeyPage";
}

#[derive(ApiResponse)]
enum CreateApiKeyResponse {
    /// The key was created; `key` is shown once.
    #[oai(status = 201)]
    Created(Json<CreatedApiKey>),
}

#[derive(ApiResponse)]
enum ApiKeyResponse {
    /// The key (without its secret).
    #[oai(status = 200)]
    Ok(Json<ApiKey>),
}

#[derive(ApiResponse)]
enum ListApiKeysResponse {
    /// The tenant's keys, oldest first, revoked ones included.
    #[oai(status = 200)]
    Ok(Json<Page<ApiKey>>),
}

pub struct ApiKeysApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key for a tenant
    #[oai(
        path = "/:tenant_id/api-keys",
        method = "post",
        operation_id = "create_api_key"
    )]
    async fn create_api_key(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<Checked<NewApiKey>>,
    ) -> Result<CreateApiKeyResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let body = body.0.0;
        let name = body.name.trim();
        if name.is_empty() {
            return Err(Problem::validation("name", "must not be blank"));
        }
        let request = KeyRequest {
            scopes: body
                .scopes
                .map(|scopes| scopes.into_iter().map(KeyScope::from).collect()),
            allowed_appids: body.allowed_appids,
            expires_at: body
                .expires_in_secs
                .map(|s| Utc::now() + Duration::seconds(s)),
        };
        // A key cannot mint a key that can do more, or live longer, than itself.
        let new_key = mint(name.to_owned(), request, auth.0.key_creator())
            .map_err(|e| Problem::forbidden(e.to_string()).with_field(e.field()))?;
        existing_tenant(&state.store, &tenant_id).await?;
        let (row, key) = audited(
            &state,
            &auth.0,
            |s| async move { s.create_api_key(&tenant_id, &new_key).await },
            |(row, _)| {
                let scope_names: Vec<&str> = row.scopes.iter().map(KeyScope::as_str).collect();
                [Change {
                    action: "api_key.create",
                    target_type: "api_key",
                    target_id: row.id.clone(),
                    tenant_id: Some(row.tenant_id.clone().into()),
                    detail: json!({ "name": row.name, "prefix": row.prefix, "scopes": scope_names, "allowed_appids": row.allowed_appids, "expires_at": row.expires_at }),
                }]
            },
        )
        .await?;
        Ok(CreateApiKeyResponse::Created(Json(CreatedApiKey {
            api_key: row.into(),
            key: key.expose().to_owned(),
        })))
    }

    /// List a tenant's API keys
    #[oai(
        path = "/:tenant_id/api-keys",
        method = "get",
        operation_id = "list_api_keys"
    )]
    async fn list_api_keys(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListApiKeysResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let rows = state
            .store
            .list_api_keys(&tenant_id, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |k| &k.id).map(ApiKey::from);
        Ok(ListApiKeysResponse::Ok(Json(page)))
    }

    /// Get an API key (without its secret)
    #[oai(
        path = "/:tenant_id/api-keys/:key_id",
        method = "get",
        operation_id = "get_api_key"
    )]
    async fn get_api_key(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// API key id.
        key_id: Path<String>,
    ) -> Result<ApiKeyResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let key = state
            .store
            .api_key(&tenant_id, &key_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("API key {} not found", key_id.0)))?;
        Ok(ApiKeyResponse::Ok(Json(key.into())))
    }

    /// Revoke an API key
    ///
    /// The key, and every key it created (and they created), stop working at
    /// once on every replica. Revoking a revoked key changes nothing.
    #[oai(
        path = "/:tenant_id/api-keys/:key_id/revoke",
        method = "post",
        operation_id = "revoke_api_key"
    )]
    async fn revoke_api_key(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// API key id.
        key_id: Path<String>,
    ) -> Result<ApiKeyResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let (key, _) = audited(
            &state,
            &auth.0,
            |s| async move { s.revoke_api_key(&tenant_id, &key_id).await },
            |(key, descendants)| {
                [Change {
                    action: "api_key.revoke",
                    target_type: "api_key",
                    target_id: key.id.clone(),
                    tenant_id: Some(key.tenant_id.clone().into()),
                    detail: json!({ "prefix": key.prefix, "keys_it_made_revoked": descendants }),
                }]
            },
        )
        .await?;
        Ok(ApiKeyResponse::Ok(Json(key.into())))
    }
}
