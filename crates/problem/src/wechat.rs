//! WeChat's errcodes and the domain errors of `wechat-api` and
//! `tenant-auth` as problem+json: the one place they are mapped (see the
//! crate docs for which error goes where).
use poem::http::StatusCode;
use tenant_auth::{AuthError, WechatError};
use wechat_api::{ValidationError, errcode};

use crate::Problem;

/// A seed-rule violation found before calling WeChat: 400 naming the field
/// and the errcode it prevented.
impl From<ValidationError> for Problem {
    fn from(err: ValidationError) -> Self {
        Problem::validation(err.field, err.message).with_prevented_errcode(err.errcode)
    }
}

/// The HTTP status for a WeChat errcode: the caller's mistake (4xx) or
/// WeChat's trouble (5xx), so clients can decide whether to retry.
pub fn status_for_errcode(code: i64) -> StatusCode {
    match code {
        // The payment order or waybill does not exist (for this Mini Program).
        // 40199: the logistics helper knows no such waybill.
        10060001 | 268546002 | 9300559 | 40199 => StatusCode::NOT_FOUND,
        // Order state forbids it: already shipped, re-shipment used, not shippable,
        // nothing changed, reminder already used, not shipped yet.
        // The waybill's goods were modified too often.
        // The helper's order_id was used already; its waybill is already
        // cancelled, or collected and so no longer cancellable.
        10060002 | 10060003 | 10060004 | 10060023 | 10060028 | 10060030 | 10060032 | 9300560
        | 9300522 | 9300524 | 9300506 => StatusCode::CONFLICT,
        // Quota / frequency limits.
        45009 | 45011 | 44990 | 9300513 => StatusCode::TOO_MANY_REQUESTS,
        // Permission set or authorization missing.
        48001 | 61003 | 61007 => StatusCode::FORBIDDEN,
        // WeChat is busy: retry later.
        -1 | 10060012 | 10060019 => StatusCode::SERVICE_UNAVAILABLE,
        // Platform configuration problems (IP whitelist, bad component, tokens
        // still rejected after one refresh): not the tenant's fault.
        61004 | 61005 | 61006 | 61011 | 40001 | 40014 | 42001 | 41001 => StatusCode::BAD_GATEWAY,
        // Everything else WeChat rejects is about the request's content.
        _ => StatusCode::BAD_REQUEST,
    }
}

/// WeChat's error as problem+json: the status from [`status_for_errcode`],
/// the errcode's meaning and the seed's advice as `detail`, WeChat's errcode,
/// errmsg and rid as extension members.
pub fn wechat_problem(code: i64, errmsg: &str) -> Problem {
    let status = status_for_errcode(code);
    let meaning = errcode::describe(code).unwrap_or("WeChat rejected the request");
    let detail = match errcode::advice(code) {
        Some(advice) => format!("WeChat errcode {code}: {meaning}. {advice}"),
        None => format!("WeChat errcode {code}: {meaning}"),
    };
    let mut p = Problem::new(status, "wechat-error", "WeChat rejected the request")
        .with_detail(detail)
        .with_wechat(code, errmsg);
    if status == StatusCode::TOO_MANY_REQUESTS {
        p = p.with_retry_after(seconds_to_shanghai_midnight_or_minute(code));
    }
    p
}

/// WeChat's daily quotas (45009, 9300513) reset at midnight in China; the
/// others are per-minute frequency controls.
fn seconds_to_shanghai_midnight_or_minute(code: i64) -> u64 {
    if matches!(code, 45009 | 9300513) {
        let (_, reset) = ratelimit::Window::Day.current(chrono::Utc::now());
        u64::try_from(reset).unwrap_or(60)
    } else {
        60
    }
}

/// Tenant authorization's errors. Pushes WeChat sent badly are 400
/// (`push-rejected`, never echoing the push); what tpgate could not do now
/// is 5xx, so WeChat retries a push and a client retries a call.
impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        auth_problem(err)
    }
}

fn push_rejected(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "push-rejected", "Push rejected").with_detail(detail)
}

