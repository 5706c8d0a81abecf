use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limit_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `shipping`, `logistics_plugin`, `logistics_helper`, `raw`.
    pub api_group: String,
    /// `appid`, `user` or `tenant`.
    pub dimension: String,
    /// `day` (Asia/Shanghai), `hour` or `minute`.
    pub window: String,
    /// `global`, `tenant:<id>` or `appid:<appid>`.
    pub scope: String,
    pub max_calls: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
