//! A tenant's webhook endpoints: create (the signing secret is shown once),
//! list, get, update (URL, event-type filter, enable/disable), delete, and
//! rotate the secret with a grace period for the old one.
use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::webhooks::{NewWebhook as StoreNewWebhook, WebhookEndpoint, WebhookUpdate};

use super::{AdminTags, Change, Page, PageItem, Paging, audited, existing_tenant};
use crate::{AdminState, auth::AdminAuth};

/// A webhook endpoint (its signing secret is shown only at creation and rotation).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Webhook {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: Option<String>,
    /// Event types delivered; empty means every type.
    pub event_types: Vec<String>,
    /// Disabled endpoints receive nothing (deliveries wait until re-enabled).
    pub enabled: bool,
    pub consecutive_failures: i32,
    /// Why it was disabled (by an operator, or after repeated failures).
    pub disabled_reason: Option<String>,
    /// Until when deliveries are also signed with the secret before the last rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for Webhook {
    fn from(w: WebhookEndpoint) -> Self {
        Self {
            id: w.id,
            tenant_id: w.tenant_id.into(),
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            enabled: w.enabled,
            consecutive_failures: w.consecutive_failures,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at: w.previous_secret_expires_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A webhook endpoint to create.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct NewWebhook {
    /// `https://…` (or `http://…`) URL receiving `POST`s, up to 2048 characters.
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: String,
    /// For humans, up to 256 characters.
    #[oai(validator(max_length = 256))]
    pub description: Option<String>,
    /// Event types to deliver (e.g. `authorization.revoked`,
    /// `trade_manage_order_settlement`); absent or empty: every type.
    #[oai(validator(max_items = 50))]
    pub event_types: Option<Vec<String>>,
}

impl poem_openapi::types::Example for NewWebhook {
    fn example() -> Self {
        NewWebhook {
            url: "https://saas.example.com/hooks/tpgate".into(),
            description: Some("order service".into()),
            event_types: Some(vec![
                "trade_manage_order_settlement".into(),
                "authorization.revoked".into(),
            ]),
        }
    }
}

/// Changes to a webhook endpoint; absent fields stay as they are.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct WebhookPatch {
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: Option<String>,
    #[oai(validator(max_length = 256))]
    pub description: Option<String>,
    #[oai(validator(max_items = 50))]
    pub event_types: Option<Vec<String>>,
    /// `true` re-enables (and clears the failure count); `false` disables.
    pub enabled: Option<bool>,
}

impl poem_openapi::types::Example for WebhookPatch {
    fn example() -> Self {
        Self {
            url: None,
            description: None,
            event_types: None,
            enabled: Some(true),
        }
    }
}

/// How to rotate a signing secret.
#[derive(Debug, Clone, Object, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct RotateWebhookSecret {
    /// How long deliveries stay signed with the old secret too, 0 to 7 days
    /// (default 24 h), so receivers can switch without rejecting anything.
    #[oai(validator(minimum(value = "0"), maximum(value = "604800")))]
    pub previous_secret_valid_for_secs: Option<i64>,
}

impl poem_openapi::types::Example for RotateWebhookSecret {
    fn example() -> Self {
        Self {
            previous_secret_valid_for_secs: Some(86400),
        }
    }
}

/// A webhook endpoint with its signing secret, shown only in this response.
/// No `Debug`: it holds the secret.
#[derive(Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookWithSecret {
    #[oai(flatten)]
    pub webhook: Webhook,
    /// HMAC-SHA256 signing secret (`whsec_…`). Store it now; it is not shown again.
    pub secret: String,
}

impl PageItem for Webhook {
    const PAGE: &'static str = "WebhookPage";
}

#[derive(ApiResponse)]
enum CreateWebhookResponse {
    /// Created; `secret` is shown once.
    #[oai(status = 201)]
    Created(Json<WebhookWithSecret>),
}

#[derive(ApiResponse)]
enum RotateWebhookSecretResponse {
    /// The new secret, shown once.
    #[oai(status = 200)]
    Ok(Json<WebhookWithSecret>),
}

