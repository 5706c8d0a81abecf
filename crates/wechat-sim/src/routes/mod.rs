//! Thin poem handlers over [`crate::state`].
//!
//! WeChat's API endpoints answer like WeChat: HTTP 200 with JSON, an error as
//! `{"errcode":N,"errmsg":"… rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}` (the shape of
//! the example in WeChat's getRidInfo doc,
//! <https://developers.weixin.qq.com/doc/oplatform/openApi/openapi/api_getridinfo.md>:
//! `"reach max api daily quota limit rid: 617682e0-09059ac5-34a8e2ea"`). Every call is
//! counted per path (failures included) and an injected fault answers first.
//! Request input is never trusted: a body that is not the expected JSON is
//! 47001, and query strings are read leniently so nothing is rejected by the
//! framework before WeChat's own rules run.
//!
//! # Layout
//! - `component`: ticket start, component token, pre_auth_code, query_auth,
//!   authorizer token, authorizer list and info.
//! - `authorize`: the authorization pages (PC and mobile).
//! - `shipping`: the shipping-information management APIs (`/wxa/sec/order/*`).
//! - `logistics`: the logistics-query plugin
//!   (`/cgi-bin/express/delivery/open_msg/*`, with `get_delivery_list`,
//!   the courier list), plugin management
//!   (`/wxa/plugin`) and the logistics helper (`/cgi-bin/express/business/*`:
//!   `order/add`, `order/cancel`, `order/get`, `order/batchget`, `path/get`,
//!   `account/getall`, `delivery/getall`).
//! - `control`: the `/sim/...` control surface for tests and the sandbox,
//!   among them:
//!   - `GET /sim/couriers` → `{delivery_list, count}`; `PUT /sim/couriers
//!     {delivery_list: [{delivery_id, delivery_name}]}` → 204: what
//!     `get_delivery_list` answers;
//!   - `POST /sim/orders/{transaction_id}/confirm-receipt` → `{order,
//!     pushes}`: the buyer confirms receipt of a shipped order (else 409;
//!     unknown 404), which pushes the settlement (method 1);
//!   - `GET /sim/order-events`, `POST /sim/order-events
//!     {remind_shipping_after_secs?, auto_confirm_after_secs?,
//!     settlement_push_on_shipping?}` (a null duration switches that timer
//!     off) → 204: `SimConfig::remind_shipping_after` (48 h),
//!     `auto_confirm_after` (10 days), `settlement_push_on_shipping` (on);
//!   - `POST /sim/clock/advance {seconds}` → `{now, pushes}`: answers once
//!     the order pushes that fell due were delivered.
//!
//! Order pushes that a WeChat API call gives rise to (the settlement
//! estimate when an upload ships an order) go out in the background after
//! the call, as WeChat's do.
mod authorize;
mod component;
mod control;
mod logistics;
mod shipping;

use poem::{
    EndpointExt as _, IntoResponse as _, Request, Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Json},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

pub use wechat_api::paths::*;

use crate::{
    Simulator,
    state::{State, WxError, WxResult},
};

