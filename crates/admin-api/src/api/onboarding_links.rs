//! Onboarding links: create (the URL is shown once), list, revoke.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::{Checked, Problem};
use serde_json::json;
use store::onboarding::{LinkRequest, LinkState, link_state};

use super::{AdminTags, Change, Page, PageItem, Paging, audited, existing_tenant};
use crate::{AdminState, auth::AdminAuth};

/// Whether a link can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LinkStatus {
    Usable,
    Expired,
    Revoked,
    /// A single-use link that completed an authorization.
    Used,
}

impl From<LinkState> for LinkStatus {
    fn from(s: LinkState) -> Self {
        match s {
            LinkState::Usable => Self::Usable,
            LinkState::Expired => Self::Expired,
            LinkState::Revoked => Self::Revoked,
            LinkState::AlreadyUsed => Self::Used,
        }
    }
}

/// An onboarding link as listed (its URL is shown only at creation).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OnboardingLink {
    pub id: String,
    pub tenant_id: String,
    pub status: LinkStatus,
    pub auth_type: i32,
    pub biz_appid: Option<String>,
    pub single_use: bool,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<store::onboarding::OnboardingLink> for OnboardingLink {
    fn from(m: store::onboarding::OnboardingLink) -> Self {
        Self {
            status: link_state(&m, Utc::now()).into(),
            id: m.id,
            tenant_id: m.tenant_id.into(),
            auth_type: m.auth_type,
            biz_appid: m.biz_appid,
            single_use: m.single_use,
            expires_at: m.expires_at,
            used_at: m.used_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
        }
    }
}

impl PageItem for OnboardingLink {
    const PAGE: &'static str = "OnboardingLinkPage";
}

#[derive(ApiResponse)]
enum ListOnboardingLinksResponse {
    /// The tenant's links, oldest first.
    #[oai(status = 200)]
    Ok(Json<Page<OnboardingLink>>),
}

#[derive(ApiResponse)]
enum OnboardingLinkResponse {
    /// The link.
    #[oai(status = 200)]
    Ok(Json<OnboardingLink>),
}

/// An onboarding link to create.
#[derive(Debug, Clone, Object, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(skip_serializing_if_is_none, deny_unknown_fields, example)]
pub struct NewOnboardingLink {
    /// Which accounts the authorization page offers: 1 Official Accounts,
    /// 2 Mini Programs (default), 3 both.
    #[oai(validator(minimum(value = "1"), maximum(value = "3")))]
    pub auth_type: Option<i32>,
    /// Pin the authorization to this Mini Program appid (wins over auth_type).
    #[oai(validator(pattern = "^wx[0-9a-f]{16}$"))]
    pub biz_appid: Option<String>,
    /// Lifetime in seconds, 60 s to 30 days (default 7 days).
    #[oai(validator(minimum(value = "60"), maximum(value = "2592000")))]
    pub expires_in_secs: Option<i64>,
    /// Whether the link stops working after one completed authorization (default true).
    pub single_use: Option<bool>,
}

impl poem_openapi::types::Example for NewOnboardingLink {
    fn example() -> Self {
        NewOnboardingLink {
            auth_type: Some(2),
            biz_appid: None,
            expires_in_secs: Some(7 * 86400),
            single_use: Some(true),
        }
    }
}

/// An onboarding link. `url` is shown only in this response.
/// No `Debug`: the URL holds the link's token.
#[derive(Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreatedOnboardingLink {
    pub id: String,
    pub tenant_id: String,
    /// Send this to the merchant's Mini Program administrator: its page
    /// sends a computer to WeChat's PC authorization page (a QR code to scan
    /// with WeChat) and a phone's WeChat to the mobile one.
    pub url: String,
    /// `url` forcing the PC authorization page (open in a computer's browser).
    pub pc_url: String,
    /// `url` forcing the mobile authorization page (open inside WeChat on a phone).
    pub mobile_url: String,
    /// `pc_url` as a QR code (SVG), to carry the link to another device.
    pub pc_qr_svg: String,
    /// `mobile_url` as a QR code (SVG): scanned with WeChat, it opens the mobile authorization page.
    pub mobile_qr_svg: String,
    pub auth_type: i32,
    pub biz_appid: Option<String>,
    pub single_use: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
