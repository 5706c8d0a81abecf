//! Schema migrations for tpgate (sea-orm-migration).
//!
//! Each migration freezes its own table definitions (never the live entities),
//! so old migrations keep meaning what they meant when they shipped.
//! [`run`] serialises concurrent runs on Postgres with an advisory lock, so two
//! replicas (or a Helm hook and a starting pod) can both call it safely.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement, TransactionTrait};

mod m20261122_000001_create_core_tables;
mod m20261123_000001_token_coordination;
mod m20261123_000002_proxy;
mod m20261123_000003_admin;
mod m20261123_000004_webhook_deliveries;
mod m20261205_000001_key_scopes;
mod m20261206_000001_call_log;
mod m20261206_000002_trade_management;
mod m20261206_000003_forced_refreshes;
mod m20261207_000001_console_sessions;
mod m20261207_000002_wechat_host_tokens;
mod m20261207_000003_shipping_uploads;
mod m20261208_000001_courier_lists;
mod m20261208_000002_shipments;
mod m20261208_000003_shipping_orders;
mod m20261209_000001_authorizers_tenant_appid;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_core_tables::Migration),
            Box::new(m20261123_000001_token_coordination::Migration),
            Box::new(m20261123_000002_proxy::Migration),
            Box::new(m20261123_000003_admin::Migration),
            Box::new(m20261123_000004_webhook_deliveries::Migration),
            Box::new(m20261205_000001_key_scopes::Migration),
            Box::new(m20261206_000001_call_log::Migration),
            Box::new(m20261206_000002_trade_management::Migration),
            Box::new(m20261206_000003_forced_refreshes::Migration),
            Box::new(m20261207_000001_console_sessions::Migration),
            Box::new(m20261207_000002_wechat_host_tokens::Migration),
            Box::new(m20261207_000003_shipping_uploads::Migration),
            Box::new(m20261208_000001_courier_lists::Migration),
            Box::new(m20261208_000002_shipments::Migration),
            Box::new(m20261208_000003_shipping_orders::Migration),
            Box::new(m20261209_000001_authorizers_tenant_appid::Migration),
        ]
    }
}

/// Arbitrary but fixed key for `pg_advisory_lock`: "tpgate migrations".
const MIGRATION_LOCK_KEY: i64 = 0x7470_6761_7465_6d31;

/// Applies all pending migrations. On Postgres the whole run happens in one
/// transaction holding `pg_advisory_xact_lock`, so concurrent runners queue
/// instead of racing, and the lock cannot outlive the run (DDL is
/// transactional on Postgres).
pub async fn run(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK_KEY.into()],
        ))
        .await?;
        Migrator::up(&txn, None).await?;
        txn.commit().await
    } else {
        Migrator::up(db, None).await
    }
}

/// Whether every known migration has been applied (for readiness).
pub async fn is_up_to_date(db: &sea_orm::DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}
