use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use problem::Problem;
use store::authorizers::AuthorizerInfo;

use super::AdminTags;
use crate::{AdminState, auth::AdminJwt};

/// A Mini Program that authorized the platform. Token values are never shown.
#[derive(Debug, Clone, Object)]
pub struct Authorizer {
    pub appid: String,
    /// Owning tenant; absent when WeChat reported an authorization that no
    /// onboarding link explains.
    pub tenant_id: Option<String>,
    /// `active`, `revoked` or `reauthorization_required`.
    pub status: String,
    /// Granted permission sets (funcscope ids), e.g. 18, 45, 142.
    pub permission_sets: Vec<i64>,
    pub nick_name: Option<String>,
    pub authorized_at: DateTime<Utc>,
    /// When the cached access token expires (if one is cached).
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub token_refreshed_at: Option<DateTime<Utc>>,
}

impl From<AuthorizerInfo> for Authorizer {
    fn from(a: AuthorizerInfo) -> Self {
        Self {
            appid: a.appid,
            tenant_id: a.tenant_id,
            status: a.status,
            permission_sets: a.funcscopes.into_iter().collect(),
            nick_name: a.nick_name,
            authorized_at: a.authorized_at,
            access_token_expires_at: a.access_token_expires_at,
            token_refreshed_at: a.token_refreshed_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct AuthorizerList {
    pub items: Vec<Authorizer>,
}

#[derive(ApiResponse)]
enum ListAuthorizersResponse {
    /// Authorizers, by appid.
    #[oai(status = 200)]
    Ok(Json<AuthorizerList>),
}

pub struct AuthorizersApi;

#[OpenApi(prefix_path = "/admin/v1/authorizers", tag = "AdminTags::Authorizers")]
impl AuthorizersApi {
    /// List authorizers with their permission sets
    #[oai(path = "/", method = "get", operation_id = "list_authorizers")]
    async fn list_authorizers(
        &self,
        auth: AdminJwt,
        state: Data<&AdminState>,
        /// Only this tenant's authorizers.
        tenant_id: Query<Option<String>>,
    ) -> Result<ListAuthorizersResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let items = state
            .store
            .list_authorizers(scope.as_deref())
            .await?
            .into_iter()
            .map(Authorizer::from)
            .collect();
        Ok(ListAuthorizersResponse::Ok(Json(AuthorizerList { items })))
    }
}
