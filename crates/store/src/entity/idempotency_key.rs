use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// SHA-256 of the operation, appid and canonical JSON body.
    pub request_hash: String,
    /// `pending` while the first request runs, then `done`.
    pub state: String,
    pub status_code: Option<i32>,
    /// The answer replayed to repeats (never holds a token).
    pub response_body: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at_ms: i64,
}

impl ActiveModelBehavior for ActiveModel {}
