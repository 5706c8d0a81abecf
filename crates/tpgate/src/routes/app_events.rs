//! `POST /wechat/apps/{appid}/events`: the 消息与事件接收 URL registered in
//! the Open Platform console as `https://<host>/wechat/apps/$APPID$/events`.
//! WeChat retries (3 tries) unless it gets `success` within 5 s, so
//! `success` means stored: a push that could not be committed gets a 503.
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
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

fn rejection(appid: &str, err: AuthError) -> Response {
    let rejected = |detail: String| {
        tracing::warn!(authorizer.appid = %appid, reason = %detail, "Mini Program push rejected");
        Problem::new(StatusCode::BAD_REQUEST, "push-rejected", "Push rejected")
            .with_detail(detail)
            .into_response()
    };
    match err {
        AuthError::PushCrypto(e) => rejected(format!("{e} ({})", e.code())),
        e @ (AuthError::PushContent(_)
        | AuthError::PushWrongAccount { .. }
        | AuthError::PushOutsideWindow { .. }) => rejected(e.to_string()),
        AuthError::AuthorizerNotFound(_) => {
            tracing::warn!(authorizer.appid = %appid, "push for a Mini Program that has not authorized the platform");
            Problem::not_found("this Mini Program has not authorized the platform").into_response()
        }
        // Not committed: an error, so WeChat retries.
        other => {
            tracing::error!(authorizer.appid = %appid, error = %other, "Mini Program push not stored; WeChat will retry");
            Problem::unavailable("the push could not be stored; retry").into_response()
        }
    }
}
