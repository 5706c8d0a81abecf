//! What tpgate uploaded for each payment order (`upload_shipping_info`
//! answered errcode 0), so a second upload, which spends the order's one
//! re-shipment, is made only when the caller confirms it; and a tenant's
//! switch for that guard.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("shipping_uploads")
                .if_not_exists()
                .col(string("appid"))
                // `tx:<transaction_id>` or `mch:<merchant_id>:<merchant_trade_no>`.
                .col(string("order_key"))
                .col(string("tenant_id"))
                .col(integer("uploads"))
                .col(timestamp_with_time_zone("first_uploaded_at"))
                .col(timestamp_with_time_zone("last_uploaded_at"))
                // The last upload's `upload_time`, as sent and as an instant.
                .col(string("last_upload_time"))
                .col(timestamp_with_time_zone("last_upload_time_at"))
                .col(string("last_tracking"))
                .col(string_null("last_request_id"))
                // WeChat gave no answer to the last upload: it may have it.
                .col(boolean("uncertain").default(false))
                // An upload of this order is being sent until then (a claim,
                // so two at once cannot both spend the re-shipment).
                .col(timestamp_with_time_zone_null("in_flight_until"))
                .primary_key(Index::create().col("appid").col("order_key"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(boolean("reshipment_guard").default(true))
                .to_owned(),
        )
        .await
    }
}
