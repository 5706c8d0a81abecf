//! `/healthz` (the process is alive) and `/readyz` (it can serve: database
//! reachable, migrations applied, Redis reachable when configured).
//!
//! The ticket's age is reported but does not gate readiness: WeChat can only
//! push a ticket to a pod that receives traffic, so gating on it would keep a
//! fresh deployment unready forever.
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Json},
};
use serde_json::json;

use crate::app::AppState;

#[handler]
pub async fn healthz() -> &'static str {
    "ok"
}

#[handler]
pub async fn readyz(Data(state): Data<&AppState>) -> Response {
    let store = state.auth.store();
    let readiness = store.readiness().await;
    let ticket = match store.verify_ticket(&state.auth.config().appid).await {
        Ok(Some(t)) => json!({
            "present": true,
            "age_secs": (state.auth.clock().now() - t.received_at).num_seconds(),
        }),
        Ok(None) => json!({ "present": false }),
        Err(_) => json!({ "present": null }),
    };
    let ready = readiness.is_ready();
    let body = json!({
        "ready": ready,
        "database": readiness.database.is_ok(),
        "migrations_applied": readiness.migrations_applied,
        "redis": readiness.redis.as_ref().map(|r| r.is_ok()),
        "component_verify_ticket": ticket,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(body).with_status(status).into_response()
}
