//! WeChat's courier lists (`get_delivery_list`, the logistics helper's
//! `delivery/getall`), cached for every replica: refreshed at most once per
//! interval across replicas (a fetch is claimed by moving `attempted_at_ms`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("courier_lists")
                .if_not_exists()
                // `express` (get_delivery_list) or `helper` (delivery/getall).
                .col(string("list").primary_key())
                // `[{"delivery_id", "delivery_name"}]`; null until first fetched.
                .col(text_null("couriers"))
                .col(timestamp_with_time_zone_null("fetched_at"))
                .col(big_integer("attempted_at_ms"))
                // Why the last attempt failed; null when it succeeded.
                .col(string_null("error"))
                .to_owned(),
        )
        .await
    }
}
