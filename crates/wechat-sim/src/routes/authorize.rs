//! The authorization pages (protocol.md §5): PC `componentloginpage` and the
//! mobile `bindcomponent`. There is no UI: the "merchant" approves at once and
//! the browser is sent back to `redirect_uri?auth_code=…&expires_in=600`,
//! and, as on WeChat, `authorized` (or `updateauthorized`) is pushed to the
//! gateway too, before or after the redirect ([`crate::config::AuthorizedPush`]).
//!
//! Like WeChat, the PC page is only shown when opened from a page on the
//! platform's authorization domain (授权发起页域名): a visit without a
//! `Referer` on that host (a link opened from an email, a chat or the
//! address bar) gets WeChat's 「授权入口页所在域名：空」 error. Both pages
//! refuse a `redirect_uri` on another host. Sources: WeChat's "授权流程技术
//! 说明" (OD 2.0 Authorization_Process_Technical_Description: the entry
//! page, the callback and the registered 授权发起页域名 must share a
//! domain) and its troubleshooting answer quoting the error text above;
//! Tencent's own console (wxcloudrun-wxcomponent, `AuthPage`) opens the
//! page from a page of its own rather than by a bare redirect. The mobile
//! page is opened inside WeChat and no source says it checks the
//! `Referer`, so only its `redirect_uri` is checked.
//!
//! The same code is also pushed as `authorized` (protocol.md §5: "the same
//! code also arrives in the `authorized` push", OD 2.0), in no documented
//! order relative to the redirect.
use poem::{
    IntoResponse as _, Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Html},
};

use super::query_param;
use crate::{Simulator, config::AuthorizedPush, state::AUTH_CODE_TTL_SECS};

/// WeChat's own words when the entry page is not on the authorization domain.
fn domain_message(entry_host: Option<&str>) -> String {
    format!(
        "请确认授权入口页所在域名，与授权后回调页所在域名相同，并且，此两者都必须与申请第三方平台时填写的授权发起页域名相同。授权入口页所在域名：{}",
        entry_host.unwrap_or("空")
    )
}

/// The host of a `Referer` header, if it is a URL.
fn referer_host(req: &Request) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    url::Url::parse(referer)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// A page visit. Checks, in order: an injected fault, `pre_auth_code` and a
/// valid absolute http(s) `redirect_uri` present, then `component_appid` and
/// the pre_auth_code itself (unknown, expired, used). Only a visit that passes
/// every check consumes the pre_auth_code.
#[handler]
pub(super) async fn authorization_page(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let path = req.uri().path().to_owned();
    let config = sim.config();
    let approval = {
        let mut state = sim.lock();
        if let Err(e) = state.enter(&path) {
            return error_page(&format!("errcode {}: {}", e.errcode, e.errmsg));
        }
        let Some(pre_auth_code) = query_param(req, "pre_auth_code").filter(|c| !c.is_empty())
        else {
            return error_page("pre_auth_code is missing");
        };
        let Some(target) = query_param(req, "redirect_uri")
            .and_then(|uri| url::Url::parse(&uri).ok())
            .filter(|uri| matches!(uri.scheme(), "http" | "https"))
        else {
            return error_page("redirect_uri is missing or is not an absolute http(s) URL");
        };
        if let Some(domain) = &config.authorization_domain {
            let domain = domain.to_ascii_lowercase();
            // Only the PC page is known to check where it was opened from.
            if path == super::LOGIN_PAGE {
                let entry = referer_host(req);
                if entry.as_deref() != Some(domain.as_str()) {
                    return error_page(&domain_message(entry.as_deref()));
                }
            }
            if target.host_str().map(str::to_ascii_lowercase).as_deref() != Some(domain.as_str()) {
                return error_page(&domain_message(Some(&domain)));
            }
        }
        // `biz_appid` pins the authorization to one account and wins over a
        // conflicting `auth_type` (protocol.md §5: OD 2.0
        // Authorization_Process_Technical_Description; WxJava
        // `COMPONENT_LOGIN_PAGE_URL`). Nothing says WeChat refuses both, so
        // neither does the simulator; tpgate sends only one (e2e onboarding).
        let biz_appid = query_param(req, "biz_appid").filter(|a| !a.is_empty());
        let component_appid = query_param(req, "component_appid").unwrap_or_default();
        match state.authorize_page(&component_appid, &pre_auth_code, biz_appid.as_deref()) {
            Ok(approval) => (approval, pre_auth_code, target),
            Err(e) => return error_page(&e.to_string()),
        }
    };
    let (approval, pre_auth_code, mut target) = approval;
    let push = {
        let sim = sim.clone();
        let approval = approval.clone();
        async move {
            if let Err(e) = sim
                .push_issued_authorization(
                    approval.info_type,
                    &approval.appid,
                    &approval.issued,
                    Some(&pre_auth_code),
                )
                .await
            {
                tracing::warn!(error = %e, "wechat-sim: the authorization push failed");
            }
        }
    };
    if config.gateway_events_url.is_some() {
        match config.authorized_push {
            AuthorizedPush::Off => {}
            AuthorizedPush::BeforeRedirect => push.await,
            AuthorizedPush::AfterRedirect => {
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    push.await;
                });
            }
        }
    }
    // Appends with `&` when redirect_uri already has a query.
    target
        .query_pairs_mut()
        .append_pair("auth_code", &approval.issued.code)
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
