//! The tenant-facing API: typed WeChat endpoints under `/v1/apps/{appid}/…`.
//!
//! Every call goes through the same gate, in this order, and stops at the
//! first failure without spending WeChat quota:
//! 1. API key → tenant (the security scheme; taking [`TenantApiKey`] is the check);
//! 2. the tenant owns the appid and the authorization is active;
//! 3. the authorizer holds one of the route's permission sets;
//! 4. the body passes the seed rules ([`wechat_api::Validate`]);
//! 5. token injected; on a token errcode, one forced refresh and one retry
//!    (safe even for writes: WeChat rejected the token before doing anything).
//!
//! # Layout
//! `routes` (the APIs as data), `passthrough` (typed-but-raw JSON bodies),
//! `errors` (errcode → problem+json); handlers and the gate are here.
#![forbid(unsafe_code)]

pub mod errors;
pub mod passthrough;
pub mod routes;

use poem::Request;
use poem_openapi::{OpenApi, SecurityScheme, Tags, auth::Bearer, param::Path, payload::Json};
use problem::Problem;
use serde_json::Value;
use store::authorizers::STATUS_ACTIVE;
use tenant_auth::{AuthError, TenantAuth, WechatError};
use wechat_api::{
    Validate,
    shipping::{GetOrderRequest, GetOrderResponse, UploadShippingInfoRequest, WechatAck},
};

use crate::{
    errors::{auth_problem, validation_problem, wechat_problem},
    passthrough::WechatJson,
    routes::WechatRoute,
};

/// Shared state of the proxy, put in the poem `Data` of the app.
#[derive(Clone)]
pub struct ProxyState {
    pub auth: TenantAuth,
}

/// The tenant making a call.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub api_key_id: String,
}

/// A tenant API key (`tpk_…`), sent as `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_api_key")]
pub struct TenantApiKey(pub TenantContext);

async fn check_api_key(req: &Request, bearer: Bearer) -> poem::Result<TenantContext> {
    let state = req
        .data::<ProxyState>()
        .ok_or_else(|| poem::Error::from(Problem::internal()))?;
    // A storage error fails closed (503), never open.
    match state.auth.store().tenant_for_api_key(&bearer.token).await {
        Ok(Some((key, tenant))) => Ok(TenantContext {
            tenant_id: tenant.id,
            api_key_id: key.id,
        }),
        Ok(None) => Err(Problem::unauthorized("unknown, revoked or suspended API key").into()),
        Err(e) => Err(Problem::from(e).into()),
    }
}

#[derive(Tags)]
enum ApiTags {
    /// Mini Program shipping-information management (`/wxa/sec/order/*`);
    /// needs permission set 142 or 18.
    Shipping,
}

pub struct ProxyApi;

#[OpenApi(prefix_path = "/v1/apps")]
impl ProxyApi {
    /// Upload shipping information for a payment order
    ///
    /// WeChat's `upload_shipping_info`, body in WeChat's shape. Checked locally
    /// against the seed rules first (a 400 names the field and the errcode it
    /// prevents). A payment order may be re-shipped once; the third upload is
    /// a 409 with `wechat_errcode` 10060003. Not retried automatically.
    #[oai(
        path = "/:appid/wxa/sec/order/upload_shipping_info",
        method = "post",
        operation_id = "upload_shipping_info",
        tag = "ApiTags::Shipping"
    )]
    async fn upload_shipping_info(
        &self,
        auth: TenantApiKey,
        state: poem::web::Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<UploadShippingInfoRequest>>,
    ) -> Result<Json<WechatJson<WechatAck>>, Problem> {
        let answer = proxy(
            &state,
            &auth.0,
            &appid,
            &routes::UPLOAD_SHIPPING_INFO,
            &body.0.typed,
            &body.0.raw,
        )
        .await?;
        Ok(Json(wechat_answer(answer)?))
    }

    /// Get a payment order's shipping state
    ///
    /// WeChat's `get_order`: by `transaction_id`, or `merchant_id` +
    /// `merchant_trade_no`.
    #[oai(
        path = "/:appid/wxa/sec/order/get_order",
        method = "post",
        operation_id = "get_order",
        tag = "ApiTags::Shipping"
    )]
    async fn get_order(
        &self,
        auth: TenantApiKey,
        state: poem::web::Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetOrderRequest>>,
    ) -> Result<Json<WechatJson<GetOrderResponse>>, Problem> {
        let answer = proxy(
            &state,
            &auth.0,
            &appid,
            &routes::GET_ORDER,
            &body.0.typed,
            &body.0.raw,
        )
        .await?;
        Ok(Json(wechat_answer(answer)?))
    }
}

