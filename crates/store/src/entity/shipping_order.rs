use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub transaction_id: String,
    pub tenant_id: Option<String>,
    pub merchant_id: String,
    pub sub_merchant_id: Option<String>,
    pub merchant_trade_no: String,
    /// Unix seconds.
    pub pay_time: i64,
    /// `pending`, `shipped` or `closed`.
    pub state: String,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub reminded_at: Option<DateTimeUtc>,
    pub overdue_level: i32,
    pub close_reason: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub settlement_state: Option<String>,
    pub confirm_receive_method: Option<String>,
    pub estimated_settlement_time: Option<i64>,
    pub settlement_time: Option<i64>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
