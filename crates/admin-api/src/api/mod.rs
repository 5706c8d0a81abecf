//! Admin resources, one module each, plus what they share: tags, cursor
//! paging and the audit trail.
mod api_keys;
mod audit;
mod authorizers;
mod calls;
mod deliveries;
mod events;
mod health;
mod onboarding_links;
mod page;
mod platform;
mod rate_limits;
mod shipping;
mod tenants;
mod webhooks;

use poem_openapi::Tags;
use problem::Problem;
use store::{Store, audit::NewAuditEntry};

pub use api_keys::ApiKeysApi;
pub use audit::AuditApi;
pub use authorizers::AuthorizersApi;
pub use calls::{CallStatsApi, CallsApi};
pub use deliveries::DeliveriesApi;
pub use events::EventsApi;
pub use health::AuthorizerHealthApi;
pub use onboarding_links::OnboardingLinksApi;
pub use platform::PlatformApi;
pub use rate_limits::RateLimitsApi;
pub use shipping::{ShipmentsAdminApi, ShippingApi};
pub use tenants::TenantsApi;
pub use webhooks::WebhooksApi;

use page::{Page, PageItem, Paging};

use crate::{AdminState, auth::Caller};

/// All admin resources, for `OpenApiService::new`.
pub type AdminApi = (
    (
        TenantsApi,
        ApiKeysApi,
        OnboardingLinksApi,
        AuthorizersApi,
        AuthorizerHealthApi,
    ),
    (
        RateLimitsApi,
        WebhooksApi,
        EventsApi,
        DeliveriesApi,
        AuditApi,
        PlatformApi,
        CallsApi,
        CallStatsApi,
        ShippingApi,
        ShipmentsAdminApi,
    ),
);

pub fn admin_api() -> AdminApi {
    (
        (
            TenantsApi,
            ApiKeysApi,
            OnboardingLinksApi,
            AuthorizersApi,
            AuthorizerHealthApi,
        ),
        (
            RateLimitsApi,
            WebhooksApi,
            EventsApi,
            DeliveriesApi,
            AuditApi,
            PlatformApi,
            CallsApi,
            CallStatsApi,
            ShippingApi,
            ShipmentsAdminApi,
        ),
    )
}

#[derive(Tags)]
pub(crate) enum AdminTags {
    /// Tenants: the service provider's customers.
    Tenants,
    /// API keys tenants use to call the proxy (and their self-service admin API).
    ApiKeys,
    /// Links merchants follow to authorize their Mini Program.
    OnboardingLinks,
    /// Mini Programs that authorized the platform.
    Authorizers,
    /// Rate-limit policies and usage.
    RateLimits,
    /// Where a tenant's events are delivered: endpoints, secrets, deliveries.
    Webhooks,
    /// Events about tenants' Mini Programs.
    Events,
    /// Who changed what through this API.
    Audit,
    /// Every call tpgate made to WeChat, or refused to make: the call log.
    Calls,
    /// The platform's own state: component ticket and token, readiness.
    Platform,
    /// Shipping assurance: paid orders waiting for shipment.
    Shipping,
}

/// 404 unless the tenant exists.
pub(crate) async fn existing_tenant(
    store: &store::Store,
    tenant_id: &str,
) -> Result<store::tenants::Tenant, Problem> {
    store
        .tenant(tenant_id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("tenant {tenant_id} not found")))
}

/// What an audited change was.
pub(crate) struct Change {
    /// e.g. `tenant.suspend`.
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    /// The tenant whose log shows it.
    pub tenant_id: Option<String>,
    /// What changed (never a secret).
    pub detail: serde_json::Value,
}

impl Change {
    fn entry(self, caller: &Caller) -> NewAuditEntry {
        NewAuditEntry {
            actor: caller.subject.clone(),
            actor_role: caller.role_name().to_owned(),
            tenant_id: self.tenant_id,
            action: self.action.to_owned(),
            target_type: self.target_type.to_owned(),
            target_id: self.target_id,
            detail: self.detail,
        }
    }
}

/// Makes a change and records it in the audit log in one transaction
/// ([`store::Store::audited`]): `change` runs on the store it is given,
/// `describe` says what its result changed. A change that fails records
/// nothing; a change whose entry cannot be written does not happen.
pub(crate) async fn audited<T, E, Fut, C>(
    state: &AdminState,
    caller: &Caller,
    change: impl FnOnce(Store) -> Fut,
    describe: impl FnOnce(&T) -> C,
) -> Result<T, Problem>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<store::StoreError>,
    Problem: From<E>,
    C: IntoIterator<Item = Change>,
{
    let mut recorded = Vec::new();
    let value = state
        .store
        .audited(change, |value| {
            recorded = describe(value)
                .into_iter()
                .map(|c| c.entry(caller))
                .collect();
            recorded.clone()
        })
        .await?;
    for entry in &recorded {
        log_change(entry);
    }
    Ok(value)
}

/// Records a change that is not one transaction of ours: made at WeChat
/// under the token lease (a transaction must not wait on WeChat), or queued
/// in many short transactions (a replay). It has happened, so a failed write
/// is logged and counted rather than reported as a failed change.
pub(crate) async fn record_after(state: &AdminState, caller: &Caller, change: Change) {
    let entry = change.entry(caller);
    log_change(&entry);
    if let Err(e) = state.store.record_audit(entry.clone()).await {
        tracing::error!(error = %e, action = %entry.action, "could not write the audit log entry");
        ::metrics::counter!("tpgate_audit_write_failures_total").increment(1);
    }
}

fn log_change(entry: &NewAuditEntry) {
    tracing::info!(
        admin.sub = %entry.actor,
        action = %entry.action,
        target = %entry.target_id,
        tenant.id = entry.tenant_id.as_deref().unwrap_or(""),
        "admin change"
    );
}
