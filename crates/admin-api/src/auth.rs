//! Who is calling. The admin security scheme's checker turns the bearer
//! credential — an admin JWT, or a tenant's API key (`tpk_…`) for
//! self-service — into a [`Caller`], so a handler that takes [`AdminAuth`] is
//! authenticated; each handler then asks the caller for the permission it
//! needs, which is a 403 problem when the role does not allow it.
//!
//! Tenant scoping: a `tenant_admin` (JWT with a `tenant_id` claim, or an API
//! key) may act only inside its tenant. A path naming another tenant is a
//! 403, decided before anything is looked up, so it reveals nothing; a
//! resource addressed by its own id (an appid, an event id) that belongs to
//! another tenant is a 404, exactly like one that does not exist.
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use problem::Problem;
use store::{
    api_keys::{Creator, KEY_PREFIX, KeyScope, KeyScopes},
    console_sessions::ConsoleIdentity,
};

use crate::{AdminState, jwt::Role};

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Jwt,
    /// A tenant API key with `admin_read` or `admin_write`: without
    /// `admin_write` it may not change anything; keys it creates expire no
    /// later than it does and can do no more than it can.
    ApiKey {
        id: String,
        scopes: KeyScopes,
        allowed_appids: Option<Vec<String>>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Debug, Clone)]
pub struct Caller {
    /// The JWT's `sub`, or `api_key:<id>`: recorded in the audit log.
    pub subject: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub credential: Credential,
}

impl Caller {
    fn read_only_key(&self) -> bool {
        matches!(
            &self.credential,
            Credential::ApiKey { scopes, .. } if !scopes.contains(KeyScope::AdminWrite)
        )
    }

