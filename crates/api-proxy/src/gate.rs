//! The gate every proxied call passes, in this order, stopping at the first
//! failure (only step 7 spends WeChat quota, besides step 4's fetch of a
//! courier list, once a day for the whole platform). [`forward`] reads as
//! this list:
//! 1. the API key may make the call: it has the scope the call needs
//!    (`proxy_read` or `proxy_write`) and may call this appid (403);
//! 2. the tenant owns the appid (else 404: another tenant's appid looks
//!    exactly like an unknown one) and the authorization is active;
//! 3. the authorizer holds one of the path's permission sets (403);
//! 4. the body passes the seed rules (400 naming the field and the errcode),
//!    and the courier codes it names are in WeChat's lists (`couriers`:
//!    400 naming the field and the closest codes; no list, no check, and
//!    the answer says so);
//! 5. a write with `Idempotency-Key` claims the key: a repeat gets the
//!    stored answer (`idempotency`);
//!    An `upload_shipping_info` then claims its payment order and passes
//!    the re-shipment guard (`reshipment`): one upload of an order at a
//!    time, a second one only when confirmed, a later `upload_time` (409,
//!    400); an answer records it, no answer counts as one;
//! 6. rate limits, all dimensions in one atomic step (429);
//! 7. the token, then WeChat: a token errcode forces one refresh and one
//!    retry (WeChat rejected the token before acting, so writes too); reads
//!    also retry `-1`, busy codes and timeouts with jittered backoff;
//! 8. the claimed key keeps the answer (success or problem) once WeChat may
//!    have acted; when it cannot have (refused at 6 or 7 before WeChat
//!    acted) the key is freed, so the client may retry with it.
//!
//! The call log sees all of it: [`forward`] tells the request's scope what
//! is being called (so the client's records carry the operationId, tenant
//! and idempotency key), and records a refusal at any step as not sent.
use std::{collections::BTreeSet, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use call_log::{CallOutcome, NewCall, RequestScope, request::ProxiedCall};
use poem::http::StatusCode;
use problem::Problem;
use serde_json::Value;
use store::{
    api_keys::KeyScope,
    authorizers::{AuthorizerInfo, AuthorizerStatus},
};
use tenant_auth::{AuthError, WechatClient, WechatError};

use crate::{
    ProxyState, TenantContext,
    answer::Answer,
    catalog::{Safety, WechatApi, WechatMethod},
    reshipment::{self, Shipment},
};
use store::shipping_uploads::UploadClaim;

mod idempotency;

/// The content type of WeChat's answers as tpgate returns them.
const JSON: &str = "application/json; charset=utf-8";

/// Response headers: the rate-limit state, on answers and problems alike.
type Headers = Vec<(&'static str, String)>;

/// One call to forward.
pub struct Call<'a> {
    pub api: WechatApi,
    /// WeChat's path (the API's own, or the raw passthrough's).
    pub path: &'a str,
    pub appid: &'a str,
    pub body: &'a Value,
    pub idempotency_key: Option<&'a str>,
    /// An `upload_shipping_info`: the re-shipment guard watches it.
    pub shipment: Option<Shipment>,
}

/// Runs the gate and the call. `validate` runs the seed rules on the
/// body (a problem: 400 naming the field); `readable` checks WeChat's success answer (its bytes) against the typed model.
pub async fn forward<T>(
    state: &ProxyState,
    tenant: &TenantContext,
    call: Call<'_>,
    validate: impl FnOnce() -> Result<(), Problem>,
    readable: impl FnOnce(&[u8]) -> Result<(), Problem>,
) -> Result<Answer<T>, Problem> {
    let operation = if call.api.operation.is_empty() {
        call.path
    } else {
        call.api.operation
    };
    if let Some(scope) = RequestScope::current() {
        scope.set_call(ProxiedCall {
            tenant_id: Some(tenant.tenant_id.as_str().into()),
            operation: Some((call.path.to_owned(), operation.to_owned())),
            idempotency_key: call.idempotency_key.map(str::to_owned),
            capture_bodies: tenant.capture_call_bodies && call.api.safety == Safety::Write,
        });
    }
    // Boxed: the gate's future is large (the retries, the client's
    // exchange), and poem moves each layer's future into a box of its own;
    // a pointer moves instead of kilobytes, at every layer.
    let answer = Box::pin(run_gate(state, tenant, &call, validate, readable)).await;
    if let Err(Refused(problem)) = &answer {
        record_refusal(state, &call, operation, problem);
    }
    answer.map_err(GateError::into_problem)
}

/// A problem from a step that kept the call from WeChat (or one after it).
enum GateError {
    /// Refused by tpgate before anything was sent.
    Refused(Problem),
    /// WeChat was asked (the client recorded the exchange).
    Answered(Problem),
}
use GateError::Refused;

impl GateError {
    fn into_problem(self) -> Problem {
        match self {
            GateError::Refused(p) | GateError::Answered(p) => p,
        }
    }
}

impl From<Problem> for GateError {
    fn from(p: Problem) -> Self {
        GateError::Refused(p)
    }
}

/// Records a call tpgate refused, as not sent: the caller sees why nothing
/// reached WeChat.
fn record_refusal(state: &ProxyState, call: &Call<'_>, operation: &str, problem: &Problem) {
    let body = problem.body();
    let outcome = match problem.status() {
        StatusCode::TOO_MANY_REQUESTS => CallOutcome::RateLimited,
        s if s.is_client_error() => CallOutcome::Invalid,
        _ => CallOutcome::NotSent,
    };
    let errmsg = body
        .detail
        .as_deref()
        .unwrap_or(&body.title)
        .chars()
        .take(256)
        .collect();
    let mut refused = NewCall::new(operation, outcome);
    refused.appid = Some(call.appid.into());
    refused.status = Some(body.status);
    refused.errcode = body.wechat_errcode;
    refused.errmsg = Some(errmsg);
    state.auth.client().call_log().record(refused);
}

/// The gate's steps, in order (see the module docs).
async fn run_gate<T>(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
    validate: impl FnOnce() -> Result<(), Problem>,
    readable: impl FnOnce(&[u8]) -> Result<(), Problem>,
) -> Result<Answer<T>, GateError> {
    let courier_check = precheck(state, tenant, call, validate).await?;
    let key = idempotency::key_of(call)?;
    if let Some(key) = key
        && let Some(replay) = idempotency::claim(state, tenant, call, key).await?
    {
        return Ok(replay);
    }
    let reshipment = match guard_reshipment(state, tenant, call).await {
        Ok(reshipment) => reshipment,
        Err(refused) => {
            if let Some(key) = key {
                idempotency::release(state, tenant, key).await;
            }
            return Err(refused.into());
        }
    };
    let mut headers = match rate_limit(state, tenant, call).await {
        Ok(headers) => headers,
        Err(limited) => {
            release_upload(state, call).await;
            if let Some(key) = key {
                idempotency::release(state, tenant, key).await;
            }
            return Err(limited.into());
        }
    };
    if let Some(skipped) = courier_check {
        headers.push((crate::couriers::CHECK_HEADER, skipped));
    }
    let outcome = call_wechat(state, tenant, call, readable).await;
    if matches!(outcome, Outcome::Answered(_)) {
        note_shipped(state, call).await;
    }
    if let Some(shipment) = &call.shipment {
        match &outcome {
            Outcome::Answered(_) => {
                record_upload(state, tenant, call, shipment, false).await;
                if reshipment {
                    headers.push((reshipment::RESHIPMENT_HEADER, "last".to_owned()));
                }
            }
            // No answer (a timeout, an unreadable one): WeChat may have
            // it, so it counts; the next upload needs confirmation.
            Outcome::Failed(p) if p.body().wechat_errcode.is_none() => {
                record_upload(state, tenant, call, shipment, true).await;
            }
            Outcome::Failed(_) | Outcome::NotSent(_) => release_upload(state, call).await,
        }
    }
    if let Some(key) = key {
        keep_for_repeats(state, tenant, key, &outcome).await;
    }
    let not_sent = matches!(outcome, Outcome::NotSent(_));
    outcome.respond(headers).map_err(|p| {
        if not_sent {
            GateError::Refused(p)
        } else {
            GateError::Answered(p)
        }
    })
}

/// Steps 1–4: what tpgate checks before anything is claimed or counted.
/// The value of the courier-check header when a list was missing.
pub(crate) async fn precheck(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
    validate: impl FnOnce() -> Result<(), Problem>,
) -> Result<Option<String>, Problem> {
    key_may_call(tenant, call)?;
    let authorizer = owned_active_authorizer(state, tenant, call.appid).await?;
    check_permission_sets(
        call,
        state.permissions.sets_for(call.path),
        &authorizer.funcscopes,
    )?;
    validate()?;
    crate::couriers::check(state, call.path, call.appid, call.body).await
}

/// Step 1: the key has the scope the call needs and, when restricted to
/// some Mini Programs, may call this one.
pub(crate) fn key_may_call(tenant: &TenantContext, call: &Call<'_>) -> Result<(), Problem> {
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
    Ok(())
}

/// Step 2: the tenant's authorizer for `appid`, if its authorization is
/// active.
async fn owned_active_authorizer(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
) -> Result<AuthorizerInfo, Problem> {
    let found = state
        .auth
        .store()
        .cached_authorizer(appid)
        .await
        .map_err(Problem::from)?;
    owned_and_active(found, &tenant.tenant_id, appid)
}

/// What step 2 decides about the authorizer `found` for `appid`: another
/// tenant's is not found, like one that does not exist.
fn owned_and_active(
    found: Option<AuthorizerInfo>,
    tenant_id: &str,
    appid: &str,
) -> Result<AuthorizerInfo, Problem> {
    let authorizer = found
        .filter(|a| a.tenant_id.as_deref() == Some(tenant_id))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "Mini Program {appid} is not authorized for this tenant"
            ))
        })?;
    if authorizer.status != AuthorizerStatus::Active {
        return Err(Problem::from(AuthError::AuthorizerInactive {
            appid: appid.to_owned(),
            status: authorizer.status,
        }));
    }
    Ok(authorizer)
}

