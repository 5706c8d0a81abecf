//! `POST /wechat/component/events`: the authorization-event URL registered in
//! the Open Platform console. WeChat expects the plain string `success`; any
//! other answer (or none within 5 s) makes it retry.
use poem::{
    IntoResponse, Response, handler,
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

/// The one mapping (`problem`), logged by what it means (see
/// `app_events::rejection`).
fn push_error_response(err: AuthError) -> Response {
    let problem = Problem::from(err);
    if problem.status().is_client_error() {
        tracing::warn!(
            reason = problem.body().detail.as_deref().unwrap_or_default(),
            "component push rejected"
        );
    } else {
        tracing::error!(
            status = problem.status().as_u16(),
            "component push could not be applied; WeChat will retry"
        );
    }
    problem.into_response()
}
