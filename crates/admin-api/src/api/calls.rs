//! The call log: every call tpgate made to WeChat (or refused to make),
//! newest first, and the call counts the health views are made of.
//!
//! A tenant_admin sees the calls made for its tenant. A component-level
//! call's errmsg (made with the platform's own token, it can name the
//! platform's egress IP or configuration) is shown to platform roles only.
use std::collections::BTreeMap;

use chrono::DurationRound as _;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::Problem;
use store::calls::{
    CallCount, CallEntry, CallFilter, CallOutcome as Stored, CountScope, GroupCount,
};

use super::{AdminTags, Page, PageItem, Paging};
use crate::{
    AdminState,
    auth::{AdminAuth, Caller},
    jwt::Role,
};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CallOutcome {
    /// WeChat answered errcode 0.
    Ok,
    /// tpgate refused it before WeChat: the caller's input or permission sets (not sent).
    Invalid,
    /// tpgate's rate limit refused it (not sent).
    RateLimited,
    /// Not sent for another reason: no usable token, authorization revoked… (not sent).
    NotSent,
    /// WeChat answered a non-zero errcode.
    WechatRefused,
    /// WeChat could not be reached, answered an HTTP error, an unreadable answer or `-1` (system busy).
    WechatFailed,
    /// No answer in time: for a write, WeChat may or may not have acted.
    Timeout,
}

impl From<Stored> for CallOutcome {
    fn from(o: Stored) -> Self {
        match o {
            Stored::Ok => Self::Ok,
            Stored::Invalid => Self::Invalid,
            Stored::RateLimited => Self::RateLimited,
            Stored::NotSent => Self::NotSent,
            Stored::WechatRefused => Self::WechatRefused,
            Stored::WechatFailed => Self::WechatFailed,
            Stored::Timeout => Self::Timeout,
        }
    }
}

impl From<CallOutcome> for Stored {
    fn from(o: CallOutcome) -> Self {
        match o {
            CallOutcome::Ok => Self::Ok,
            CallOutcome::Invalid => Self::Invalid,
            CallOutcome::RateLimited => Self::RateLimited,
            CallOutcome::NotSent => Self::NotSent,
            CallOutcome::WechatRefused => Self::WechatRefused,
            CallOutcome::WechatFailed => Self::WechatFailed,
            CallOutcome::Timeout => Self::Timeout,
        }
    }
}

/// One call tpgate made to WeChat, or refused to make.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Call {
    /// Call id (ordered by time).
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// The id of the request that caused it (`X-Request-Id`); absent for tpgate's own background work.
    pub request_id: Option<String>,
    /// The tenant it was made for; absent for tpgate's own calls outside a tenant's request.
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    /// The operationId of a typed API, else WeChat's path.
    pub api: String,
    /// 1 for the first try; a retry is a call of its own.
    pub attempt: u32,
    /// Whether it reached WeChat.
    pub sent: bool,
    pub outcome: CallOutcome,
    /// The HTTP status tpgate answered the request with.
    pub status: Option<u16>,
    /// WeChat's errcode, when it answered one other than 0.
    pub errcode: Option<i64>,
    /// WeChat's errmsg (or why the call failed). A component-level call's is shown to platform roles only.
    pub errmsg: Option<String>,
    /// WeChat's request id, for WeChat support.
    pub rid: Option<String>,
    pub latency_ms: u32,
    pub idempotency_key: Option<String>,
    /// Made with the platform's own token (tokens, authorization) rather than the Mini Program's.
    pub component_level: bool,
    /// What was sent, when the tenant captures bodies (writes only; bounded, never a token).
    pub request_body: Option<String>,
    /// What WeChat answered, when the tenant captures bodies.
    pub response_body: Option<String>,
}

impl PageItem for Call {
    const PAGE: &'static str = "CallPage";
    const NEWEST_FIRST: bool = true;
}

/// Whether the caller may read what WeChat said to a component-level call.
pub(crate) fn sees_component_errmsg(caller: &Caller) -> bool {
    matches!(caller.role, Role::PlatformAdmin | Role::PlatformViewer)
}

