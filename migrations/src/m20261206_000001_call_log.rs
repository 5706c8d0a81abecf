//! The call log: one row per call tpgate made (or refused to make) to
//! WeChat, and a tenant's switch for capturing write bodies.
//!
//! The id is a UUIDv7, so ordering by id is ordering by time: listings page
//! by id, and the retention purge deletes by id range in small batches
//! (`DELETE … WHERE id IN (SELECT id … WHERE id < cutoff LIMIT n)`) on the
//! primary key, which stays cheap at tens of millions of rows without
//! partition management (daily partitions would need a job creating them
//! ahead and SQLite has none). Filters combine an indexed column with the
//! id range: (tenant_id, id), (appid, id) and request_id.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("wechat_calls")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(timestamp_with_time_zone("occurred_at"))
                .col(string_null("request_id"))
                .col(string_null("tenant_id"))
                .col(string_null("appid"))
                // operationId for the typed APIs, else the WeChat path.
                .col(string("api"))
                .col(integer("attempt"))
                // Whether it reached WeChat (false: refused by tpgate).
                .col(boolean("sent"))
                .col(string("outcome"))
                // The HTTP status tpgate answered the request with.
                .col(integer_null("status"))
                .col(big_integer_null("errcode"))
                .col(string_null("errmsg"))
                .col(string_null("rid"))
                .col(integer("latency_ms"))
                .col(string_null("idempotency_key"))
                // Called with the platform's component token: its errmsg
                // can name the platform's egress IP, so only platform roles
                // see it.
                .col(boolean("component_level"))
                .col(text_null("request_body"))
                .col(text_null("response_body"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_wechat_calls_tenant", &["tenant_id", "id"][..]),
            ("idx_wechat_calls_appid", &["appid", "id"][..]),
            ("idx_wechat_calls_request", &["request_id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("wechat_calls").if_not_exists();
            for col in cols {
                index.col(*col);
            }
            m.create_index(index.to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(boolean("capture_call_bodies").default(false))
                .to_owned(),
        )
        .await
    }
}
