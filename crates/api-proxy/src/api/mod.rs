//! The endpoints. Each handler only names its API and its types; the work
//! is in [`crate::gate`].
pub mod logistics;
pub mod raw;
pub mod shipping;

use poem_openapi::{Tags, types::Type};
use problem::Problem;
use serde::de::DeserializeOwned;
use wechat_api::Validate;

use crate::{
    ProxyState, TenantContext,
    answer::Answer,
    catalog::WechatApi,
    gate::{self, Call},
    wechat_json::WechatJson,
};

#[derive(Tags)]
pub(crate) enum ApiTags {
    /// Mini Program shipping-information management (`/wxa/sec/order/*`);
    /// needs permission set 142 or 18.
    Shipping,
    /// Logistics: the logistics-query plugin (`/cgi-bin/express/delivery/open_msg/*`,
    /// permission set 45, 100 000 calls/day per appid and 100 per user, the
    /// plugin opened for the Mini Program, e.g. with `/wxa/plugin`, set 40)
    /// and the logistics helper (物流助手, `/cgi-bin/express/business/*`,
    /// set 45 or 71), whose `path/get` and `order/get` read only waybills
    /// its `order/add` created.
    Logistics,
}

/// A typed call: the body's seed rules, then the gate; WeChat's success
/// answer must read as `R`.
pub(crate) async fn typed<Q: Validate, R: Type + DeserializeOwned + Send>(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    api: WechatApi,
    body: WechatJson<Q>,
    idempotency_key: Option<String>,
) -> Result<Answer<R>, Problem> {
    gate::forward(
        state,
        tenant,
        Call {
            api,
            path: api.path,
            appid,
            body: &body.raw,
            idempotency_key: idempotency_key.as_deref(),
        },
        || body.typed.validate(),
        readable::<R>,
    )
    .await
}

/// A typed call to one of WeChat's `GET` APIs: no body, no rules; WeChat's
/// success answer must read as `R`.
pub(crate) async fn typed_get<R: Type + DeserializeOwned + Send>(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    api: WechatApi,
) -> Result<Answer<R>, Problem> {
    let body = serde_json::Value::Object(serde_json::Map::new());
    gate::forward(
        state,
        tenant,
        Call {
            api,
            path: api.path,
            appid,
            body: &body,
            idempotency_key: None,
        },
        || Ok(()),
        readable::<R>,
    )
    .await
}

/// WeChat's answer reads as the documented model, else 502 (the tenant's
/// client would fail on it too).
fn readable<R: DeserializeOwned>(value: &serde_json::Value) -> Result<(), Problem> {
    R::deserialize(value).map(|_| ()).map_err(|e| {
        tracing::warn!(error = %e, "WeChat answered a shape we do not understand");
        Problem::new(
            poem::http::StatusCode::BAD_GATEWAY,
            "wechat-unreadable",
            "Unreadable WeChat answer",
        )
        .with_detail("WeChat's answer did not match the documented shape")
    })
}
