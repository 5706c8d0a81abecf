//! The WeChat-compatible host: WeChat's own API contract at tpgate's root,
//! so SDK code written for `https://api.weixin.qq.com` moves over by
//! changing its API host (docs/migrating-sdk-code.md).
//!
//! - `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…` and
//!   `POST /cgi-bin/stable_token` hand out tpgate's own token for one Mini
//!   Program: `appid` is the authorizer's, `secret` a tenant API key with a
//!   proxy scope that may call it. WeChat's real token never leaves tpgate.
//! - The seed APIs (and, for tenants allowed the raw passthrough, any other
//!   `/wxa/…` or `/cgi-bin/…` API) at their WeChat paths with
//!   `?access_token=<tpgate token>` pass the same gate as
//!   `/v1/apps/{appid}/…` ([`crate::gate`]).
//! - Every answer is WeChat's shape: HTTP 200 and `errcode`/`errmsg`.
//!   WeChat's own answers pass unchanged; tpgate's refusals carry the
//!   errcode WeChat gives the same mistake ([`problem::wechat::wechat_error`]),
//!   so an SDK's retry and token-refresh logic works unchanged.
use chrono::{Duration, Utc};
use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::{Method, StatusCode, header},
    web::Data,
};
use problem::{Problem, wechat::HostErrcodes};
use ratelimit::ApiGroup;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{api_keys::KeyScope, authorizers::AuthorizerStatus};
use wechat_api::errcode;

use crate::{
    ProxyState, TenantContext,
    api::{any_answer, no_body, typed_checks},
    catalog::{self, Safety, WechatMethod},
    gate::{self, Call},
};

/// The `wechat_host.*` configuration section.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct WechatHostSettings {
    /// Serve the WeChat-compatible host at all.
    pub enabled: bool,
    /// Serve it on this address instead of the main listener (for a host
    /// of its own); `None`: on the main listener.
    pub listen: Option<std::net::SocketAddr>,
    /// How long a token works (WeChat's is 7200 s).
    pub token_lifetime_secs: u64,
    /// How long a token keeps working after a newer one is issued for the
    /// same key and Mini Program.
    pub grace_secs: u64,
}

impl Default for WechatHostSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
            token_lifetime_secs: 7200,
            grace_secs: 300,
        }
    }
}

impl WechatHostSettings {
    pub fn validate(&self) -> Result<(), String> {
        // SDKs refresh some time before expiry (silenceper/wechat 1500 s
        // early): a shorter lifetime would make them refresh on every call.
        if !(1800..=86_400).contains(&self.token_lifetime_secs) {
            return Err("wechat_host.token_lifetime_secs must be between 1800 and 86400".into());
        }
        if self.grace_secs > 3600 {
            return Err("wechat_host.grace_secs must be at most 3600".into());
        }
        Ok(())
    }

    fn lifetime(&self) -> Duration {
        Duration::seconds(i64::try_from(self.token_lifetime_secs).unwrap_or(7200))
    }

    fn grace(&self) -> Duration {
        Duration::seconds(i64::try_from(self.grace_secs).unwrap_or(300))
    }
}

/// A WeChat-shaped error.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    errcode: i64,
    errmsg: String,
}

impl Refusal {
    fn new(errcode: i64, why: impl std::fmt::Display) -> Self {
        Self {
            errcode,
            errmsg: problem::wechat::explained(errcode, why),
        }
    }

    fn into_response(self) -> Response {
        wechat_json(&json!({ "errcode": self.errcode, "errmsg": self.errmsg }))
    }
}

/// HTTP 200 with a JSON body, as WeChat answers everything.
fn wechat_json(body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()))
}

// --- tokens ------------------------------------------------------------------

/// The token endpoints' parameters (query of `/cgi-bin/token`, body of
/// `/cgi-bin/stable_token`). Unknown fields are ignored, as WeChat does.
#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `GET /cgi-bin/token`: a new token each time, the previous one working
/// for `grace_secs` more, as WeChat's getAccessToken ("重复获取将导致上次获取的
/// access_token 失效", with both working for 5 minutes during a refresh:
/// developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html). A `POST` with the same query
/// is taken alike (WxJava with OkHttp and a custom token URL sends one).
#[handler]
pub async fn get_token(
    req: &Request,
    Data(state): Data<&ProxyState>,
    Data(settings): Data<&WechatHostSettings>,
) -> Response {
    let params = req.params::<TokenRequest>().unwrap_or_default();
    answer_token(issue(state, settings, params, Mode::Fresh).await)
}