enum CreateOnboardingLinkResponse {
    /// The link was created.
    #[oai(status = 201)]
    Created(Json<CreatedOnboardingLink>),
}

/// `text` as a QR code, an SVG document (medium error correction: still
/// readable from a photo of a screen).
fn qr_svg(text: &str) -> Result<String, Problem> {
    let code =
        qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).map_err(|e| {
            tracing::error!(error = %e, "an onboarding URL does not fit a QR code");
            Problem::internal()
        })?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

pub struct OnboardingLinksApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "AdminTags::OnboardingLinks")]
impl OnboardingLinksApi {
    /// Create an onboarding link for a tenant
    #[oai(
        path = "/:tenant_id/onboarding-links",
        method = "post",
        operation_id = "create_onboarding_link"
    )]
    async fn create_onboarding_link(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        body: Json<Checked<NewOnboardingLink>>,
    ) -> Result<CreateOnboardingLinkResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let body = body.0.0;
        let request = LinkRequest {
            auth_type: body.auth_type,
            biz_appid: body.biz_appid,
            single_use: body.single_use,
            lifetime_secs: body.expires_in_secs,
        };
        let new = request.into_link(tenant_id.0.clone(), Utc::now());
        let (row, token) = audited(
            &state,
            &auth.0,
            |s| async move { s.create_onboarding_link(new).await },
            |(row, _)| {
                [Change {
                    action: "onboarding_link.create",
                    target_type: "onboarding_link",
                    target_id: row.id.clone(),
                    tenant_id: Some(row.tenant_id.clone().into()),
                    detail: json!({ "auth_type": row.auth_type, "biz_appid": row.biz_appid, "single_use": row.single_use, "expires_at": row.expires_at }),
                }]
            },
        )
        .await?;
        let url = state
            .public_base_url
            .join(&format!("onboard/{}", token.expose()))
            .map_err(|e| {
                tracing::error!(error = %e, "public_base_url cannot form onboarding URLs");
                Problem::internal()
            })?;
        let page_url = |page: &str| format!("{url}?page={page}");
        let (pc_url, mobile_url) = (page_url("pc"), page_url("mobile"));
        Ok(CreateOnboardingLinkResponse::Created(Json(
            CreatedOnboardingLink {
                id: row.id,
                tenant_id: row.tenant_id.into(),
                url: url.to_string(),
                pc_qr_svg: qr_svg(&pc_url)?,
                mobile_qr_svg: qr_svg(&mobile_url)?,
                pc_url,
                mobile_url,
                auth_type: row.auth_type,
                biz_appid: row.biz_appid,
                single_use: row.single_use,
                expires_at: row.expires_at,
            },
        )))
    }

    /// List a tenant's onboarding links
    #[oai(
        path = "/:tenant_id/onboarding-links",
        method = "get",
        operation_id = "list_onboarding_links"
    )]
    async fn list_onboarding_links(
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
    ) -> Result<ListOnboardingLinksResponse, Problem> {
        auth.0.require_tenant_read(&tenant_id)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        existing_tenant(&state.store, &tenant_id).await?;
        let rows = state
            .store
            .list_onboarding_links(&tenant_id, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |l| &l.id).map(OnboardingLink::from);
        Ok(ListOnboardingLinksResponse::Ok(Json(page)))
    }

    /// Revoke an onboarding link
    ///
    /// A merchant opening it afterwards is told the link was revoked.
    /// Revoking twice changes nothing.
    #[oai(
        path = "/:tenant_id/onboarding-links/:link_id/revoke",
        method = "post",
        operation_id = "revoke_onboarding_link"
    )]
    async fn revoke_onboarding_link(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Tenant id.
        tenant_id: Path<String>,
        /// Onboarding link id.
        link_id: Path<String>,
    ) -> Result<OnboardingLinkResponse, Problem> {
        auth.0.require_tenant_write(&tenant_id)?;
        let link = audited(
            &state,
            &auth.0,
            |s| async move { s.revoke_onboarding_link(&tenant_id, &link_id).await },
            |link| {
                [Change {
                    action: "onboarding_link.revoke",
                    target_type: "onboarding_link",
                    target_id: link.id.clone(),
                    tenant_id: Some(link.tenant_id.clone().into()),
                    detail: json!({}),
                }]
            },
        )
        .await?;
        Ok(OnboardingLinkResponse::Ok(Json(link.into())))
    }
}
