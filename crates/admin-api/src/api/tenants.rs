//! Tenants: create, list (cursor paging, filters), get, update (including
//! the call-log body capture), suspend / resume, delete, and the
//! raw-passthrough switch.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::tenants::{TenantFilter, TenantStatus as StoredStatus, TenantUpdate};

use super::{AdminTags, Change, Page, PageItem, Paging, audited, existing_tenant};
use crate::{AdminState, auth::AdminAuth};

/// Whether a tenant's keys work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Keys work.
    Active,
    /// Keys are refused (401) until the tenant is resumed.
    Suspended,
}

impl TenantStatus {
    fn as_str(self) -> &'static str {
        StoredStatus::from(self).as_str()
    }
}

impl From<TenantStatus> for StoredStatus {
    fn from(status: TenantStatus) -> Self {
        match status {
            TenantStatus::Active => StoredStatus::Active,
            TenantStatus::Suspended => StoredStatus::Suspended,
        }
    }
}

impl From<StoredStatus> for TenantStatus {
    fn from(status: StoredStatus) -> Self {
        match status {
            StoredStatus::Active => TenantStatus::Active,
            StoredStatus::Suspended => TenantStatus::Suspended,
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Unique display name.
    pub name: String,
    pub status: TenantStatus,
    /// Whether the tenant may call `/v1/apps/{appid}/raw/{wechat path}`.
    pub raw_passthrough: bool,
    /// Whether the call log keeps the request and response bodies of its proxied writes (bounded, never a token).
    pub capture_call_bodies: bool,
    /// Whether a second `upload_shipping_info` for a payment order (its one re-shipment) is refused unless confirmed with `Tpgate-Confirm-Reshipment: true` (on by default).
    pub reshipment_guard: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for Tenant {
    fn example() -> Self {
        Tenant {
            id: "019ab2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b".into(),
            name: "Acme Retail".into(),
            status: TenantStatus::Active,
            raw_passthrough: false,
            capture_call_bodies: false,
            reshipment_guard: true,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }
}

impl From<store::tenants::Tenant> for Tenant {
    fn from(m: store::tenants::Tenant) -> Self {
        Self {
            status: m.status.into(),
            id: m.id.into(),
            name: m.name,
            raw_passthrough: m.raw_passthrough,
            capture_call_bodies: m.capture_call_bodies,
            reshipment_guard: m.reshipment_guard,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A tenant to create.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct NewTenant {
    /// Unique display name, 1–128 characters.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub name: String,
}

impl poem_openapi::types::Example for NewTenant {
    fn example() -> Self {
        NewTenant {
            name: "Acme Retail".into(),
        }
    }
}

/// Changes to a tenant; absent fields stay as they are.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct TenantPatch {
    /// New unique display name, 1–128 characters.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub name: Option<String>,
    /// Allow or forbid the raw passthrough.
    pub raw_passthrough: Option<bool>,
    /// Keep (or stop keeping) the bodies of the tenant's proxied writes in the call log, e.g. so a merchant can show what was uploaded. Off by default; applies within seconds on every replica.
    pub capture_call_bodies: Option<bool>,
    /// Switch the re-shipment guard on or off (on by default): while on, a second upload of a payment order's shipping information is refused with 409 unless confirmed.
    pub reshipment_guard: Option<bool>,
}

impl poem_openapi::types::Example for TenantPatch {
    fn example() -> Self {
        Self {
            name: Some("Acme Retail (East)".into()),
            raw_passthrough: None,
            capture_call_bodies: None,
            reshipment_guard: None,
        }
    }
}

/// Whether a tenant may use the raw passthrough.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct RawPassthroughSetting {
    pub enabled: bool,
}

impl poem_openapi::types::Example for RawPassthroughSetting {
    fn example() -> Self {
        Self { enabled: true }
    }
}

impl PageItem for Tenant {
    const PAGE: &'static str = "TenantPage";
    const PAGE_DESCRIPTION: Option<&'static str> = Some("A page of tenants.");
}

/// The outcome of deleting a tenant.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeletedTenant {
    pub id: String,
    /// Mini Programs left authorized but without a tenant (force only).
    pub unassigned_authorizers: u64,
}

#[derive(ApiResponse)]
enum CreateTenantResponse {
    /// The tenant was created.
    #[oai(status = 201)]
    Created(Json<Tenant>),
}

#[derive(ApiResponse)]
enum TenantResponse {
    /// The tenant.
    #[oai(status = 200)]
    Ok(Json<Tenant>),
}

#[derive(ApiResponse)]
enum ListTenantsResponse {
    /// Tenants in creation order.
    #[oai(status = 200)]
    Ok(Json<Page<Tenant>>),
}

#[derive(ApiResponse)]
enum DeleteTenantResponse {
    /// Deleted, with its keys, links, webhooks and tenant policies.
    #[oai(status = 200)]
    Deleted(Json<DeletedTenant>),
}

fn clean_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Problem::validation("name", "must not be blank"));
    }
    Ok(name.to_owned())
}

pub struct TenantsApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::Tenants")]
impl TenantsApi {
    /// Create a tenant
    #[oai(path = "/", method = "post", operation_id = "create_tenant")]
    async fn create_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        body: Json<Checked<NewTenant>>,
    ) -> Result<CreateTenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let name = clean_name(&body.0.0.name)?;
        let tenant = audited(
            &state,
            &auth.0,
            |s| async move { s.create_tenant(&name).await },
            |tenant| {
                [Change {
                    action: "tenant.create",
                    target_type: "tenant",
                    target_id: tenant.id.clone().into(),
                    tenant_id: Some(tenant.id.clone().into()),
                    detail: json!({ "name": tenant.name }),
                }]
            },
        )
        .await?;
        Ok(CreateTenantResponse::Created(Json(tenant.into())))
    }

    /// List tenants
    ///
    /// A tenant_admin sees only its own tenant.
    #[oai(path = "/", method = "get", operation_id = "list_tenants")]
    async fn list_tenants(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only tenants with this status.
        status: Query<Option<TenantStatus>>,
        /// Only tenants whose name contains this.
        #[oai(validator(max_length = 128))]
        name: Query<Option<String>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListTenantsResponse, Problem> {
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let filter = TenantFilter {
            status: status.0.map(|s| s.as_str().to_owned()),
            name_contains: name.0.filter(|n| !n.is_empty()),
        };
        let rows = match auth.0.tenant_scope(None)? {
            // A tenant admin's listing is its one tenant, if it matches.
            Some(own) => state
                .store
                .tenant(&own)
                .await?
                .into_iter()
                .filter(|t| {
                    filter
                        .status
                        .as_ref()
                        .is_none_or(|s| s == t.status.as_str())
                })
                .filter(|t| {
                    filter
                        .name_contains
                        .as_ref()
                        .is_none_or(|n| t.name.contains(n.as_str()))
                })
                .filter(|t| paging.after().is_none_or(|a| t.id.as_str() > a))
                .collect(),
            None => {
                state
                    .store
                    .list_tenants_page(&filter, paging.after(), paging.fetch())
                    .await?
            }
        };
        let page = paging.page(rows, |t| &t.id).map(Tenant::from);
        Ok(ListTenantsResponse::Ok(Json(page)))
    }

    /// Get a tenant
    #[oai(path = "/:tenant_id", method = "get", operation_id = "get_tenant")]
    async fn get_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
    ) -> Result<TenantResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let tenant = existing_tenant(&state.store, &tenant_id).await?;
        Ok(TenantResponse::Ok(Json(tenant.into())))
    }

    /// Update a tenant
    #[oai(path = "/:tenant_id", method = "patch", operation_id = "update_tenant")]
    async fn update_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<Checked<TenantPatch>>,
    ) -> Result<TenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let patch = body.0.0;
        let update = TenantUpdate {
            name: patch.name.as_deref().map(clean_name).transpose()?,
            raw_passthrough: patch.raw_passthrough,
            capture_call_bodies: patch.capture_call_bodies,
            reshipment_guard: patch.reshipment_guard,
        };
        if update.name.is_none()
            && update.raw_passthrough.is_none()
            && update.capture_call_bodies.is_none()
            && update.reshipment_guard.is_none()
        {
            return Err(Problem::validation(
                "name",
                "nothing to change: give name, raw_passthrough, capture_call_bodies and/or reshipment_guard",
            ));
        }
        let detail = json!({
            "name": update.name,
            "raw_passthrough": update.raw_passthrough,
            "capture_call_bodies": update.capture_call_bodies,
            "reshipment_guard": update.reshipment_guard,
        });
        let tenant = audited(
            &state,
            &auth.0,
            |s| async move { s.update_tenant(&tenant_id, &update).await },
            |tenant| {
                [Change {
                    action: "tenant.update",
                    target_type: "tenant",
                    target_id: tenant.id.clone().into(),
                    tenant_id: Some(tenant.id.clone().into()),
                    detail,
                }]
            },
        )
        .await?;
        Ok(TenantResponse::Ok(Json(tenant.into())))
    }

    /// Suspend a tenant
    ///
    /// Its API keys stop working at once, on every replica; its Mini
    /// Programs stay authorized and their tokens keep being refreshed.
    #[oai(
        path = "/:tenant_id/suspend",
        method = "post",
        operation_id = "suspend_tenant"
    )]
    async fn suspend_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
    ) -> Result<TenantResponse, Problem> {
        self.set_status(&auth, &state, &tenant_id, TenantStatus::Suspended)
            .await
    }

    /// Resume a suspended tenant
    #[oai(
        path = "/:tenant_id/resume",
        method = "post",
        operation_id = "resume_tenant"
    )]
    async fn resume_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
    ) -> Result<TenantResponse, Problem> {
        self.set_status(&auth, &state, &tenant_id, TenantStatus::Active)
            .await
    }

    /// Delete a tenant
    ///
    /// Deletes its API keys, onboarding links, webhooks and tenant-scoped
    /// rate-limit policies. Refused (409) while Mini Programs belong to it,
    /// unless `force=true`, which leaves them authorized but unassigned (move
    /// them to another tenant later). Events and audit entries are kept.
    #[oai(
        path = "/:tenant_id",
        method = "delete",
        operation_id = "delete_tenant"
    )]
    async fn delete_tenant(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Delete even though Mini Programs belong to the tenant.
        force: Query<Option<bool>>,
    ) -> Result<DeleteTenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let force = force.0.unwrap_or(false);
        let id = tenant_id.0.as_str();
        let deleted = audited(
            &state,
            &auth.0,
            |s| async move { s.delete_tenant(id, force).await },
            |deleted| {
                [Change {
                    action: "tenant.delete",
                    target_type: "tenant",
                    target_id: id.to_owned(),
                    tenant_id: Some(id.to_owned()),
                    detail: json!({ "force": force, "unassigned_authorizers": deleted.unassigned_authorizers }),
                }]
            },
        )
        .await?;
        // Its tenant-scoped policies went with it.
        state.limiter.reload().await?;
        Ok(DeleteTenantResponse::Deleted(Json(DeletedTenant {
            id: tenant_id.0,
            unassigned_authorizers: deleted.unassigned_authorizers,
        })))
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
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<Checked<RawPassthroughSetting>>,
    ) -> Result<TenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let enabled = body.0.0.enabled;
        let tenant = audited(
            &state,
            &auth.0,
            |s| async move { s.set_tenant_raw_passthrough(&tenant_id, enabled).await },
            |tenant| {
                [Change {
                    action: "tenant.raw_passthrough",
                    target_type: "tenant",
                    target_id: tenant.id.clone().into(),
                    tenant_id: Some(tenant.id.clone().into()),
                    detail: json!({ "enabled": enabled }),
                }]
            },
        )
        .await?;
        Ok(TenantResponse::Ok(Json(tenant.into())))
    }
}

impl TenantsApi {
    async fn set_status(
        &self,
        auth: &AdminAuth,
        state: &AdminState,
        tenant_id: &str,
        status: TenantStatus,
    ) -> Result<TenantResponse, Problem> {
        auth.0.require_platform_write()?;
        let action = match status {
            TenantStatus::Active => "tenant.resume",
            TenantStatus::Suspended => "tenant.suspend",
        };
        let tenant = audited(
            state,
            &auth.0,
            |s| async move { s.set_tenant_status(tenant_id, status.into()).await },
            |_| {
                [Change {
                    action,
                    target_type: "tenant",
                    target_id: tenant_id.to_owned(),
                    tenant_id: Some(tenant_id.to_owned()),
                    detail: json!({}),
                }]
            },
        )
        .await?;
        Ok(TenantResponse::Ok(Json(tenant.into())))
    }
}
