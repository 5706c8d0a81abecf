//! The API proxy's state:
//! - `tenants.raw_passthrough`: whether a tenant may use the raw passthrough
//!   (off by default; an operator switches it on);
//! - `rate_limit_policies`: limits per API group × dimension × window, global
//!   or overridden for one tenant or one appid (`scope`);
//! - `idempotency_keys`: the first result of a write sent with an
//!   `Idempotency-Key`, replayed for repeats for 24 h.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(boolean("raw_passthrough").default(false))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("rate_limit_policies")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("api_group"))
                .col(string("dimension"))
                .col(string("window"))
                // `global`, `tenant:<id>` or `appid:<appid>`: one column, so
                // the unique index works on both backends (NULLs are distinct).
                .col(string("scope"))
                .col(big_integer("max_calls"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_rate_limit_policies")
                .table("rate_limit_policies")
                .col("api_group")
                .col("dimension")
                .col("window")
                .col("scope")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .if_not_exists()
                .col(string("tenant_id"))
                .col(string("idempotency_key"))
                .col(string("request_hash"))
                .col(string("state"))
                .col(integer_null("status_code"))
                .col(text_null("response_body"))
                .col(timestamp_with_time_zone("created_at"))
                .col(big_integer("expires_at_ms"))
                .primary_key(Index::create().col("tenant_id").col("idempotency_key"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_expiry")
                .table("idempotency_keys")
                .col("expires_at_ms")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["idempotency_keys", "rate_limit_policies"] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table("tenants")
                .drop_column("raw_passthrough")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
