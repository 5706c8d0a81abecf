//! Admin resources.
mod api_keys;
mod authorizers;
mod onboarding_links;
mod rate_limits;
mod tenants;

use poem_openapi::Tags;
use problem::Problem;

pub use api_keys::ApiKeysApi;
pub use authorizers::AuthorizersApi;
pub use onboarding_links::OnboardingLinksApi;
pub use rate_limits::RateLimitsApi;
pub use tenants::TenantsApi;

/// All admin resources, for `OpenApiService::new`.
pub type AdminApi = (
    TenantsApi,
    ApiKeysApi,
    OnboardingLinksApi,
    AuthorizersApi,
    RateLimitsApi,
);

pub fn admin_api() -> AdminApi {
    (
        TenantsApi,
        ApiKeysApi,
        OnboardingLinksApi,
        AuthorizersApi,
        RateLimitsApi,
    )
}

#[derive(Tags)]
pub(crate) enum AdminTags {
    /// Tenants: the service provider's customers.
    Tenants,
    /// API keys tenants use to call the proxy.
    ApiKeys,
    /// Links merchants follow to authorize their Mini Program.
    OnboardingLinks,
    /// Mini Programs that authorized the platform.
    Authorizers,
    /// Rate-limit policies and usage.
    RateLimits,
}

/// 404 unless the tenant exists.
pub(crate) async fn existing_tenant(
    store: &store::Store,
    tenant_id: &str,
) -> Result<store::entity::tenant::Model, Problem> {
    store
        .tenant(tenant_id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("tenant {tenant_id} not found")))
}
