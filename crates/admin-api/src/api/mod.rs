//! Admin resources, one module each, plus what they share: tags, cursor
//! paging and the audit trail.
mod api_keys;
mod audit;
mod authorizers;
mod deliveries;
mod events;
mod onboarding_links;
mod platform;
mod rate_limits;
mod tenants;
mod webhooks;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use poem_openapi::Tags;
use problem::Problem;
use store::audit::NewAuditEntry;

pub use api_keys::ApiKeysApi;
pub use audit::AuditApi;
pub use authorizers::AuthorizersApi;
pub use deliveries::DeliveriesApi;
pub use events::EventsApi;
pub use onboarding_links::OnboardingLinksApi;
pub use platform::PlatformApi;
pub use rate_limits::RateLimitsApi;
pub use tenants::TenantsApi;
pub use webhooks::WebhooksApi;

use crate::{AdminState, auth::Caller};

/// All admin resources, for `OpenApiService::new`.
pub type AdminApi = (
    (TenantsApi, ApiKeysApi, OnboardingLinksApi, AuthorizersApi),
    (
        RateLimitsApi,
        WebhooksApi,
        EventsApi,
        DeliveriesApi,
        AuditApi,
        PlatformApi,
    ),
);

pub fn admin_api() -> AdminApi {
    (
        (TenantsApi, ApiKeysApi, OnboardingLinksApi, AuthorizersApi),
        (
            RateLimitsApi,
            WebhooksApi,
            EventsApi,
            DeliveriesApi,
            AuditApi,
            PlatformApi,
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
    /// The platform's own state: component ticket and token, readiness.
    Platform,
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

/// Page size when `limit` is not given, and the largest allowed.
pub(crate) const DEFAULT_PAGE: u32 = 50;
pub(crate) const MAX_PAGE: u32 = 200;

/// Decodes a `cursor` query parameter into the key to continue after.
/// Cursors are opaque to clients (base64url of the last key), so a listing's
/// order key can change without breaking them.
pub(crate) fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, Problem> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .filter(|key| !key.is_empty() && key.len() <= 128)
        .map(Some)
        .ok_or_else(|| {
            Problem::validation(
                "cursor",
                "not a cursor this API returned; pass next_cursor from the previous page",
            )
        })
}

/// Turns `limit + 1` fetched rows into a page and the cursor of the next.
pub(crate) fn paginate<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> &str,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)));
    (rows, next)
}

/// The page size to fetch for `limit` (one more, to know whether a next page exists).
pub(crate) fn fetch_size(limit: Option<u32>) -> (u32, u64) {
    let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    (limit, u64::from(limit) + 1)
}

/// What an audited change was.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub tenant_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Records a committed change in the audit log (and the service log). The
/// change is already committed, so a failure to audit is logged loudly
/// rather than reported to the caller as a failed change.
pub(crate) async fn audit(state: &AdminState, caller: &Caller, change: Change<'_>) {
    tracing::info!(
        admin.sub = %caller.subject,
        action = change.action,
        target = change.target_id,
        tenant.id = change.tenant_id.unwrap_or(""),
        "admin change"
    );
    let entry = NewAuditEntry {
        actor: caller.subject.clone(),
        actor_role: caller.role_name().to_owned(),
        tenant_id: change.tenant_id.map(str::to_owned),
        action: change.action.to_owned(),
        target_type: change.target_type.to_owned(),
        target_id: change.target_id.to_owned(),
        detail: change.detail,
    };
    if let Err(e) = state.store.record_audit(entry).await {
        tracing::error!(error = %e, action = change.action, "could not write the audit log entry");
        ::metrics::counter!("tpgate_audit_write_failures_total").increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let (page, next) = paginate(vec!["a", "b", "c"], 2, |s| s);
        assert_eq!(page, vec!["a", "b"]);
        let next = next.unwrap();
        assert_eq!(decode_cursor(Some(&next)).unwrap().as_deref(), Some("b"));
        assert_eq!(paginate(vec!["a"], 2, |s| s).1, None);
        assert_eq!(decode_cursor(None).unwrap(), None);
        let err = decode_cursor(Some("%%%")).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("cursor"));
        assert_eq!(fetch_size(Some(1000)), (MAX_PAGE, u64::from(MAX_PAGE) + 1));
        assert_eq!(
            fetch_size(None),
            (DEFAULT_PAGE, u64::from(DEFAULT_PAGE) + 1)
        );
    }
}