/// `POST /cgi-bin/stable_token`, as WeChat's getStableAccessToken
/// (developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html):
/// the current token while it is valid (the same one to every caller),
/// renewed in its last 5 minutes; a new one with `force_refresh`; its tokens
/// "与getAccessToken获取的调用凭证完全隔离". WeChat ends the previous token at
/// once on `force_refresh`; tpgate keeps it for `grace_secs`, so another
/// process sharing the key is not cut off mid-call (the issue asks for it;
/// it refuses nothing WeChat would accept).
#[handler]
pub async fn stable_token(
    Data(state): Data<&ProxyState>,
    Data(settings): Data<&WechatHostSettings>,
    body: Body,
) -> Response {
    let Ok(bytes) = body.into_bytes().await else {
        return Refusal::new(errcode::DATA_FORMAT_ERROR, "the body could not be read")
            .into_response();
    };
    let params = match serde_json::from_slice::<TokenRequest>(&bytes) {
        Ok(p) => p,
        Err(_) if bytes.is_empty() => {
            return Refusal::new(errcode::EMPTY_POST_DATA, "send the JSON body").into_response();
        }
        Err(e) => {
            return Refusal::new(
                errcode::DATA_FORMAT_ERROR,
                format!("the body must be a JSON object: {e}"),
            )
            .into_response();
        }
    };
    let mode = if params.force_refresh {
        Mode::StableForced
    } else {
        Mode::Stable
    };
    answer_token(issue(state, settings, params, mode).await)
}

fn answer_token(issued: Result<(store::Secret, i64), Refusal>) -> Response {
    match issued {
        Ok((token, expires_in)) => {
            wechat_json(&json!({ "access_token": token.expose(), "expires_in": expires_in }))
        }
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `/cgi-bin/token`: always a new token.
    Fresh,
    /// `stable_token`: the current stable one when it has time left, else
    /// a new one.
    Stable,
    /// `stable_token` with `force_refresh`: a new stable one.
    StableForced,
}

/// A token works this much longer than the `expires_in` it is handed out
/// with: SDKs that cache it for exactly `expires_in` (EasyWeChat,
/// PowerWeChat) never send it in its last second.
const SLACK: Duration = Duration::seconds(60);

/// A token handed out again by `stable_token` has at least this long
/// left: WeChat renews a stable token in its last 5 minutes ("平台会提前5分钟
/// 更新access_token", getStableAccessToken's notes).
const STABLE_MIN_LEFT: Duration = Duration::minutes(5);

/// Checks the credential and the Mini Program, then issues (or, stable,
/// finds) the token: its value and seconds left.
async fn issue(
    state: &ProxyState,
    settings: &WechatHostSettings,
    params: TokenRequest,
    mode: Mode,
) -> Result<(store::Secret, i64), Refusal> {
    if params.grant_type.as_deref() != Some("client_credential") {
        return Err(Refusal::new(
            errcode::INVALID_GRANT_TYPE,
            "grant_type must be client_credential",
        ));
    }
    let appid = params
        .appid
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Refusal::new(errcode::APPID_MISSING, "send the Mini Program's appid"))?;
    let secret = params.secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        Refusal::new(
            errcode::APPSECRET_MISSING,
            "send a tenant API key as secret",
        )
    })?;
    let store = state.auth.store();
    let (key, tenant) = store
        .cached_tenant_for_api_key(secret.trim())
        .await
        .map_err(|_| Refusal::new(errcode::SYSTEM_ERROR, "storage unavailable; retry"))?
        .ok_or_else(|| {
            Refusal::new(
                errcode::INVALID_APPSECRET,
                "secret is not a valid tenant API key (unknown, revoked, expired, or its tenant suspended)",
            )
        })?;
    if !key.scopes.contains(KeyScope::ProxyRead) && !key.scopes.contains(KeyScope::ProxyWrite) {
        return Err(Refusal::new(
            errcode::INVALID_APPSECRET,
            "this API key has neither proxy_read nor proxy_write",
        ));
    }
    // Another tenant's appid, one the key may not call and one that does
    // not exist answer alike: nothing about other tenants leaks.
    let unknown = || {
        Refusal::new(
            errcode::INVALID_APPID,
            "no active Mini Program with this appid is authorized for this key",
        )
    };
    if !key.may_call(&appid) {
        return Err(unknown());
    }
    let authorizer = store
        .cached_authorizer(&appid)
        .await
        .map_err(|_| Refusal::new(errcode::SYSTEM_ERROR, "storage unavailable; retry"))?
        .filter(|a| a.tenant_id.as_deref() == Some(tenant.id.as_ref()))
        .filter(|a| a.status == AuthorizerStatus::Active)
        .ok_or_else(unknown)?;
    let now = Utc::now();
    if mode == Mode::Stable
        && let Some((current, value)) = store
            .current_host_token(&key.id, &authorizer.appid, STABLE_MIN_LEFT)
            .await
            .map_err(|_| Refusal::new(errcode::SYSTEM_ERROR, "storage unavailable; retry"))?
    {
        return Ok((value, (current.expires_at - SLACK - now).num_seconds()));
    }
    let (_, value) = store
        .issue_host_token(
            &tenant.id,
            &key.id,
            &authorizer.appid,
            mode != Mode::Fresh,
            settings.lifetime() + SLACK,
            settings.grace(),
        )
        .await
        .map_err(|_| Refusal::new(errcode::SYSTEM_ERROR, "storage unavailable; retry"))?;
    store.note_key_use(&key.id);
    Ok((value, settings.lifetime().num_seconds()))
}

