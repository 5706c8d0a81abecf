use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wechat_host_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// SHA-256 (hex) of the token.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub tenant_id: String,
    pub api_key_id: String,
    pub appid: String,
    /// Issued by stable_token.
    pub stable: bool,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// When a newer token of the same kind replaced it.
    pub superseded_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
