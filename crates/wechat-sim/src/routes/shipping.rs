//! Shipping-information management (seed 004 §I and §III), called with an
//! authorizer_access_token.
use poem::{Request, Response, handler, web::Data};
use serde_json::json;
use wechat_api::shipping::{GetOrderRequest, UploadShippingInfoRequest};

use super::{GET_ORDER, UPLOAD_SHIPPING_INFO, parse_json, query_param, wechat_call};
use crate::{Simulator, state::order_json};

/// Token (41001/40001/42001), permission set (48001), body (47001), seed
/// rules, then the order's state machine.
#[handler]
pub(super) fn upload_shipping_info(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, UPLOAD_SHIPPING_INFO, |s| {
        let appid = s.shipping_caller(token.as_deref())?;
        let req: UploadShippingInfoRequest = parse_json(&body)?;
        s.upload_shipping_info(&appid, &req)?;
        Ok(super::ok())
    })
}

/// The order in the seed's response shape; `"shipping": {}` until shipped.
#[handler]
pub(super) fn get_order(Data(sim): Data<&Simulator>, req: &Request, body: Vec<u8>) -> Response {
    let token = query_param(req, "access_token");
    wechat_call(sim, GET_ORDER, |s| {
        let appid = s.shipping_caller(token.as_deref())?;
        let req: GetOrderRequest = parse_json(&body)?;
        let order = s.get_order(&appid, &req)?;
        Ok(json!({ "errcode": 0, "errmsg": "ok", "order": order_json(&order) }))
    })
}