fn wechat_answer<T: poem_openapi::types::Type + serde::de::DeserializeOwned>(
    raw: Value,
) -> Result<WechatJson<T>, Problem> {
    WechatJson::from_wechat(raw).map_err(|e| {
        tracing::warn!(error = %e, "WeChat answered a shape we do not understand");
        Problem::new(
            poem::http::StatusCode::BAD_GATEWAY,
            "wechat-unreadable",
            "Unreadable WeChat answer",
        )
        .with_detail("WeChat's answer did not match the documented shape")
    })
}

/// The gate (see the crate docs) and the call itself.
async fn proxy<T: Validate>(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    route: &WechatRoute,
    typed: &T,
    raw: &Value,
) -> Result<Value, Problem> {
    let store = state.auth.store();
    // Unknown appid and another tenant's appid look the same: no probing.
    let authorizer = store
        .authorizer(appid)
        .await
        .map_err(Problem::from)?
        .filter(|a| a.tenant_id.as_deref() == Some(tenant.tenant_id.as_str()))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "Mini Program {appid} is not authorized for this tenant"
            ))
        })?;
    if authorizer.status != STATUS_ACTIVE {
        return Err(auth_problem(AuthError::AuthorizerInactive {
            appid: appid.to_owned(),
            status: authorizer.status,
        }));
    }
    if !route
        .allowed_sets
        .iter()
        .any(|s| authorizer.funcscopes.contains(s))
    {
        return Err(Problem::forbidden(format!(
            "Mini Program {appid} has not granted any of the permission sets {:?} that {} needs; its administrator must authorize them",
            route.allowed_sets, route.path
        ))
        .with_required_sets(route.allowed_sets.to_vec()));
    }
    typed.validate().map_err(validation_problem)?;

    let access = state
        .auth
        .authorizer_access_token(appid)
        .await
        .map_err(auth_problem)?;
    let client = state.auth.client();
    let first = client
        .post_value(route.path, Some(("access_token", &access.token)), raw)
        .await;
    let result = match first {
        Err(WechatError::Api { errcode, .. }) if wechat_api::errcode::is_token_error(errcode) => {
            // WeChat rejected the token itself, before acting on the body, so
            // one retry with a fresh token is safe for writes too.
            tracing::info!(authorizer.appid = %appid, errcode, "token rejected by WeChat; refreshing once");
            let fresh = state
                .auth
                .force_refresh_authorizer(appid, access.version)
                .await
                .map_err(auth_problem)?;
            client
                .post_value(route.path, Some(("access_token", &fresh.token)), raw)
                .await
        }
        other => other,
    };
    match result {
        Ok(value) => {
            tracing::info!(tenant.id = %tenant.tenant_id, authorizer.appid = %appid, api = route.path, "proxied call succeeded");
            Ok(value)
        }
        Err(WechatError::Api { errcode, errmsg }) => {
            tracing::info!(tenant.id = %tenant.tenant_id, authorizer.appid = %appid, api = route.path, errcode, "WeChat answered an error");
            Err(wechat_problem(errcode, &errmsg))
        }
        Err(other) => Err(auth_problem(AuthError::Wechat(other))),
    }
}
