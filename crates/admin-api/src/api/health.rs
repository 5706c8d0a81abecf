//! A Mini Program's health at a glance: its calls to WeChat in the last
//! hour and day, the last error, its token, the permission sets it lacks,
//! its rate-limit usage and its trade-management state.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::Problem;
use store::{
    authorizers::{AuthorizerInfo, AuthorizerStatus as StoredStatus},
    calls::CallEntry,
    trade_management::TradeManagement,
};

use super::{
    AdminTags,
    authorizers::{
        AuthorizerStatus, PermissionSet, TokenState, may_change, permission_set, visible,
    },
    calls::{CallOutcome, CallWindow, sees_component_errmsg},
    rate_limits::GroupUsage,
};
use tenant_auth::api_permissions::PermissionMap;

use crate::{
    AdminState,
    auth::{AdminAuth, Caller},
    jwt::Role,
};

/// How old a cached trade-management state may get before tpgate asks
/// WeChat again when the health is read.
const TRADE_MANAGEMENT_MAX_AGE: chrono::Duration = chrono::Duration::days(1);

/// The latest call WeChat refused, failed or did not answer in time.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LastCallError {
    /// Call id (`GET /admin/v1/calls/{id}`).
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// operationId or WeChat path.
    pub api: String,
    pub outcome: CallOutcome,
    pub errcode: Option<i64>,
    /// A component-level call's is shown to platform roles only.
    pub errmsg: Option<String>,
    /// WeChat's request id.
    pub rid: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
}

impl LastCallError {
    fn for_caller(entry: CallEntry, caller: &Caller) -> Self {
        let c = entry.call;
        Self {
            id: entry.id,
            occurred_at: c.occurred_at,
            api: c.api,
            outcome: c.outcome.into(),
            errcode: c.errcode,
            errmsg: c
                .errmsg
                .filter(|_| !c.component_level || sees_component_errmsg(caller)),
            rid: c.rid,
            request_id: c.request_id,
        }
    }
}

/// WeChat APIs the Mini Program cannot call: it needs any one of `any_of`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MissingPermissionSets {
    /// The permission sets of which one would allow the APIs.
    pub any_of: Vec<PermissionSet>,
    /// The WeChat paths they allow.
    pub apis: Vec<String>,
}

/// A rate-limit policy that applies to the Mini Program, and its use.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RateLimitPolicyUsage {
    /// As in the `RateLimit-Policy` header, e.g. `logistics_plugin-appid-day`.
    pub name: String,
    pub api_group: String,
    /// `appid`, `user` or `tenant`.
    pub dimension: String,
    /// `day` (Asia/Shanghai), `hour` or `minute`.
    pub window: String,
    /// Where it comes from: `global`, `tenant:<id>` or `appid:<appid>`.
    pub scope: String,
    pub max_calls: u64,
    /// Calls counted in the current window; absent for a per-user policy (one count per user).
    pub used: Option<u64>,
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub resets_in_secs: i64,
}

/// Rate-limit usage today.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuthorizerRateLimits {
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub date: String,
    /// Calls let through to WeChat today, per API group.
    pub groups: Vec<GroupUsage>,
    /// Every policy in force for the Mini Program.
    pub policies: Vec<RateLimitPolicyUsage>,
}

/// What WeChat last said about the Mini Program's trade management.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TradeManagementState {
    /// `is_trade_managed`: the Mini Program has the shipping-information management service (and must upload shipping information). Absent until fetched.
    pub is_trade_managed: Option<bool>,
    /// `is_trade_management_confirmation_completed`: every merchant linked to it has authorized order management or been unlinked.
    pub confirmation_completed: Option<bool>,
    /// When the answers above were fetched from WeChat.
    pub fetched_at: Option<DateTime<Utc>>,
    /// When tpgate last asked: at most once a day, or on `refresh=true` (at most once a minute).
    pub attempted_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (the answers above are then from an earlier one).
    pub errcode: Option<i64>,
    pub error: Option<String>,
}

impl From<TradeManagement> for TradeManagementState {
    fn from(t: TradeManagement) -> Self {
        Self {
            is_trade_managed: t.is_trade_managed,
            confirmation_completed: t.confirmation_completed,
            fetched_at: t.fetched_at,
            attempted_at: t.attempted_at,
            errcode: t.errcode,
            error: t.error,
        }
    }
}

