//! `POST /wechat/component/events`: the authorization-event URL registered in
//! the Open Platform console. WeChat expects the plain string `success`; any
//! other answer (or none within 5 s) makes it retry.
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Query},
};
use problem::Problem;
use serde::Deserialize;
use tenant_auth::{AuthError, PushQuery};

use crate::app::AppState;

#[derive(Debug, Deserialize)]
pub struct PushParams {
    timestamp: Option<String>,
    nonce: Option<String>,
    msg_signature: Option<String>,
}

impl PushParams {
    /// All three, or a 400 (a push not in safe mode).
    pub(crate) fn signed(self) -> Result<PushQuery, Problem> {
        match (self.timestamp, self.nonce, self.msg_signature) {
            (Some(timestamp), Some(nonce), Some(msg_signature)) => Ok(PushQuery {
                timestamp,
                nonce,
                msg_signature,
            }),
            _ => Err(Problem::bad_request(
                "query must carry timestamp, nonce and msg_signature (safe mode)",
            )),
        }
    }
}

#[handler]
pub async fn component_events(
    Query(params): Query<PushParams>,
    Data(state): Data<&AppState>,
    body: String,
) -> Response {
    let query = match params.signed() {
        Ok(q) => q,
        Err(bad) => return bad.into_response(),
    };
    match state.auth.receive_component_push(&query, &body).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "component push applied");
            "success".with_content_type("text/plain").into_response()
        }
        Err(err) => push_error_response(err),
    }
}

fn push_error_response(err: AuthError) -> Response {
    match err {
        AuthError::PushCrypto(e) => {
            tracing::warn!(error = %e, code = e.code(), "component push rejected");
            Problem::new(StatusCode::BAD_REQUEST, "push-rejected", "Push rejected")
                .with_detail(format!("{e} ({})", e.code()))
                .into_response()
        }
        AuthError::PushContent(e) => {
            tracing::warn!(error = %e, "component push rejected");
            Problem::new(StatusCode::BAD_REQUEST, "push-rejected", "Push rejected")
                .with_detail(e.to_string())
                .into_response()
        }
        e @ (AuthError::PushWrongComponent { .. } | AuthError::PushOutsideWindow { .. }) => {
            tracing::warn!(error = %e, "component push rejected");
            Problem::new(StatusCode::BAD_REQUEST, "push-rejected", "Push rejected")
                .with_detail(e.to_string())
                .into_response()
        }
        // Not committed: answer an error so WeChat retries the push.
        other => {
            tracing::error!(error = %other, "component push could not be applied; WeChat will retry");
            Problem::unavailable("the push could not be stored; retry").into_response()
        }
    }
}