impl Call {
    pub(crate) fn for_caller(entry: CallEntry, caller: &Caller) -> Self {
        let c = entry.call;
        let errmsg = c
            .errmsg
            .filter(|_| !c.component_level || sees_component_errmsg(caller));
        Self {
            id: entry.id,
            occurred_at: c.occurred_at,
            request_id: c.request_id,
            tenant_id: c.tenant_id.map(Into::into),
            appid: c.appid.map(Into::into),
            api: c.api,
            attempt: c.attempt,
            sent: c.outcome.sent(),
            outcome: c.outcome.into(),
            status: c.status,
            errcode: c.errcode,
            errmsg,
            rid: c.rid,
            latency_ms: c.latency_ms,
            idempotency_key: c.idempotency_key,
            component_level: c.component_level,
            request_body: c.request_body,
            response_body: c.response_body,
        }
    }
}

/// Calls of one API that ended one way.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiCallCount {
    /// operationId or WeChat path.
    pub api: String,
    pub outcome: CallOutcome,
    pub calls: u64,
}

/// Calls in a window: how many, how many reached WeChat, how many failed there.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CallTotals {
    pub calls: u64,
    /// Calls that reached WeChat.
    pub sent: u64,
    /// Sent calls WeChat refused, failed or did not answer in time.
    pub errors: u64,
    /// `errors / sent`, 0–1; absent when nothing was sent.
    pub error_rate: Option<f64>,
}

impl CallTotals {
    pub(crate) fn of(counts: &[CallCount]) -> Self {
        let sum = |keep: fn(Stored) -> bool| {
            counts
                .iter()
                .filter(|c| keep(c.outcome))
                .map(|c| c.calls)
                .sum::<u64>()
        };
        let sent = sum(Stored::sent);
        let errors = sum(Stored::is_error);
        Self {
            calls: sum(|_| true),
            sent,
            errors,
            error_rate: rate(errors, sent),
        }
    }
}

/// `errors / sent`, none when nothing was sent.
pub(crate) fn rate(errors: u64, sent: u64) -> Option<f64> {
    // Counts stay far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    (sent > 0).then(|| errors as f64 / sent as f64)
}

/// A window's calls, in total and by API and outcome.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CallWindow {
    pub calls: u64,
    /// Calls that reached WeChat.
    pub sent: u64,
    /// Sent calls WeChat refused, failed or did not answer in time.
    pub errors: u64,
    /// `errors / sent`, 0–1; absent when nothing was sent.
    pub error_rate: Option<f64>,
    /// By API, then outcome.
    pub by_api: Vec<ApiCallCount>,
}

