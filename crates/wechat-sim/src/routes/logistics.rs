//! The logistics-query plugin (seeds 000 and 002), `/wxa/plugin`, and the
//! logistics helper (物流助手; seeds 001 and 003 and WeChat's current
//! pages), called with an authorizer_access_token. Every handler checks, in
//! order: the token (41001/40001/42001), the permission set (61007: 45 for
//! the plugin, 45 or 71 for the helper, 40 for `/wxa/plugin`), for the
//! plugin APIs that the Mini Program opened the plugin (48001), the body
//! (47001), then the rules, the daily quotas (plugin APIs only) and the
//! waybill in [`crate::state`]. The helper's two lists are `GET` without a
//! body, like WeChat's. `get_delivery_list` (the query list of couriers)
//! checks the token, sets 45, 120, 121 or 142 (61007), then that the body
//! is a JSON object (47001).
use poem::{Request, Response, handler, web::Data};
use wechat_api::logistics::{
    AddWaybillOrderRequest, BatchGetWaybillOrderRequest, CancelWaybillOrderRequest, GetPathRequest,
    GetWaybillOrderRequest, ManagePluginRequest, QueryTraceRequest, TraceWaybillRequest,
    TraceWaybillResponse, UpdateWaybillGoodsRequest,
};

use super::{
    ACCOUNT_GETALL, ADD_WAYBILL_ORDER, BATCHGET_WAYBILL_ORDER, CANCEL_WAYBILL_ORDER,
    DELIVERY_GETALL, GET_DELIVERY_LIST, GET_PATH, GET_WAYBILL_ORDER, MANAGE_PLUGIN, QUERY_TRACE,
    TRACE_WAYBILL, UPDATE_WAYBILL_GOODS, parse_json, query_param, wechat_call,
};
use crate::Simulator;

#[handler]
pub(super) async fn trace_waybill(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, TRACE_WAYBILL, |s| {
        let appid = s.plugin_caller(token.as_deref())?;
        let req: TraceWaybillRequest = parse_json(&body)?;
        Ok(TraceWaybillResponse {
            errcode: 0,
            errmsg: "ok".into(),
            waybill_token: s.trace_waybill(&appid, &req)?,
        })
    })
    .await
}

#[handler]
pub(super) async fn query_trace(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, QUERY_TRACE, |s| {
        let appid = s.plugin_caller(token.as_deref())?;
        let req: QueryTraceRequest = parse_json(&body)?;
        s.query_trace(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn update_waybill_goods(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, UPDATE_WAYBILL_GOODS, |s| {
        let appid = s.plugin_caller(token.as_deref())?;
        let req: UpdateWaybillGoodsRequest = parse_json(&body)?;
        s.update_waybill_goods(&appid, &req)?;
        Ok(super::ok())
    })
    .await
}

#[handler]
pub(super) async fn manage_plugin(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, MANAGE_PLUGIN, |s| {
        let appid = s.plugin_management_caller(token.as_deref())?;
        let req: ManagePluginRequest = parse_json(&body)?;
        s.manage_plugin(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn add_waybill_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, ADD_WAYBILL_ORDER, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        let req: AddWaybillOrderRequest = parse_json(&body)?;
        s.add_waybill_order(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn cancel_waybill_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, CANCEL_WAYBILL_ORDER, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        let req: CancelWaybillOrderRequest = parse_json(&body)?;
        s.cancel_waybill_order(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn batchget_waybill_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, BATCHGET_WAYBILL_ORDER, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        let req: BatchGetWaybillOrderRequest = parse_json(&body)?;
        s.batch_get_waybill_orders(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn account_getall(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, ACCOUNT_GETALL, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        Ok(s.logistics_accounts(&appid))
    })
    .await
}

#[handler]
pub(super) async fn delivery_getall(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, DELIVERY_GETALL, |s| {
        s.helper_caller(token.as_deref())?;
        Ok(s.delivery_companies())
    })
    .await
}

#[handler]
pub(super) async fn get_path(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_PATH, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        let req: GetPathRequest = parse_json(&body)?;
        s.get_path(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn get_waybill_order(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_WAYBILL_ORDER, |s| {
        let appid = s.helper_caller(token.as_deref())?;
        let req: GetWaybillOrderRequest = parse_json(&body)?;
        s.get_waybill_order(&appid, &req)
    })
    .await
}

#[handler]
pub(super) async fn get_delivery_list(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_DELIVERY_LIST, |s| {
        s.delivery_list_caller(token.as_deref())?;
        s.get_delivery_list(&body)
    })
    .await
}
