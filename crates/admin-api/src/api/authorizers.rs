//! Authorizers (Mini Programs that authorized the platform): list, get,
//! force a token refresh, move to another tenant, mark revoked, re-sync.
//! Token values are never shown; only their state.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::authorizers::{
    AuthorizerFilter, AuthorizerInfo, STATUS_ACTIVE, STATUS_REAUTHORIZATION_REQUIRED,
    STATUS_REVOKED, StatusChange,
};

use store::trade_management::TradeManagement;
use tenant_auth::api_permissions::PermissionMap;

use super::{
    AdminTags, Change, Page, PageItem, Paging, audited,
    health::{MissingPermissionSets, TradeManagementState, missing_permission_sets},
    record_after,
};
use crate::{
    AdminState,
    auth::{AdminAuth, Caller},
};

/// Whether tpgate can call WeChat for the Mini Program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AuthorizerStatus {
    Active,
    /// The merchant (or an operator) revoked the authorization.
    Revoked,
    /// WeChat refused the refresh token; the merchant must authorize again.
    ReauthorizationRequired,
}

impl AuthorizerStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => STATUS_ACTIVE,
            Self::Revoked => STATUS_REVOKED,
            Self::ReauthorizationRequired => STATUS_REAUTHORIZATION_REQUIRED,
        }
    }
}

impl From<store::authorizers::AuthorizerStatus> for AuthorizerStatus {
    fn from(status: store::authorizers::AuthorizerStatus) -> Self {
        use store::authorizers::AuthorizerStatus as Stored;
        match status {
            Stored::Active => Self::Active,
            Stored::Revoked => Self::Revoked,
            Stored::ReauthorizationRequired => Self::ReauthorizationRequired,
        }
    }
}

/// A granted permission set.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PermissionSet {
    /// funcscope id, e.g. 142 (shipping management), 18, 45.
    pub id: i64,
    pub name: String,
}

/// The state of the authorizer_access_token tpgate holds (never its value).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenState {
    /// Whether a token is held that has not expired.
    pub valid: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// Seconds until it expires (0 when expired or absent).
    pub expires_in_secs: i64,
    /// When tpgate last obtained a token.
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// A Mini Program that authorized the platform.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Authorizer {
    pub appid: String,
    /// Owning tenant; absent when WeChat reported an authorization that no
    /// onboarding link explains (an operator can move it to a tenant).
    pub tenant_id: Option<String>,
    pub status: AuthorizerStatus,
    /// Granted permission-set ids (funcscope ids), e.g. 18, 45, 142.
    pub permission_sets: Vec<i64>,
    /// The same, with names.
    pub permission_set_names: Vec<PermissionSet>,
    /// The Mini Program's name.
    pub nick_name: Option<String>,
    /// Original id (`gh_…`).
    pub user_name: Option<String>,
    /// The legal entity behind the account.
    pub principal_name: Option<String>,
    pub authorized_at: DateTime<Utc>,
    /// Last proxied call (recorded every few minutes).
    pub last_used_at: Option<DateTime<Utc>>,
    pub token: TokenState,
    /// What the proxied APIs need and the Mini Program did not grant.
    pub missing_permission_sets: Vec<MissingPermissionSets>,
    /// The trade-management state WeChat last reported (see the health
    /// view); absent until first asked. Reading this never calls WeChat.
    pub trade_management: Option<TradeManagementState>,
}

/// A permission set with its name.
pub(crate) fn permission_set(id: i64) -> PermissionSet {
    PermissionSet {
        id,
        name: tenant_auth::permissions::name(id).to_owned(),
    }
}

impl TokenState {
    pub(crate) fn of(a: &AuthorizerInfo) -> Self {
        let expires_in_secs = a
            .access_token_expires_at
            .map(|e| (e - Utc::now()).num_seconds().max(0))
            .unwrap_or(0);
        Self {
            valid: expires_in_secs > 0,
            expires_at: a.access_token_expires_at,
            expires_in_secs,
            refreshed_at: a.token_refreshed_at,
        }
    }
}