impl CallWindow {
    pub(crate) fn of(counts: Vec<CallCount>) -> Self {
        let totals = CallTotals::of(&counts);
        // One order whatever the database's collation.
        let by_api: BTreeMap<(String, Stored), u64> = counts
            .into_iter()
            .map(|c| ((c.api, c.outcome), c.calls))
            .collect();
        Self {
            calls: totals.calls,
            sent: totals.sent,
            errors: totals.errors,
            error_rate: totals.error_rate,
            by_api: by_api
                .into_iter()
                .map(|((api, outcome), calls)| ApiCallCount {
                    api,
                    outcome: outcome.into(),
                    calls,
                })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
enum ListCallsResponse {
    /// Calls, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Call>>),
}

#[derive(ApiResponse)]
enum CallResponse {
    /// The call.
    #[oai(status = 200)]
    Ok(Json<Call>),
}

/// Empty means "no filter", as in the other listings.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

pub struct CallsApi;

#[OpenApi(prefix_path = "/admin/v1/calls", tag = "AdminTags::Calls")]
impl CallsApi {
    /// List calls to WeChat
    ///
    /// Every call tpgate made to WeChat, or refused to make (`sent` false),
    /// newest first. A tenant_admin sees its tenant's calls; the errmsg of a
    /// component-level call is shown to platform roles only. Calls are kept
    /// for the retention period (14 days by default).
    #[oai(path = "/", method = "get", operation_id = "list_calls")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_calls(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only calls made for this tenant.
        #[oai(validator(max_length = 64))]
        tenant_id: Query<Option<String>>,
        /// Only calls for this Mini Program.
        #[oai(validator(max_length = 64))]
        appid: Query<Option<String>>,
        /// Only calls of this API: an operationId (e.g. `upload_shipping_info`) or a WeChat path.
        #[oai(validator(max_length = 256))]
        api: Query<Option<String>>,
        /// Only calls that ended this way.
        outcome: Query<Option<CallOutcome>>,
        /// Only calls WeChat answered with this errcode.
        errcode: Query<Option<i64>>,
        /// Only calls caused by this request (`X-Request-Id`).
        #[oai(validator(max_length = 64))]
        request_id: Query<Option<String>>,
        /// Only calls at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only calls before this time (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListCallsResponse, Problem> {
        let scope = auth.0.tenant_scope(given(tenant_id.0))?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        if let (Some(since), Some(until)) = (since.0, until.0)
            && until <= since
        {
            return Err(Problem::validation("until", "must be later than since"));
        }
        let filter = CallFilter {
            tenant_id: scope,
            appid: given(appid.0),
            api: given(api.0),
            outcome: outcome.0.map(Into::into),
            errcode: errcode.0,
            request_id: given(request_id.0),
            since: since.0,
            until: until.0,
        };
        let rows = state
            .store
            .list_calls(&filter, paging.after(), paging.fetch())
            .await?;
        let caller = &auth.0;
        let page = paging
            .page(rows, |c| &c.id)
            .map(|c| Call::for_caller(c, caller));
        Ok(ListCallsResponse::Ok(Json(page)))
    }

    /// Get a call to WeChat
    #[oai(path = "/:call_id", method = "get", operation_id = "get_call")]
    async fn get_call(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Call id.
        #[oai(validator(max_length = 64))]
        call_id: Path<String>,
    ) -> Result<CallResponse, Problem> {
        let not_found = || Problem::not_found(format!("call {} not found", call_id.0));
        let call = state.store.call(&call_id).await?.ok_or_else(not_found)?;
        let tenant = call.call.tenant_id.as_ref().map(|t| t.as_str());
        if !auth.0.can_see(tenant) {
            return Err(not_found());
        }
        Ok(CallResponse::Ok(Json(Call::for_caller(call, &auth.0))))
    }
}

/// How [`CallStatsApi`] groups calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CallGrouping {
    /// One group per hour (`key`: the hour's start, RFC 3339), hours without calls included.
    Hour,
    /// One group per Mini Program (`key`: its appid), most errors first.
    Appid,
}

/// Calls of one group.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CallGroup {
    /// The hour's start (RFC 3339) or the appid.
    pub key: String,
    pub calls: u64,
    /// Calls that reached WeChat.
    pub sent: u64,
    /// Sent calls WeChat refused, failed or did not answer in time.
    pub errors: u64,
    /// `errors / sent`, 0–1; absent when nothing was sent.
    pub error_rate: Option<f64>,
}

impl<K> From<(String, &GroupCount<K>)> for CallGroup {
    fn from((key, g): (String, &GroupCount<K>)) -> Self {
        Self {
            key,
            calls: g.calls,
            sent: g.sent,
            errors: g.errors,
            error_rate: rate(g.errors, g.sent),
        }
    }
}

/// Call counts over a window, grouped.
#[derive(Debug, Clone, Object)]
pub struct CallStats {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub group_by: CallGrouping,
    pub groups: Vec<CallGroup>,
}

#[derive(ApiResponse)]
enum CallStatsResponse {
    /// The counts.
    #[oai(status = 200)]
    Ok(Json<CallStats>),
}

/// The longest window counted at once.
const MAX_STATS_WINDOW_DAYS: i64 = 31;

/// Every hour from `since`'s to the one before `until`, with the counted
/// ones filled in (a chart's x axis has no holes).
fn every_hour(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    counted: &[GroupCount<DateTime<Utc>>],
) -> Vec<CallGroup> {
    let hour = chrono::Duration::hours(1);
    let mut at = since.duration_trunc(hour).unwrap_or(since);
    let mut out = Vec::new();
    while at < until {
        let key = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        out.push(match counted.iter().find(|g| g.key == at) {
            Some(g) => CallGroup::from((key, g)),
            None => CallGroup {
                key,
                calls: 0,
                sent: 0,
                errors: 0,
                error_rate: None,
            },
        });
        at += hour;
    }
    out
}

pub struct CallStatsApi;

