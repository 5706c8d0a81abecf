use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// None when the authorizer belongs to no tenant (yet).
    pub tenant_id: Option<String>,
    pub authorizer_appid: Option<String>,
    /// e.g. `authorization.authorized`, `authorization.reauthorization_required`.
    pub event_type: String,
    /// JSON object: the event's fields (never a token).
    pub data: String,
    /// Unique: the same happening recorded twice is one event.
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
