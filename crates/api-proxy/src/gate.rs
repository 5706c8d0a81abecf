//! The gate every proxied call passes, in this order, stopping at the first
//! failure (only the last step spends WeChat quota):
//! 1. the tenant owns the appid (else 404: another tenant's appid looks
//!    exactly like an unknown one) and the authorization is active;
//! 2. the authorizer holds one of the path's permission sets (403);
//! 3. the body passes the seed rules (400 naming the field and the errcode);
//! 4. a write with `Idempotency-Key`: a repeat gets the stored answer;
//! 5. rate limits, all dimensions in one atomic step (429);
//! 6. the token, then WeChat: a token errcode forces one refresh and one
//!    retry (WeChat rejected the token before acting, so writes too); reads
//!    also retry `-1`, busy codes and timeouts with jittered backoff.
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use poem::http::StatusCode;
use problem::Problem;
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::{api_keys::KeyScope, authorizers::STATUS_ACTIVE, idempotency::Claim};
use tenant_auth::{AuthError, WechatClient, WechatError};
use wechat_api::ValidationError;

use crate::{
    ProxyState, TenantContext,
    answer::Answer,
    catalog::{Safety, WechatApi, WechatMethod},
};

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// One call to forward.
pub struct Call<'a> {
    pub api: WechatApi,
    /// WeChat's path (the API's own, or the raw passthrough's).
    pub path: &'a str,
    pub appid: &'a str,
    pub body: &'a Value,
    pub idempotency_key: Option<&'a str>,
}

/// A failed WeChat exchange, and whether WeChat may have acted on it.
struct Failed {
    problem: Problem,
    may_have_acted: bool,
}

/// Runs the gate and the call. `validate` runs the seed rules on the typed
/// body; `readable` checks WeChat's success answer against the typed model.
pub async fn forward<T>(
    state: &ProxyState,
    tenant: &TenantContext,
    call: Call<'_>,
    validate: impl FnOnce() -> Result<(), ValidationError>,
    readable: impl FnOnce(&Value) -> Result<(), Problem>,
) -> Result<Answer<T>, Problem> {
    let needed = match call.api.safety {
        Safety::Read => KeyScope::ProxyRead,
        Safety::Write => KeyScope::ProxyWrite,
    };
    if !tenant.scopes.contains(needed) {
        return Err(Problem::forbidden(format!(
            "this API key lacks the `{}` scope that {} needs",
            needed.as_str(),
            call.path
        )));
    }
    if let Some(allowed) = &tenant.allowed_appids
        && !allowed.iter().any(|a| a == call.appid)
    {
        return Err(Problem::forbidden(format!(
            "this API key is restricted to other Mini Programs than {}",
            call.appid
        )));
    }
    let store = state.auth.store();
    let appid = call.appid;
    let authorizer = store
        .cached_authorizer(appid)
        .await
        .map_err(Problem::from)?
        .filter(|a| a.tenant_id.as_deref() == Some(tenant.tenant_id.as_str()))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "Mini Program {appid} is not authorized for this tenant"
            ))
        })?;
    if authorizer.status != STATUS_ACTIVE {
        return Err(Problem::from(AuthError::AuthorizerInactive {
            appid: appid.to_owned(),
            status: authorizer.status,
        }));
    }
    let sets = state.permissions.sets_for(call.path);
    if !sets.is_empty() && !sets.iter().any(|s| authorizer.funcscopes.contains(s)) {
        return Err(Problem::forbidden(format!(
            "Mini Program {appid} has not granted any of the permission sets {sets:?} that {} needs; its administrator must authorize them",
            call.path
        ))
        .with_required_sets(sets.to_vec()));
    }
    validate().map_err(Problem::from)?;

    let idempotency = match (call.api.safety, call.idempotency_key) {
        (Safety::Write, Some(key)) => {
            let key = check_idempotency_key(key)?;
            let hash = request_hash(call.path, appid, call.body);
            match claim(state, tenant, key, &hash).await? {
                Some(replay) => return Ok(replay),
                None => Some(key),
            }
        }
        _ => None,
    };
    let release = || async {
        if let Some(key) = idempotency
            && let Err(e) = store.release_idempotency_key(&tenant.tenant_id, key).await
        {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    };

    let decision = state
        .limiter
        .check(
            ratelimit::Call {
                group: call.api.group,
                tenant_id: &tenant.tenant_id,
                appid,
                openid: call.api.user.openid(call.body),
            },
            state.auth.clock().now(),
        )
        .await;
    let mut headers = Vec::new();
    if let Some(policy) = decision.policy_header() {
        headers.push(("RateLimit-Policy", policy));
    }
    if let Some(limits) = decision.state_header() {
        headers.push(("RateLimit", limits));
    }
    if let Some(limit) = &decision.exhausted {
        release().await;
        let mut problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Rate limited",
        )
        .with_detail(format!(
            "the limit {} ({} calls per {} s) is used up; it resets in {} s",
            limit.name, limit.limit, limit.window_secs, limit.reset_secs
        ))
        .with_retry_after(u64::try_from(limit.reset_secs).unwrap_or(1));
        for (name, value) in headers {
            problem = problem.with_header(name, value);
        }
        return Err(problem);
    }

    let outcome = send(state, &call).await;
    let (status, body, content_type, result) = match outcome {
        Ok(value) => match readable(&value) {
            Ok(()) => {
                tracing::info!(tenant.id = %tenant.tenant_id, authorizer.appid = %appid, api = call.path, "proxied call succeeded");
                (
                    StatusCode::OK,
                    value,
                    "application/json; charset=utf-8",
                    Ok(()),
                )
            }
            Err(problem) => failed_parts(problem),
        },
        Err(Failed {
            problem,
            may_have_acted,
        }) => {
            if !may_have_acted {
                release().await;
                return Err(problem);
            }
            failed_parts(problem)
        }
    };
    if let Some(key) = idempotency {
        let text = serde_json::to_string(&body).unwrap_or_default();
        if let Err(e) = store
            .complete_idempotency_key(&tenant.tenant_id, key, status.as_u16(), &text)
            .await
        {
            // The call went through; only a repeat would not be recognised.
            tracing::error!(error = %e, "could not store an idempotent answer");
        }
    }
    match result {
        Ok(()) => Ok(Answer::new(status, body, content_type).with_headers(headers)),
        Err(problem) => {
            let mut problem = problem;
            for (name, value) in headers {
                problem = problem.with_header(name, value);
            }
            Err(problem)
        }
    }
}

