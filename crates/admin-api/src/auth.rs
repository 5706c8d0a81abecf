//! The admin security scheme. Its checker turns a bearer JWT into an
//! [`AdminContext`], so a handler that takes [`AdminJwt`] is authenticated;
//! each handler then asks the context for the permission it needs, which
//! returns a 403 problem when the role does not allow it.
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use problem::Problem;

use crate::{AdminState, jwt::Role};

#[derive(Debug, Clone)]
pub struct AdminContext {
    pub subject: String,
    pub role: Role,
    pub tenant_id: Option<String>,
}

impl AdminContext {
    /// Reading anything platform-wide.
    pub fn require_platform_read(&self) -> Result<(), Problem> {
        match self.role {
            Role::PlatformAdmin | Role::PlatformViewer => Ok(()),
            Role::TenantAdmin => Err(Problem::forbidden("this needs a platform role")),
        }
    }

    /// Changing anything platform-wide (e.g. creating tenants).
    pub fn require_platform_write(&self) -> Result<(), Problem> {
        match self.role {
            Role::PlatformAdmin => Ok(()),
            _ => Err(Problem::forbidden("this needs the platform_admin role")),
        }
    }

    /// Changing things inside `tenant_id`.
    pub fn require_tenant_write(&self, tenant_id: &str) -> Result<(), Problem> {
        match (self.role, &self.tenant_id) {
            (Role::PlatformAdmin, _) => Ok(()),
            (Role::TenantAdmin, Some(own)) if own == tenant_id => Ok(()),
            _ => Err(Problem::forbidden("not allowed to change this tenant")),
        }
    }

    /// The tenant a listing must be limited to, if any.
    pub fn tenant_scope(&self, requested: Option<String>) -> Result<Option<String>, Problem> {
        match (self.role, &self.tenant_id, requested) {
            (Role::TenantAdmin, Some(own), Some(req)) if *own != req => {
                Err(Problem::forbidden("not allowed to read another tenant"))
            }
            (Role::TenantAdmin, Some(own), _) => Ok(Some(own.clone())),
            (Role::TenantAdmin, None, _) => Err(Problem::forbidden("token has no tenant")),
            (_, _, requested) => Ok(requested),
        }
    }
}

/// An admin JWT: `Authorization: Bearer <jwt>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_admin_jwt")]
pub struct AdminJwt(pub AdminContext);

async fn check_admin_jwt(req: &Request, bearer: Bearer) -> poem::Result<AdminContext> {
    let state = req
        .data::<AdminState>()
        .ok_or_else(|| poem::Error::from(Problem::internal()))?;
    let claims = state
        .jwt
        .verify(&bearer.token)
        .map_err(|e| Problem::unauthorized(e.to_string()))?;
    Ok(AdminContext {
        subject: claims.sub,
        role: claims.role,
        tenant_id: claims.tenant_id,
    })
}
