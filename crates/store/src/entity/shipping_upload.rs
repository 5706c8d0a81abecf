use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_key: String,
    pub tenant_id: String,
    pub uploads: i32,
    pub first_uploaded_at: DateTimeUtc,
    pub last_uploaded_at: DateTimeUtc,
    pub last_upload_time: String,
    pub last_upload_time_at: DateTimeUtc,
    pub last_tracking: String,
    pub last_request_id: Option<String>,
    pub uncertain: bool,
    pub in_flight_until: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