impl Authorizer {
    /// `a` with what the proxy's permission map says it lacks and its
    /// cached trade-management state.
    fn view(
        a: AuthorizerInfo,
        permissions: &PermissionMap,
        trade: Option<TradeManagement>,
    ) -> Self {
        Self {
            missing_permission_sets: missing_permission_sets(permissions, &a),
            trade_management: trade.map(Into::into),
            status: a.status.into(),
            permission_set_names: a.funcscopes.iter().map(|id| permission_set(*id)).collect(),
            token: TokenState::of(&a),
            permission_sets: a.funcscopes.into_iter().collect(),
            appid: a.appid.into(),
            tenant_id: a.tenant_id.map(Into::into),
            nick_name: a.nick_name,
            user_name: a.user_name,
            principal_name: a.principal_name,
            authorized_at: a.authorized_at,
            last_used_at: a.last_used_at,
        }
    }
}

/// One authorizer as the API shows it.
async fn view(state: &AdminState, info: AuthorizerInfo) -> Result<Authorizer, Problem> {
    let trade = state.store.trade_management(&info.appid).await?;
    Ok(Authorizer::view(info, &state.permissions, trade))
}

impl PageItem for Authorizer {
    const PAGE: &'static str = "AuthorizerPage";
}

/// Where to move an authorizer.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct MoveAuthorizer {
    /// The tenant that will own the Mini Program.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub tenant_id: String,
}

impl poem_openapi::types::Example for MoveAuthorizer {
    fn example() -> Self {
        Self {
            tenant_id: "019ab2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b".into(),
        }
    }
}

/// Why an operator revokes an authorization.
#[derive(Debug, Clone, Object, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct RevokeAuthorizer {
    /// Recorded in the event and the audit log, up to 500 characters.
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
}

impl poem_openapi::types::Example for RevokeAuthorizer {
    fn example() -> Self {
        Self {
            reason: Some("merchant ended the contract".into()),
        }
    }
}

#[derive(ApiResponse)]
enum ListAuthorizersResponse {
    /// Authorizers, by appid.
    #[oai(status = 200)]
    Ok(Json<Page<Authorizer>>),
}

#[derive(ApiResponse)]
enum AuthorizerResponse {
    /// The authorizer.
    #[oai(status = 200)]
    Ok(Json<Authorizer>),
}

pub struct AuthorizersApi;