// --- WeChat's shape for everything ----------------------------------------------

/// Wraps the host's endpoints so that what reaches a client in
/// problem+json from the layers around a handler (a body over the size
/// limit, a timeout, an internal error) answers in WeChat's shape too: an
/// SDK only reads HTTP 200 and `errcode`.
pub struct WechatShaped;

impl<E: poem::Endpoint> poem::Middleware<E> for WechatShaped {
    type Output = WechatShapedEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        WechatShapedEndpoint { inner }
    }
}

pub struct WechatShapedEndpoint<E> {
    inner: E,
}

/// The errcodes of a failure outside any one API's handling.
const ANY_API: HostErrcodes = HostErrcodes {
    quota: errcode::DAILY_QUOTA_REACHED,
    server_error: errcode::SYSTEM_ERROR,
};

impl<E: poem::Endpoint> poem::Endpoint for WechatShapedEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(e) => {
                let problem = Problem::from_poem_error(&e);
                let (errcode, errmsg) = problem::wechat::wechat_error(problem.body(), ANY_API);
                return Ok(Refusal { errcode, errmsg }.into_response());
            }
        };
        let is_problem = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(problem::CONTENT_TYPE.as_bytes()));
        if resp.status() == StatusCode::OK || !is_problem {
            return Ok(resp);
        }
        let (parts, body) = resp.into_parts();
        let bytes = body.into_bytes().await.unwrap_or_default();
        let (errcode, errmsg) = match serde_json::from_slice::<problem::ProblemBody>(&bytes) {
            Ok(p) => problem::wechat::wechat_error(&p, ANY_API),
            Err(_) => (errcode::SYSTEM_ERROR, "system error (tpgate)".to_owned()),
        };
        let mut shaped = Refusal { errcode, errmsg }.into_response();
        for (name, value) in &parts.headers {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                shaped.headers_mut().insert(name.clone(), value.clone());
            }
        }
        Ok(shaped)
    }
}

// --- API calls -----------------------------------------------------------------