/// All of WeChat's endpoints and the `/sim` control surface.
pub fn route(sim: Simulator) -> Route {
    let routes = Route::new()
        .at(START_PUSH_TICKET, post(component::start_push_ticket))
        .at(COMPONENT_TOKEN, post(component::component_token))
        .at(CREATE_PREAUTHCODE, post(component::create_preauthcode))
        .at(QUERY_AUTH, post(component::query_auth))
        .at(AUTHORIZER_TOKEN, post(component::authorizer_token))
        .at(AUTHORIZER_LIST, post(component::authorizer_list))
        .at(AUTHORIZER_INFO, post(component::authorizer_info))
        .at(UPLOAD_SHIPPING_INFO, post(shipping::upload_shipping_info))
        .at(GET_ORDER, post(shipping::get_order))
        .at(
            UPLOAD_COMBINED_SHIPPING_INFO,
            post(shipping::upload_combined_shipping_info),
        )
        .at(GET_ORDER_LIST, post(shipping::get_order_list))
        .at(
            NOTIFY_CONFIRM_RECEIVE,
            post(shipping::notify_confirm_receive),
        )
        .at(SET_MSG_JUMP_PATH, post(shipping::set_msg_jump_path))
        .at(IS_TRADE_MANAGED, post(shipping::is_trade_managed))
        .at(
            IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
            post(shipping::is_trade_management_confirmation_completed),
        )
        .at(OP_SPECIAL_ORDER, post(shipping::op_special_order))
        .at(TRACE_WAYBILL, post(logistics::trace_waybill))
        .at(QUERY_TRACE, post(logistics::query_trace))
        .at(UPDATE_WAYBILL_GOODS, post(logistics::update_waybill_goods))
        .at(GET_PATH, post(logistics::get_path))
        .at(GET_WAYBILL_ORDER, post(logistics::get_waybill_order))
        .at(ADD_WAYBILL_ORDER, post(logistics::add_waybill_order))
        .at(CANCEL_WAYBILL_ORDER, post(logistics::cancel_waybill_order))
        .at(
            BATCHGET_WAYBILL_ORDER,
            post(logistics::batchget_waybill_order),
        )
        .at(ACCOUNT_GETALL, get(logistics::account_getall))
        .at(DELIVERY_GETALL, get(logistics::delivery_getall))
        .at(GET_DELIVERY_LIST, post(logistics::get_delivery_list))
        .at(MANAGE_PLUGIN, post(logistics::manage_plugin))
        .at(LOGIN_PAGE, get(authorize::authorization_page))
        .at(MOBILE_PAGE, get(authorize::authorization_page))
        .at(MOBILE_PAGE_WXAOPEN, get(authorize::authorization_page))
        .at("/sim/push/ticket", post(control::push_ticket))
        .at("/sim/push/authorized", post(control::push_authorized))
        .at("/sim/push/unauthorized", post(control::push_unauthorized))
        .at("/sim/push/app-event", post(control::push_app_event))
        .at("/sim/orders", post(control::create_order))
        .at("/sim/orders/:transaction_id", get(control::order))
        .at(
            "/sim/orders/:transaction_id/extras",
            get(control::order_extras),
        )
        .at(
            "/sim/orders/:transaction_id/state",
            post(control::set_order_state),
        )
        .at(
            "/sim/orders/:transaction_id/confirm-receipt",
            post(control::confirm_receipt),
        )
        .at(
            "/sim/order-events",
            get(control::order_events).post(control::set_order_events),
        )
        .at(
            "/sim/couriers",
            get(control::couriers).put(control::set_couriers),
        )
        .at("/sim/combined-orders", post(control::create_combined_order))
        .at("/sim/apps/:appid", get(control::app_settings))
        .at(
            "/sim/apps/:appid/trade-management",
            post(control::set_trade_management),
        )
        .at(
            "/sim/apps/:appid/logistics-plugin",
            post(control::set_logistics_plugin),
        )
        .at("/sim/waybills/:token", get(control::waybill))
        .at(
            "/sim/waybills/:token/status",
            post(control::set_waybill_status),
        )
        .at(
            "/sim/quotas",
            get(control::quota_usage).post(control::set_quotas),
        )
        .at("/sim/delays", post(control::inject_delay))
        .at("/sim/clock", get(control::clock))
        .at("/sim/clock/advance", post(control::advance_clock))
        .at("/sim/calls", get(control::calls))
        .at("/sim/next-authorization", post(control::next_authorization))
        .at("/sim/faults", post(control::inject_fault))
        .at("/sim/gateway", post(control::gateway))
        .at("/*path", unknown_path);
    Route::new().nest("/", routes.data(sim))
}

/// The request id WeChat appends to every error: `xxxxxxxx-xxxxxxxx-xxxxxxxx`.
fn rid() -> String {
    let r = crate::state::random_hex(12);
    format!("{}-{}-{}", &r[..8], &r[8..16], &r[16..])
}

/// WeChat's error body, with a fresh rid.
fn error_body(e: &WxError) -> serde_json::Value {
    json!({ "errcode": e.errcode, "errmsg": format!("{} rid: {}", e.errmsg, rid()) })
}

/// Answers like WeChat: HTTP 200, the success body or the error body.
fn answer<T: Serialize + Send>(path: &str, result: WxResult<T>) -> Response {
    match result {
        Ok(body) => {
            tracing::debug!(api = path, errcode = 0, "wechat-sim answered");
            Json(body).into_response()
        }
        Err(e) => {
            tracing::debug!(api = path, errcode = e.errcode, errmsg = %e.errmsg, "wechat-sim answered an error");
            Json(error_body(&e)).into_response()
        }
    }
}

/// One WeChat API call under the state lock: count it, answer an injected
/// fault, else run `f`. An injected delay then holds the answer back, with
/// the lock released: the call has already taken effect, as when WeChat's
/// answer is slow or lost on the way. App events the call queued are
/// pushed in the background.
async fn wechat_call<T: Serialize + Send>(
    sim: &Simulator,
    path: &str,
    f: impl FnOnce(&mut State) -> WxResult<T>,
) -> Response {
    let (result, delay) = {
        let mut state = sim.lock();
        let delay = state.take_delay(path);
        let result = state.enter(path).and_then(|()| f(&mut state));
        if let Err(e) = &result {
            state.count_error(path, e.errcode);
        }
        (result, delay)
    };
    sim.push_queued_app_events_later();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer(path, result)
}

/// A JSON body, or 47001.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> WxResult<T> {
    serde_json::from_slice(body).map_err(WxError::data_format)
}

/// A query parameter, percent-decoded. A malformed query simply lacks it.
fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `{"errcode":0,"errmsg":"ok"}`.
fn ok() -> serde_json::Value {
    json!({ "errcode": 0, "errmsg": "ok" })
}

/// Any other path: counted, then 404 with a WeChat-style body (after an
/// injected delay, if any).
#[handler]
async fn unknown_path(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let path = req.uri().path();
    let (fault, delay) = {
        let mut state = sim.lock();
        (state.enter(path), state.take_delay(path))
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let error = fault.err().unwrap_or_else(|| {
        WxError::new(
            wechat_api::errcode::SYSTEM_ERROR,
            format!("the simulator does not implement {path}"),
        )
    });
    Json(error_body(&error))
        .with_status(StatusCode::NOT_FOUND)
        .into_response()
}

#[cfg(test)]
mod tests;