/// Step 3: the Mini Program granted one of `sets`, the permission sets that
/// allow the call's path (none listed: no set needed).
fn check_permission_sets(
    call: &Call<'_>,
    sets: &[i64],
    granted: &BTreeSet<i64>,
) -> Result<(), Problem> {
    if !sets.is_empty() && !sets.iter().any(|s| granted.contains(s)) {
        return Err(Problem::forbidden(format!(
            "Mini Program {} has not granted any of the permission sets {sets:?} that {} needs; its administrator must authorize them",
            call.appid, call.path
        ))
        .with_required_sets(sets.to_vec()));
    }
    Ok(())
}

/// Step 5b: the re-shipment guard (`reshipment`): the upload claims its
/// order (one upload of an order at a time); a second upload of a payment
/// order tpgate already uploaded needs the caller's confirmation, and every
/// upload a later `upload_time`. Whether it is a re-shipment; a passed
/// upload holds its claim until [`record_upload`] or [`release_upload`].
async fn guard_reshipment(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
) -> Result<bool, Problem> {
    let Some(shipment) = &call.shipment else {
        return Ok(false);
    };
    let claim = state
        .auth
        .store()
        .claim_shipping_upload(
            &tenant.tenant_id,
            call.appid,
            &shipment.order,
            reshipment::CLAIM_HOLD,
        )
        .await?;
    let previous = match claim {
        UploadClaim::Claimed(previous) => previous,
        UploadClaim::InFlight { until } => return Err(reshipment::in_flight(until)),
    };
    let verdict = reshipment::decide(
        previous.as_ref(),
        shipment.upload_time_at,
        shipment.confirmed,
        tenant.reshipment_guard,
    );
    if let Some(refused) = previous
        .as_ref()
        .and_then(|p| reshipment::refusal(&verdict, p))
    {
        release_upload(state, call).await;
        return Err(refused);
    }
    Ok(verdict == reshipment::Verdict::Reshipment)
}

