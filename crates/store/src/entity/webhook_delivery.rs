use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub tenant_id: String,
    /// `pending`, `delivered` or `dead` (gave up after the retry schedule).
    pub status: String,
    pub attempts: i32,
    /// Unix ms: when the next attempt is due.
    pub next_attempt_at_ms: i64,
    /// Unix ms: a worker holds the row until then.
    pub lease_until_ms: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
