//! The platform's own state, for operators: the component's verify ticket
//! and access token (never their values), readiness, authorizers by status.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use problem::Problem;

use super::AdminTags;
use crate::{AdminState, auth::AdminAuth};

/// The component_verify_ticket WeChat pushes every 10 minutes.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TicketStatus {
    pub present: bool,
    pub received_at: Option<DateTime<Utc>>,
    pub age_secs: Option<i64>,
    /// Younger than its 12 h validity: tokens can be obtained.
    pub valid: bool,
    /// Missing or older than the stale threshold: pushes have stopped.
    pub stale: bool,
    /// When a replica last asked WeChat to restart pushes (api_start_push_ticket).
    pub push_requested_at: Option<DateTime<Utc>>,
}

/// The component_access_token (its state, never its value).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ComponentTokenStatus {
    pub valid: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub expires_in_secs: i64,
}

/// What `/readyz` checks, in detail.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    pub ready: bool,
    pub database: bool,
    /// Why the database check failed (connection strings masked).
    pub database_error: Option<String>,
    pub migrations_applied: bool,
    /// Absent when no Redis is configured.
    pub redis: Option<bool>,
    pub redis_error: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

/// The platform's state.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformStatus {
    pub component_appid: String,
    pub ticket: TicketStatus,
    pub component_token: ComponentTokenStatus,
    pub readiness: Readiness,
    /// Authorizers per status.
    pub authorizers: Vec<StatusCount>,
    pub version: String,
}

#[derive(ApiResponse)]
enum PlatformStatusResponse {
    /// The platform's state.
    #[oai(status = 200)]
    Ok(Json<PlatformStatus>),
}

pub struct PlatformApi;

#[OpenApi(prefix_path = "/admin/v1/platform", tag = "AdminTags::Platform")]
impl PlatformApi {
    /// Platform status
    ///
    /// The verify ticket's age and push state, the component token's expiry,
    /// readiness detail and authorizers per status. Platform roles only.
    #[oai(path = "/status", method = "get", operation_id = "get_platform_status")]
    async fn status(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
    ) -> Result<PlatformStatusResponse, Problem> {
        auth.0.require_platform_read()?;
        let appid = state.auth.config().component.appid.clone();
        let ticket = state.auth.ticket_status().await.map_err(Problem::from)?;
        let expires_at = state.store.component_token_expires_at(&appid).await?;
        let expires_in_secs = expires_at
            .map(|e| (e - Utc::now()).num_seconds().max(0))
            .unwrap_or(0);
        let readiness = state.store.readiness().await;
        let authorizers = state
            .store
            .count_authorizers_by_status()
            .await?
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect();
        Ok(PlatformStatusResponse::Ok(Json(PlatformStatus {
            component_appid: appid,
            ticket: TicketStatus {
                present: ticket.received_at.is_some(),
                received_at: ticket.received_at,
                age_secs: ticket.age.map(|a| a.num_seconds()),
                valid: ticket.valid,
                stale: ticket.stale,
                push_requested_at: ticket.push_requested_at,
            },
            component_token: ComponentTokenStatus {
                valid: expires_in_secs > 0,
                expires_at,
                expires_in_secs,
            },
            readiness: Readiness {
                ready: readiness.is_ready(),
                database: readiness.database.is_ok(),
                database_error: readiness
                    .database
                    .as_ref()
                    .err()
                    .map(|e| store::mask_url(e)),
                migrations_applied: readiness.migrations_applied,
                redis: readiness.redis.as_ref().map(|r| r.is_ok()),
                redis_error: readiness
                    .redis
                    .as_ref()
                    .and_then(|r| r.as_ref().err())
                    .map(|e| store::mask_url(e)),
            },
            authorizers,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })))
    }
}
