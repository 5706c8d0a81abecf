//! Core tables: the platform (component) state, tenants, API keys, onboarding
//! links and visits, authorizers and their granted permission sets.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per component appid: the newest verify ticket and the cached
        // component_access_token, both sealed. `token_version` fences writes.
        m.create_table(
            Table::create()
                .table("component_state")
                .if_not_exists()
                .col(string("component_appid").primary_key())
                .col(blob_null("verify_ticket_sealed"))
                .col(big_integer_null("ticket_create_time"))
                .col(timestamp_with_time_zone_null("ticket_received_at"))
                .col(blob_null("access_token_sealed"))
                .col(timestamp_with_time_zone_null("access_token_expires_at"))
                .col(big_integer("token_version").default(0))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tenants")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string_uniq("name"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("name"))
                .col(string("prefix"))
                .col(string_uniq("key_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("api_keys", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_api_keys_tenant")
                .table("api_keys")
                .col("tenant_id")
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("onboarding_links")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string_uniq("token_hash"))
                .col(integer("auth_type"))
                .col(string_null("biz_appid"))
                .col(boolean("single_use"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("onboarding_links", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        // One row per visit of a link: the pre_auth_code WeChat issued for it.
        // The redirect back and the `authorized` push both resolve the tenant
        // from here, never from anything the browser could choose.
        m.create_table(
            Table::create()
                .table("onboarding_visits")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("link_id"))
                .col(string("tenant_id"))
                .col(string_uniq("pre_auth_code"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(string_null("authorizer_appid"))
                .foreign_key(
                    ForeignKey::create()
                        .from("onboarding_visits", "link_id")
                        .to("onboarding_links", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("authorizers")
                .if_not_exists()
                .col(string("appid").primary_key())
                .col(string_null("tenant_id"))
                .col(string("status"))
                .col(blob("refresh_token_sealed"))
                .col(blob_null("access_token_sealed"))
                .col(timestamp_with_time_zone_null("access_token_expires_at"))
                .col(timestamp_with_time_zone_null("token_refreshed_at"))
                .col(big_integer("version").default(0))
                .col(string_null("nick_name"))
                .col(timestamp_with_time_zone("authorized_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("authorizers", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_authorizers_tenant")
                .table("authorizers")
                .col("tenant_id")
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("authorizer_funcscopes")
                .if_not_exists()
                .col(string("appid"))
                .col(big_integer("funcscope_id"))
                .primary_key(Index::create().col("appid").col("funcscope_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("authorizer_funcscopes", "appid")
                        .to("authorizers", "appid")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "authorizer_funcscopes",
            "authorizers",
            "onboarding_visits",
            "onboarding_links",
            "api_keys",
            "tenants",
            "component_state",
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