#[OpenApi(prefix_path = "/admin/v1/call-stats", tag = "AdminTags::Calls")]
impl CallStatsApi {
    /// Count calls to WeChat
    ///
    /// Calls in a window (default the last 24 hours, at most 31 days) per
    /// hour or per Mini Program, with how many reached WeChat and how many
    /// failed there: the overview's chart and the Mini Program table's
    /// errors. A tenant_admin counts its tenant's calls.
    #[oai(path = "/", method = "get", operation_id = "get_call_stats")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn get_call_stats(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Per hour or per Mini Program.
        group_by: Query<CallGrouping>,
        /// Only calls made for this tenant.
        #[oai(validator(max_length = 64))]
        tenant_id: Query<Option<String>>,
        /// Only calls for this Mini Program.
        #[oai(validator(max_length = 64))]
        appid: Query<Option<String>>,
        /// Start of the window (RFC 3339); default 24 hours before `until`.
        since: Query<Option<DateTime<Utc>>>,
        /// End of the window (RFC 3339); default now.
        until: Query<Option<DateTime<Utc>>>,
        /// With `group_by=appid`: at most this many Mini Programs, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
    ) -> Result<CallStatsResponse, Problem> {
        let tenant = auth.0.tenant_scope(given(tenant_id.0))?;
        let appid = given(appid.0);
        let until = until.0.unwrap_or_else(Utc::now);
        let since = since.0.unwrap_or(until - chrono::Duration::hours(24));
        if until <= since {
            return Err(Problem::validation("until", "must be later than since"));
        }
        if until - since > chrono::Duration::days(MAX_STATS_WINDOW_DAYS) {
            return Err(Problem::validation(
                "since",
                format!("the window may span at most {MAX_STATS_WINDOW_DAYS} days"),
            ));
        }
        let scope = CountScope {
            tenant_id: tenant.as_deref(),
            appid: appid.as_deref(),
            since,
            until,
        };
        let groups = match group_by.0 {
            CallGrouping::Hour => {
                every_hour(since, until, &state.store.calls_per_hour(scope).await?)
            }
            CallGrouping::Appid => state
                .store
                .calls_per_appid(scope, u64::from(limit.0.unwrap_or(100)))
                .await?
                .iter()
                .map(|g| CallGroup::from((g.key.to_string(), g)))
                .collect(),
        };
        Ok(CallStatsResponse::Ok(Json(CallStats {
            since,
            until,
            group_by: group_by.0,
            groups,
        })))
    }
}

#[cfg(test)]
mod tests {
    use store::calls::NewCall;

    use super::*;
    use crate::auth::Credential;

    fn caller(role: Role) -> Caller {
        Caller {
            subject: "s".into(),
            role,
            tenant_id: (role == Role::TenantAdmin).then(|| "t1".into()),
            credential: Credential::Jwt,
        }
    }

    fn entry(component_level: bool) -> CallEntry {
        CallEntry {
            id: "c1".into(),
            call: NewCall {
                occurred_at: Utc::now(),
                request_id: Some("r1".into()),
                tenant_id: Some("t1".into()),
                appid: Some("wx1".into()),
                api: "/cgi-bin/component/api_authorizer_token".into(),
                attempt: 1,
                outcome: Stored::WechatRefused,
                status: Some(502),
                errcode: Some(61004),
                errmsg: Some("access clientip 203.0.113.7 is not registered".into()),
                rid: Some("rid-1".into()),
                latency_ms: 5,
                idempotency_key: None,
                component_level,
                request_body: None,
                response_body: None,
            },
        }
    }

    #[test]
    fn component_level_errmsgs_are_for_platform_roles_only() {
        for role in [Role::PlatformAdmin, Role::PlatformViewer] {
            let call = Call::for_caller(entry(true), &caller(role));
            assert!(call.errmsg.is_some(), "{role:?}");
        }
        let tenant = caller(Role::TenantAdmin);
        let call = Call::for_caller(entry(true), &tenant);
        assert_eq!(call.errmsg, None);
        assert_eq!(
            (call.errcode, call.rid.as_deref()),
            (Some(61004), Some("rid-1"))
        );
        // The Mini Program's own calls keep their errmsg for its tenant.
        assert!(Call::for_caller(entry(false), &tenant).errmsg.is_some());
    }

    #[test]
    fn outcomes_map_both_ways_and_totals_count_sent_errors() {
        for o in Stored::ALL {
            assert_eq!(Stored::from(CallOutcome::from(o)), o);
        }
        let count = |api: &str, outcome, calls| CallCount {
            api: api.into(),
            outcome,
            calls,
        };
        let window = CallWindow::of(vec![
            count("get_order", Stored::Ok, 6),
            count("get_order", Stored::WechatFailed, 2),
            count("a_api", Stored::Invalid, 5),
        ]);
        assert_eq!((window.calls, window.sent, window.errors), (13, 8, 2));
        assert_eq!(window.error_rate, Some(0.25));
        assert_eq!(window.by_api[0].api, "a_api");
        assert_eq!(CallTotals::of(&[]).error_rate, None);
    }
}