/// Any API at its WeChat path with `?access_token=<tpgate token>`.
#[handler]
pub async fn api_call(req: &Request, Data(state): Data<&ProxyState>, body: Body) -> Response {
    match forward(req, state, body).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn forward(req: &Request, state: &ProxyState, body: Body) -> Result<Response, Refusal> {
    let token = access_token(req)?;
    let (tenant, appid) = holder(state, &token).await?;
    let path = req.uri().path();
    let method = if req.method() == Method::GET {
        WechatMethod::Get
    } else {
        WechatMethod::Post
    };
    let typed = typed_checks(path, method);
    let api = match typed {
        Some(t) => t.api,
        // A typed API called with the other method.
        None if typed_checks(path, other(method)).is_some() => {
            return Err(match method {
                WechatMethod::Get => {
                    Refusal::new(errcode::REQUIRE_POST_METHOD, "send this API as a POST")
                }
                WechatMethod::Post => {
                    Refusal::new(errcode::REQUIRE_GET_METHOD, "send this API as a GET")
                }
            });
        }
        None if tenant.raw_passthrough && method == WechatMethod::Post => {
            let path = crate::api::raw::wechat_path(path.trim_start_matches('/'))
                .map_err(|p| Refusal::new(errcode::API_UNAUTHORIZED, problem_words(&p)))?;
            catalog::for_raw_path(&path)
        }
        None => {
            return Err(Refusal::new(
                errcode::API_UNAUTHORIZED,
                "tpgate does not proxy this API (with this method), and the raw passthrough is off for this tenant",
            ));
        }
    };
    let json = match method {
        WechatMethod::Get => Value::Object(serde_json::Map::new()),
        WechatMethod::Post => read_json(body).await?,
    };
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let (validate, readable) = typed.map_or(
        (no_body as fn(&Value) -> _, any_answer as fn(&[u8]) -> _),
        |t| (t.validate, t.readable),
    );
    let answer = gate::forward::<()>(
        state,
        &tenant,
        Call {
            api,
            path,
            appid: &appid,
            body: &json,
            idempotency_key: idempotency_key.as_deref(),
            shipment: shipment_of(path, &json, req),
        },
        || validate(&json),
        readable,
    )
    .await;
    match answer {
        Ok(answer) => Ok(answered(answer, &api)),
        Err(problem) => Err(refusal_for(&problem, &api)),
    }
}

/// An `upload_shipping_info` for the re-shipment guard (its header works
/// here as on `/v1/apps/…`).
fn shipment_of(path: &str, json: &Value, req: &Request) -> Option<crate::reshipment::Shipment> {
    if path != catalog::UPLOAD_SHIPPING_INFO.path {
        return None;
    }
    let body: wechat_api::shipping::UploadShippingInfoRequest =
        serde_json::from_value(json.clone()).ok()?;
    let confirmed = crate::reshipment::confirms(
        req.headers()
            .get(crate::reshipment::CONFIRM_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    crate::reshipment::shipment_of(&body, confirmed)
}

fn other(method: WechatMethod) -> WechatMethod {
    match method {
        WechatMethod::Get => WechatMethod::Post,
        WechatMethod::Post => WechatMethod::Get,
    }
}

/// The `access_token` query parameter.
fn access_token(req: &Request) -> Result<String, Refusal> {
    #[derive(Deserialize)]
    struct Query {
        access_token: Option<String>,
    }
    req.params::<Query>()
        .ok()
        .and_then(|q| q.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                errcode::ACCESS_TOKEN_MISSING,
                "send ?access_token= with a token from /cgi-bin/token or /cgi-bin/stable_token",
            )
        })
}

/// The tenant (as its key allows now) and Mini Program a token is for:
/// 40001 when the token is unknown or no longer allowed (key revoked or
/// expired, tenant suspended, authorization ended), 42001 when it expired.
async fn holder(state: &ProxyState, token: &str) -> Result<(TenantContext, String), Refusal> {
    let store = state.auth.store();
    let unavailable = |_| Refusal::new(errcode::SYSTEM_ERROR, "storage unavailable; retry");
    let invalid = |why: &str| Refusal::new(errcode::INVALID_CREDENTIAL, why);
    let (held, key, tenant) = store
        .cached_host_token(token)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| invalid("unknown access_token"))?;
    let now = Utc::now();
    if held.expires_at <= now {
        // Replaced by a newer one: WeChat's "not the latest" (Senparc
        // refreshes only on 40001); else it ran out: 42001.
        return Err(match held.superseded_at {
            Some(_) => invalid("a newer access_token replaced this one; get the current one"),
            None => Refusal::new(
                errcode::ACCESS_TOKEN_EXPIRED,
                "this access_token expired; get a new one",
            ),
        });
    }
    if !key.usable(now) || !tenant.is_active() {
        return Err(invalid(
            "the API key this access_token was issued to is revoked or expired, or its tenant is suspended",
        ));
    }
    let active = store
        .cached_authorizer(&held.appid)
        .await
        .map_err(unavailable)?
        .is_some_and(|a| {
            a.tenant_id.as_deref() == Some(tenant.id.as_ref())
                && a.status == AuthorizerStatus::Active
        });
    if !active {
        return Err(invalid(
            "the Mini Program's authorization for this tenant has ended",
        ));
    }
    store.note_key_use(&key.id);
    Ok((TenantContext::of(key, &tenant), held.appid.to_string()))
}