/// Ends an upload's claim without an upload. A failure only delays the
/// order's next upload until the claim's hold runs out.
async fn release_upload(state: &ProxyState, call: &Call<'_>) {
    let Some(shipment) = &call.shipment else {
        return;
    };
    if let Err(e) = state
        .auth
        .store()
        .release_shipping_upload(call.appid, &shipment.order)
        .await
    {
        tracing::warn!(error = %e, appid = call.appid, "could not release a shipping upload's claim");
    }
}

/// Notes an upload WeChat accepted (or, `uncertain`, may have). It
/// happened: a failed write is logged, not reported (the next upload of
/// the order then goes to WeChat, which decides).
async fn record_upload(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
    shipment: &Shipment,
    uncertain: bool,
) {
    let request_id = RequestScope::current().map(|s| s.id().as_str().to_owned());
    let accepted = store::shipping_uploads::AcceptedUpload {
        tenant_id: &tenant.tenant_id,
        appid: call.appid,
        order: &shipment.order,
        upload_time: &shipment.upload_time,
        upload_time_at: shipment.upload_time_at,
        tracking: &shipment.tracking,
        request_id: request_id.as_deref(),
        uncertain,
    };
    if let Err(e) = state.auth.store().record_shipping_upload(accepted).await {
        tracing::error!(error = %e, appid = call.appid, "could not record an accepted shipping upload");
    }
}

/// An upload WeChat accepted ships its orders: reconciliation stops
/// counting them as pending. A failure is logged: the next pass sees them
/// leave state 1 anyway.
async fn note_shipped(state: &ProxyState, call: &Call<'_>) {
    let uploads = [
        crate::catalog::UPLOAD_SHIPPING_INFO.path,
        crate::catalog::UPLOAD_COMBINED_SHIPPING_INFO.path,
    ];
    if !uploads.contains(&call.path) {
        return;
    }
    for order in reshipment::orders_in(call.body) {
        if let Err(e) = state
            .auth
            .store()
            .mark_order_uploaded(call.appid, &order)
            .await
        {
            tracing::warn!(error = %e, appid = call.appid, "could not mark a pending order shipped");
        }
    }
}

