use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizer_forced_refreshes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    /// When its token was last replaced by force.
    pub refreshed_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
