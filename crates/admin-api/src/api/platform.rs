//! The platform's own state, for operators: the component's verify ticket
//! and access token (never their values), readiness, authorizers by status,
//! calls to WeChat and their errors, failing webhooks, waiting deliveries.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use problem::Problem;

use super::{
    AdminTags,
    calls::{CallTotals, rate},
};
use crate::{AdminState, auth::AdminAuth};

/// How many Mini Programs (and failing webhook endpoints) the status lists.
const TOP: u64 = 10;

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

/// Calls to WeChat across the platform.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformCalls {
    pub last_hour: CallTotals,
    pub last_24h: CallTotals,
}

/// A Mini Program with failed calls in the last 24 hours.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FailingMiniProgram {
    pub appid: String,
    /// Calls WeChat refused, failed or did not answer in time.
    pub errors: u64,
    /// Calls that reached WeChat.
    pub sent: u64,
    /// All its calls, sent or not.
    pub calls: u64,
    /// `errors / sent`, 0–1.
    pub error_rate: Option<f64>,
}

/// A webhook endpoint whose deliveries fail, or that is disabled.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FailingWebhook {
    pub id: String,
    pub tenant_id: String,
    pub enabled: bool,
    /// Failed deliveries since its last success.
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
}

/// Webhook endpoints failing or disabled.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FailingWebhooks {
    /// How many there are.
    pub total: u64,
    /// Up to 10, most consecutive failures first.
    pub endpoints: Vec<FailingWebhook>,
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
    /// Calls to WeChat in the last hour and 24 hours, with the error rate (errors over calls sent).
    pub calls: PlatformCalls,
    /// The Mini Programs with the most failed calls in the last 24 hours, up to 10.
    pub failing_mini_programs: Vec<FailingMiniProgram>,
    pub failing_webhooks: FailingWebhooks,
    /// Webhook deliveries waiting: due now or retrying later.
    pub pending_deliveries: u64,
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
    /// readiness detail, authorizers per status, calls to WeChat and their
    /// error rate in the last hour and 24 h, the Mini Programs with the most
    /// errors, failing webhook endpoints and deliveries waiting. Platform
    /// roles only.
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
        // Call ids follow the wall clock, so the windows do too.
        let now = Utc::now();
        let hour_ago = now - chrono::Duration::hours(1);
        let day_ago = now - chrono::Duration::hours(24);
        let calls = PlatformCalls {
            last_hour: CallTotals::of(&state.store.count_calls(None, None, hour_ago).await?),
            last_24h: CallTotals::of(&state.store.count_calls(None, None, day_ago).await?),
        };
        let failing_mini_programs = state
            .store
            .most_failing_appids(None, day_ago, TOP)
            .await?
            .into_iter()
            .map(|f| FailingMiniProgram {
                appid: f.key.into(),
                errors: f.errors,
                sent: f.sent,
                calls: f.calls,
                error_rate: rate(f.errors, f.sent),
            })
            .collect();
        let webhooks = state.store.failing_webhooks(TOP).await?;
        let failing_webhooks = FailingWebhooks {
            total: webhooks.total,
            endpoints: webhooks
                .endpoints
                .into_iter()
                .map(|w| FailingWebhook {
                    id: w.id,
                    tenant_id: w.tenant_id.into(),
                    enabled: w.enabled,
                    consecutive_failures: w.consecutive_failures,
                    disabled_reason: w.disabled_reason,
                })
                .collect(),
        };
        let pending_deliveries = state.store.count_pending_deliveries().await?;
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
            calls,
            failing_mini_programs,
            failing_webhooks,
            pending_deliveries,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })))
    }
}