fn auth_problem(err: AuthError) -> Problem {
    match err {
        AuthError::PushCrypto(e) => push_rejected(format!("{e} ({})", e.code())),
        e @ (AuthError::PushContent(_)
        | AuthError::PushWrongComponent { .. }
        | AuthError::PushWrongAccount { .. }
        | AuthError::PushOutsideWindow { .. }) => push_rejected(e.to_string()),
        AuthError::Store(e) => Problem::from(e),
        AuthError::Wechat(WechatError::Api { errcode, errmsg }) => {
            // A platform-level call (component or authorizer token,
            // query_auth …): WeChat's text can name the platform's egress
            // IP or configuration, which is the operator's business. The
            // tenant gets the errcode, its meaning and the rid; the text is
            // logged.
            tracing::warn!(errcode, errmsg = %crate::bounded(errmsg.clone(), 200), "platform-level WeChat call refused");
            let rid = errmsg
                .rsplit_once("rid:")
                .map(|(_, rid)| rid.trim().to_owned())
                .unwrap_or_default();
            wechat_problem(
                errcode,
                &format!("(WeChat's text withheld: a platform-level call) rid: {rid}"),
            )
        }
        AuthError::Wechat(e) => {
            tracing::warn!(error = %e, "WeChat call failed");
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "wechat-unreachable",
                "WeChat unavailable",
            )
            .with_detail("WeChat could not be reached or answered unreadably; retry later")
        }
        AuthError::NoTicket => Problem::unavailable(
            "the platform has no component_verify_ticket yet; WeChat pushes one every 10 minutes",
        ),
        AuthError::LeaseTimeout { .. } => {
            tracing::warn!(error = %err, "token refresh by another replica took too long");
            Problem::unavailable(
                "the Mini Program's access token is being refreshed; retry in a few seconds",
            )
            .with_retry_after(5)
        }
        AuthError::RefreshCoolingDown {
            retry_after_secs, ..
        } => Problem::unavailable(
            "WeChat rejected the Mini Program's access token, which was refreshed moments ago; tpgate refreshes it again when the cool-down ends",
        )
        .with_retry_after(retry_after_secs),
        AuthError::AuthorizerNotFound(appid) => Problem::not_found(format!(
            "Mini Program {appid} has not authorized this platform"
        )),
        AuthError::LinkNotFound | AuthError::VisitNotFound => {
            Problem::not_found(err.to_string())
        }
        AuthError::LinkUnusable(_) | AuthError::TenantInactive => Problem::new(
            StatusCode::GONE,
            "onboarding-unavailable",
            "Onboarding not possible",
        )
        .with_detail(err.to_string()),
        AuthError::VisitCompleted => Problem::conflict(err.to_string()),
        AuthError::AuthorizerInactive { appid, status } => Problem::new(
            StatusCode::FORBIDDEN,
            "authorizer-inactive",
            "Mini Program authorization inactive",
        )
        .with_detail(format!(
            "Mini Program {appid} is {status}; its administrator must authorize the platform again"
        )),
        AuthError::LeaseLost(_) => Problem::unavailable(
            "the access token was being refreshed by another replica; retry in a few seconds",
        )
        .with_retry_after(1),
        AuthError::InjectedCrash => {
            tracing::error!(error = %err, "unexpected tenant-auth error");
            Problem::internal()
        }
    }
}

/// The errcodes an API answers for what is not the caller's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostErrcodes {
    /// Its quota is used up: 45009, or 9300513 for the logistics-query plugin.
    pub quota: i64,
    /// tpgate could not get an answer: -1 (SDKs resend on it, which is
    /// safe for a read), or for a shipping write, whose outcome is then
    /// unknown, the seed's own "system error" 10060012, which SDKs do not
    /// resend by themselves (WxJava resends -1 up to five times: a resent
    /// upload could spend the order's one re-shipment).
    pub server_error: i64,
}

/// What tpgate's WeChat-compatible host answers instead of a problem, in
/// WeChat's shape (`errcode`, `errmsg`): WeChat's own errcode and errmsg
/// when WeChat answered (its `rid` included), else the errcode WeChat
/// answers for the same mistake, with tpgate's explanation in the errmsg.
/// `codes` are the API's own: what its quota answers, and what tpgate's own
/// failures (WeChat unreachable, no answer in time) answer.
pub fn wechat_error(body: &crate::ProblemBody, codes: HostErrcodes) -> (i64, String) {
    if let Some(code) = body.wechat_errcode {
        return (code, body.wechat_errmsg.clone().unwrap_or_default());
    }
    let why = body.detail.as_deref().unwrap_or(&body.title);
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = if let Some(code) = body.prevents_errcode {
        code
    } else if body.required_permission_sets.is_some() {
        // What WeChat answers a platform whose authorizer has not granted
        // the permission set (protocol.md §9's table).
        errcode::API_UNAUTHORIZED_TO_COMPONENT
    } else {
        match status {
            StatusCode::TOO_MANY_REQUESTS => codes.quota,
            StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND | StatusCode::GONE => {
                errcode::INVALID_CREDENTIAL
            }
            StatusCode::FORBIDDEN => errcode::API_UNAUTHORIZED,
            s if s.is_client_error() => errcode::DATA_FORMAT_ERROR,
            _ => codes.server_error,
        }
    };
    (code, explained(code, why))
}

