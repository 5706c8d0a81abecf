use sea_orm::DbErr;

use crate::seal::SealError;

/// Errors of the persistence layer. Callers map `Unavailable` to 503,
/// `NotFound` to 404, `Conflict` to 409; everything else is a 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("sealed secret could not be opened: {0}")]
    Seal(#[from] SealError),
    #[error("database error: {0}")]
    Db(DbErr),
    /// A stored value this version does not understand (e.g. an unknown
    /// scope): refused loudly, never read as a default.
    #[error("stored {what} is not valid: {value:?}")]
    Invalid { what: &'static str, value: String },
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                StoreError::Unavailable(crate::mask_url(&err.to_string()))
            }
            _ if is_unique_violation(&err) => StoreError::Conflict("already exists".into()),
            _ => StoreError::Db(err),
        }
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
