//! The webhook outbox: one row per (event, endpoint) to deliver, written in
//! the transaction that stores the event, so an event is never stored
//! without its deliveries (or delivered without being stored).
//!
//! A worker claims due rows by setting `lease_until` (Postgres: `FOR UPDATE
//! SKIP LOCKED`, so replicas never take the same row); a claim whose worker
//! died is due again once its lease ends.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // When the endpoint's current run of failures began: an endpoint is
        // disabled only after failing for a while, not after one burst.
        m.alter_table(
            Table::alter()
                .table("webhook_endpoints")
                .add_column(big_integer_null("failing_since_ms"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("event_id"))
                .col(string("endpoint_id"))
                .col(string("tenant_id"))
                // pending | delivered | dead
                .col(string("status"))
                .col(integer("attempts").default(0))
                .col(big_integer("next_attempt_at_ms"))
                .col(big_integer_null("lease_until_ms"))
                .col(integer_null("last_status_code"))
                .col(string_null("last_error"))
                .col(timestamp_with_time_zone_null("last_attempt_at"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_due")
                .table("webhook_deliveries")
                .col("status")
                .col("next_attempt_at_ms")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_event")
                .table("webhook_deliveries")
                .col("event_id")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_endpoint")
                .table("webhook_deliveries")
                .col("endpoint_id")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table("webhook_deliveries")
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("webhook_endpoints")
                .drop_column("failing_since_ms")
                .to_owned(),
        )
        .await
    }
}
