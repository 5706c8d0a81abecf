use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use problem::Problem;

use super::AdminTags;
use crate::{AdminState, auth::AdminJwt};

/// A tenant.
#[derive(Debug, Clone, Object)]
pub struct Tenant {
    /// Tenant id.
    #[oai(read_only)]
    pub id: String,
    /// Unique display name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Whether the tenant may call `/v1/apps/{appid}/raw/{wechat path}`.
    #[oai(read_only)]
    pub raw_passthrough: bool,
    pub created_at: DateTime<Utc>,
}

impl From<store::entity::tenant::Model> for Tenant {
    fn from(m: store::entity::tenant::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            status: m.status,
            raw_passthrough: m.raw_passthrough,
            created_at: m.created_at,
        }
    }
}

/// A tenant to create.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct NewTenant {
    /// Unique display name, 1–128 characters.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub name: String,
}

/// Whether a tenant may use the raw passthrough.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct RawPassthroughSetting {
    pub enabled: bool,
}

#[derive(ApiResponse)]
enum SetRawPassthroughResponse {
    /// The tenant, updated.
    #[oai(status = 200)]
    Ok(Json<Tenant>),
}

/// A page of tenants.
#[derive(Debug, Clone, Object)]
pub struct TenantList {
    pub items: Vec<Tenant>,
}

#[derive(ApiResponse)]
enum CreateTenantResponse {
    /// The tenant was created.
    #[oai(status = 201)]
    Created(Json<Tenant>),
}

#[derive(ApiResponse)]
enum ListTenantsResponse {
    /// All tenants, oldest first.
    #[oai(status = 200)]
    Ok(Json<TenantList>),
}

pub struct TenantsApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::Tenants")]
impl TenantsApi {
    /// Create a tenant
    #[oai(path = "/", method = "post", operation_id = "create_tenant")]
    async fn create_tenant(
        &self,
        auth: AdminJwt,
        state: Data<&AdminState>,
        body: Json<NewTenant>,
    ) -> Result<CreateTenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let name = body.0.name.trim();
        if name.is_empty() {
            return Err(Problem::validation("name", "must not be blank"));
        }
        let tenant = state.store.create_tenant(name).await?;
        tracing::info!(admin.sub = %auth.0.subject, tenant.id = %tenant.id, "tenant created");
        Ok(CreateTenantResponse::Created(Json(tenant.into())))
    }

    /// List tenants
    #[oai(path = "/", method = "get", operation_id = "list_tenants")]
    async fn list_tenants(
        &self,
        auth: AdminJwt,
        state: Data<&AdminState>,
    ) -> Result<ListTenantsResponse, Problem> {
        let scope = auth.0.tenant_scope(None)?;
        let tenants = state.store.list_tenants().await?;
        let items = tenants
            .into_iter()
            .filter(|t| scope.as_ref().is_none_or(|s| *s == t.id))
            .map(Tenant::from)
            .collect();
        Ok(ListTenantsResponse::Ok(Json(TenantList { items })))
    }

    /// Allow or forbid the raw passthrough for a tenant
    ///
    /// Off by default. When on, the tenant's keys may call any WeChat API
    /// through `POST /v1/apps/{appid}/raw/{wechat path}`, governed by the same
    /// permission map and rate limits.
    #[oai(
        path = "/:tenant_id/raw-passthrough",
        method = "put",
        operation_id = "set_tenant_raw_passthrough"
    )]
    async fn set_raw_passthrough(
        &self,
        auth: AdminJwt,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: poem_openapi::param::Path<String>,
        body: Json<RawPassthroughSetting>,
    ) -> Result<SetRawPassthroughResponse, Problem> {
        auth.0.require_platform_write()?;
        let tenant = state
            .store
            .set_tenant_raw_passthrough(&tenant_id, body.0.enabled)
            .await?;
        tracing::info!(admin.sub = %auth.0.subject, tenant.id = %tenant.id, enabled = body.0.enabled, "raw passthrough switched");
        Ok(SetRawPassthroughResponse::Ok(Json(tenant.into())))
    }
}
