//! The platform's own state: the newest `component_verify_ticket` and the
//! cached `component_access_token`.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter};

use crate::{Secret, Store, StoreError, entity::component_state as cs, now};

/// The stored ticket, opened.
#[derive(Debug, Clone)]
pub struct StoredTicket {
    pub ticket: Secret,
    /// `CreateTime` from the push (WeChat's clock, seconds).
    pub create_time: i64,
    /// When tpgate received it (our clock); validity is counted from here.
    pub received_at: DateTime<Utc>,
}

/// The ticket (if any) and when a replica last asked WeChat to push one.
#[derive(Debug, Clone, Default)]
pub struct TicketState {
    pub ticket: Option<StoredTicket>,
    pub push_requested_at: Option<DateTime<Utc>>,
}

/// The cached component token, opened, with the version that fences writes.
#[derive(Debug, Clone)]
pub struct StoredComponentToken {
    pub token: Option<(Secret, DateTime<Utc>)>,
    pub version: i64,
}

pub(crate) fn ticket_purpose(appid: &str) -> String {
    format!("component.verify_ticket:{appid}")
}

pub(crate) fn token_purpose(appid: &str) -> String {
    format!("component.access_token:{appid}")
}

impl Store {
    /// When the stored component_access_token expires (None: none stored),
    /// without opening it.
    pub async fn component_token_expires_at(
        &self,
        component_appid: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .component_row(component_appid)
            .await?
            .and_then(|row| row.access_token_expires_at))
    }

    async fn component_row(&self, appid: &str) -> Result<Option<cs::Model>, StoreError> {
        Ok(cs::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?)
    }

    async fn ensure_component_row(&self, appid: &str) -> Result<(), StoreError> {
        if self.component_row(appid).await?.is_none() {
            let row = cs::ActiveModel {
                component_appid: Set(appid.to_owned()),
                verify_ticket_sealed: Set(None),
                ticket_create_time: Set(None),
                ticket_received_at: Set(None),
                access_token_sealed: Set(None),
                access_token_expires_at: Set(None),
                token_version: Set(0),
                ticket_push_requested_at: Set(None),
                updated_at: Set(now()),
            };
            // Two pushes racing to create the row: the loser's insert fails on
            // the primary key, which is fine because the row now exists.
            match cs::Entity::insert(row)
                .exec(self.db())
                .await
                .map_err(StoreError::from)
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Stores `ticket` unless a newer one (by `CreateTime`) is already stored.
    /// Returns whether it was stored. Pushes can arrive out of order when
    /// WeChat retries, and an older ticket must never replace a newer one.
    pub async fn save_verify_ticket(
        &self,
        component_appid: &str,
        ticket: &Secret,
        create_time: i64,
    ) -> Result<bool, StoreError> {
        self.ensure_component_row(component_appid).await?;
        let sealed = self.sealer().seal(&ticket_purpose(component_appid), ticket);
        let update = cs::ActiveModel {
            verify_ticket_sealed: Set(Some(sealed)),
            ticket_create_time: Set(Some(create_time)),
            ticket_received_at: Set(Some(now())),
            updated_at: Set(now()),
            ..Default::default()
        };
        let result = cs::Entity::update_many()
            .set(update)
            .filter(cs::Column::ComponentAppid.eq(component_appid))
            .filter(
                cs::Column::TicketCreateTime
                    .is_null()
                    // Strictly newer: a repeat (WeChat's retry, or a
                    // replay) must not move `ticket_received_at` forward.
                    .or(cs::Column::TicketCreateTime.lt(create_time)),
            )
            .exec(self.db())
            .await?;
        Ok(result.rows_affected == 1)
    }

    pub async fn verify_ticket(
        &self,
        component_appid: &str,
    ) -> Result<Option<StoredTicket>, StoreError> {
        Ok(self.ticket_state(component_appid).await?.ticket)
    }

    /// The ticket and when a ticket push was last requested, in one read.
    pub async fn ticket_state(&self, component_appid: &str) -> Result<TicketState, StoreError> {
        let Some(row) = self.component_row(component_appid).await? else {
            return Ok(TicketState::default());
        };
        let ticket = match (
            row.verify_ticket_sealed,
            row.ticket_create_time,
            row.ticket_received_at,
        ) {
            (Some(sealed), Some(create_time), Some(received_at)) => Some(StoredTicket {
                ticket: self
                    .sealer()
                    .open(&ticket_purpose(component_appid), &sealed)?,
                create_time,
                received_at,
            }),
            _ => None,
        };
        Ok(TicketState {
            ticket,
            push_requested_at: row.ticket_push_requested_at,
        })
    }

    pub async fn component_token(
        &self,
        component_appid: &str,
    ) -> Result<StoredComponentToken, StoreError> {
        let Some(row) = self.component_row(component_appid).await? else {
            return Ok(StoredComponentToken {
                token: None,
                version: 0,
            });
        };
        let token = match (row.access_token_sealed, row.access_token_expires_at) {
            (Some(sealed), Some(expires_at)) => Some((
                self.sealer()
                    .open(&token_purpose(component_appid), &sealed)?,
                expires_at,
            )),
            _ => None,
        };
        Ok(StoredComponentToken {
            token,
            version: row.token_version,
        })
    }

    /// Compare-and-set on `token_version`: stores the token only if nobody
    /// stored one since `expected_version` was read. Returns whether it won.
    pub async fn save_component_token(
        &self,
        component_appid: &str,
        expected_version: i64,
        token: &Secret,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.ensure_component_row(component_appid).await?;
        let update = cs::ActiveModel {
            access_token_sealed: Set(Some(
                self.sealer().seal(&token_purpose(component_appid), token),
            )),
            access_token_expires_at: Set(Some(expires_at)),
            token_version: Set(expected_version + 1),
            updated_at: Set(now()),
            ..Default::default()
        };
        let result = cs::Entity::update_many()
            .set(update)
            .filter(cs::Column::ComponentAppid.eq(component_appid))
            .filter(cs::Column::TokenVersion.eq(expected_version))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Claims the right to call api_start_push_ticket now: true for one
    /// caller across replicas per `min_interval` (WeChat rate-limits it, and
    /// one request re-starts the pushes for everyone).
    pub async fn claim_ticket_push_request(
        &self,
        component_appid: &str,
        at: DateTime<Utc>,
        min_interval: chrono::Duration,
    ) -> Result<bool, StoreError> {
        self.ensure_component_row(component_appid).await?;
        let result = cs::Entity::update_many()
            .set(cs::ActiveModel {
                ticket_push_requested_at: Set(Some(at)),
                ..Default::default()
            })
            .filter(cs::Column::ComponentAppid.eq(component_appid))
            .filter(
                cs::Column::TicketPushRequestedAt
                    .is_null()
                    .or(cs::Column::TicketPushRequestedAt.lte(at - min_interval)),
            )
            .exec(self.db())
            .await?;
        Ok(result.rows_affected == 1)
    }
}