/// Step 6: counts the call against every limit that applies, in one atomic
/// step: the headers to answer with, or the 429.
async fn rate_limit(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
) -> Result<Headers, Problem> {
    let decision = state
        .limiter
        .check(
            ratelimit::Call {
                group: call.api.group,
                tenant_id: &tenant.tenant_id,
                appid: call.appid,
                openid: call.api.user.openid(call.body),
            },
            state.auth.clock().now(),
        )
        .await;
    limit_verdict(&decision)
}

/// The `RateLimit-Policy` and `RateLimit` headers of `decision`, or the 429
/// (with them and `Retry-After`) when a limit is used up.
fn limit_verdict(decision: &ratelimit::Decision) -> Result<Headers, Problem> {
    let mut headers = Vec::new();
    if let Some(policy) = decision.policy_header() {
        headers.push(("RateLimit-Policy", policy));
    }
    if let Some(limits) = decision.state_header() {
        headers.push(("RateLimit", limits));
    }
    let Some(limit) = &decision.exhausted else {
        return Ok(headers);
    };
    let problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Rate limited",
    )
    .with_detail(format!(
        "the limit {} ({} calls per {} s) is used up; it resets in {} s",
        limit.name, limit.limit, limit.window_secs, limit.reset_secs
    ))
    .with_retry_after(u64::try_from(limit.reset_secs).unwrap_or(1));
    Err(with_headers(problem, headers))
}

fn with_headers(problem: Problem, headers: Headers) -> Problem {
    headers.into_iter().fold(problem, |problem, (name, value)| {
        problem.with_header(name, value)
    })
}

/// How a call that passed the gate ended.
#[derive(Debug)]
enum Outcome {
    /// WeChat answered, readably: its JSON, the bytes it sent.
    Answered(Bytes),
    /// A problem after WeChat may have acted (an errcode, a timeout, an
    /// answer that does not read as the model): a repeat gets it too.
    Failed(Problem),
    /// A problem before WeChat could act (no token, or the token refused
    /// even after a refresh).
    NotSent(Problem),
}

impl Outcome {
    /// The status and body a repeat with the same `Idempotency-Key` gets;
    /// `None` when WeChat was not asked, so there is nothing to keep.
    fn kept(&self) -> Option<(StatusCode, String)> {
        let (status, body) = match self {
            Outcome::Answered(bytes) => {
                (StatusCode::OK, String::from_utf8_lossy(bytes).into_owned())
            }
            Outcome::Failed(problem) => (
                problem.status(),
                serde_json::to_string(problem.body()).unwrap_or_default(),
            ),
            Outcome::NotSent(_) => return None,
        };
        Some((status, body))
    }

    /// The response: WeChat's answer or the problem, with the rate-limit
    /// headers once WeChat may have acted.
    fn respond<T>(self, headers: Headers) -> Result<Answer<T>, Problem> {
        match self {
            Outcome::Answered(bytes) => {
                Ok(Answer::new(StatusCode::OK, bytes, JSON).with_headers(headers))
            }
            Outcome::Failed(problem) => Err(with_headers(problem, headers)),
            Outcome::NotSent(problem) => Err(problem),
        }
    }
}

/// Step 7: the WeChat exchange with its retries ([`send`]), and whether
/// the answer reads as the model.
async fn call_wechat(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
    readable: impl FnOnce(&[u8]) -> Result<(), Problem>,
) -> Outcome {
    let outcome = outcome(send(state, call).await, readable);
    if let Outcome::Answered(_) = outcome {
        // Debug: the access log line ("response") and the call log already
        // say it, and a second line per call costs the hot path.
        tracing::debug!(tenant.id = %tenant.tenant_id, authorizer.appid = %call.appid, api = call.path, "proxied call succeeded");
    }
    outcome
}

/// What step 7's exchange amounts to.
fn outcome(
    sent: Result<Bytes, SendError>,
    readable: impl FnOnce(&[u8]) -> Result<(), Problem>,
) -> Outcome {
    match sent {
        Ok(bytes) => match readable(&bytes) {
            Ok(()) => Outcome::Answered(bytes),
            Err(problem) => Outcome::Failed(problem),
        },
        Err(SendError {
            problem,
            may_have_acted: true,
        }) => Outcome::Failed(problem),
        Err(SendError {
            problem,
            may_have_acted: false,
        }) => Outcome::NotSent(problem),
    }
}

