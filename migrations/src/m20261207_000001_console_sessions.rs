//! The operator console's sign-in links and sessions.
//!
//! One table for both: a one-time sign-in link (`kind = sign_in`) is
//! exchanged for a session (`kind = session`) by deleting its row, so a link
//! works once even when two browsers race. Only a SHA-256 of each token is
//! kept; the token itself lives in the link or the `HttpOnly` cookie.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("console_sessions")
                .if_not_exists()
                .col(string("token_hash").primary_key())
                .col(string("kind"))
                .col(string("role"))
                .col(string("subject"))
                .col(string_null("tenant_id"))
                .col(string_null("api_key_id"))
                .col(string("via"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await?;
        // Purging expired rows, and ending a tenant's sessions.
        m.create_index(
            Index::create()
                .name("console_sessions_expires_at")
                .table("console_sessions")
                .col("expires_at")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("console_sessions_tenant_id")
                .table("console_sessions")
                .col("tenant_id")
                .if_not_exists()
                .to_owned(),
        )
        .await
    }
}
