use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub name: String,
    pub status: String,
    /// May call `/v1/apps/{appid}/raw/…` (off by default).
    pub raw_passthrough: bool,
    /// Keep request and response bodies of its proxied writes in the call log.
    pub capture_call_bodies: bool,
    /// Refuse a second upload for a payment order unless confirmed (on by default).
    pub reshipment_guard: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
