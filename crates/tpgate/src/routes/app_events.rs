//! `POST /wechat/apps/{appid}/events`: the 消息与事件接收 URL registered in
//! the Open Platform console as `https://<host>/wechat/apps/$APPID$/events`.
//! WeChat retries (3 tries) unless it gets `success` within 5 s, so
//! `success` means stored: a push that could not be committed gets a 503.
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Query},
};
use problem::Problem;
use tenant_auth::AuthError;

use crate::{app::AppState, routes::wechat_events::PushParams};

#[handler]
pub async fn app_events(
    Path(appid): Path<String>,
    Query(params): Query<PushParams>,
    Data(state): Data<&AppState>,
    body: String,
) -> Response {
    let query = match params.signed() {
        Ok(q) => q,
        Err(bad) => return bad.into_response(),
    };
    match state.auth.receive_app_push(&appid, &query, &body).await {
        Ok(outcome) => {
            tracing::info!(authorizer.appid = %appid, ?outcome, "Mini Program push stored");
            "success".with_content_type("text/plain").into_response()
        }
        Err(err) => rejection(&appid, err),
    }
}

/// The one mapping (`problem`), logged by what it means: a bad push is
/// WeChat's (or an attacker's) problem, anything else is ours and WeChat
/// retries it.
fn rejection(appid: &str, err: AuthError) -> Response {
    let problem = Problem::from(err);
    if problem.status().is_client_error() {
        tracing::warn!(authorizer.appid = %appid, reason = problem.body().detail.as_deref().unwrap_or_default(), "Mini Program push rejected");
    } else {
        tracing::error!(authorizer.appid = %appid, status = problem.status().as_u16(), "Mini Program push not stored; WeChat will retry");
    }
    problem.into_response()
}
