//! Rate-limit policies (the operator's overrides of the seed defaults) and
//! usage per appid / user / day.
use chrono::{NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use ratelimit::{ApiGroup, Dimension, Policy, PolicyError, Scope, Window};

use serde_json::json;

use super::{AdminTags, Change, audited};
use crate::{AdminState, auth::AdminAuth};

/// A limit: at most `max_calls` calls of an API group per dimension per window.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RateLimitPolicy {
    /// Policy id; `default:…` for a built-in default (not deletable; override it instead).
    #[oai(read_only)]
    pub id: String,
    /// `shipping`, `logistics_plugin`, `logistics_helper` or `raw`.
    pub api_group: String,
    /// `appid` (one Mini Program), `user` (one openid of one Mini Program) or `tenant` (all of a tenant's Mini Programs).
    pub dimension: String,
    /// `day` (midnight to midnight, Asia/Shanghai), `hour` or `minute`.
    pub window: String,
    /// `global`, `tenant:<tenant id>` or `appid:<appid>`; the most specific applies.
    pub scope: String,
    /// Calls allowed per window (0 blocks the group).
    pub max_calls: i64,
}

/// A policy to create, or to replace (same group, dimension, window and scope).
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct NewRateLimitPolicy {
    /// `shipping`, `logistics_plugin`, `logistics_helper` or `raw`.
    pub api_group: String,
    /// `appid`, `user` or `tenant`.
    pub dimension: String,
    /// `day` (Asia/Shanghai), `hour` or `minute`.
    pub window: String,
    /// `global`, `tenant:<tenant id>` or `appid:<appid>`.
    pub scope: String,
    /// Calls allowed per window, 0 to 1 000 000 000.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub max_calls: i64,
}

impl poem_openapi::types::Example for NewRateLimitPolicy {
    fn example() -> Self {
        Self {
            api_group: "logistics_plugin".into(),
            dimension: "user".into(),
            window: "day".into(),
            scope: "appid:wx1234567890abcdef".into(),
            max_calls: 50,
        }
    }
}

/// All policies in force.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RateLimitPolicyList {
    pub items: Vec<RateLimitPolicy>,
}

/// Calls counted for one API group on one day.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GroupUsage {
    pub api_group: String,
    /// Calls by the appid.
    pub appid_calls: u64,
    /// Calls by the user, when `openid` was given (counted for groups with a per-user limit).
    #[oai(skip_serializing_if_is_none)]
    pub user_calls: Option<u64>,
}

/// Usage of one appid (and optionally one user) on one Shanghai calendar day.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UsageReport {
    pub appid: String,
    #[oai(skip_serializing_if_is_none)]
    pub openid: Option<String>,
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub date: String,
    pub groups: Vec<GroupUsage>,
}

#[derive(ApiResponse)]
enum ListPoliciesResponse {
    /// The built-in defaults and the operator's policies.
    #[oai(status = 200)]
    Ok(Json<RateLimitPolicyList>),
}

#[derive(ApiResponse)]
enum PutPolicyResponse {
    /// The policy as stored; it applies at once on this replica and within 30 s on the others.
    #[oai(status = 200)]
    Ok(Json<RateLimitPolicy>),
}