/// Step 8: the answer is kept under `key` for repeats; when WeChat was not
/// asked, the key is freed instead.
async fn keep_for_repeats(
    state: &ProxyState,
    tenant: &TenantContext,
    key: &str,
    outcome: &Outcome,
) {
    match outcome.kept() {
        Some((status, body)) => idempotency::complete(state, tenant, key, status, &body).await,
        None => idempotency::release(state, tenant, key).await,
    }
}

/// A failed WeChat exchange, and whether WeChat may have acted on it.
#[derive(Debug)]
struct SendError {
    problem: Problem,
    may_have_acted: bool,
}

/// WeChat's "busy, try again" errcodes: -1 (system busy), 10060012 and
/// 10060019 (system errors of the shipping service, which WxJava's
/// executeWithRetry retries too).
pub(crate) fn is_busy_errcode(code: i64) -> bool {
    matches!(code, -1 | 10060012 | 10060019)
}

/// Whether `problem` is a WeChat exchange without a usable answer (a
/// timeout, no connection, an unreadable answer): WeChat may have acted.
pub(crate) fn is_unanswered(problem: &Problem) -> bool {
    problem.body().wechat_errcode.is_none()
        && matches!(
            problem.status(),
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
        )
}

/// Transient WeChat answers: worth retrying for a read.
fn is_transient(error: &SendError) -> bool {
    error.may_have_acted
        && match error.problem.body().wechat_errcode {
            Some(code) => is_busy_errcode(code),
            None => is_unanswered(&error.problem),
        }
}

/// The WeChat call with its retries (see the module docs).
async fn send(state: &ProxyState, call: &Call<'_>) -> Result<Bytes, SendError> {
    let once = || send_once(state, call);
    match call.api.safety {
        Safety::Write => once().await,
        Safety::Read => {
            let backoff = ExponentialBuilder::default()
                .with_min_delay(state.settings.retry_min_delay())
                .with_max_delay(Duration::from_secs(1))
                .with_max_times(state.settings.read_retries)
                .with_jitter();
            once.retry(backoff)
                .when(is_transient)
                .notify(|e: &SendError, after: Duration| {
                    tracing::info!(api = call.path, error = %e.problem, retry_in_ms = after.as_millis(), "transient WeChat failure on a read; retrying");
                })
                .await
        }
    }
}

/// A read tpgate makes for itself (e.g. a courier list) with `appid`'s
/// token, retried like a tenant's reads. No tenant gate and no limits:
/// tpgate's own calls are few and bounded by their callers; the permission
/// sets are checked, so WeChat is not asked what it would refuse.
pub(crate) async fn platform_read(
    state: &ProxyState,
    api: WechatApi,
    appid: &str,
) -> Result<Value, Problem> {
    let authorizer = state
        .auth
        .store()
        .cached_authorizer(appid)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("Mini Program {appid} is not authorized")))?;
    let body = Value::Object(serde_json::Map::new());
    let call = Call {
        api,
        path: api.path,
        appid,
        body: &body,
        idempotency_key: None,
        shipment: None,
    };
    check_permission_sets(
        &call,
        state.permissions.sets_for(api.path),
        &authorizer.funcscopes,
    )?;
    let bytes = send(state, &call).await.map_err(|e| e.problem)?;
    serde_json::from_slice(&bytes).map_err(|e| unreadable_answer(&e))
}

/// WeChat's success answer does not read as expected: 502 (the tenant's
/// client would fail on it too).
pub(crate) fn unreadable_answer(error: &serde_json::Error) -> Problem {
    tracing::warn!(%error, "WeChat answered a shape we do not understand");
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "wechat-unreadable",
        "Unreadable WeChat answer",
    )
    .with_detail("WeChat's answer did not match the documented shape")
}

/// One request to WeChat with `token`, by the API's method (a `GET` API
/// takes no body).
async fn exchange(
    client: &WechatClient,
    call: &Call<'_>,
    token: &store::Secret,
) -> Result<Bytes, WechatError> {
    let token = Some(("access_token", token));
    let appid = Some(call.appid);
    match call.api.method {
        WechatMethod::Get => client.get_bytes(appid, call.path, token).await,
        WechatMethod::Post => client.post_bytes(appid, call.path, token, call.body).await,
    }
}

