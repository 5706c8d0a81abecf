use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizer_trade_management")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    pub is_trade_managed: Option<bool>,
    pub confirmation_completed: Option<bool>,
    /// When the answers were fetched (kept when a later fetch fails).
    pub fetched_at: Option<DateTimeUtc>,
    /// Unix ms of the last attempt; a fetch is claimed by moving it.
    pub attempted_at_ms: i64,
    pub errcode: Option<i64>,
    /// Why the last attempt failed; None when it succeeded.
    pub error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