#[derive(ApiResponse)]
enum DeletePolicyResponse {
    /// Deleted; the next less specific policy (or the default) applies again.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
enum UsageResponse {
    /// Calls counted per API group.
    #[oai(status = 200)]
    Ok(Json<UsageReport>),
}

fn to_dto(id: String, p: &Policy) -> RateLimitPolicy {
    RateLimitPolicy {
        id,
        api_group: p.group.as_str().to_owned(),
        dimension: p.dimension.as_str().to_owned(),
        window: p.window.as_str().to_owned(),
        scope: p.scope.to_string(),
        max_calls: i64::try_from(p.max_calls).unwrap_or(i64::MAX),
    }
}

fn invalid(e: PolicyError) -> Problem {
    Problem::validation(e.field, e.message)
}

pub struct RateLimitsApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "AdminTags::RateLimits")]
impl RateLimitsApi {
    /// List rate-limit policies
    ///
    /// The seed defaults (logistics-query plugin: 100 000 calls/day per appid,
    /// 100/day per user) and every override.
    #[oai(
        path = "/rate-limit-policies",
        method = "get",
        operation_id = "list_rate_limit_policies"
    )]
    async fn list_policies(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
    ) -> Result<ListPoliciesResponse, Problem> {
        auth.0.require_platform_read()?;
        let mut items: Vec<RateLimitPolicy> = ratelimit::policy::defaults()
            .iter()
            .map(|p| to_dto(format!("default:{}", p.name()), p))
            .collect();
        for row in state.store.list_rate_limit_policies().await? {
            items.push(RateLimitPolicy {
                id: row.id,
                api_group: row.api_group,
                dimension: row.dimension,
                window: row.window,
                scope: row.scope,
                max_calls: row.max_calls,
            });
        }
        Ok(ListPoliciesResponse::Ok(Json(RateLimitPolicyList {
            items,
        })))
    }

    /// Create or replace a rate-limit policy
    #[oai(
        path = "/rate-limit-policies",
        method = "put",
        operation_id = "put_rate_limit_policy"
    )]
    async fn put_policy(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        body: Json<Checked<NewRateLimitPolicy>>,
    ) -> Result<PutPolicyResponse, Problem> {
        auth.0.require_platform_write()?;
        let b = body.0.0;
        let policy = Policy {
            group: b.api_group.parse::<ApiGroup>().map_err(invalid)?,
            dimension: b.dimension.parse::<Dimension>().map_err(invalid)?,
            window: b.window.parse::<Window>().map_err(invalid)?,
            scope: b.scope.parse::<Scope>().map_err(invalid)?,
            max_calls: u64::try_from(b.max_calls)
                .map_err(|_| Problem::validation("max_calls", "must be 0 or more"))?,
        };
        let stored = store::rate_limits::PolicyRow {
            api_group: policy.group.as_str().to_owned(),
            dimension: policy.dimension.as_str().to_owned(),
            window: policy.window.as_str().to_owned(),
            scope: policy.scope.to_string(),
            max_calls: b.max_calls,
        };
        let row = audited(
            &state,
            &auth.0,
            |s| async move { s.upsert_rate_limit_policy(&stored).await },
            |row| {
                [Change {
                    action: "rate_limit_policy.put",
                    target_type: "rate_limit_policy",
                    target_id: row.id.clone(),
                    tenant_id: match &policy.scope {
                        Scope::Tenant(t) => Some(t.clone()),
                        _ => None,
                    },
                    detail: json!({ "policy": policy.name(), "scope": policy.scope.to_string(), "max_calls": policy.max_calls }),
                }]
            },
        )
        .await?;
        state.limiter.reload().await?;
        Ok(PutPolicyResponse::Ok(Json(to_dto(row.id, &policy))))
    }

    /// Delete a rate-limit policy
    #[oai(
        path = "/rate-limit-policies/:id",
        method = "delete",
        operation_id = "delete_rate_limit_policy"
    )]
    async fn delete_policy(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Policy id (built-in defaults cannot be deleted; override them).
        id: Path<String>,
    ) -> Result<DeletePolicyResponse, Problem> {
        auth.0.require_platform_write()?;
        let policy_id = id.0.clone();
        audited(
            &state,
            &auth.0,
            |s| async move {
                s.delete_rate_limit_policy(&policy_id)
                    .await?
                    .ok_or_else(|| {
                        Problem::not_found(format!("rate-limit policy {policy_id} not found"))
                    })
            },
            |deleted| {
                [Change {
                    action: "rate_limit_policy.delete",
                    target_type: "rate_limit_policy",
                    target_id: deleted.id.clone(),
                    // Filed under the policy's tenant, when it was a tenant's.
                    tenant_id: deleted.scope.strip_prefix("tenant:").map(str::to_owned),
                    detail: json!({}),
                }]
            },
        )
        .await?;
        state.limiter.reload().await?;
        Ok(DeletePolicyResponse::Deleted)
    }

    /// Usage of an appid (and a user) on a day
    ///
    /// Calls tpgate let through to WeChat per API group on one Asia/Shanghai
    /// calendar day (kept 7 days). A tenant_admin sees only its own Mini Programs.
    #[oai(path = "/usage", method = "get", operation_id = "get_usage")]
    async fn usage(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// The Mini Program's appid.
        appid: Query<String>,
        /// A user's openid, for per-user counts.
        openid: Query<Option<String>>,
        /// `YYYY-MM-DD` (Asia/Shanghai); default today.
        date: Query<Option<String>>,
    ) -> Result<UsageResponse, Problem> {
        // Unknown and not-yours are the same 404.
        let visible = state
            .store
            .authorizer(&appid)
            .await?
            .is_some_and(|a| auth.0.can_see(a.tenant_id.as_deref()));
        if !visible {
            return Err(Problem::not_found(format!(
                "Mini Program {} not found",
                appid.0
            )));
        }
        let now = Utc::now();
        let day = match date.0.as_deref() {
            None => ratelimit::policy::shanghai_today(now),
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| Problem::validation("date", "must be a date like 2026-11-23"))?,
        };
        let openid = openid.0.filter(|o| !o.is_empty());
        let usage = state
            .limiter
            .usage(&appid, openid.as_deref(), day, now)
            .await;
        Ok(UsageResponse::Ok(Json(UsageReport {
            appid: appid.0,
            openid,
            date: day.format("%Y-%m-%d").to_string(),
            groups: usage
                .into_iter()
                .map(|u| GroupUsage {
                    api_group: u.group.as_str().to_owned(),
                    appid_calls: u.appid_calls,
                    user_calls: u.user_calls,
                })
                .collect(),
        })))
    }
}