#[derive(ApiResponse)]
enum WebhookResponse {
    /// The endpoint.
    #[oai(status = 200)]
    Ok(Json<Webhook>),
}

#[derive(ApiResponse)]
enum ListWebhooksResponse {
    /// The tenant's endpoints, oldest first.
    #[oai(status = 200)]
    Ok(Json<Page<Webhook>>),
}

#[derive(ApiResponse)]
enum DeleteWebhookResponse {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

/// An absolute http(s) URL without credentials.
fn check_url(raw: &str) -> Result<String, Problem> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Problem::validation("url", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Problem::validation(
            "url",
            "must be an https:// (or http://) URL",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Problem::validation("url", "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Problem::validation(
            "url",
            "must not carry credentials; deliveries are authenticated by their signature",
        ));
    }
    if url.fragment().is_some() {
        return Err(Problem::validation("url", "must not have a #fragment"));
    }
    Ok(url.to_string())
}

/// A URL for the audit log: its query may carry a receiver's token.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// Event types look like `authorization.revoked` or `trade_manage_order_settlement`.
fn check_event_types(types: Vec<String>) -> Result<Vec<String>, Problem> {
    let mut out = Vec::with_capacity(types.len());
    for (i, t) in types.into_iter().enumerate() {
        let t = t.trim().to_owned();
        let ok = !t.is_empty()
            && t.len() <= 64
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !ok {
            return Err(Problem::validation(
                format!("event_types[{i}]"),
                "an event type is 1–64 characters of letters, digits, `_` and `.`",
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::Webhooks")]
impl WebhooksApi {
    /// Create a webhook endpoint
    #[oai(
        path = "/:tenant_id/webhooks",
        method = "post",
        operation_id = "create_webhook"
    )]
    async fn create_webhook(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<Checked<NewWebhook>>,
    ) -> Result<CreateWebhookResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let body = body.0.0;
        let new = StoreNewWebhook {
            url: check_url(&body.url)?,
            description: body.description,
            event_types: check_event_types(body.event_types.unwrap_or_default())?,
        };
        existing_tenant(&state.store, &tenant_id).await?;
        let limit = state.limits.max_webhooks_per_tenant;
        let (webhook, secret) = audited(
            &state,
            &auth.0,
            |s| async move { s.create_webhook(&tenant_id, &new, limit).await },
            |(webhook, _)| {
                [Change {
                    action: "webhook.create",
                    target_type: "webhook",
                    target_id: webhook.id.clone(),
                    tenant_id: Some(webhook.tenant_id.clone().into()),
                    detail: json!({ "url": without_query(&webhook.url), "event_types": webhook.event_types }),
                }]
            },
        )
        .await?;
        Ok(CreateWebhookResponse::Created(Json(WebhookWithSecret {
            webhook: webhook.into(),
            secret: secret.expose().to_owned(),
        })))
    }

    /// List a tenant's webhook endpoints
    #[oai(
        path = "/:tenant_id/webhooks",
        method = "get",
        operation_id = "list_webhooks"
    )]
    async fn list_webhooks(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListWebhooksResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let rows = state
            .store
            .list_webhooks(&tenant_id, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |w| &w.id).map(Webhook::from);
        Ok(ListWebhooksResponse::Ok(Json(page)))
    }

    /// Get a webhook endpoint
    #[oai(
        path = "/:tenant_id/webhooks/:webhook_id",
        method = "get",
        operation_id = "get_webhook"
    )]
    async fn get_webhook(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Webhook endpoint id.
        webhook_id: Path<String>,
    ) -> Result<WebhookResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let webhook = state
            .store
            .webhook(&tenant_id, &webhook_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("webhook {} not found", webhook_id.0)))?;
        Ok(WebhookResponse::Ok(Json(webhook.into())))
    }

    /// Update a webhook endpoint
    #[oai(
        path = "/:tenant_id/webhooks/:webhook_id",
        method = "patch",
        operation_id = "update_webhook"
    )]
    async fn update_webhook(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Webhook endpoint id.
        webhook_id: Path<String>,
        body: Json<Checked<WebhookPatch>>,
    ) -> Result<WebhookResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let body = body.0.0;
        let update = WebhookUpdate {
            url: body.url.as_deref().map(check_url).transpose()?,
            description: body.description,
            event_types: body.event_types.map(check_event_types).transpose()?,
            enabled: body.enabled,
        };
        if update.url.is_none()
            && update.description.is_none()
            && update.event_types.is_none()
            && update.enabled.is_none()
        {
            return Err(Problem::validation(
                "url",
                "nothing to change: give url, description, event_types and/or enabled",
            ));
        }
        let detail = json!({
            "url": update.url.as_deref().map(without_query),
            "description": update.description,
            "event_types": update.event_types,
            "enabled": update.enabled,
        });
        let webhook = audited(
            &state,
            &auth.0,
            |s| async move { s.update_webhook(&tenant_id, &webhook_id, &update).await },
            |webhook| {
                [Change {
                    action: "webhook.update",
                    target_type: "webhook",
                    target_id: webhook.id.clone(),
                    tenant_id: Some(webhook.tenant_id.clone().into()),
                    detail,
                }]
            },
        )
        .await?;
        Ok(WebhookResponse::Ok(Json(webhook.into())))
    }

    /// Delete a webhook endpoint
    #[oai(
        path = "/:tenant_id/webhooks/:webhook_id",
        method = "delete",
        operation_id = "delete_webhook"
    )]
    async fn delete_webhook(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Webhook endpoint id.
        webhook_id: Path<String>,
    ) -> Result<DeleteWebhookResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let change = Change {
            action: "webhook.delete",
            target_type: "webhook",
            target_id: webhook_id.0.clone(),
            tenant_id: Some(tenant_id.0.clone()),
            detail: json!({}),
        };
        audited(
            &state,
            &auth.0,
            |s| async move { s.delete_webhook(&tenant_id, &webhook_id).await },
            |_| [change],
        )
        .await?;
        Ok(DeleteWebhookResponse::Deleted)
    }

    /// Rotate a webhook endpoint's signing secret
    #[oai(
        path = "/:tenant_id/webhooks/:webhook_id/rotate-secret",
        method = "post",
        operation_id = "rotate_webhook_secret"
    )]
    async fn rotate_secret(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Webhook endpoint id.
        webhook_id: Path<String>,
        body: Json<Checked<RotateWebhookSecret>>,
    ) -> Result<RotateWebhookSecretResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let grace = body.0.0.previous_secret_valid_for_secs.unwrap_or(86400);
        let previous_until = Utc::now() + Duration::seconds(grace);
        let (webhook, secret) = audited(
            &state,
            &auth.0,
            |s| async move {
                s.rotate_webhook_secret(&tenant_id, &webhook_id, previous_until)
                    .await
            },
            |(webhook, _)| {
                [Change {
                    action: "webhook.rotate_secret",
                    target_type: "webhook",
                    target_id: webhook.id.clone(),
                    tenant_id: Some(webhook.tenant_id.clone().into()),
                    detail: json!({ "previous_secret_valid_for_secs": grace }),
                }]
            },
        )
        .await?;
        Ok(RotateWebhookSecretResponse::Ok(Json(WebhookWithSecret {
            webhook: webhook.into(),
            secret: secret.expose().to_owned(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_event_types_are_checked() {
        assert!(check_url("https://h.example/x").is_ok());
        for bad in ["ftp://h/x", "not a url", "https://u:p@h/x", "https://h/x#f"] {
            assert_eq!(
                check_url(bad).unwrap_err().body().field.as_deref(),
                Some("url")
            );
        }
        assert_eq!(
            check_event_types(vec!["a.b".into(), "a.b".into()]).unwrap(),
            vec!["a.b".to_owned()]
        );
        let err = check_event_types(vec!["ok".into(), "no spaces".into()]).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("event_types[1]"));
    }
}