/// A Mini Program's health.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuthorizerHealth {
    pub appid: String,
    pub tenant_id: Option<String>,
    pub status: AuthorizerStatus,
    /// When these figures were read.
    pub as_of: DateTime<Utc>,
    /// Calls to WeChat in the last hour (a tenant_admin: those made for its tenant).
    pub last_hour: CallWindow,
    /// Calls to WeChat in the last 24 hours.
    pub last_24h: CallWindow,
    pub last_error: Option<LastCallError>,
    /// The access token's state (never its value); `refreshed_at` is the last refresh of any kind.
    pub token: TokenState,
    /// When the token was last replaced by force: WeChat rejected it, or an operator asked.
    pub last_forced_refresh_at: Option<DateTime<Utc>>,
    /// Granted permission sets.
    pub permission_sets: Vec<PermissionSet>,
    /// What the proxied APIs need and the Mini Program did not grant.
    pub missing_permission_sets: Vec<MissingPermissionSets>,
    pub rate_limits: AuthorizerRateLimits,
    pub trade_management: TradeManagementState,
    /// Paid orders reconciliation found waiting for shipment.
    pub shipping: ShippingState,
}

/// A Mini Program's paid orders waiting for shipment.
#[derive(Debug, Clone, Object)]
pub struct ShippingState {
    /// Waiting (see `GET /admin/v1/shipping/pending`).
    pub pending: i64,
    /// Waiting and announced overdue (`shipping.overdue`).
    pub overdue: i64,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The Mini Program's health.
    #[oai(status = 200)]
    Ok(Json<AuthorizerHealth>),
}

pub struct AuthorizerHealthApi;

#[OpenApi(prefix_path = "/admin/v1/authorizers", tag = "AdminTags::Authorizers")]
impl AuthorizerHealthApi {
    /// A Mini Program's health
    ///
    /// Its calls to WeChat in the last hour and 24 h by API and outcome with
    /// the error rate (errors over calls sent), the last error, the token's
    /// state, the permission sets granted and those the proxied APIs need
    /// but lack, rate-limit usage against each policy today, and the
    /// trade-management state WeChat reported (asked at most once a day;
    /// `refresh=true` asks now, which needs write access).
    #[oai(
        path = "/:appid/health",
        method = "get",
        operation_id = "get_authorizer_health"
    )]
    async fn health(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Path<String>,
        /// Ask WeChat for the trade-management state now (at most once a minute).
        refresh: Query<Option<bool>>,
    ) -> Result<HealthResponse, Problem> {
        let caller = &auth.0;
        let info = visible(&state, caller, &appid).await?;
        let refresh = refresh.0.unwrap_or(false);
        if refresh {
            // It spends the Mini Program's WeChat quota.
            may_change(caller, &info)?;
        }
        // A tenant's figures are the calls made for it, as its listing shows.
        let tenant = match caller.role {
            Role::TenantAdmin => caller.tenant_id.as_deref(),
            Role::PlatformAdmin | Role::PlatformViewer => None,
        };
        // Call ids follow the wall clock, so windows do too.
        let as_of = Utc::now();
        let counts = |since| state.store.count_calls(tenant, Some(&appid), since);
        let last_hour = CallWindow::of(counts(as_of - chrono::Duration::hours(1)).await?);
        let last_24h = CallWindow::of(counts(as_of - chrono::Duration::hours(24)).await?);
        let last_error = state
            .store
            .last_failed_call(tenant, &appid)
            .await?
            .map(|e| LastCallError::for_caller(e, caller));
        let missing = missing_permission_sets(&state.permissions, &info);
        let last_forced_refresh_at = state.store.last_forced_refresh(&appid).await?;
        let rate_limits = rate_limits(&state, &info).await;
        let trade_management = if info.status == StoredStatus::Active {
            state
                .auth
                .trade_management(&appid, TRADE_MANAGEMENT_MAX_AGE, refresh)
                .await?
        } else {
            // Not authorized any more: WeChat would refuse; show what is known.
            state
                .store
                .trade_management(&appid)
                .await?
                .unwrap_or_else(|| TradeManagement::unknown(&appid))
        };
        let shipping = state
            .store
            .count_pending_orders(&[appid.0.as_str()])
            .await?
            .remove(appid.0.as_str())
            .unwrap_or_default();
        Ok(HealthResponse::Ok(Json(AuthorizerHealth {
            appid: appid.0,
            tenant_id: info.tenant_id.clone().map(Into::into),
            status: info.status.into(),
            as_of,
            last_hour,
            last_24h,
            last_error,
            token: TokenState::of(&info),
            last_forced_refresh_at,
            permission_sets: info
                .funcscopes
                .iter()
                .map(|id| permission_set(*id))
                .collect(),
            missing_permission_sets: missing,
            rate_limits,
            trade_management: trade_management.into(),
            shipping: ShippingState {
                pending: shipping.pending,
                overdue: shipping.overdue,
            },
        })))
    }
}

