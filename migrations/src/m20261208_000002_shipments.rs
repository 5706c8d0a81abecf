//! Durable shipments: an upload of shipping information tpgate accepted
//! (202) and a worker sends to WeChat, retrying what may be retried, until
//! it is uploaded or has failed. Claimed with a lease like the webhook
//! outbox, so each is sent by one replica at a time.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("shipments")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("appid"))
                // `upload` (upload_shipping_info) or `combined`.
                .col(string("kind"))
                // The payment order: `tx:<transaction_id>` or `mch:<mchid>:<out_trade_no>`.
                .col(string("order_key"))
                // The body sent to WeChat (upload_time filled in).
                .col(text("body"))
                .col(boolean("confirm_reshipment").default(false))
                .col(string_null("idempotency_key"))
                // `queued`, `uploaded` or `failed`.
                .col(string("status"))
                .col(integer("attempts").default(0))
                .col(big_integer("next_attempt_at_ms"))
                .col(big_integer_null("lease_until_ms"))
                // The last attempt's outcome is unknown (a timeout): read
                // get_order before sending again.
                .col(boolean("verify_first").default(false))
                .col(timestamp_with_time_zone("give_up_at"))
                .col(big_integer_null("errcode"))
                .col(string_null("error"))
                .col(string_null("request_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("shipments_due")
                .table("shipments")
                .col("status")
                .col("next_attempt_at_ms")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("shipments_by_app")
                .table("shipments")
                .col("tenant_id")
                .col("appid")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("shipments_idempotency")
                .table("shipments")
                .col("tenant_id")
                .col("idempotency_key")
                .unique()
                .to_owned(),
        )
        .await?;
        // One queued shipment per order, whatever the race: a partial unique
        // index (Postgres and SQLite both have them; sea-query builds none).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS shipments_one_queued_per_order \
                 ON shipments (tenant_id, appid, order_key) WHERE status = 'queued'",
            )
            .await?;
        Ok(())
    }
}
