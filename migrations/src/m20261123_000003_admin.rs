//! The operator's surface:
//! - `api_keys.expires_at` / `.scopes`: keys may expire, and may be read-only;
//! - `webhook_endpoints`: where a tenant's events are delivered, with the
//!   signing secret sealed (it must be readable to sign, so not hashed) and
//!   the previous secret kept for a grace period after a rotation;
//! - `audit_log`: who changed what, when, through the admin API.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite cannot add several in one statement.
        m.alter_table(
            Table::alter()
                .table("api_keys")
                .add_column(timestamp_with_time_zone_null("expires_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("api_keys")
                // Comma-separated: `read`, `write`.
                .add_column(string("scopes").default("read,write"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_endpoints")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("url"))
                .col(string_null("description"))
                // JSON array of event types; empty means every type.
                .col(text("event_types"))
                .col(blob("secret_sealed"))
                .col(blob_null("previous_secret_sealed"))
                .col(timestamp_with_time_zone_null("previous_secret_expires_at"))
                .col(boolean("enabled"))
                .col(integer("consecutive_failures").default(0))
                .col(string_null("disabled_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_endpoints_tenant")
                .table("webhook_endpoints")
                .col("tenant_id")
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .if_not_exists()
                // UUIDv7: ordering by id is ordering by time.
                .col(string("id").primary_key())
                .col(timestamp_with_time_zone("occurred_at"))
                .col(string("actor"))
                .col(string("actor_role"))
                // The tenant the change concerns, so tenant admins see their own.
                .col(string_null("tenant_id"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string("target_id"))
                // JSON object; never a secret.
                .col(text("detail"))
                .to_owned(),
        )
        .await?;
        for (name, column) in [
            ("idx_audit_log_tenant", "tenant_id"),
            ("idx_audit_log_action", "action"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table("audit_log")
                    .col(column)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_log", "webhook_endpoints"] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for column in ["scopes", "expires_at"] {
            m.alter_table(
                Table::alter()
                    .table("api_keys")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
