use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use problem::Problem;

use super::{AdminTags, existing_tenant};
use crate::{AdminState, auth::AdminJwt};

/// An API key to create.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct NewApiKey {
    /// A label for humans, 1–128 characters.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub name: String,
}

/// A newly created API key. `key` is shown only in this response.
#[derive(Debug, Clone, Object)]
pub struct CreatedApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// First characters of the key, as shown in lists.
    pub prefix: String,
    /// The key itself: send it as `Authorization: Bearer <key>`. Store it now;
    /// tpgate keeps only a hash and cannot show it again.
    pub key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
enum CreateApiKeyResponse {
    /// The key was created; `key` is shown once.
    #[oai(status = 201)]
    Created(Json<CreatedApiKey>),
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
        auth: AdminJwt,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<NewApiKey>,
    ) -> Result<CreateApiKeyResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let (row, key) = state
            .store
            .create_api_key(&tenant_id, body.0.name.trim())
            .await?;
        tracing::info!(admin.sub = %auth.0.subject, tenant.id = %row.tenant_id, api_key.id = %row.id, "API key created");
        Ok(CreateApiKeyResponse::Created(Json(CreatedApiKey {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            prefix: row.prefix,
            key: key.expose().to_owned(),
            created_at: row.created_at,
        })))
    }
}
