use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "component_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub component_appid: String,
    pub verify_ticket_sealed: Option<Vec<u8>>,
    pub ticket_create_time: Option<i64>,
    pub ticket_received_at: Option<DateTimeUtc>,
    pub access_token_sealed: Option<Vec<u8>>,
    pub access_token_expires_at: Option<DateTimeUtc>,
    pub token_version: i64,
    /// When a replica last called api_start_push_ticket (rate limit).
    pub ticket_push_requested_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
