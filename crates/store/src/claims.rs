//! The two ways replicas share work through the database, written once:
//!
//! - [`Store::claim_due`]: take up to `limit` due rows of a queue by moving
//!   a column (a lease, the next run) past `now`, in one statement; on
//!   Postgres concurrent claimers skip each other's rows (`FOR UPDATE SKIP
//!   LOCKED`), SQLite has one writer anyway. Durable shipments and
//!   reconciliation runs (the webhook outbox's claim also joins its
//!   endpoints, so it keeps its own statement).
//! - [`Store::claim_attempt`]: the one fetch per interval of something
//!   cached per key (a compare-and-set on the time of the last attempt):
//!   trade-management states, courier lists.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, EntityTrait, Statement,
    sea_query::{Expr, ExprTrait as _, OnConflict, Query},
};

use crate::{Store, StoreError};

/// A queue to claim from: `UPDATE {table} SET {moved} = <until> WHERE {key}
/// IN (SELECT {key} FROM {table} WHERE {due} <= <now> [AND {lease} …]
/// ORDER BY {due} LIMIT <limit>) RETURNING {key}`.
pub(crate) struct Queue {
    pub table: &'static str,
    pub key: &'static str,
    /// The column moved to `until` by the claim.
    pub moved: &'static str,
    /// Due when this column is at or before `now`.
    pub due: &'static str,
    /// Extra condition (no parameters), e.g. `status = 'queued'`.
    pub only: &'static str,
    /// A lease column: rows held past `now` are skipped (None: `moved` is
    /// the due column itself, moved into the future).
    pub lease: Option<&'static str>,
}

impl Store {
    /// Claims up to `limit` due rows of `queue` at `now` (Unix ms), moving
    /// its column to `until`; the claimed keys.
    pub(crate) async fn claim_due(
        &self,
        queue: &Queue,
        now_ms: i64,
        until_ms: i64,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let backend = self.db().get_database_backend();
        let (p, lock): (fn(usize) -> String, &str) = match backend {
            DatabaseBackend::Postgres => (|i| format!("${i}"), " FOR UPDATE SKIP LOCKED"),
            _ => (|_| "?".to_owned(), ""),
        };
        let Queue {
            table,
            key,
            moved,
            due,
            only,
            lease,
        } = queue;
        let only = if only.is_empty() {
            String::new()
        } else {
            format!(" AND {only}")
        };
        let (lease_clause, values): (String, Vec<sea_orm::Value>) = match lease {
            Some(lease) => (
                format!(" AND ({lease} IS NULL OR {lease} < {})", p(3)),
                vec![until_ms.into(), now_ms.into(), now_ms.into()],
            ),
            None => (String::new(), vec![until_ms.into(), now_ms.into()]),
        };
        let limit_at = values.len() + 1;
        let sql = format!(
            "UPDATE {table} SET {moved} = {p1} WHERE {key} IN (\
               SELECT {key} FROM {table} WHERE {due} <= {p2}{only}{lease_clause} \
               ORDER BY {due} LIMIT {pl}{lock}) RETURNING {key}",
            p1 = p(1),
            p2 = p(2),
            pl = p(limit_at),
        );
        let mut values = values;
        values.push(i64::try_from(limit).unwrap_or(100).into());
        let rows = self
            .db()
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", key).ok())
            .collect())
    }

    /// Claims the next attempt for `key` in entity `E` when nobody made one
    /// in the `interval` before `now`: true for exactly one of concurrent
    /// callers (on any replica). `key_col` is `E`'s primary key and
    /// `attempted_col` a Unix-ms column; every other column must have a
    /// default or be nullable.
    pub(crate) async fn claim_attempt<E: EntityTrait>(
        &self,
        key_col: E::Column,
        attempted_col: E::Column,
        key: &str,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = now.timestamp_millis();
        let due_before = now_ms.saturating_sub(interval.num_milliseconds());
        let insert = Query::insert()
            .into_table(E::default())
            .columns([key_col, attempted_col])
            .values([key.into(), now_ms.into()])
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?
            .on_conflict(
                OnConflict::column(key_col)
                    .update_column(attempted_col)
                    .action_and_where(Expr::col((E::default(), attempted_col)).lt(due_before))
                    .to_owned(),
            )
            .to_owned();
        Ok(self.db().execute(&insert).await?.rows_affected() == 1)
    }
}
