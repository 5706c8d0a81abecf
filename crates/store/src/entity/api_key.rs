use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The first characters of the key, shown in lists so operators can tell keys apart.
    pub prefix: String,
    /// SHA-256 of the whole key. Keys are 256-bit random, so a fast hash is enough.
    #[sea_orm(unique)]
    pub key_hash: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    /// After this the key no longer works (None: never expires).
    pub expires_at: Option<DateTimeUtc>,
    /// Comma-separated [`crate::api_keys::KeyScope`]s.
    pub scopes: String,
    /// Comma-separated appids the key may call; NULL: every appid of its tenant.
    pub allowed_appids: Option<String>,
    /// The key that created this one through the admin API, if any.
    pub created_by_key_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
