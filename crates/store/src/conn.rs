//! The connection a [`Store`](crate::Store) runs its queries on: the pool,
//! or one open transaction shared by every operation of an audited change
//! (see [`Store::audited`](crate::Store::audited)).
//!
//! sea-orm has no type that is "a pool or a transaction", so this enum
//! forwards both traits; each store method keeps taking `self.db()` and
//! runs unchanged inside or outside a transaction. A method that begins its
//! own transaction gets a savepoint when it already runs inside one.
use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, Statement, TransactionError, TransactionOptions,
    TransactionTrait,
};

#[derive(Clone)]
pub(crate) enum Conn {
    Pool(DatabaseConnection),
    Transaction(Arc<DatabaseTransaction>),
}

impl Conn {
    /// Not inside a caller's transaction.
    pub(crate) fn is_pool(&self) -> bool {
        matches!(self, Self::Pool(_))
    }

    /// The Postgres pool underneath, outside a transaction (for what
    /// sea-orm has no statement for, such as `COPY`).
    pub(crate) fn postgres_pool(&self) -> Option<&sea_orm::sqlx::PgPool> {
        match self {
            Self::Pool(c) if c.get_database_backend() == DbBackend::Postgres => {
                Some(c.get_postgres_connection_pool())
            }
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Conn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(c) => c.get_database_backend(),
            Self::Transaction(t) => t.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(c) => c.execute_raw(stmt).await,
            Self::Transaction(t) => t.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(c) => c.execute_unprepared(sql).await,
            Self::Transaction(t) => t.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(c) => c.query_one_raw(stmt).await,
            Self::Transaction(t) => t.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(c) => c.query_all_raw(stmt).await,
            Self::Transaction(t) => t.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        match self {
            Self::Pool(c) => c.support_returning(),
            Self::Transaction(t) => t.support_returning(),
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Conn {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(c) => c.begin().await,
            Self::Transaction(t) => t.begin().await,
        }
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(c) => c.begin_with_config(isolation_level, access_mode).await,
            Self::Transaction(t) => t.begin_with_config(isolation_level, access_mode).await,
        }
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(c) => c.begin_with_options(options).await,
            Self::Transaction(t) => t.begin_with_options(options).await,
        }
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Self::Pool(c) => c.transaction(callback).await,
            Self::Transaction(t) => t.transaction(callback).await,
        }
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Self::Pool(c) => {
                c.transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
            Self::Transaction(t) => {
                t.transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
        }
    }
}
