//! Token coordination and authorization history:
//! - `leases`: cross-replica locks when Redis is absent (unique key + expiry);
//! - `events`: what happened to a tenant's authorizers (authorized, updated,
//!   revoked, reauthorization required), deduplicated by `dedupe_key` so a
//!   push WeChat retries is applied once; the webhook outbox builds on it;
//! - authorizer profile (`user_name` = gh_ id, `principal_name`) and
//!   `last_used_at`, which tells the refresh sweep who is active;
//! - `ticket_push_requested_at`: when tpgate last asked WeChat to push a
//!   ticket (api_start_push_ticket), shared by replicas to rate-limit it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Expiry in unix milliseconds: compared in SQL on both backends, and
        // SQLite has no native timestamp type to compare reliably.
        m.create_table(
            Table::create()
                .table("leases")
                .if_not_exists()
                .col(string("name").primary_key())
                .col(string("holder"))
                .col(big_integer("expires_at_ms"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("events")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string_null("tenant_id"))
                .col(string_null("authorizer_appid"))
                .col(string("event_type"))
                .col(text("data"))
                .col(string_uniq("dedupe_key"))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_tenant_created")
                .table("events")
                .col("tenant_id")
                .col("created_at")
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        // SQLite allows one column per ALTER TABLE ADD.
        for col in [
            string_null("user_name"),
            string_null("principal_name"),
            timestamp_with_time_zone_null("last_used_at"),
        ] {
            m.alter_table(
                Table::alter()
                    .table("authorizers")
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        // The sweep looks for active authorizers by token expiry.
        m.create_index(
            Index::create()
                .name("idx_authorizers_status_expiry")
                .table("authorizers")
                .col("status")
                .col("access_token_expires_at")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("component_state")
                .add_column(timestamp_with_time_zone_null("ticket_push_requested_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("component_state")
                .drop_column("ticket_push_requested_at")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_authorizers_status_expiry")
                .table("authorizers")
                .to_owned(),
        )
        .await?;
        for col in ["last_used_at", "principal_name", "user_name"] {
            m.alter_table(
                Table::alter()
                    .table("authorizers")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for table in ["events", "leases"] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
