//! The authorization pages (protocol.md §5): PC `componentloginpage` and the
//! mobile `bindcomponent`. There is no UI: the "merchant" approves at once and
//! the browser is sent back to `redirect_uri?auth_code=…&expires_in=600`.
use poem::{
    IntoResponse as _, Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Html},
};

use super::query_param;
use crate::{Simulator, state::AUTH_CODE_TTL_SECS};

/// A page visit. Checks, in order: an injected fault, `pre_auth_code` and a
/// valid absolute http(s) `redirect_uri` present, then `component_appid` and
/// the pre_auth_code itself (unknown, expired, used). Only a visit that passes
/// every check consumes the pre_auth_code.
#[handler]
pub(super) fn authorization_page(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let path = req.uri().path();
    let mut state = sim.lock();
    if let Err(e) = state.enter(path) {
        return error_page(&format!("errcode {}: {}", e.errcode, e.errmsg));
    }
    let Some(pre_auth_code) = query_param(req, "pre_auth_code").filter(|c| !c.is_empty()) else {
        return error_page("pre_auth_code is missing");
    };
    let Some(mut target) = query_param(req, "redirect_uri")
        .and_then(|uri| url::Url::parse(&uri).ok())
        .filter(|uri| matches!(uri.scheme(), "http" | "https"))
    else {
        return error_page("redirect_uri is missing or is not an absolute http(s) URL");
    };
    let component_appid = query_param(req, "component_appid").unwrap_or_default();
    let biz_appid = query_param(req, "biz_appid");
    let issued = match state.authorize_page(&component_appid, &pre_auth_code, biz_appid.as_deref())
    {
        Ok(issued) => issued,
        Err(e) => return error_page(&e.to_string()),
    };
    drop(state);
    // Appends with `&` when redirect_uri already has a query.
    target
        .query_pairs_mut()
        .append_pair("auth_code", &issued.code)
        .append_pair("expires_in", &AUTH_CODE_TTL_SECS.to_string());
    tracing::debug!(
        page = path,
        "wechat-sim authorization page approved; redirecting"
    );
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, target.as_str())
        .finish()
}

/// WeChat shows its own error page; the message is always ours, never input.
fn error_page(why: &str) -> Response {
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Authorization failed</title></head>\
         <body><h1>Authorization failed</h1><p>{why}</p></body></html>"
    ))
    .with_status(StatusCode::BAD_REQUEST)
    .into_response()
}
