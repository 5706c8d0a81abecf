//! `/healthz` (the process is alive), `/readyz` (it can serve: database
//! reachable, migrations applied, Redis reachable when configured, and the
//! verify ticket not past its 12 h validity) and `/metrics` (Prometheus).
//!
//! A *missing* ticket does not make a pod unready: WeChat can only push a
//! ticket to a pod that receives traffic, so a fresh deployment would never
//! become ready. An *expired* one does (no token can be obtained with it);
//! for the next push to arrive anyway, route WeChat's callback paths through
//! a Service with `publishNotReadyAddresses: true` (a requirement on the Helm
//! chart). Both states are reported, with when tpgate last asked WeChat to
//! restart pushes.
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
    let (ticket, ticket_expired) = match state.auth.ticket_status().await {
        Ok(t) => (
            json!({
                "present": t.received_at.is_some(),
                "age_secs": t.age.map(|a| a.num_seconds()),
                "valid": t.valid,
                "stale": t.stale,
                "push_requested_at": t.push_requested_at,
            }),
            t.received_at.is_some() && !t.valid,
        ),
        Err(_) => (json!({ "present": null }), false),
    };
    let ready = readiness.is_ready() && !ticket_expired;
    let body = json!({
        "ready": ready,
        "database": readiness.database.is_ok(),
        "migrations_applied": readiness.migrations_applied,
        "redis": readiness.redis.as_ref().map(|r| r.is_ok()),
        "component_verify_ticket": ticket,
    });
    if ticket_expired {
        tracing::warn!("not ready: the component_verify_ticket is older than its 12 h validity");
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(body).with_status(status).into_response()
}

/// Prometheus text format.
#[handler]
pub async fn metrics() -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(crate::telemetry::prometheus().render())
}
