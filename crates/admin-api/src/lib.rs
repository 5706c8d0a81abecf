//! The operator's API under `/admin/v1`, built with poem-openapi and
//! protected by JWTs ([`auth::AdminJwt`]).
//!
//! # Layout
//! One module per resource under `api/` with one documented response enum per
//! operation; `auth` (security scheme, role checks), `jwt` (tokens), `dto`
//! conversions live next to each resource. Errors are `problem::Problem`.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod jwt;

use store::Store;
use url::Url;

pub use api::AdminApi;
pub use jwt::{JwtConfig, Role};

/// Shared state of the admin API, put in the poem `Data` of the app.
#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    /// Policies are reloaded after a change; usage is read from it.
    pub limiter: ratelimit::RateLimiter,
    pub jwt: JwtConfig,
    /// Where merchants reach tpgate (onboarding links are built on it).
    pub public_base_url: Url,
}
