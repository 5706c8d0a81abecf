use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use problem::Problem;
use store::onboarding::NewLink;

use super::{AdminTags, existing_tenant};
use crate::{AdminState, auth::AdminJwt};

/// An onboarding link to create.
#[derive(Debug, Clone, Object, Default)]
#[oai(deny_unknown_fields)]
pub struct NewOnboardingLink {
    /// Which accounts the authorization page offers: 1 Official Accounts,
    /// 2 Mini Programs (default), 3 both.
    #[oai(validator(minimum(value = "1"), maximum(value = "3")))]
    pub auth_type: Option<i32>,
    /// Pin the authorization to this Mini Program appid (wins over auth_type).
    #[oai(validator(pattern = "^wx[0-9a-f]{16}$"))]
    pub biz_appid: Option<String>,
    /// Lifetime in seconds, 60 s to 30 days (default 7 days).
    #[oai(validator(minimum(value = "60"), maximum(value = "2592000")))]
    pub expires_in_secs: Option<i64>,
    /// Whether the link stops working after one completed authorization (default true).
    pub single_use: Option<bool>,
}

/// An onboarding link. `url` is shown only in this response.
#[derive(Debug, Clone, Object)]
pub struct CreatedOnboardingLink {
    pub id: String,
    pub tenant_id: String,
    /// Send this to the merchant's Mini Program administrator.
    pub url: String,
    pub auth_type: i32,
    pub biz_appid: Option<String>,
    pub single_use: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
enum CreateOnboardingLinkResponse {
    /// The link was created.
    #[oai(status = 201)]
    Created(Json<CreatedOnboardingLink>),
}

pub struct OnboardingLinksApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::OnboardingLinks")]
impl OnboardingLinksApi {
    /// Create an onboarding link for a tenant
    #[oai(
        path = "/:tenant_id/onboarding-links",
        method = "post",
        operation_id = "create_onboarding_link"
    )]
    async fn create_onboarding_link(
        &self,
        auth: AdminJwt,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<NewOnboardingLink>,
    ) -> Result<CreateOnboardingLinkResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let body = body.0;
        let expires_at = Utc::now() + Duration::seconds(body.expires_in_secs.unwrap_or(7 * 86400));
        let (row, token) = state
            .store
            .create_onboarding_link(NewLink {
                tenant_id: tenant_id.0.clone(),
                auth_type: body.auth_type.unwrap_or(2),
                biz_appid: body.biz_appid,
                single_use: body.single_use.unwrap_or(true),
                expires_at,
            })
            .await?;
        let url = state
            .public_base_url
            .join(&format!("onboard/{}", token.expose()))
            .map_err(|e| {
                tracing::error!(error = %e, "public_base_url cannot form onboarding URLs");
                Problem::internal()
            })?;
        tracing::info!(admin.sub = %auth.0.subject, tenant.id = %row.tenant_id, link.id = %row.id, "onboarding link created");
        Ok(CreateOnboardingLinkResponse::Created(Json(
            CreatedOnboardingLink {
                id: row.id,
                tenant_id: row.tenant_id,
                url: url.to_string(),
                auth_type: row.auth_type,
                biz_appid: row.biz_appid,
                single_use: row.single_use,
                expires_at: row.expires_at,
            },
        )))
    }
}