/// One exchange: the token, the call, and on a token errcode one forced
/// refresh and one more call.
async fn send_once(state: &ProxyState, call: &Call<'_>) -> Result<Bytes, SendError> {
    let not_sent = |e: AuthError| SendError {
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
    result.map_err(|e| wechat_failure(call.path, e))
}

/// A failed exchange as the client sees it, and whether WeChat may have
/// acted on it.
fn wechat_failure(path: &str, error: WechatError) -> SendError {
    match error {
        WechatError::Api { errcode, errmsg } => SendError {
            // A token still rejected after a refresh: WeChat did not act.
            may_have_acted: !wechat_api::errcode::is_token_error(errcode),
            problem: problem::wechat::wechat_problem(errcode, &errmsg),
        },
        other => {
            tracing::warn!(api = path, error = %other, "WeChat call failed");
            let timeout = matches!(other, WechatError::Timeout(_));
            SendError {
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
    }
}

#[cfg(test)]
mod tests {
    use poem::error::ResponseError;
    use ratelimit::{Decision, LimitState};
    use serde_json::json;
    use store::{TenantId, api_keys::KeyScopes};

    use super::*;
    use crate::catalog::{GET_ORDER, UPLOAD_SHIPPING_INFO};

    fn call<'a>(api: WechatApi, appid: &'a str, body: &'a Value) -> Call<'a> {
        Call {
            api,
            path: api.path,
            appid,
            body,
            idempotency_key: None,
            shipment: None,
        }
    }

    fn tenant(scopes: &[KeyScope], allowed_appids: Option<&[&str]>) -> TenantContext {
        TenantContext {
            tenant_id: "t1".into(),
            api_key_id: "k1".into(),
            raw_passthrough: false,
            scopes: scopes.iter().copied().collect::<KeyScopes>(),
            allowed_appids: allowed_appids.map(|a| a.iter().map(|&s| s.to_owned()).collect()),
            capture_call_bodies: false,
            reshipment_guard: true,
        }
    }

    fn authorizer(tenant_id: Option<&str>, status: AuthorizerStatus) -> AuthorizerInfo {
        AuthorizerInfo {
            appid: "wx1".into(),
            tenant_id: tenant_id.map(TenantId::from),
            status,
            funcscopes: BTreeSet::from([142]),
            access_token_expires_at: None,
            token_refreshed_at: None,
            nick_name: None,
            user_name: None,
            principal_name: None,
            last_used_at: None,
            authorized_at: chrono::Utc::now(),
            version: 1,
        }
    }

    #[track_caller]
    fn refused<T: std::fmt::Debug>(
        result: Result<T, Problem>,
        status: StatusCode,
        says: &str,
    ) -> Problem {
        let problem = result.expect_err("allowed");
        assert_eq!(problem.status(), status);
        let detail = problem.body().detail.clone().unwrap_or_default();
        assert!(detail.contains(says), "{detail:?} does not say {says:?}");
        problem
    }

    fn header(problem: &Problem, name: &str) -> Option<String> {
        problem
            .as_response()
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn keys_need_the_scope_of_the_call_and_the_appid() {
        let body = json!({});
        let (read, write) = (
            call(GET_ORDER, "wx1", &body),
            call(UPLOAD_SHIPPING_INFO, "wx1", &body),
        );
        let both = tenant(&[KeyScope::ProxyRead, KeyScope::ProxyWrite], None);
        assert!(key_may_call(&both, &read).is_ok());
        assert!(key_may_call(&both, &write).is_ok());

        let reader = tenant(&[KeyScope::ProxyRead], None);
        assert!(key_may_call(&reader, &read).is_ok());
        refused(
            key_may_call(&reader, &write),
            StatusCode::FORBIDDEN,
            "lacks the `proxy_write` scope",
        );
        // Admin scopes do not include the proxy.
        let admin = tenant(&[KeyScope::AdminRead, KeyScope::AdminWrite], None);
        refused(
            key_may_call(&admin, &read),
            StatusCode::FORBIDDEN,
            "lacks the `proxy_read` scope",
        );

        let restricted = tenant(&[KeyScope::ProxyRead], Some(&["wx1", "wx3"]));
        assert!(key_may_call(&restricted, &read).is_ok());
        refused(
            key_may_call(&restricted, &call(GET_ORDER, "wx2", &body)),
            StatusCode::FORBIDDEN,
            "restricted to other Mini Programs than wx2",
        );
        let nothing = tenant(&[KeyScope::ProxyRead], Some(&[]));
        refused(
            key_may_call(&nothing, &read),
            StatusCode::FORBIDDEN,
            "restricted",
        );
    }

    #[test]
    fn only_the_owner_active_authorization_passes() {
        let own = owned_and_active(
            Some(authorizer(Some("t1"), AuthorizerStatus::Active)),
            "t1",
            "wx1",
        );
        assert_eq!(own.unwrap().appid, "wx1");
        // Unknown, another tenant's and unassigned look alike.
        let unknown = refused(
            owned_and_active(None, "t1", "wx1"),
            StatusCode::NOT_FOUND,
            "wx1",
        );
        for other in [
            authorizer(Some("t2"), AuthorizerStatus::Active),
            authorizer(None, AuthorizerStatus::Active),
        ] {
            let problem = refused(
                owned_and_active(Some(other), "t1", "wx1"),
                StatusCode::NOT_FOUND,
                "wx1",
            );
            assert_eq!(problem.body(), unknown.body());
        }
        // Own but not active: said so (it is the tenant's own Mini Program).
        let inactive = refused(
            owned_and_active(
                Some(authorizer(
                    Some("t1"),
                    AuthorizerStatus::ReauthorizationRequired,
                )),
                "t1",
                "wx1",
            ),
            StatusCode::FORBIDDEN,
            "reauthorization_required",
        );
        assert!(inactive.body().type_.ends_with("/authorizer-inactive"));
    }

    #[test]
    fn one_granted_permission_set_is_enough() {
        let body = json!({});
        let call = call(UPLOAD_SHIPPING_INFO, "wx1", &body);
        let granted = BTreeSet::from([45, 142]);
        assert!(check_permission_sets(&call, &[], &granted).is_ok());
        assert!(check_permission_sets(&call, &[142], &granted).is_ok());
        assert!(check_permission_sets(&call, &[71, 45], &granted).is_ok());
        let problem = refused(
            check_permission_sets(&call, &[120, 121], &granted),
            StatusCode::FORBIDDEN,
            "[120, 121]",
        );
        assert_eq!(
            problem.body().required_permission_sets,
            Some(vec![120, 121])
        );
        // Nothing granted at all.
        assert!(check_permission_sets(&call, &[142], &BTreeSet::new()).is_err());
    }

    fn limit(name: &str, remaining: u64) -> LimitState {
        LimitState {
            name: name.into(),
            limit: 100,
            remaining,
            window_secs: 86_400,
            reset_secs: 3_600,
        }
    }

    #[test]
    fn limits_give_headers_or_a_429_with_them() {
        let none = Decision {
            limits: vec![],
            exhausted: None,
            shared: true,
        };
        assert_eq!(limit_verdict(&none).unwrap(), vec![]);

        let state = limit("logistics_plugin-user-day", 99);
        let allowed = Decision {
            limits: vec![state.clone()],
            exhausted: None,
            shared: true,
        };
        let headers = vec![
            (
                "RateLimit-Policy",
                "\"logistics_plugin-user-day\";q=100;w=86400".to_owned(),
            ),
            (
                "RateLimit",
                "\"logistics_plugin-user-day\";r=99;t=3600".to_owned(),
            ),
        ];
        assert_eq!(limit_verdict(&allowed).unwrap(), headers);

        let used_up = limit("logistics_plugin-user-day", 0);
        let refused_call = Decision {
            limits: vec![used_up.clone()],
            exhausted: Some(used_up),
            shared: false,
        };
        let problem = refused(
            limit_verdict(&refused_call),
            StatusCode::TOO_MANY_REQUESTS,
            "the limit logistics_plugin-user-day (100 calls per 86400 s) is used up; it resets in 3600 s",
        );
        assert_eq!(header(&problem, "retry-after").as_deref(), Some("3600"));
        assert_eq!(
            header(&problem, "ratelimit").as_deref(),
            Some("\"logistics_plugin-user-day\";r=0;t=3600")
        );
        assert!(header(&problem, "ratelimit-policy").is_some());
    }

    fn sent(status: StatusCode, may_have_acted: bool) -> SendError {
        SendError {
            problem: Problem::new(status, "x", "x"),
            may_have_acted,
        }
    }

    #[test]
    fn outcomes_split_answers_from_problems() {
        let readable = |_: &[u8]| Ok(());
        let unreadable = |_: &[u8]| Err(Problem::new(StatusCode::BAD_GATEWAY, "unreadable", "x"));
        let answer = Bytes::from_static(br#"{"errcode": 0, "order": {"b": 1, "a": 2}}"#);

        let ok = outcome(Ok(answer.clone()), readable);
        assert!(matches!(&ok, Outcome::Answered(v) if *v == answer));
        let failed = outcome(Ok(answer.clone()), unreadable);
        assert!(matches!(&failed, Outcome::Failed(p) if p.status() == StatusCode::BAD_GATEWAY));
        let acted = outcome(Err(sent(StatusCode::GATEWAY_TIMEOUT, true)), readable);
        assert!(matches!(&acted, Outcome::Failed(p) if p.status() == StatusCode::GATEWAY_TIMEOUT));
        let not_sent = outcome(Err(sent(StatusCode::SERVICE_UNAVAILABLE, false)), readable);
        assert!(matches!(&not_sent, Outcome::NotSent(_)));
    }

    #[test]
    fn answers_and_problems_are_kept_for_repeats_unless_wechat_was_not_asked() {
        // WeChat's bytes, as it sent them (its order, its spacing).
        let answer = Bytes::from_static(br#"{"errcode": 0, "b": 1, "a": 2}"#);
        assert_eq!(
            Outcome::Answered(answer).kept(),
            Some((
                StatusCode::OK,
                r#"{"errcode": 0, "b": 1, "a": 2}"#.to_owned()
            ))
        );
        let problem = problem::wechat::wechat_problem(10060001, "no such order rid: r1");
        let (status, body) = Outcome::Failed(problem.clone()).kept().unwrap();
        assert_eq!(status, problem.status());
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body, serde_json::to_value(problem.body()).unwrap());
        assert_eq!(body["wechat_errcode"], 10060001);
        assert_eq!(Outcome::NotSent(problem).kept(), None);
    }

    #[test]
    fn responses_carry_the_limit_headers_once_wechat_may_have_acted() {
        let headers = || vec![("RateLimit", "\"x\";r=1;t=2".to_owned())];
        let answer: Answer<()> = Outcome::Answered(Bytes::from_static(br#"{"errcode":0}"#))
            .respond(headers())
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.content_type, JSON);
        assert_eq!(&answer.body[..], br#"{"errcode":0}"#);
        assert_eq!(answer.headers, headers());

        let Err(failed) = Outcome::Failed(Problem::new(StatusCode::BAD_GATEWAY, "x", "x"))
            .respond::<()>(headers())
        else {
            panic!("a problem answered as a success");
        };
        assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            header(&failed, "ratelimit").as_deref(),
            Some("\"x\";r=1;t=2")
        );

        let Err(not_sent) =
            Outcome::NotSent(Problem::unavailable("no token")).respond::<()>(headers())
        else {
            panic!("a problem answered as a success");
        };
        assert_eq!(not_sent.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&not_sent, "ratelimit"), None);
    }

    #[test]
    fn wechat_failures_say_whether_wechat_may_have_acted() {
        let api = |errcode: i64| WechatError::Api {
            errcode,
            errmsg: "msg".into(),
        };
        // A token still refused after the refresh: WeChat did not act.
        for token_error in [40001, 40014, 42001] {
            assert!(
                !wechat_failure("/p", api(token_error)).may_have_acted,
                "{token_error}"
            );
        }
        let busy = wechat_failure("/p", api(-1));
        assert!(busy.may_have_acted);
        assert_eq!(busy.problem.body().wechat_errcode, Some(-1));

        let timeout = wechat_failure("/p", WechatError::Timeout("slow".into()));
        assert!(timeout.may_have_acted);
        assert_eq!(timeout.problem.status(), StatusCode::GATEWAY_TIMEOUT);
        for unreachable in [
            WechatError::Transport("refused".into()),
            WechatError::HttpStatus(500),
            WechatError::Decode("not json".into()),
        ] {
            let failure = wechat_failure("/p", unreachable);
            assert!(failure.may_have_acted);
            assert_eq!(failure.problem.status(), StatusCode::BAD_GATEWAY);
            assert!(
                failure
                    .problem
                    .body()
                    .type_
                    .ends_with("/wechat-unreachable")
            );
        }
    }

    #[test]
    fn only_busy_codes_and_lost_answers_are_retried() {
        let wechat = |errcode: i64| {
            wechat_failure(
                "/p",
                WechatError::Api {
                    errcode,
                    errmsg: "msg".into(),
                },
            )
        };
        for transient in [-1, 10060012, 10060019] {
            assert!(is_transient(&wechat(transient)), "{transient}");
        }
        for lasting in [40001, 45009, 61007, 10060001] {
            assert!(!is_transient(&wechat(lasting)), "{lasting}");
        }
        assert!(is_transient(&wechat_failure(
            "/p",
            WechatError::Timeout("slow".into())
        )));
        assert!(is_transient(&wechat_failure(
            "/p",
            WechatError::Transport("reset".into())
        )));
        assert!(is_transient(&sent(StatusCode::BAD_GATEWAY, true)));
        assert!(is_transient(&sent(StatusCode::GATEWAY_TIMEOUT, true)));
        assert!(!is_transient(&sent(
            StatusCode::INTERNAL_SERVER_ERROR,
            true
        )));
        // Never before WeChat could act (no token): a retry would not help.
        assert!(!is_transient(&sent(StatusCode::BAD_GATEWAY, false)));
        assert!(!is_transient(&sent(StatusCode::SERVICE_UNAVAILABLE, false)));
    }
}