/// The body as JSON: WeChat's errcodes for an empty or unreadable one.
async fn read_json(body: Body) -> Result<Value, Refusal> {
    let bytes = body
        .into_bytes()
        .await
        .map_err(|_| Refusal::new(errcode::DATA_FORMAT_ERROR, "the body could not be read"))?;
    if bytes.is_empty() {
        return Err(Refusal::new(errcode::EMPTY_POST_DATA, "send the JSON body"));
    }
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Refusal::new(
            errcode::DATA_FORMAT_ERROR,
            format!("the body must be a JSON object: {e}"),
        )
    })?;
    if !json.is_object() {
        return Err(Refusal::new(
            errcode::DATA_FORMAT_ERROR,
            "the body must be a JSON object",
        ));
    }
    Ok(json)
}

/// What `api` answers when its quota is used up or tpgate gets no answer.
fn host_errcodes(api: &catalog::WechatApi) -> HostErrcodes {
    HostErrcodes {
        quota: match api.group {
            ApiGroup::LogisticsPlugin => errcode::LOGISTICS_QUOTA_REACHED,
            _ => errcode::DAILY_QUOTA_REACHED,
        },
        // WxJava's `executeWithRetry` resends a request answered -1 up to
        // `maxRetryTimes` (5) times, writes included (docs/migrating-sdk-code.md).
        server_error: match (api.group, api.safety) {
            (ApiGroup::Shipping, Safety::Write) => errcode::SHIPPING_SYSTEM_ERROR,
            _ => errcode::SYSTEM_ERROR,
        },
    }
}

fn refusal_for(problem: &Problem, api: &catalog::WechatApi) -> Refusal {
    let (errcode, errmsg) = problem::wechat::wechat_error(problem.body(), host_errcodes(api));
    Refusal { errcode, errmsg }
}

fn problem_words(problem: &Problem) -> String {
    let body = problem.body();
    body.detail.clone().unwrap_or_else(|| body.title.clone())
}

/// A passed call's answer: WeChat's JSON as WeChat sent it, with the
/// gate's headers; a replayed refusal (an idempotent repeat) in WeChat's
/// shape too.
fn answered(answer: crate::answer::Answer<()>, api: &catalog::WechatApi) -> Response {
    if answer.status == StatusCode::OK {
        return answer.into_response();
    }
    match serde_json::from_slice::<problem::ProblemBody>(&answer.body) {
        Ok(body) => {
            let (errcode, errmsg) = problem::wechat::wechat_error(&body, host_errcodes(api));
            let mut resp = Refusal { errcode, errmsg }.into_response();
            for (name, value) in &answer.headers {
                if let Ok(value) = value.parse() {
                    resp.headers_mut().insert(*name, value);
                }
            }
            resp
        }
        Err(_) => Refusal::new(
            errcode::SYSTEM_ERROR,
            "an earlier answer could not be replayed",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_api_has_its_checks_at_its_wechat_path() {
        for api in catalog::ALL {
            let checks = typed_checks(api.path, api.method)
                .unwrap_or_else(|| panic!("{} has no checks", api.operation));
            assert_eq!(checks.api.operation, api.operation);
        }
        let other = match catalog::GET_ORDER.method {
            WechatMethod::Get => WechatMethod::Post,
            WechatMethod::Post => WechatMethod::Get,
        };
        assert!(typed_checks(catalog::GET_ORDER.path, other).is_none());
    }

    #[test]
    fn typed_checks_run_the_seed_rules_on_json() {
        let checks = typed_checks(catalog::GET_ORDER.path, WechatMethod::Post).unwrap();
        let refused = (checks.validate)(&json!({})).unwrap_err();
        assert_eq!(refused.body().prevents_errcode, Some(10060014));
        assert!((checks.validate)(&json!({"transaction_id": "4200"})).is_ok());
        let mistyped = (checks.validate)(&json!({"transaction_id": ["4200"]})).unwrap_err();
        assert_eq!(mistyped.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn quotas_and_failures_answer_their_apis_errcodes() {
        assert_eq!(host_errcodes(&catalog::TRACE_WAYBILL).quota, 9300513);
        assert_eq!(host_errcodes(&catalog::GET_ORDER).quota, 45009);
        assert_eq!(host_errcodes(&catalog::GET_ORDER).server_error, -1);
        // An upload whose outcome is unknown must not be resent by the SDK.
        assert_eq!(
            host_errcodes(&catalog::UPLOAD_SHIPPING_INFO).server_error,
            10060012
        );
    }

    #[test]
    fn settings_are_bounded() {
        assert!(WechatHostSettings::default().validate().is_ok());
        let short = WechatHostSettings {
            token_lifetime_secs: 600,
            ..Default::default()
        };
        assert!(short.validate().is_err());
    }
}
