//! The endpoints. Each handler only names its API and its types; the work
//! is in [`crate::gate`].
pub mod couriers;
pub mod logistics;
pub mod raw;
pub mod shipments;
pub mod shipping;

use poem_openapi::{Tags, types::Type};
use problem::Problem;
use serde::de::DeserializeOwned;
use wechat_api::Validate;

use crate::catalog as c;
use crate::{
    ProxyState, TenantContext,
    answer::Answer,
    catalog::WechatApi,
    gate::{self, Call},
    wechat_json::WechatJson,
};
use wechat_api::{logistics as l, shipping as s};

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
    typed_watched(state, tenant, appid, api, body, idempotency_key, None).await
}

/// [`typed`], with the re-shipment guard watching (`upload_shipping_info`).
pub(crate) async fn typed_watched<Q: Validate, R: Type + DeserializeOwned + Send>(
    state: &ProxyState,
    tenant: &TenantContext,
    appid: &str,
    api: WechatApi,
    body: WechatJson<Q>,
    idempotency_key: Option<String>,
    shipment: Option<crate::reshipment::Shipment>,
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
            shipment,
        },
        || body.typed.validate().map_err(Problem::from),
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
            shipment: None,
        },
        || Ok(()),
        readable::<R>,
    )
    .await
}

/// WeChat's answer reads as the documented model, else 502.
fn readable<R: DeserializeOwned>(answer: &[u8]) -> Result<(), Problem> {
    serde_json::from_slice::<R>(answer)
        .map(|_| ())
        .map_err(|e| gate::unreadable_answer(&e))
}

/// A typed API's checks on a JSON body, for callers that do not go through
/// its endpoint (the WeChat-compatible host): the seed rules on the body,
/// and whether WeChat's success answer reads as its model.
#[derive(Clone, Copy)]
pub(crate) struct TypedChecks {
    pub api: WechatApi,
    pub validate: fn(&serde_json::Value) -> Result<(), Problem>,
    pub readable: fn(&[u8]) -> Result<(), Problem>,
}

const fn checks<Q, R>(api: WechatApi) -> TypedChecks
where
    Q: poem_openapi::types::ParseFromJSON + DeserializeOwned + Validate,
    R: DeserializeOwned,
{
    TypedChecks {
        api,
        validate: validate_json::<Q>,
        readable: readable::<R>,
    }
}

/// A `GET` API: no body to check.
const fn get_checks<R: DeserializeOwned>(api: WechatApi) -> TypedChecks {
    TypedChecks {
        api,
        validate: no_body,
        readable: readable::<R>,
    }
}

/// Checks nothing (a body tpgate has no rules for).
pub(crate) fn no_body(_: &serde_json::Value) -> Result<(), Problem> {
    Ok(())
}

/// Takes any answer (an API tpgate has no model for: WeChat's JSON passes
/// as it is).
pub(crate) fn any_answer(_: &[u8]) -> Result<(), Problem> {
    Ok(())
}

/// The body parsed as `Q` (the endpoints' own parsing, so the same field
/// named in the same words), then `Q`'s seed rules.
fn validate_json<Q>(body: &serde_json::Value) -> Result<(), Problem>
where
    Q: poem_openapi::types::ParseFromJSON + DeserializeOwned + Validate,
{
    use poem_openapi::types::ParseFromJSON as _;
    let parsed = WechatJson::<Q>::parse_from_json(Some(body.clone()))
        .map_err(|e| Problem::bad_request(e.into_message()))?;
    parsed.typed.validate().map_err(Problem::from)
}

/// Every typed API's checks, built once.
static TYPED: &[TypedChecks] = &[
    checks::<s::UploadShippingInfoRequest, s::WechatAck>(c::UPLOAD_SHIPPING_INFO),
    checks::<s::UploadCombinedShippingInfoRequest, s::WechatAck>(c::UPLOAD_COMBINED_SHIPPING_INFO),
    checks::<s::GetOrderRequest, s::GetOrderResponse>(c::GET_ORDER),
    checks::<s::GetOrderListRequest, s::GetOrderListResponse>(c::GET_ORDER_LIST),
    checks::<s::NotifyConfirmReceiveRequest, s::WechatAck>(c::NOTIFY_CONFIRM_RECEIVE),
    checks::<s::SetMsgJumpPathRequest, s::WechatAck>(c::SET_MSG_JUMP_PATH),
    checks::<s::TradeManagedRequest, s::IsTradeManagedResponse>(c::IS_TRADE_MANAGED),
    checks::<s::TradeManagedRequest, s::TradeManagementConfirmationResponse>(
        c::IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    ),
    checks::<s::OpSpecialOrderRequest, s::WechatAck>(c::OPSPECIALORDER),
    checks::<l::TraceWaybillRequest, l::TraceWaybillResponse>(c::TRACE_WAYBILL),
    checks::<l::QueryTraceRequest, l::QueryTraceResponse>(c::QUERY_TRACE),
    checks::<
        wechat_api::couriers::GetDeliveryListRequest,
        wechat_api::couriers::GetDeliveryListResponse,
    >(c::GET_DELIVERY_LIST),
    checks::<l::UpdateWaybillGoodsRequest, s::WechatAck>(c::UPDATE_WAYBILL_GOODS),
    checks::<l::GetPathRequest, l::GetPathResponse>(c::GET_PATH),
    checks::<l::GetWaybillOrderRequest, l::GetWaybillOrderResponse>(c::GET_WAYBILL_ORDER),
    checks::<l::AddWaybillOrderRequest, l::AddWaybillOrderResponse>(c::ADD_WAYBILL_ORDER),
    checks::<l::CancelWaybillOrderRequest, l::CancelWaybillOrderResponse>(c::CANCEL_WAYBILL_ORDER),
    checks::<l::BatchGetWaybillOrderRequest, l::BatchGetWaybillOrderResponse>(
        c::BATCHGET_WAYBILL_ORDER,
    ),
    get_checks::<l::GetAllAccountResponse>(c::ACCOUNT_GETALL),
    get_checks::<l::GetAllDeliveryResponse>(c::DELIVERY_GETALL),
    checks::<l::ManagePluginRequest, l::ManagePluginResponse>(c::MANAGE_PLUGIN),
];

/// The checks of the typed API at WeChat path `path` called with `method`.
pub(crate) fn typed_checks(
    path: &str,
    method: crate::catalog::WechatMethod,
) -> Option<TypedChecks> {
    TYPED
        .iter()
        .find(|t| t.api.path == path && t.api.method == method)
        .copied()
}
