//! Idempotency keys for writes: the first request with a key claims it, its
//! answer is stored, and repeats within the TTL get that answer back instead
//! of reaching WeChat again (a payment order has one re-shipment chance).
//!
//! The row is claimed with an insert that does nothing on conflict, so of two
//! concurrent requests with one key, on one replica or two, exactly one wins.
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{OnConflict, Query},
};

use crate::{Store, StoreError, entity::idempotency_key, now};

const STATE_PENDING: &str = "pending";
const STATE_DONE: &str = "done";

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the request, then [`Store::complete_idempotency_key`]
    /// (or [`Store::release_idempotency_key`] if nothing was sent).
    Acquired,
    /// A request with the same key and body finished: replay this.
    Done { status: u16, body: String },
    /// A request with the same key and body is still running (or died
    /// mid-flight: its outcome is unknown until the key expires).
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for `tenant_id` and the request `request_hash`, for `ttl`.
    pub async fn claim_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
        request_hash: &str,
        ttl: std::time::Duration,
    ) -> Result<Claim, StoreError> {
        let now = now();
        let now_ms = now.timestamp_millis();
        // An expired claim is forgotten, whatever its state.
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::TenantId.eq(tenant_id))
            .filter(idempotency_key::Column::IdempotencyKey.eq(key))
            .filter(idempotency_key::Column::ExpiresAtMs.lt(now_ms))
            .exec(self.db())
            .await?;
        let expires = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let insert = Query::insert()
            .into_table(idempotency_key::Entity)
            .columns([
                idempotency_key::Column::TenantId,
                idempotency_key::Column::IdempotencyKey,
                idempotency_key::Column::RequestHash,
                idempotency_key::Column::State,
                idempotency_key::Column::CreatedAt,
                idempotency_key::Column::ExpiresAtMs,
            ])
            .values([
                tenant_id.into(),
                key.into(),
                request_hash.into(),
                STATE_PENDING.into(),
                now.into(),
                expires.into(),
            ])
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::TenantId,
                    idempotency_key::Column::IdempotencyKey,
                ])
                .do_nothing()
                .to_owned(),
            )
            .to_owned();
        if self.db().execute(&insert).await?.rows_affected() == 1 {
            return Ok(Claim::Acquired);
        }
        let Some(row) = idempotency_key::Entity::find_by_id((tenant_id.to_owned(), key.to_owned()))
            .one(self.db())
            .await?
        else {
            // Expired and deleted by another request in between: rare, and a
            // retry by the client claims it cleanly.
            return Ok(Claim::InProgress);
        };
        Ok(if row.request_hash != request_hash {
            Claim::Mismatch
        } else if row.state == STATE_DONE {
            Claim::Done {
                status: row
                    .status_code
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(200),
                body: row.response_body.unwrap_or_default(),
            }
        } else {
            Claim::InProgress
        })
    }

    /// Stores the answer to replay for `key`.
    pub async fn complete_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::update_many()
            .filter(idempotency_key::Column::TenantId.eq(tenant_id))
            .filter(idempotency_key::Column::IdempotencyKey.eq(key))
            .set(idempotency_key::ActiveModel {
                state: Set(STATE_DONE.to_owned()),
                status_code: Set(Some(i32::from(status))),
                response_body: Set(Some(body.to_owned())),
                ..Default::default()
            })
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Gives up a pending claim when nothing reached WeChat (rate limited,
    /// no token), so the client can retry with the same key.
    pub async fn release_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::TenantId.eq(tenant_id))
            .filter(idempotency_key::Column::IdempotencyKey.eq(key))
            .filter(idempotency_key::Column::State.eq(STATE_PENDING))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Deletes expired keys; returns how many.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, StoreError> {
        let result = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::ExpiresAtMs.lt(now().timestamp_millis()))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }
}