    /// When the key making this call expires (None: a JWT, or a key that
    /// does not expire).
    /// What bounds the keys this caller creates: its own, when it is a key.
    pub fn key_creator(&self) -> Option<Creator<'_>> {
        match &self.credential {
            Credential::ApiKey {
                id,
                scopes,
                allowed_appids,
                expires_at,
            } => Some(Creator {
                id,
                scopes,
                allowed_appids: allowed_appids.as_deref(),
                expires_at: *expires_at,
            }),
            Credential::Jwt => None,
        }
    }

    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }

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

    /// Reading things inside `tenant_id`.
    pub fn require_tenant_read(&self, tenant_id: &str) -> Result<(), Problem> {
        match (self.role, &self.tenant_id) {
            (Role::PlatformAdmin | Role::PlatformViewer, _) => Ok(()),
            (Role::TenantAdmin, Some(own)) if own == tenant_id => Ok(()),
            _ => Err(Problem::forbidden("not allowed to read this tenant")),
        }
    }

    /// Changing things inside `tenant_id`.
    pub fn require_tenant_write(&self, tenant_id: &str) -> Result<(), Problem> {
        match (self.role, &self.tenant_id) {
            (Role::PlatformAdmin, _) => Ok(()),
            (Role::TenantAdmin, Some(own)) if own == tenant_id => {
                if self.read_only_key() {
                    Err(Problem::forbidden(
                        "this API key lacks the admin_write scope; changes through the admin API need it",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Err(Problem::forbidden("not allowed to change this tenant")),
        }
    }

    /// Whether the caller may see things of `tenant_id` (None: unassigned,
    /// platform roles only).
    pub fn can_see(&self, tenant_id: Option<&str>) -> bool {
        match self.role {
            Role::PlatformAdmin | Role::PlatformViewer => true,
            Role::TenantAdmin => tenant_id.is_some() && self.tenant_id.as_deref() == tenant_id,
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

/// `Authorization: Bearer <admin JWT or tenant API key>`. In a browser,
/// the operator console's session cookie stands for it (with the header
/// `X-Tpgate-Console: 1`; see docs/console.md).
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT or tenant API key (tpk_…)",
    checker = "check_bearer"
)]
pub struct AdminAuth(pub Caller);

/// The `Authorization` the console's session layer puts on a request it
/// has authenticated by cookie; it means something only beside a
/// [`SessionCaller`], which no client can set.
pub const SESSION_AUTHORIZATION: &str = "Bearer console-session";

/// The caller a console session resolved to, put in the request's
/// extensions by the console's session layer (after its CSRF checks).
#[derive(Debug, Clone)]
pub struct SessionCaller(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    if SESSION_AUTHORIZATION.strip_prefix("Bearer ") == Some(bearer.token.as_str())
        && let Some(SessionCaller(caller)) = req.extensions().get::<SessionCaller>()
    {
        return Ok(caller.clone());
    }
    let state = req
        .data::<AdminState>()
        .ok_or_else(|| poem::Error::from(Problem::internal()))?;
    caller_for_bearer(state, &bearer.token).await
}

/// Who a bearer credential (an admin JWT or a tenant API key) is, as every
/// admin call checks it; also how the console's sign-in page checks what is
/// pasted into it.
pub async fn caller_for_bearer(state: &AdminState, token: &str) -> poem::Result<Caller> {
    Ok(authenticate(state, token).await?.0)
}

/// [`caller_for_bearer`], with when the credential stops working (a JWT's
/// `exp`, a key's expiry), which bounds a console session opened with it.
pub async fn authenticate(
    state: &AdminState,
    token: &str,
) -> poem::Result<(Caller, Option<chrono::DateTime<chrono::Utc>>)> {
    if token.starts_with(KEY_PREFIX) {
        let caller = caller_for_api_key(state, token).await?;
        let expires_at = match &caller.credential {
            Credential::ApiKey { expires_at, .. } => *expires_at,
            Credential::Jwt => None,
        };
        return Ok((caller, expires_at));
    }
    let claims = state
        .jwt
        .verify(token)
        .await
        .map_err(|e| Problem::unauthorized(e.to_string()))?;
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0);
    let caller = Caller {
        subject: claims.sub,
        role: claims.role,
        tenant_id: claims.tenant_id,
        credential: Credential::Jwt,
    };
    if !tenant_admin_may_act(state, &caller).await? {
        return Err(
            Problem::forbidden("the token's tenant is suspended or no longer exists").into(),
        );
    }
    Ok((caller, expires_at))
}

/// A suspended (or deleted) tenant's admins are locked out like its keys.
/// A storage error fails closed.
async fn tenant_admin_may_act(state: &AdminState, caller: &Caller) -> Result<bool, Problem> {
    match (caller.role, &caller.tenant_id) {
        (Role::TenantAdmin, Some(tenant_id)) => Ok(state
            .store
            .tenant(tenant_id)
            .await?
            .is_some_and(|t| t.is_active())),
        _ => Ok(true),
    }
}

/// Who a console session acts as now, or `None` when what it was opened
/// with no longer allows it: the tenant is suspended or gone, the API key
/// revoked, expired or stripped of its admin scopes. Re-checked on every
/// use, so such a session ends at its next request.
pub async fn caller_for_session(
    state: &AdminState,
    identity: &ConsoleIdentity,
) -> Result<Option<Caller>, Problem> {
    let Ok(role) = identity.role.parse::<Role>() else {
        return Ok(None);
    };
    let caller = match (&identity.api_key_id, &identity.tenant_id) {
        (Some(key_id), Some(tenant_id)) => {
            let Some(key) = state.store.api_key(tenant_id, key_id).await? else {
                return Ok(None);
            };
            if !key.usable(chrono::Utc::now())
                || !(key.scopes.contains(KeyScope::AdminRead)
                    || key.scopes.contains(KeyScope::AdminWrite))
            {
                return Ok(None);
            }
            Caller {
                subject: identity.subject.clone(),
                role: Role::TenantAdmin,
                tenant_id: Some(tenant_id.to_string()),
                credential: Credential::ApiKey {
                    scopes: key.scopes,
                    allowed_appids: key.allowed_appids,
                    expires_at: key.expires_at,
                    id: key.id,
                },
            }
        }
        (Some(_), None) => return Ok(None),
        (None, tenant_id) => Caller {
            subject: identity.subject.clone(),
            role,
            tenant_id: tenant_id.as_ref().map(|t| t.to_string()),
            credential: Credential::Jwt,
        },
    };
    Ok(tenant_admin_may_act(state, &caller)
        .await?
        .then_some(caller))
}

/// A tenant's API key with an admin scope acts as that tenant's admin
/// (`admin_read`: reading only). A key without one is refused here: proxy
/// keys cannot mint keys, point webhooks anywhere or revoke Mini Programs.
/// A storage error fails closed (503), never open.
async fn caller_for_api_key(state: &AdminState, key: &str) -> poem::Result<Caller> {
    let found = state
        .store
        .cached_tenant_for_api_key(key)
        .await
        .map_err(Problem::from)?;
    let Some((api_key, tenant)) = found else {
        return Err(Problem::unauthorized("unknown, revoked or expired API key").into());
    };
    if !api_key.scopes.contains(KeyScope::AdminRead)
        && !api_key.scopes.contains(KeyScope::AdminWrite)
    {
        return Err(Problem::forbidden(
            "this API key has no admin scope (admin_read or admin_write); create one with it for tenant administration",
        )
        .into());
    }
    state.store.note_key_use(&api_key.id);
    Ok(Caller {
        subject: format!("api_key:{}", api_key.id),
        role: Role::TenantAdmin,
        tenant_id: Some(tenant.id.into()),
        credential: Credential::ApiKey {
            scopes: api_key.scopes,
            allowed_appids: api_key.allowed_appids,
            expires_at: api_key.expires_at,
            id: api_key.id,
        },
    })
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    fn jwt(role: Role, tenant_id: Option<&str>) -> Caller {
        Caller {
            subject: "someone".into(),
            role,
            tenant_id: tenant_id.map(str::to_owned),
            credential: Credential::Jwt,
        }
    }

    fn platform_admin() -> Caller {
        jwt(Role::PlatformAdmin, None)
    }

    fn platform_viewer() -> Caller {
        jwt(Role::PlatformViewer, None)
    }

    /// A tenant admin of `t1` by JWT.
    fn tenant_admin() -> Caller {
        jwt(Role::TenantAdmin, Some("t1"))
    }

    /// A key of `t1`, as [`caller_for_api_key`] makes it.
    fn api_key(scopes: &[KeyScope]) -> Caller {
        Caller {
            subject: "api_key:k1".into(),
            role: Role::TenantAdmin,
            tenant_id: Some("t1".into()),
            credential: Credential::ApiKey {
                id: "k1".into(),
                scopes: scopes.iter().copied().collect::<KeyScopes>(),
                allowed_appids: None,
                expires_at: None,
            },
        }
    }

    fn writing_key() -> Caller {
        api_key(&[KeyScope::AdminRead, KeyScope::AdminWrite])
    }

    fn reading_key() -> Caller {
        api_key(&[
            KeyScope::ProxyRead,
            KeyScope::ProxyWrite,
            KeyScope::AdminRead,
        ])
    }

    #[track_caller]
    fn allowed(result: Result<(), Problem>) {
        if let Err(problem) = result {
            panic!("refused: {:?}", problem.body());
        }
    }

    /// Refused with a 403 whose detail contains `says`.
    #[track_caller]
    fn forbidden<T: std::fmt::Debug>(result: Result<T, Problem>, says: &str) {
        let problem = result.expect_err("allowed");
        assert_eq!(problem.status(), StatusCode::FORBIDDEN);
        let detail = problem.body().detail.clone().unwrap_or_default();
        assert!(detail.contains(says), "{detail:?} does not say {says:?}");
    }

    #[test]
    fn platform_admins_may_do_everything() {
        let caller = platform_admin();
        allowed(caller.require_platform_read());
        allowed(caller.require_platform_write());
        for tenant in ["t1", "t2"] {
            allowed(caller.require_tenant_read(tenant));
            allowed(caller.require_tenant_write(tenant));
        }
    }

    #[test]
    fn platform_viewers_read_everything_and_change_nothing() {
        let caller = platform_viewer();
        allowed(caller.require_platform_read());
        forbidden(caller.require_platform_write(), "platform_admin role");
        for tenant in ["t1", "t2"] {
            allowed(caller.require_tenant_read(tenant));
            forbidden(caller.require_tenant_write(tenant), "not allowed to change");
        }
    }

    #[test]
    fn tenant_admins_act_only_inside_their_tenant() {
        for caller in [tenant_admin(), writing_key()] {
            forbidden(caller.require_platform_read(), "platform role");
            forbidden(caller.require_platform_write(), "platform_admin role");
            allowed(caller.require_tenant_read("t1"));
            allowed(caller.require_tenant_write("t1"));
            forbidden(caller.require_tenant_read("t2"), "not allowed to read");
            forbidden(caller.require_tenant_write("t2"), "not allowed to change");
        }
    }

    #[test]
    fn a_tenant_admin_token_without_a_tenant_may_do_nothing() {
        let caller = jwt(Role::TenantAdmin, None);
        forbidden(caller.require_tenant_read("t1"), "not allowed to read");
        forbidden(caller.require_tenant_write("t1"), "not allowed to change");
        assert!(!caller.can_see(Some("t1")));
        assert!(!caller.can_see(None));
        forbidden(caller.tenant_scope(None), "token has no tenant");
        forbidden(
            caller.tenant_scope(Some("t1".into())),
            "token has no tenant",
        );
    }

    #[test]
    fn keys_without_admin_write_only_read() {
        let caller = reading_key();
        forbidden(caller.require_platform_read(), "platform role");
        allowed(caller.require_tenant_read("t1"));
        forbidden(
            caller.require_tenant_write("t1"),
            "lacks the admin_write scope",
        );
        // Another tenant is refused for the tenant, not for the scope.
        forbidden(caller.require_tenant_read("t2"), "not allowed to read");
        forbidden(caller.require_tenant_write("t2"), "not allowed to change");
        // admin_write alone is enough to change things.
        allowed(api_key(&[KeyScope::AdminWrite]).require_tenant_write("t1"));
    }

    #[test]
    fn platform_roles_see_everything_tenant_admins_only_their_own() {
        for caller in [platform_admin(), platform_viewer()] {
            assert!(caller.can_see(Some("t1")));
            assert!(caller.can_see(Some("t2")));
            // Unassigned things (e.g. a Mini Program no tenant owns).
            assert!(caller.can_see(None));
        }
        for caller in [tenant_admin(), reading_key()] {
            assert!(caller.can_see(Some("t1")));
            assert!(!caller.can_see(Some("t2")));
            assert!(!caller.can_see(None));
        }
    }

    #[test]
    fn tenant_admins_list_only_their_tenant() {
        for caller in [tenant_admin(), reading_key()] {
            assert_eq!(caller.tenant_scope(None).unwrap(), Some("t1".into()));
            assert_eq!(
                caller.tenant_scope(Some("t1".into())).unwrap(),
                Some("t1".into())
            );
            forbidden(
                caller.tenant_scope(Some("t2".into())),
                "not allowed to read another tenant",
            );
        }
    }

    #[test]
    fn platform_roles_list_what_they_ask_for() {
        for caller in [platform_admin(), platform_viewer()] {
            assert_eq!(caller.tenant_scope(None).unwrap(), None);
            assert_eq!(
                caller.tenant_scope(Some("t2".into())).unwrap(),
                Some("t2".into())
            );
        }
        // A platform token that happens to carry a tenant is not limited by it.
        let caller = jwt(Role::PlatformViewer, Some("t1"));
        assert_eq!(caller.tenant_scope(None).unwrap(), None);
        assert_eq!(
            caller.tenant_scope(Some("t2".into())).unwrap(),
            Some("t2".into())
        );
    }

    #[test]
    fn role_names_and_key_expiry() {
        assert_eq!(platform_admin().role_name(), "platform_admin");
        assert_eq!(platform_viewer().role_name(), "platform_viewer");
        assert_eq!(tenant_admin().role_name(), "tenant_admin");
        assert!(tenant_admin().key_creator().is_none());
        let at = chrono::Utc::now();
        let mut key = writing_key();
        if let Credential::ApiKey { expires_at, .. } = &mut key.credential {
            *expires_at = Some(at);
        }
        let creator = key.key_creator().unwrap();
        assert_eq!(creator.expires_at, Some(at));
        assert!(creator.scopes.contains(KeyScope::AdminWrite));
    }
}
