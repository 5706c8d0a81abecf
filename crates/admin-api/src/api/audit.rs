//! The audit log: every change made through this API, newest first.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use problem::Problem;
use store::audit::{AuditEntry as StoredEntry, AuditFilter};

use super::{AdminTags, Page, PageItem, Paging};
use crate::{AdminState, auth::AdminAuth};

/// One change: who, what, when.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// The JWT's `sub`, or `api_key:<id>` for a tenant's key.
    pub actor: String,
    pub actor_role: String,
    /// The tenant the change concerns.
    pub tenant_id: Option<String>,
    /// e.g. `tenant.suspend`, `api_key.revoke`, `authorizer.move`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What changed (never a secret).
    pub detail: serde_json::Value,
}

impl From<StoredEntry> for AuditEntry {
    fn from(e: StoredEntry) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            actor: e.actor,
            actor_role: e.actor_role,
            tenant_id: e.tenant_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            detail: e.detail,
        }
    }
}

impl PageItem for AuditEntry {
    const PAGE: &'static str = "AuditPage";
    const NEWEST_FIRST: bool = true;
}

#[derive(ApiResponse)]
enum ListAuditResponse {
    /// Entries, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<AuditEntry>>),
}

pub struct AuditApi;

#[OpenApi(prefix_path = "/admin/v1/audit-log", tag = "AdminTags::Audit")]
impl AuditApi {
    /// List audit log entries
    ///
    /// A tenant_admin sees the entries concerning its tenant.
    #[oai(path = "/", method = "get", operation_id = "list_audit_log")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_audit_log(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only entries concerning this tenant.
        tenant_id: Query<Option<String>>,
        /// Only changes by this actor.
        actor: Query<Option<String>>,
        /// Only this action, e.g. `tenant.suspend`.
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
        /// Only changes to this target (tenant id, key id, appid…).
        target_id: Query<Option<String>>,
        /// Only entries at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListAuditResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let filter = AuditFilter {
            tenant_id: scope,
            actor: actor.0.filter(|a| !a.is_empty()),
            action: action.0.filter(|a| !a.is_empty()),
            target_id: target_id.0.filter(|t| !t.is_empty()),
            since: since.0,
        };
        let rows = state
            .store
            .list_audit(&filter, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |e| &e.id).map(AuditEntry::from);
        Ok(ListAuditResponse::Ok(Json(page)))
    }
}
