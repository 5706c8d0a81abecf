//! `tpgate rotate-keys`: re-seals every sealed value with the current key,
//! so an old key can be removed from `sealing_previous_keys` afterwards;
//! `rotate-keys --check` counts what is still sealed with another key.
//!
//! Every sealed column is listed once, in [`SEALED_COLUMNS`]; a test compares
//! the list with the schema, so a new sealed column that the list misses
//! fails the build's tests instead of silently surviving a rotation.
//!
//! Each value is replaced compare-and-set on its old sealed bytes: a token
//! refreshed concurrently (already sealed with the current key by the
//! running replicas) is left alone rather than overwritten, and version
//! columns are untouched, so rotation never races a refresh.
use sea_orm::{
    ConnectionTrait, Value,
    sea_query::{Alias, Expr, ExprTrait, Order, Query},
};

use crate::{Store, StoreError};

/// One column holding sealed values, and how to name each value's purpose
/// (the AEAD's associated data) from its row key.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The row's primary key (a string).
    pub key: &'static str,
    pub column: &'static str,
    purpose: fn(&str) -> String,
}

impl SealedColumn {
    /// `table.column`, as reports name it.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// Every sealed column in the schema.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "component_state",
        key: "component_appid",
        column: "verify_ticket_sealed",
        purpose: crate::component::ticket_purpose,
    },
    SealedColumn {
        table: "component_state",
        key: "component_appid",
        column: "access_token_sealed",
        purpose: crate::component::token_purpose,
    },
    SealedColumn {
        table: "authorizers",
        key: "appid",
        column: "refresh_token_sealed",
        purpose: crate::authorizers::refresh_purpose,
    },
    SealedColumn {
        table: "authorizers",
        key: "appid",
        column: "access_token_sealed",
        purpose: crate::authorizers::access_purpose,
    },
    SealedColumn {
        table: "webhook_endpoints",
        key: "id",
        column: "secret_sealed",
        purpose: crate::webhooks::secret_purpose,
    },
    SealedColumn {
        table: "webhook_endpoints",
        key: "id",
        column: "previous_secret_sealed",
        purpose: crate::webhooks::secret_purpose,
    },
];

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Values re-sealed with the current key.
    pub resealed: u64,
    /// Values already sealed with it.
    pub current: u64,
    /// Values changed by someone else meanwhile (already current then).
    pub skipped: u64,
}

/// Values sealed with a key other than the current one, per column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldKeyReport {
    /// `(table.column, count)` for each column with such values.
    pub columns: Vec<(String, u64)>,
}

impl OldKeyReport {
    pub fn total(&self) -> u64 {
        self.columns.iter().map(|(_, n)| n).sum()
    }
}

const PAGE: u64 = 500;

impl Store {
    /// Re-seals every value of every [`SEALED_COLUMNS`] entry that is not
    /// sealed with the current key.
    pub async fn reseal_all(&self) -> Result<RotationReport, StoreError> {
        let mut report = RotationReport::default();
        for column in SEALED_COLUMNS {
            let mut after = None;
            while let Some((page, last)) = self.sealed_page(column, after.take()).await? {
                for (key, sealed) in page {
                    if self.sealer().is_current(&sealed) {
                        report.current += 1;
                        continue;
                    }
                    let purpose = (column.purpose)(&key);
                    let secret = self.sealer().open(&purpose, &sealed)?;
                    let resealed = self.sealer().seal(&purpose, &secret);
                    let update = Query::update()
                        .table(Alias::new(column.table))
                        .value(Alias::new(column.column), resealed)
                        .and_where(Expr::col(Alias::new(column.key)).eq(key))
                        .and_where(Expr::col(Alias::new(column.column)).eq(sealed))
                        .to_owned();
                    if self.db().execute(&update).await?.rows_affected() == 1 {
                        report.resealed += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                after = Some(last);
            }
        }
        Ok(report)
    }

    /// Counts values sealed with a non-current key (for `rotate-keys
    /// --check` and the old-key metric). Reads only the key-id header.
    pub async fn sealed_with_old_keys(&self) -> Result<OldKeyReport, StoreError> {
        let mut report = OldKeyReport::default();
        for column in SEALED_COLUMNS {
            let mut old = 0u64;
            let mut after = None;
            while let Some((page, last)) = self.sealed_page(column, after.take()).await? {
                old += page
                    .iter()
                    .filter(|(_, sealed)| !self.sealer().is_current(sealed))
                    .count() as u64;
                after = Some(last);
            }
            if old > 0 {
                report.columns.push((column.name(), old));
            }
        }
        Ok(report)
    }

    /// One page (by key, after `after`) of `column`'s non-null values and
    /// the page's last key; `None` past the end. Pages keep 100 000
    /// authorizers out of memory at once.
    async fn sealed_page(
        &self,
        column: &SealedColumn,
        after: Option<String>,
    ) -> Result<Option<(Vec<(String, Vec<u8>)>, String)>, StoreError> {
        let mut select = Query::select();
        select
            .columns([Alias::new(column.key), Alias::new(column.column)])
            .from(Alias::new(column.table))
            .and_where(Expr::col(Alias::new(column.column)).is_not_null())
            .order_by(Alias::new(column.key), Order::Asc)
            .limit(PAGE);
        if let Some(last) = after {
            select.and_where(Expr::col(Alias::new(column.key)).gt(Value::from(last)));
        }
        let rows = self.db().query_all(&select).await?;
        let page = rows
            .iter()
            .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
            .collect::<Result<Vec<(String, Vec<u8>)>, sea_orm::DbErr>>()?;
        Ok(page
            .last()
            .map(|(key, _)| key.clone())
            .map(|last| (page, last)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    use crate::memory_store as sqlite_store;

    /// Every column whose name says it holds a sealed value is in the list,
    /// and every listed column exists: a new sealed column fails here.
    #[tokio::test]
    async fn the_list_of_sealed_columns_matches_the_schema() {
        let store = sqlite_store().await;
        let rows = store
            .db()
            .query_all_raw(Statement::from_string(
                store.db().get_database_backend(),
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND p.name LIKE '%sealed%'",
            ))
            .await
            .unwrap();
        let in_schema: BTreeSet<String> = rows
            .iter()
            .map(|r| {
                let table: String = r.try_get_by_index(0).unwrap();
                let column: String = r.try_get_by_index(1).unwrap();
                format!("{table}.{column}")
            })
            .collect();
        let listed: BTreeSet<String> = SEALED_COLUMNS.iter().map(SealedColumn::name).collect();
        assert_eq!(in_schema, listed);
    }
}