/// The errmsg of a refusal tpgate makes in WeChat's shape: the errcode's
/// meaning, then tpgate's words.
pub fn explained(code: i64, why: impl std::fmt::Display) -> String {
    let meaning = errcode::describe(code).unwrap_or("refused");
    format!("{meaning} (tpgate: {why})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshipment_exhausted_is_conflict_with_errcode() {
        let p = wechat_problem(10060003, "used rid: 1-2-3");
        assert_eq!(p.status(), StatusCode::CONFLICT);
        assert_eq!(p.body().wechat_errcode, Some(10060003));
        assert_eq!(p.body().wechat_errmsg.as_deref(), Some("used rid: 1-2-3"));
    }

    #[test]
    fn statuses_split_caller_and_wechat_faults() {
        assert_eq!(status_for_errcode(10060001), StatusCode::NOT_FOUND);
        assert_eq!(status_for_errcode(-1), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for_errcode(45009), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status_for_errcode(48001), StatusCode::FORBIDDEN);
        assert_eq!(status_for_errcode(268485216), StatusCode::BAD_REQUEST);
        assert_eq!(status_for_errcode(9300513), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status_for_errcode(9300560), StatusCode::CONFLICT);
        assert_eq!(status_for_errcode(9300559), StatusCode::NOT_FOUND);
        assert_eq!(status_for_errcode(40199), StatusCode::NOT_FOUND);
        assert_eq!(status_for_errcode(9300522), StatusCode::CONFLICT);
    }

    const READ: HostErrcodes = HostErrcodes {
        quota: 45009,
        server_error: -1,
    };

    #[test]
    fn problems_become_the_errcode_wechat_answers_for_the_same_mistake() {
        let answered = wechat_problem(10060003, "reshipment used rid: 1-2-3");
        assert_eq!(
            wechat_error(answered.body(), READ),
            (10060003, "reshipment used rid: 1-2-3".to_owned())
        );
        let rule = Problem::validation("shipping_list", "one item in unified mode")
            .with_prevented_errcode(268485228);
        let (code, msg) = wechat_error(rule.body(), READ);
        assert_eq!(code, 268485228);
        assert!(
            msg.contains("tpgate: ") && msg.contains("one item"),
            "{msg}"
        );
        let sets = Problem::forbidden("set 142 missing").with_required_sets(vec![142]);
        assert_eq!(wechat_error(sets.body(), READ).0, 61007);
        let limited = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Rate limited",
        );
        assert_eq!(wechat_error(limited.body(), READ).0, 45009);
        assert_eq!(
            wechat_error(
                limited.body(),
                HostErrcodes {
                    quota: 9300513,
                    ..READ
                }
            )
            .0,
            9300513
        );
        assert_eq!(
            wechat_error(Problem::forbidden("scope").body(), READ).0,
            48001
        );
        assert_eq!(
            wechat_error(Problem::unauthorized("key").body(), READ).0,
            40001
        );
        assert_eq!(
            wechat_error(Problem::bad_request("json").body(), READ).0,
            47001
        );
        assert_eq!(wechat_error(Problem::internal().body(), READ).0, -1);
        let write = HostErrcodes {
            server_error: 10060012,
            ..READ
        };
        assert_eq!(wechat_error(Problem::internal().body(), write).0, 10060012);
        // WeChat's own -1 passes as WeChat sent it.
        assert_eq!(wechat_error(wechat_problem(-1, "busy").body(), write).0, -1);
    }

    #[test]
    fn every_seed_errcode_maps_with_a_detail() {
        for code in errcode::ALL {
            let p = wechat_problem(*code, "boom rid: 1a2b3c4d-5e6f7a8b-9c0d1e2f");
            assert!(p.status().is_client_error() || p.status().is_server_error());
            assert_eq!(p.body().wechat_errcode, Some(*code));
            assert_eq!(
                p.body().wechat_rid.as_deref(),
                Some("1a2b3c4d-5e6f7a8b-9c0d1e2f")
            );
            let detail = p.body().detail.clone().unwrap_or_default();
            assert!(detail.contains(&code.to_string()), "{code}: {detail}");
        }
    }

    #[test]
    fn platform_level_wechat_texts_are_withheld_from_tenants() {
        let p = Problem::from(AuthError::Wechat(WechatError::Api {
            errcode: 61004,
            errmsg: "access clientip is not registered, requestIP: 203.0.113.7 rid: 6f1e-22".into(),
        }));
        let body = serde_json::to_string(p.body()).unwrap();
        assert!(!body.contains("203.0.113.7"), "{body}");
        assert_eq!(p.body().wechat_errcode, Some(61004));
        assert_eq!(p.body().wechat_rid.as_deref(), Some("6f1e-22"));
    }

    #[test]
    fn wechat_quota_is_429_until_shanghai_midnight() {
        let p = wechat_problem(9300513, "quota");
        assert_eq!(p.status(), StatusCode::TOO_MANY_REQUESTS);
        let minute = wechat_problem(45011, "busy");
        assert_eq!(minute.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
