//! Each Mini Program's trade-management state as WeChat last reported it
//! (`is_trade_managed`, `is_trade_management_confirmation_completed`),
//! cached so tpgate asks at most once a day per Mini Program.
//!
//! A table of its own rather than columns on `authorizers`: token writes
//! there are compare-and-set on `version`, and a cache refresh must neither
//! bump nor race it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("authorizer_trade_management")
                .if_not_exists()
                .col(string("appid").primary_key())
                // Last known answers (kept when a later fetch fails).
                .col(boolean_null("is_trade_managed"))
                .col(boolean_null("confirmation_completed"))
                // When the answers above were fetched.
                .col(timestamp_with_time_zone_null("fetched_at"))
                // Unix ms of the last attempt: replicas claim a fetch by
                // moving it forward compare-and-set (an integer compares
                // the same on SQLite and Postgres).
                .col(big_integer("attempted_at_ms"))
                // Why the last attempt failed (None: it succeeded), in
                // words a tenant may read.
                .col(big_integer_null("errcode"))
                .col(string_null("error"))
                .to_owned(),
        )
        .await
    }
}
