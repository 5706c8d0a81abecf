use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wechat_calls")]
pub struct Model {
    /// UUIDv7: ordered by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub occurred_at: DateTimeUtc,
    pub request_id: Option<String>,
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    pub api: String,
    pub attempt: i32,
    pub sent: bool,
    pub outcome: String,
    pub status: Option<i32>,
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    pub rid: Option<String>,
    pub latency_ms: i32,
    pub idempotency_key: Option<String>,
    pub component_level: bool,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
