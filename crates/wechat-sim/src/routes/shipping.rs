//! Shipping-information management (seed 004), called with an
//! authorizer_access_token. Every handler checks, in order: the token
//! (41001/40001/42001), permission set 142 or 18 (61007), the service
//! opened (48001; not for the two queries about it), the body (47001), then
//! the seed rules and the order state in [`crate::state`].
use poem::{Request, Response, handler, web::Data};
use serde_json::json;
use wechat_api::shipping::{
    GetOrderListRequest, GetOrderRequest, IsTradeManagedResponse, NotifyConfirmReceiveRequest,
    OpSpecialOrderRequest, SetMsgJumpPathRequest, TradeManagedRequest,
    TradeManagementConfirmationResponse, UploadCombinedShippingInfoRequest,
    UploadShippingInfoRequest,
};

use super::{
    GET_ORDER, GET_ORDER_LIST, IS_TRADE_MANAGED, IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    NOTIFY_CONFIRM_RECEIVE, OP_SPECIAL_ORDER, SET_MSG_JUMP_PATH, UPLOAD_COMBINED_SHIPPING_INFO,
    UPLOAD_SHIPPING_INFO, parse_json, query_param, wechat_call,
};
use crate::{Simulator, state::order_json};

#[handler]
pub(super) async fn upload_shipping_info(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, UPLOAD_SHIPPING_INFO, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: UploadShippingInfoRequest = parse_json(&body)?;
        s.upload_shipping_info(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}

#[handler]
pub(super) async fn upload_combined_shipping_info(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, UPLOAD_COMBINED_SHIPPING_INFO, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: UploadCombinedShippingInfoRequest = parse_json(&body)?;
        s.upload_combined_shipping_info(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}

/// The order in the seed's response shape; `"shipping": {}` until shipped.
#[handler]
pub(super) async fn get_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_ORDER, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: GetOrderRequest = parse_json(&body)?;
        let order = s.get_order(&appid, &req)?;
        Ok(json!({ "errcode": 0, "errmsg": "ok", "order": order_json(&order) }))
    })
    .await
}

/// One page of orders, each as `get_order` shows it.
#[handler]
pub(super) async fn get_order_list(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_ORDER_LIST, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: GetOrderListRequest = parse_json(&body)?;
        let page = s.get_order_list(&appid, &req)?;
        let orders: Vec<_> = page.order_list.iter().map(order_json).collect();
        Ok(json!({
            "errcode": 0,
            "errmsg": "ok",
            "order_list": orders,
            "last_index": page.last_index,
            "has_more": page.has_more,
        }))
    })
    .await
}

#[handler]
pub(super) async fn notify_confirm_receive(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, NOTIFY_CONFIRM_RECEIVE, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: NotifyConfirmReceiveRequest = parse_json(&body)?;
        s.notify_confirm_receive(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}

#[handler]
pub(super) async fn set_msg_jump_path(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, SET_MSG_JUMP_PATH, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: SetMsgJumpPathRequest = parse_json(&body)?;
        s.set_msg_jump_path(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}

#[handler]
pub(super) async fn is_trade_managed(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, IS_TRADE_MANAGED, |s| {
        let appid = s.shipping_caller(token.as_deref())?;
        let req: TradeManagedRequest = parse_json(&body)?;
        Ok(IsTradeManagedResponse {
            errcode: 0,
            errmsg: "ok".into(),
            is_trade_managed: s.is_trade_managed(&appid, &req)?,
        })
    })
    .await
}

#[handler]
pub(super) async fn is_trade_management_confirmation_completed(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED, |s| {
        let appid = s.shipping_caller(token.as_deref())?;
        let req: TradeManagedRequest = parse_json(&body)?;
        Ok(TradeManagementConfirmationResponse {
            errcode: 0,
            errmsg: "ok".into(),
            completed: s.trade_management_confirmation_completed(&appid, &req)?,
        })
    })
    .await
}

#[handler]
pub(super) async fn op_special_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, OP_SPECIAL_ORDER, |s| {
        let appid = s.shipping_service_caller(token.as_deref())?;
        let req: OpSpecialOrderRequest = parse_json(&body)?;
        s.op_special_order(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}
