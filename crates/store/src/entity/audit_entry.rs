use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// UUIDv7: ordered by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub occurred_at: DateTimeUtc,
    /// The `sub` of the JWT, or `api_key:<id>`.
    pub actor: String,
    pub actor_role: String,
    pub tenant_id: Option<String>,
    /// e.g. `tenant.suspend`, `api_key.revoke`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// JSON object describing the change; never a secret.
    pub detail: String,
}

impl ActiveModelBehavior for ActiveModel {}
