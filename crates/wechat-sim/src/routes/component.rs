//! Component (third-party platform) endpoints: protocol.md §1 and §4–§7.
use std::time::Duration;

use poem::{Request, Response, handler, web::Data};
use wechat_api::component::{
    AuthorizerInfoRequest, AuthorizerListRequest, AuthorizerTokenRequest, ComponentTokenRequest,
    PreAuthCodeRequest, QueryAuthRequest, StartPushTicketRequest,
};

use super::{
    AUTHORIZER_INFO, AUTHORIZER_LIST, AUTHORIZER_TOKEN, COMPONENT_TOKEN, CREATE_PREAUTHCODE,
    QUERY_AUTH, START_PUSH_TICKET, parse_json, query_param, wechat_call,
};
use crate::Simulator;

/// How long after `api_start_push_ticket` answers the ticket is pushed, so the
/// caller has its answer before the push arrives.
const START_PUSH_DELAY: Duration = Duration::from_millis(200);

/// The component token travels as `component_access_token`; the newer
/// "OpenApiDoc" pages write `access_token`, so both are accepted.
fn component_access_token(req: &Request) -> Option<String> {
    query_param(req, "component_access_token").or_else(|| query_param(req, "access_token"))
}

/// `api_start_push_ticket`: answers "ok", then pushes a fresh ticket to the
/// gateway (if one is configured).
#[handler]
pub(super) async fn start_push_ticket(Data(sim): Data<&Simulator>, body: Vec<u8>) -> Response {
    let mut push = false;
    let response = wechat_call(sim, START_PUSH_TICKET, |s| {
        let req: StartPushTicketRequest = parse_json(&body)?;
        s.start_push_ticket(&req.component_appid, &req.component_secret)?;
        push = s.config.gateway_events_url.is_some();
        Ok(super::ok())
    })
    .await;
    if push {
        let sim = sim.clone();
        tokio::spawn(async move {
            tokio::time::sleep(START_PUSH_DELAY).await;
            if let Err(e) = sim.push_ticket().await {
                tracing::warn!(error = %e, "ticket push after api_start_push_ticket failed");
            }
        });
    }
    response
}

#[handler]
pub(super) async fn component_token(Data(sim): Data<&Simulator>, body: Vec<u8>) -> Response {
    wechat_call(sim, COMPONENT_TOKEN, |s| {
        let req: ComponentTokenRequest = parse_json(&body)?;
        s.component_token(&req)
    })
    .await
}

#[handler]
pub(super) async fn create_preauthcode(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = component_access_token(req);
    wechat_call(sim, CREATE_PREAUTHCODE, |s| {
        s.check_component_token(token.as_deref())?;
        let req: PreAuthCodeRequest = parse_json(&body)?;
        s.create_pre_auth_code(token.as_deref(), &req)
    })
    .await
}

#[handler]
pub(super) async fn query_auth(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = component_access_token(req);
    wechat_call(sim, QUERY_AUTH, |s| {
        s.check_component_token(token.as_deref())?;
        let req: QueryAuthRequest = parse_json(&body)?;
        s.query_auth(token.as_deref(), &req)
    })
    .await
}

#[handler]
pub(super) async fn authorizer_token(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = component_access_token(req);
    wechat_call(sim, AUTHORIZER_TOKEN, |s| {
        s.check_component_token(token.as_deref())?;
        let req: AuthorizerTokenRequest = parse_json(&body)?;
        s.authorizer_token(token.as_deref(), &req)
    })
    .await
}

#[handler]
pub(super) async fn authorizer_list(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = component_access_token(req);
    wechat_call(sim, AUTHORIZER_LIST, |s| {
        let req: AuthorizerListRequest = parse_json(&body)?;
        s.authorizer_list(token.as_deref(), &req)
    })
    .await
}

#[handler]
pub(super) async fn authorizer_info(
    Data(sim): Data<&Simulator>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    let token = component_access_token(req);
    wechat_call(sim, AUTHORIZER_INFO, |s| {
        let req: AuthorizerInfoRequest = parse_json(&body)?;
        s.authorizer_info(token.as_deref(), &req)
    })
    .await
}
