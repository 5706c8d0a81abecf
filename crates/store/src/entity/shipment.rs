use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub appid: String,
    /// `upload` or `combined`.
    pub kind: String,
    pub order_key: String,
    pub body: String,
    pub confirm_reshipment: bool,
    pub idempotency_key: Option<String>,
    /// `queued`, `uploaded` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at_ms: i64,
    pub lease_until_ms: Option<i64>,
    pub verify_first: bool,
    pub give_up_at: DateTimeUtc,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