#[OpenApi(prefix_path = "/admin/v1/authorizers", tag = "AdminTags::Authorizers")]
impl AuthorizersApi {
    /// List authorizers
    ///
    /// A tenant_admin sees only its tenant's.
    #[oai(path = "/", method = "get", operation_id = "list_authorizers")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_authorizers(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only this tenant's authorizers.
        tenant_id: Query<Option<String>>,
        /// Only authorizers with this status.
        status: Query<Option<AuthorizerStatus>>,
        /// Only authorizers that granted this permission set (funcscope id).
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
        permission_set: Query<Option<i64>>,
        /// Only authorizers whose name contains this.
        #[oai(validator(max_length = 128))]
        name: Query<Option<String>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListAuthorizersResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let filter = AuthorizerFilter {
            tenant_id: scope,
            status: status.0.map(|s| s.as_str().to_owned()),
            permission_set: permission_set.0,
            name_contains: name.0.filter(|n| !n.is_empty()),
        };
        let rows = state
            .store
            .list_authorizers_page(&filter, paging.after(), paging.fetch())
            .await?;
        let appids: Vec<&str> = rows.iter().map(|a| a.appid.as_ref()).collect();
        let mut trade = state.store.trade_managements(&appids).await?;
        let page = paging.page(rows, |a| &a.appid).map(|a| {
            let t = trade
                .iter()
                .position(|t| t.appid == a.appid)
                .map(|i| trade.swap_remove(i));
            Authorizer::view(a, &state.permissions, t)
        });
        Ok(ListAuthorizersResponse::Ok(Json(page)))
    }

    /// Get an authorizer
    #[oai(path = "/:appid", method = "get", operation_id = "get_authorizer")]
    async fn get_authorizer(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
    ) -> Result<AuthorizerResponse, Problem> {
        let info = visible(&state, &auth.0, &appid).await?;
        Ok(AuthorizerResponse::Ok(Json(view(&state, info).await?)))
    }

    /// Force a token refresh
    ///
    /// Replaces the authorizer_access_token now (once across replicas), e.g.
    /// after WeChat support reset it. Answers with the new token state.
    #[oai(
        path = "/:appid/refresh-token",
        method = "post",
        operation_id = "refresh_authorizer_token"
    )]
    async fn refresh_token(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
    ) -> Result<AuthorizerResponse, Problem> {
        let info = writable(&state, &auth.0, &appid).await?;
        // Each forced refresh spends the platform's WeChat quota for token
        // calls; tenant-auth allows one per token version per interval.
        state
            .auth
            .force_refresh_authorizer(&appid, info.version)
            .await
            .map_err(|e| match e {
                tenant_auth::AuthError::RefreshCoolingDown {
                    retry_after_secs, ..
                } => Problem::new(
                    poem::http::StatusCode::TOO_MANY_REQUESTS,
                    "refresh-cooldown",
                    "Refreshed moments ago",
                )
                .with_detail(format!(
                    "the token was refreshed moments ago; retry in {retry_after_secs} s"
                ))
                .with_retry_after(retry_after_secs),
                other => Problem::from(other),
            })?;
        let info = found(state.store.authorizer(&appid).await?, &appid)?;
        record_after(
            &state,
            &auth.0,
            Change {
                action: "authorizer.refresh_token",
                target_type: "authorizer",
                target_id: appid.0.clone(),
                tenant_id: info.tenant_id.clone().map(Into::into),
                detail: json!({ "expires_at": info.access_token_expires_at }),
            },
        )
        .await;
        Ok(AuthorizerResponse::Ok(Json(view(&state, info).await?)))
    }

    /// Move an authorizer to another tenant
    #[oai(
        path = "/:appid/move",
        method = "post",
        operation_id = "move_authorizer"
    )]
    async fn move_authorizer(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
        body: Json<Checked<MoveAuthorizer>>,
    ) -> Result<AuthorizerResponse, Problem> {
        auth.0.require_platform_write()?;
        let to_tenant = body.0.0.tenant_id;
        let moved = audited(
            &state,
            &auth.0,
            |s| async move {
                s.move_authorizer(&appid, &to_tenant)
                    .await
                    .map_err(|e| match e {
                        store::StoreError::NotFound("tenant") => {
                            Problem::validation("tenant_id", "no such tenant")
                        }
                        e => e.into(),
                    })
            },
            |moved| {
                // One entry per tenant concerned, each in its own log.
                let appid = &moved.authorizer.appid;
                moved
                    .views()
                    .into_iter()
                    .map(|(tenant_id, detail)| Change {
                        action: "authorizer.move",
                        target_type: "authorizer",
                        target_id: appid.clone().into(),
                        tenant_id: tenant_id.map(Into::into),
                        detail,
                    })
                    .collect::<Vec<_>>()
            },
        )
        .await?;
        let info = moved.authorizer;
        Ok(AuthorizerResponse::Ok(Json(view(&state, info).await?)))
    }

    /// Mark an authorizer revoked
    ///
    /// tpgate stops calling WeChat for it and drops its tokens; an
    /// `authorization.revoked` event is recorded. The merchant must authorize
    /// again (a new onboarding link) to undo this.
    #[oai(
        path = "/:appid/revoke",
        method = "post",
        operation_id = "revoke_authorizer"
    )]
    async fn revoke_authorizer(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
        body: Json<Checked<RevokeAuthorizer>>,
    ) -> Result<AuthorizerResponse, Problem> {
        let info = writable(&state, &auth.0, &appid).await?;
        let reason = body.0.0.reason.unwrap_or_default();
        let change = Change {
            action: "authorizer.revoke",
            target_type: "authorizer",
            target_id: appid.0.clone(),
            tenant_id: info.tenant_id.clone().map(Into::into),
            detail: json!({ "reason": reason }),
        };
        let tenant_auth = &state.auth;
        let info = audited(
            &state,
            &auth.0,
            |s| async move {
                if info.status != store::authorizers::AuthorizerStatus::Revoked {
                    match tenant_auth
                        .using(s.clone())
                        .revoke_by_operator(&appid, info.version, &reason)
                        .await?
                    {
                        StatusChange::Changed { .. } | StatusChange::Duplicate => {}
                        StatusChange::Unchanged => {
                            return Err(Problem::conflict(
                                "the authorizer changed meanwhile (re-authorized?); read it and retry",
                            ));
                        }
                    }
                }
                found(s.authorizer(&appid).await?, &appid)
            },
            |_| [change],
        )
        .await?;
        Ok(AuthorizerResponse::Ok(Json(view(&state, info).await?)))
    }

    /// Re-sync an authorizer from WeChat
    ///
    /// Reads `api_get_authorizer_info`: name, gh_ id, principal and the
    /// granted permission sets (in case an `updateauthorized` push was lost).
    /// platform_admin only: it spends the platform's component-API quota.
    #[oai(
        path = "/:appid/resync",
        method = "post",
        operation_id = "resync_authorizer"
    )]
    async fn resync_authorizer(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
    ) -> Result<AuthorizerResponse, Problem> {
        auth.0.require_platform_write()?;
        let before = visible(&state, &auth.0, &appid).await?;
        if before.status != store::authorizers::AuthorizerStatus::Active {
            // WeChat would answer 61003 (not authorized); say why instead.
            return Err(Problem::conflict(format!(
                "authorizer {} is {}; it must authorize the platform again before it can be re-synced",
                appid.0, before.status
            )));
        }
        let info = state
            .auth
            .resync_authorizer(&appid)
            .await
            .map_err(Problem::from)?;
        record_after(
            &state,
            &auth.0,
            Change {
                action: "authorizer.resync",
                target_type: "authorizer",
                target_id: appid.0.clone(),
                tenant_id: info.tenant_id.clone().map(Into::into),
                detail: json!({
                    "permission_sets_before": before.funcscopes,
                    "permission_sets_after": info.funcscopes,
                }),
            },
        )
        .await;
        Ok(AuthorizerResponse::Ok(Json(view(&state, info).await?)))
    }
}

