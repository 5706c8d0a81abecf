use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courier_lists")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub list: String,
    /// JSON `[{"delivery_id", "delivery_name"}]`; None until first fetched.
    pub couriers: Option<String>,
    pub fetched_at: Option<DateTimeUtc>,
    /// Unix ms of the last attempt; a fetch is claimed by moving it.
    pub attempted_at_ms: i64,
    pub error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
