//! Tokens of the WeChat-compatible host (`/cgi-bin/token` and the APIs at
//! the root): tpgate's own, one Mini Program each, issued to a tenant's API
//! key. Only a SHA-256 of each token is kept; its value is re-derived from
//! its id with a key derived from the sealing key when `stable_token` must
//! return it again.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("wechat_host_tokens")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string_uniq("token_hash"))
                .col(string("tenant_id"))
                .col(string("api_key_id"))
                .col(string("appid"))
                // From stable_token (WeChat keeps those apart from /cgi-bin/token's).
                .col(boolean("stable"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone("expires_at"))
                // A newer token replaced it (it then lasts a grace only).
                .col(timestamp_with_time_zone_null("superseded_at"))
                .to_owned(),
        )
        .await?;
        // The live tokens of one key and Mini Program (stable_token, grace).
        m.create_index(
            Index::create()
                .name("wechat_host_tokens_key_appid")
                .table("wechat_host_tokens")
                .col("api_key_id")
                .col("appid")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("wechat_host_tokens_expires_at")
                .table("wechat_host_tokens")
                .col("expires_at")
                .if_not_exists()
                .to_owned(),
        )
        .await
    }
}
