use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "console_sessions")]
pub struct Model {
    /// SHA-256 (hex) of the link's code or the session cookie.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// `sign_in` (a one-time link) or `session`.
    pub kind: String,
    pub role: String,
    pub subject: String,
    pub tenant_id: Option<String>,
    /// The API key the session was opened with, re-checked on every use.
    pub api_key_id: Option<String>,
    /// `link`, `jwt` or `api_key`.
    pub via: String,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    /// Absolute end (a link's 10 minutes, a session's lifetime).
    pub expires_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
