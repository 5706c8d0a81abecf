//! The logistics-query plugin (seeds 000 and 002) and the logistics helper's
//! `path/get` (seed 001) and `order/get` (seed 003), called with an
//! authorizer_access_token. Every handler checks, in order: the token
//! (41001/40001/42001), permission set 45 (48001), the body (47001), then
//! the seed rules, the daily quotas (plugin APIs only) and the waybill in
//! [`crate::state`].
use poem::{Request, Response, handler, web::Data};
use wechat_api::logistics::{
    GetPathRequest, GetWaybillOrderRequest, QueryTraceRequest, TraceWaybillRequest,
    TraceWaybillResponse, UpdateWaybillGoodsRequest,
};

use super::{
    GET_PATH, GET_WAYBILL_ORDER, QUERY_TRACE, TRACE_WAYBILL, UPDATE_WAYBILL_GOODS, parse_json,
    query_param, wechat_call,
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
        let appid = s.logistics_caller(token.as_deref())?;
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
        let appid = s.logistics_caller(token.as_deref())?;
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
        let appid = s.logistics_caller(token.as_deref())?;
        let req: UpdateWaybillGoodsRequest = parse_json(&body)?;
        s.update_waybill_goods(&appid, &req)?;
        Ok(super::ok())
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
        let appid = s.logistics_caller(token.as_deref())?;
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
        let appid = s.logistics_caller(token.as_deref())?;
        let req: GetWaybillOrderRequest = parse_json(&body)?;
        s.get_waybill_order(&appid, &req)
    })
    .await
}
