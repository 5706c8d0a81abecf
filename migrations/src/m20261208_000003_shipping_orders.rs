//! Reconciliation: the paid orders waiting for shipment tpgate knows of
//! (from `get_order_list` with order_state 1, and reminder pushes), until
//! they ship; their settlement as WeChat pushes it; and each Mini
//! Program's reconciliation schedule.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("shipping_orders")
                .if_not_exists()
                .col(string("appid"))
                .col(string("transaction_id"))
                .col(string_null("tenant_id"))
                .col(string("merchant_id"))
                .col(string_null("sub_merchant_id"))
                .col(string("merchant_trade_no"))
                .col(big_integer("pay_time"))
                // `pending`, `shipped` or `closed` (left state 1 otherwise).
                .col(string("state"))
                .col(timestamp_with_time_zone("first_seen_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone_null("reminded_at"))
                // How many `shipping.overdue` thresholds were announced.
                .col(integer("overdue_level").default(0))
                .col(string_null("close_reason"))
                .col(timestamp_with_time_zone_null("closed_at"))
                // `to_settle` (shipped, settlement estimated) or `settled`.
                .col(string_null("settlement_state"))
                .col(string_null("confirm_receive_method"))
                .col(big_integer_null("estimated_settlement_time"))
                .col(big_integer_null("settlement_time"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("appid").col("transaction_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("shipping_orders_pending")
                .table("shipping_orders")
                .col("state")
                .col("pay_time")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("shipping_orders_by_app")
                .table("shipping_orders")
                .col("appid")
                .col("state")
                .col("pay_time")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("reconciliations")
                .if_not_exists()
                .col(string("appid").primary_key())
                // Unix ms the next run is due (spread over the interval).
                .col(big_integer("next_run_at_ms"))
                .col(timestamp_with_time_zone_null("last_run_at"))
                .col(integer("last_calls").default(0))
                .col(boolean("last_complete").default(false))
                .col(string_null("last_error"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("reconciliations_due")
                .table("reconciliations")
                .col("next_run_at_ms")
                .to_owned(),
        )
        .await
    }
}
