//! When each Mini Program's token was last replaced by force (WeChat
//! rejected it, or an operator asked), for its health view.
//!
//! A table of its own rather than a column on `authorizers`: token writes
//! there are compare-and-set on `version`, and this note must neither bump
//! nor race it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("authorizer_forced_refreshes")
                .if_not_exists()
                .col(string("appid").primary_key())
                .col(timestamp_with_time_zone("refreshed_at"))
                .to_owned(),
        )
        .await
    }
}