fn found(info: Option<AuthorizerInfo>, appid: &str) -> Result<AuthorizerInfo, Problem> {
    info.ok_or_else(|| Problem::not_found(format!("authorizer {appid} not found")))
}

/// The authorizer, if the caller may see it (else the same 404 as unknown).
pub(super) async fn visible(
    state: &AdminState,
    caller: &Caller,
    appid: &str,
) -> Result<AuthorizerInfo, Problem> {
    let info = found(state.store.authorizer(appid).await?, appid)?;
    if !caller.can_see(info.tenant_id.as_deref()) {
        return Err(Problem::not_found(format!("authorizer {appid} not found")));
    }
    Ok(info)
}

/// The authorizer, if the caller may change it.
pub(super) async fn writable(
    state: &AdminState,
    caller: &Caller,
    appid: &str,
) -> Result<AuthorizerInfo, Problem> {
    let info = visible(state, caller, appid).await?;
    may_change(caller, &info)?;
    Ok(info)
}

/// Whether the caller may change the authorizer, or make tpgate call
/// WeChat for it: its tenant's writers, or platform_admin.
pub(super) fn may_change(caller: &Caller, info: &AuthorizerInfo) -> Result<(), Problem> {
    match info.tenant_id.as_deref() {
        Some(tenant) => caller.require_tenant_write(tenant),
        None => caller.require_platform_write(),
    }
}
