use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    pub next_run_at_ms: i64,
    pub last_run_at: Option<DateTimeUtc>,
    pub last_calls: i32,
    pub last_complete: bool,
    pub last_error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
