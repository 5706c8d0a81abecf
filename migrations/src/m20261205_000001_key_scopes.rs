//! API key scopes become `proxy_read`, `proxy_write`, `admin_read`,
//! `admin_write` (tenant administration is no longer implied by a key), keys
//! may be limited to some appids, and a key records the key that made it
//! (so revoking a key revokes what it minted).
//!
//! Existing keys keep what they could effectively do: a `read,write` key
//! proxied reads and writes and administered its tenant; a `read` key
//! proxied reads and read its tenant through the admin API.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        m.alter_table(
            Table::alter()
                .table("api_keys")
                .add_column(text_null("allowed_appids"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("api_keys")
                .add_column(string_null("created_by_key_id"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE api_keys SET scopes = 'admin_read,admin_write,proxy_read,proxy_write' \
             WHERE scopes LIKE '%write%'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE api_keys SET scopes = 'admin_read,proxy_read' WHERE scopes = 'read'",
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_api_keys_created_by")
                .table("api_keys")
                .col("created_by_key_id")
                .if_not_exists()
                .to_owned(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database, Statement};

    use crate::{MigrationName, Migrator, MigratorTrait};

    /// Keys made before scopes were split keep what they could do.
    #[tokio::test]
    async fn existing_keys_keep_their_effective_scopes() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        // Every migration before this one (later ones may follow it).
        let this = Migrator::migrations()
            .iter()
            .position(|m| m.name() == super::Migration.name())
            .unwrap();
        let before = u32::try_from(this).unwrap();
        Migrator::up(&db, Some(before)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO tenants (id, name, status, raw_passthrough, created_at, updated_at) \
             VALUES ('t', 't', 'active', false, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        )
        .await
        .unwrap();
        for (id, scopes) in [("rw", "read,write"), ("r", "read")] {
            db.execute_unprepared(&format!(
                "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at, scopes) \
                 VALUES ('{id}', 't', '{id}', 'tpk_', '{id}', '2026-01-01T00:00:00Z', '{scopes}')"
            ))
            .await
            .unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, scopes, allowed_appids FROM api_keys ORDER BY id",
            ))
            .await
            .unwrap();
        let got: Vec<(String, String, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("r".into(), "admin_read,proxy_read".into(), None),
                (
                    "rw".into(),
                    "admin_read,admin_write,proxy_read,proxy_write".into(),
                    None
                ),
            ]
        );
    }
}
