use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    /// None when WeChat told us about an authorization no onboarding visit explains.
    pub tenant_id: Option<String>,
    pub status: String,
    pub refresh_token_sealed: Vec<u8>,
    pub access_token_sealed: Option<Vec<u8>>,
    pub access_token_expires_at: Option<DateTimeUtc>,
    pub token_refreshed_at: Option<DateTimeUtc>,
    /// Bumped on every token write; writes are compare-and-set on it.
    pub version: i64,
    pub nick_name: Option<String>,
    /// The account's original id (`gh_…`), from api_get_authorizer_info.
    pub user_name: Option<String>,
    /// The legal entity behind the account, from api_get_authorizer_info.
    pub principal_name: Option<String>,
    /// Last proxied use (written at most every few minutes); the refresh
    /// sweep keeps tokens warm only for recently used authorizers.
    pub last_used_at: Option<DateTimeUtc>,
    pub authorized_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
