//! The operator's API under `/admin/v1`, built with poem-openapi and
//! protected by admin JWTs or, for a tenant's self-service, its API keys
//! ([`auth::AdminAuth`]).
//!
//! # Layout
//! One module per resource under `api/` with one documented response enum per
//! operation and its DTOs; `auth` (security scheme, roles, tenant scoping),
//! `jwt` (tokens and keys). Errors are `problem::Problem`; every change is
//! written to the audit log.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod jwt;

use std::sync::Arc;

use store::Store;
use tenant_auth::api_permissions::PermissionMap;
use url::Url;

pub use api::AdminApi;
pub use jwt::{JwtConfig, Role};

/// What the admin API's handlers share (through [`AdminState`], the app's
/// poem `Data`).
pub struct AdminShared {
    pub store: Store,
    /// Token refreshes, re-syncs and the component's status.
    pub auth: tenant_auth::TenantAuth,
    /// Policies are reloaded after a change; usage is read from it.
    pub limiter: ratelimit::RateLimiter,
    /// The permission map the proxy enforces (with the operator's
    /// `proxy.permission_sets`), for the health view's missing sets.
    pub permissions: Arc<PermissionMap>,
    pub jwt: JwtConfig,
    /// Where merchants reach tpgate (onboarding links are built on it).
    pub public_base_url: Url,
    /// Throttles of expensive tenant actions (event replays).
    pub throttle: ratelimit::Throttle,
    pub limits: AdminLimits,
}

/// [`AdminShared`] behind one `Arc`: poem clones every `Data` value into
/// every request, so the state must cost one reference count to clone.
pub type AdminState = Arc<AdminShared>;

/// Bounds on what one tenant can make tpgate do.
#[derive(Debug, Clone, Copy)]
pub struct AdminLimits {
    pub max_webhooks_per_tenant: u64,
    pub replays_per_tenant_per_hour: u64,
}
