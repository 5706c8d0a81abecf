//! The tenant-facing API: every WeChat API of the seeds as a typed endpoint
//! under `/v1/apps/{appid}/…` (WeChat's path, WeChat's JSON), plus a raw
//! passthrough for the rest.
//!
//! Every call passes the same gate ([`gate`], whose module doc is the list):
//! the key's scope and appids → tenant owns the appid → permission set →
//! seed rules → idempotency → rate limits → token → WeChat (with the
//! retries that are safe) → the answer kept for repeats; errcodes become
//! problem+json in `problem`.
//!
//! # Layout
//! - `api`: the endpoints (thin): `shipping`, `logistics`, `raw`.
//! - `catalog`: the APIs as data (path, group, read/write, user field).
//! - `permissions`: which permission sets allow which path.
//! - `gate`: the gate and the call, with retries and idempotency.
//! - `answer`: the success response (headers included).
//! - `wechat_json`: typed-for-the-spec but forwarded-as-sent JSON bodies
//!   ([`wechat_json::WechatJson`]); the raw passthrough is `api::raw`.
#![forbid(unsafe_code)]

pub mod answer;
pub mod api;
pub mod catalog;
pub mod couriers;
pub mod gate;
pub mod permissions;
pub mod reconcile;
pub mod reshipment;
pub mod shipments;
pub mod wechat_host;
pub mod wechat_json;

use std::{sync::Arc, time::Duration};

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use problem::Problem;
use ratelimit::RateLimiter;
use tenant_auth::TenantAuth;

pub use api::raw::raw_passthrough;
pub use permissions::PermissionMap;

/// The `proxy.*` configuration section, read as written (each duration in
/// the unit its name says).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxySettings {
    /// Retries of a read after `-1`, a busy code or a timeout.
    pub read_retries: usize,
    /// First backoff delay (doubling, jittered, at most 1 s).
    pub retry_min_delay_ms: u64,
    /// How long a replica trusts a cached API key or authorizer (applied
    /// to the store with `Store::with_cache_ttl`).
    pub cache_ttl_secs: u64,
    /// How long an idempotent answer is kept.
    pub idempotency_ttl_secs: u64,
    /// How long a repeat waits for the first request with its key.
    pub idempotency_wait_secs: u64,
    /// Overrides of the permission map (see [`PermissionMap::new`]).
    pub permission_sets: std::collections::BTreeMap<String, Vec<i64>>,
    /// How old WeChat's courier lists may get before they are fetched
    /// again (`couriers`).
    pub couriers_refresh_secs: u64,
    /// How soon a failed fetch of a courier list is tried again.
    pub couriers_retry_secs: u64,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            read_retries: 2,
            retry_min_delay_ms: 100,
            cache_ttl_secs: store::DEFAULT_CACHE_TTL.as_secs(),
            idempotency_ttl_secs: 24 * 3600,
            idempotency_wait_secs: 10,
            permission_sets: Default::default(),
            couriers_refresh_secs: 24 * 3600,
            couriers_retry_secs: 300,
        }
    }
}

impl ProxySettings {
    pub fn retry_min_delay(&self) -> Duration {
        Duration::from_millis(self.retry_min_delay_ms)
    }

    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_secs)
    }

    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_secs)
    }

    pub fn idempotency_wait(&self) -> Duration {
        Duration::from_secs(self.idempotency_wait_secs)
    }
}

/// What the proxy's handlers share (through [`ProxyState`], the app's poem
/// `Data`).
pub struct ProxyShared {
    pub auth: TenantAuth,
    pub limiter: RateLimiter,
    pub permissions: Arc<PermissionMap>,
    pub settings: Arc<ProxySettings>,
    /// This replica's view of WeChat's courier lists.
    pub couriers: couriers::CourierDirectory,
    /// Durable shipments (`shipments.*`).
    pub shipments: Arc<shipments::ShipmentSettings>,
    /// Reconciliation (`reconciliation.*`).
    pub reconciliation: Arc<reconcile::ReconciliationSettings>,
}

/// [`ProxyShared`] behind one `Arc`: poem clones every `Data` value into
/// every request, so the state must cost one reference count to clone.
pub type ProxyState = Arc<ProxyShared>;

/// The tenant making a call.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub api_key_id: String,
    /// May use the raw passthrough.
    pub raw_passthrough: bool,
    /// What the key may do (`proxy_read`, `proxy_write` matter here).
    pub scopes: store::api_keys::KeyScopes,
    /// The Mini Programs the key may call; `None`: all of its tenant's.
    pub allowed_appids: Option<Vec<String>>,
    /// Keep the bodies of its writes in the call log.
    pub capture_call_bodies: bool,
    /// Guard its payment orders' one re-shipment (`reshipment`).
    pub reshipment_guard: bool,
}

impl TenantContext {
    /// tpgate acting for `tenant` (durable shipments, reconciliation): its
    /// own gate, as a key with the proxy scopes over all its Mini Programs;
    /// `who` names the actor in place of a key id.
    pub fn acting_for(tenant: &store::tenants::Tenant, who: String) -> Self {
        Self {
            tenant_id: tenant.id.to_string(),
            api_key_id: who,
            raw_passthrough: false,
            scopes: [
                store::api_keys::KeyScope::ProxyRead,
                store::api_keys::KeyScope::ProxyWrite,
            ]
            .into_iter()
            .collect(),
            allowed_appids: None,
            capture_call_bodies: tenant.capture_call_bodies,
            reshipment_guard: tenant.reshipment_guard,
        }
    }

    /// A call made with `key` of `tenant`.
    pub fn of(key: store::api_keys::ApiKey, tenant: &store::tenants::Tenant) -> Self {
        Self {
            tenant_id: tenant.id.to_string(),
            api_key_id: key.id,
            raw_passthrough: tenant.raw_passthrough,
            scopes: key.scopes,
            allowed_appids: key.allowed_appids,
            capture_call_bodies: tenant.capture_call_bodies,
            reshipment_guard: tenant.reshipment_guard,
        }
    }
}

/// A tenant API key (`tpk_…`), sent as `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_api_key")]
pub struct TenantApiKey(pub TenantContext);

async fn check_api_key(req: &Request, bearer: Bearer) -> poem::Result<TenantContext> {
    let state = req
        .data::<ProxyState>()
        .ok_or_else(|| poem::Error::from(Problem::internal()))?;
    tenant_for_key(state, &bearer.token)
        .await
        .map_err(Into::into)
}

/// The tenant behind an API key, from this replica's cache when fresh. A
/// storage error fails closed (503), never open.
pub(crate) async fn tenant_for_key(
    state: &ProxyState,
    key: &str,
) -> Result<TenantContext, Problem> {
    match state.auth.store().cached_tenant_for_api_key(key).await {
        Ok(Some((key, tenant))) => {
            state.auth.store().note_key_use(&key.id);
            Ok(TenantContext::of(key, &tenant))
        }
        Ok(None) => Err(Problem::unauthorized(
            "unknown, revoked, expired or suspended API key",
        )),
        Err(e) => Err(Problem::from(e)),
    }
}

/// All typed proxy endpoints, for the OpenAPI service.
pub type ProxyApi = (
    api::shipping::ShippingApi,
    api::logistics::LogisticsApi,
    api::couriers::CouriersApi,
    api::shipments::ShipmentsApi,
);

pub fn proxy_api() -> ProxyApi {
    (
        api::shipping::ShippingApi,
        api::logistics::LogisticsApi,
        api::couriers::CouriersApi,
        api::shipments::ShipmentsApi,
    )
}
