use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of event types; empty: every type.
    pub event_types: String,
    /// Signing secret, sealed (it is needed in clear to sign deliveries).
    pub secret_sealed: Vec<u8>,
    /// The secret before the last rotation, still signed with until
    /// `previous_secret_expires_at` so receivers can switch without a gap.
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub enabled: bool,
    pub consecutive_failures: i32,
    /// Unix ms: when the current run of failures began (None: last attempt succeeded).
    pub failing_since_ms: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