/// The proxied APIs `info` did not grant a set for, grouped by the sets
/// that would allow them.
pub(super) fn missing_permission_sets(
    permissions: &PermissionMap,
    info: &AuthorizerInfo,
) -> Vec<MissingPermissionSets> {
    let mut groups: Vec<MissingPermissionSets> = Vec::new();
    let mut keys: Vec<&[i64]> = Vec::new();
    for (path, sets) in permissions.missing(&info.funcscopes) {
        match keys.iter().position(|k| *k == sets) {
            Some(i) => groups[i].apis.push(path.to_owned()),
            None => {
                keys.push(sets);
                groups.push(MissingPermissionSets {
                    any_of: sets.iter().map(|id| permission_set(*id)).collect(),
                    apis: vec![path.to_owned()],
                });
            }
        }
    }
    groups
}

async fn rate_limits(state: &AdminState, info: &AuthorizerInfo) -> AuthorizerRateLimits {
    // The clock the proxy counts with.
    let now = state.auth.clock().now();
    let today = ratelimit::policy::shanghai_today(now);
    let appid = info.appid.as_str();
    let groups = state
        .limiter
        .usage(appid, None, today, now)
        .await
        .into_iter()
        .map(|u| GroupUsage {
            api_group: u.group.as_str().to_owned(),
            appid_calls: u.appid_calls,
            user_calls: None,
        })
        .collect();
    let tenant = info.tenant_id.as_ref().map(|t| t.as_str());
    let policies = state
        .limiter
        .policy_usage(tenant, appid, now)
        .await
        .into_iter()
        .map(|u| RateLimitPolicyUsage {
            name: u.policy.name(),
            api_group: u.policy.group.as_str().to_owned(),
            dimension: u.policy.dimension.as_str().to_owned(),
            window: u.policy.window.as_str().to_owned(),
            scope: u.policy.scope.to_string(),
            max_calls: u.policy.max_calls,
            used: u.used,
            remaining: u.used.map(|used| u.policy.max_calls.saturating_sub(used)),
            resets_in_secs: u.reset_secs,
        })
        .collect();
    AuthorizerRateLimits {
        date: today.format("%Y-%m-%d").to_string(),
        groups,
        policies,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn info(funcscopes: &[i64]) -> AuthorizerInfo {
        AuthorizerInfo {
            appid: "wx1".into(),
            tenant_id: Some("t1".into()),
            status: StoredStatus::Active,
            funcscopes: funcscopes.iter().copied().collect::<BTreeSet<_>>(),
            access_token_expires_at: None,
            token_refreshed_at: None,
            nick_name: None,
            user_name: None,
            principal_name: None,
            last_used_at: None,
            authorized_at: Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn missing_sets_are_grouped_by_what_would_allow_them() {
        let defaults = PermissionMap::default();
        let missing = missing_permission_sets(&defaults, &info(&[142]));
        let ids = |m: &MissingPermissionSets| m.any_of.iter().map(|s| s.id).collect::<Vec<_>>();
        // 142 allows shipping and the delivery list; the plugin, the helper
        // and plugin management remain.
        assert_eq!(
            missing.iter().map(ids).collect::<Vec<_>>(),
            [vec![45], vec![45, 71], vec![40]]
        );
        assert!(
            missing[1]
                .apis
                .contains(&"/cgi-bin/express/business/order/add".to_owned())
        );
        assert!(missing_permission_sets(&defaults, &info(&[18, 45, 40])).is_empty());
        // The operator's overrides count.
        let overridden = PermissionMap::new(BTreeMap::from([("/wxa/plugin".to_owned(), vec![18])]));
        assert!(missing_permission_sets(&overridden, &info(&[18, 45])).is_empty());
    }
}