type Parts = (StatusCode, Value, &'static str, Result<(), Problem>);

fn failed_parts(problem: Problem) -> Parts {
    let body = serde_json::to_value(problem.body()).unwrap_or(Value::Null);
    (problem.status(), body, problem::CONTENT_TYPE, Err(problem))
}

/// A key is 1–255 visible ASCII characters.
fn check_idempotency_key(key: &str) -> Result<&str, Problem> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Problem::validation(
            "Idempotency-Key",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters, e.g. a UUID"
            ),
        ));
    }
    Ok(key)
}

/// SHA-256 of the path, appid and the body with its keys sorted, so the
/// same request in another key order is the same request.
fn request_hash(path: &str, appid: &str, body: &Value) -> String {
    // serde_json's map is a BTreeMap (no preserve_order): sorted keys.
    let canonical = serde_json::to_string(body).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [path, "\n", appid, "\n", canonical.as_str()] {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Claims the key: `None` to proceed, or the answer to replay. A concurrent
/// repeat waits for the first request to finish, then replays it, or gets
/// 409 if it is still running.
async fn claim<T>(
    state: &ProxyState,
    tenant: &TenantContext,
    key: &str,
    hash: &str,
) -> Result<Option<Answer<T>>, Problem> {
    let store = state.auth.store();
    let deadline = tokio::time::Instant::now() + state.settings.idempotency_wait;
    loop {
        let claim = store
            .claim_idempotency_key(&tenant.tenant_id, key, hash, state.settings.idempotency_ttl)
            .await
            .map_err(Problem::from)?;
        match claim {
            Claim::Acquired => return Ok(None),
            Claim::Done { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let content_type = if status.is_success() {
                    "application/json; charset=utf-8"
                } else {
                    problem::CONTENT_TYPE
                };
                let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                return Ok(Some(
                    Answer::new(status, body, content_type)
                        .with_headers(vec![("Idempotent-Replayed", "true".to_owned())]),
                ));
            }
            Claim::Mismatch => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                )
                .with_field("Idempotency-Key")
                .with_detail("this Idempotency-Key was used for a different request in the last 24 hours; use a new key for a new request"));
            }
            Claim::InProgress => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Problem::conflict(
                        "a request with this Idempotency-Key is still in progress (or was interrupted, leaving its outcome unknown); retry later, and check the order's state before sending it with a new key",
                    )
                    .with_retry_after(1));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Transient WeChat answers: worth retrying for a read.
fn is_transient(error: &Failed) -> bool {
    error.may_have_acted
        && match error.problem.body().wechat_errcode {
            Some(code) => matches!(code, -1 | 10060012 | 10060019),
            None => {
                error.problem.status() == StatusCode::BAD_GATEWAY
                    || error.problem.status() == StatusCode::GATEWAY_TIMEOUT
            }
        }
}

/// The WeChat call with its retries (see the module docs).
async fn send(state: &ProxyState, call: &Call<'_>) -> Result<Value, Failed> {
    let once = || send_once(state, call);
    match call.api.safety {
        Safety::Write => once().await,
        Safety::Read => {
            let backoff = ExponentialBuilder::default()
                .with_min_delay(state.settings.retry_min_delay)
                .with_max_delay(Duration::from_secs(1))
                .with_max_times(state.settings.read_retries)
                .with_jitter();
            once.retry(backoff)
                .when(is_transient)
                .notify(|e: &Failed, after: Duration| {
                    tracing::info!(api = call.path, error = %e.problem, retry_in_ms = after.as_millis(), "transient WeChat failure on a read; retrying");
                })
                .await
        }
    }
}

/// One request to WeChat with `token`, by the API's method (a `GET` API
/// takes no body).
async fn exchange(
    client: &WechatClient,
    call: &Call<'_>,
    token: &store::Secret,
) -> Result<Value, WechatError> {
    let token = Some(("access_token", token));
    match call.api.method {
        WechatMethod::Get => client.get_value(call.path, token).await,
        WechatMethod::Post => client.post_value(call.path, token, call.body).await,
    }
}

/// One exchange: the token, the call, and on a token errcode one forced
/// refresh and one more call.
async fn send_once(state: &ProxyState, call: &Call<'_>) -> Result<Value, Failed> {
    let not_sent = |e: AuthError| Failed {
        problem: Problem::from(e),
        may_have_acted: false,
    };
    let access = state
        .auth
        .authorizer_access_token(call.appid)
        .await
        .map_err(not_sent)?;
    let client = state.auth.client();
    let first = exchange(client, call, &access.token).await;
    let result = match first {
        Err(WechatError::Api { errcode, .. }) if wechat_api::errcode::is_token_error(errcode) => {
            tracing::info!(authorizer.appid = %call.appid, errcode, "token rejected by WeChat; refreshing once");
            let fresh = state
                .auth
                .force_refresh_authorizer(call.appid, access.version)
                .await
                .map_err(not_sent)?;
            exchange(client, call, &fresh.token).await
        }
        other => other,
    };
    result.map_err(|e| match e {
        WechatError::Api { errcode, errmsg } => Failed {
            // A token still rejected after a refresh: WeChat did not act.
            may_have_acted: !wechat_api::errcode::is_token_error(errcode),
            problem: problem::wechat::wechat_problem(errcode, &errmsg),
        },
        other => {
            tracing::warn!(api = call.path, error = %other, "WeChat call failed");
            let timeout = matches!(other, WechatError::Timeout(_));
            Failed {
                problem: if timeout {
                    Problem::new(StatusCode::GATEWAY_TIMEOUT, "wechat-timeout", "WeChat timed out")
                        .with_detail("WeChat did not answer in time; for a write, its outcome is unknown: check the order's state before sending it again")
                } else {
                    Problem::new(StatusCode::BAD_GATEWAY, "wechat-unreachable", "WeChat unavailable")
                        .with_detail("WeChat could not be reached or answered unreadably; for a write, its outcome is unknown: check the order's state before sending it again")
                },
                may_have_acted: true,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_hash_ignores_key_order_but_not_values() {
        let a = request_hash("/p", "wx1", &json!({"a": 1, "b": {"c": 2, "d": 3}}));
        let b = request_hash("/p", "wx1", &json!({"b": {"d": 3, "c": 2}, "a": 1}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            request_hash("/p", "wx1", &json!({"a": 2, "b": {"c": 2, "d": 3}}))
        );
        assert_ne!(
            a,
            request_hash("/p", "wx2", &json!({"a": 1, "b": {"c": 2, "d": 3}}))
        );
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(check_idempotency_key("0b9f6d9e-6c3a-4f7e-9a55-1f2b3c4d5e6f").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("has space").is_err());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
        assert!(check_idempotency_key("ключ").is_err());
    }
}
