//! What tpgate uploaded for each payment order: the guard of its one
//! re-shipment (seed 004: a payment order's shipping information may be
//! uploaded again once; a third upload is 10060003) and of `upload_time`
//! (each upload must carry a later one, else 268485216).
//!
//! An upload claims its order first ([`Store::claim_shipping_upload`]):
//! two uploads of one order at once (two workers, two replicas) cannot
//! both pass the guard. The claim ends when the upload is recorded or
//! released, or after its hold (a replica that died mid-call).
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait as _, OnConflict},
};

use crate::{Appid, Store, StoreError, TenantId, entity::shipping_upload as row, now};

/// A payment order as the guard names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// `order_number_type` 2: WeChat Pay's transaction id.
    Transaction(String),
    /// `order_number_type` 1: the merchant's own number at a merchant id.
    Merchant { mchid: String, out_trade_no: String },
}

impl OrderRef {
    /// How the order is stored: `tx:<transaction_id>` or `mch:<mchid>:<out_trade_no>`.
    pub fn key(&self) -> String {
        match self {
            OrderRef::Transaction(id) => format!("tx:{id}"),
            OrderRef::Merchant {
                mchid,
                out_trade_no,
            } => format!("mch:{mchid}:{out_trade_no}"),
        }
    }
}

/// What tpgate uploaded for one payment order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingUpload {
    pub appid: Appid,
    pub tenant_id: TenantId,
    /// Uploads WeChat accepted through tpgate: 1 shipped, 2 re-shipped.
    pub uploads: i32,
    pub first_uploaded_at: DateTime<Utc>,
    pub last_uploaded_at: DateTime<Utc>,
    /// The last upload's `upload_time`, as sent.
    pub last_upload_time: String,
    pub last_upload_time_at: DateTime<Utc>,
    /// Its tracking numbers (bounded).
    pub last_tracking: String,
    pub last_request_id: Option<String>,
    /// WeChat gave no answer to the last upload: it may or may not have it
    /// (counted in `uploads`, to be safe).
    pub uncertain: bool,
}

/// What claiming an order's upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadClaim {
    /// This upload holds the order; what tpgate uploaded before, if anything.
    Claimed(Option<ShippingUpload>),
    /// Another upload of the order is being sent, until then.
    InFlight { until: DateTime<Utc> },
}

impl From<row::Model> for ShippingUpload {
    fn from(m: row::Model) -> Self {
        Self {
            appid: m.appid.into(),
            tenant_id: m.tenant_id.into(),
            uploads: m.uploads,
            first_uploaded_at: m.first_uploaded_at,
            last_uploaded_at: m.last_uploaded_at,
            last_upload_time: m.last_upload_time,
            last_upload_time_at: m.last_upload_time_at,
            last_tracking: m.last_tracking,
            last_request_id: m.last_request_id,
            uncertain: m.uncertain,
        }
    }
}

/// A claimed row with nothing uploaded yet is no previous upload.
fn previous(m: row::Model) -> Option<ShippingUpload> {
    (m.uploads > 0 || m.uncertain).then(|| m.into())
}

/// An upload WeChat accepted.
#[derive(Debug, Clone)]
pub struct AcceptedUpload<'a> {
    pub tenant_id: &'a str,
    pub appid: &'a str,
    pub order: &'a OrderRef,
    pub upload_time: &'a str,
    pub upload_time_at: DateTime<FixedOffset>,
    pub tracking: &'a str,
    pub request_id: Option<&'a str>,
    /// WeChat gave no answer: it may have the upload.
    pub uncertain: bool,
}

impl Store {
    /// What tpgate uploaded for `order` of `appid`, if anything.
    pub async fn shipping_upload(
        &self,
        appid: &str,
        order: &OrderRef,
    ) -> Result<Option<ShippingUpload>, StoreError> {
        Ok(self.upload_row(appid, order).await?.and_then(previous))
    }

    async fn upload_row(
        &self,
        appid: &str,
        order: &OrderRef,
    ) -> Result<Option<row::Model>, StoreError> {
        Ok(row::Entity::find_by_id((appid.to_owned(), order.key()))
            .one(self.db())
            .await?)
    }

    /// Claims the upload of `order` for `hold` (see the module docs): the
    /// first claim of an order creates its row, a later one takes it when no
    /// other upload holds it. Each step is one statement, so of two claims
    /// at once exactly one wins.
    pub async fn claim_shipping_upload(
        &self,
        tenant_id: &str,
        appid: &str,
        order: &OrderRef,
        hold: chrono::Duration,
    ) -> Result<UploadClaim, StoreError> {
        let at = now();
        let until = at + hold;
        let fresh = row::ActiveModel {
            appid: Set(appid.to_owned()),
            order_key: Set(order.key()),
            tenant_id: Set(tenant_id.to_owned()),
            uploads: Set(0),
            first_uploaded_at: Set(at),
            last_uploaded_at: Set(at),
            last_upload_time: Set(String::new()),
            last_upload_time_at: Set(DateTime::UNIX_EPOCH),
            last_tracking: Set(String::new()),
            last_request_id: Set(None),
            uncertain: Set(false),
            in_flight_until: Set(Some(until)),
        };
        let inserted = row::Entity::insert(fresh)
            .on_conflict(
                OnConflict::columns([row::Column::Appid, row::Column::OrderKey])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.db())
            .await?;
        if inserted == 1 {
            return Ok(UploadClaim::Claimed(None));
        }
        let taken = row::Entity::update_many()
            .col_expr(row::Column::InFlightUntil, Expr::value(Some(until)))
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::OrderKey.eq(order.key()))
            .filter(
                Condition::any()
                    .add(row::Column::InFlightUntil.is_null())
                    .add(row::Column::InFlightUntil.lte(at)),
            )
            .exec(self.db())
            .await?;
        let found = self
            .upload_row(appid, order)
            .await?
            .ok_or(StoreError::NotFound("shipping upload"))?;
        if taken.rows_affected == 1 {
            Ok(UploadClaim::Claimed(previous(found)))
        } else {
            Ok(UploadClaim::InFlight {
                until: found.in_flight_until.unwrap_or(at),
            })
        }
    }

    /// Ends a claim without an upload (refused, or WeChat refused it).
    pub async fn release_shipping_upload(
        &self,
        appid: &str,
        order: &OrderRef,
    ) -> Result<(), StoreError> {
        row::Entity::update_many()
            .col_expr(
                row::Column::InFlightUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::OrderKey.eq(order.key()))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Forgets an upload recorded as uncertain once WeChat's order showed
    /// it never arrived, when it was the order's only one (the order is
    /// then as if tpgate never uploaded it). An uncertain re-shipment stays
    /// recorded: what came before it is not kept.
    pub async fn forget_uncertain_upload(
        &self,
        appid: &str,
        order: &OrderRef,
    ) -> Result<bool, StoreError> {
        let deleted = row::Entity::delete_many()
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::OrderKey.eq(order.key()))
            .filter(row::Column::Uncertain.eq(true))
            .filter(row::Column::Uploads.lte(1))
            .exec(self.db())
            .await?;
        Ok(deleted.rows_affected > 0)
    }

    /// Notes an upload WeChat accepted (or may have: `uncertain`): one more
    /// for its order; ends its claim.
    pub async fn record_shipping_upload(
        &self,
        upload: AcceptedUpload<'_>,
    ) -> Result<ShippingUpload, StoreError> {
        let at = now();
        let tracking: String = upload.tracking.chars().take(256).collect();
        let model = row::ActiveModel {
            appid: Set(upload.appid.to_owned()),
            order_key: Set(upload.order.key()),
            tenant_id: Set(upload.tenant_id.to_owned()),
            uploads: Set(1),
            first_uploaded_at: Set(at),
            last_uploaded_at: Set(at),
            last_upload_time: Set(upload.upload_time.chars().take(64).collect()),
            last_upload_time_at: Set(upload.upload_time_at.with_timezone(&Utc)),
            last_tracking: Set(tracking),
            last_request_id: Set(upload.request_id.map(str::to_owned)),
            uncertain: Set(upload.uncertain),
            in_flight_until: Set(None),
        };
        // One statement, so two replicas recording at once both count.
        row::Entity::insert(model)
            .on_conflict(
                OnConflict::columns([row::Column::Appid, row::Column::OrderKey])
                    .value(
                        row::Column::Uploads,
                        sea_orm::sea_query::Expr::col((row::Entity, row::Column::Uploads)).add(1),
                    )
                    .update_columns([
                        row::Column::TenantId,
                        row::Column::LastUploadedAt,
                        row::Column::LastUploadTime,
                        row::Column::LastUploadTimeAt,
                        row::Column::LastTracking,
                        row::Column::LastRequestId,
                        row::Column::Uncertain,
                        row::Column::InFlightUntil,
                    ])
                    .to_owned(),
            )
            .exec(self.db())
            .await?;
        self.shipping_upload(upload.appid, upload.order)
            .await?
            .ok_or(StoreError::NotFound("shipping upload"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store;

    #[tokio::test]
    async fn uploads_are_counted_per_order() {
        let store = memory_store().await;
        let order = OrderRef::Transaction("4200".into());
        assert!(
            store
                .shipping_upload("wxa", &order)
                .await
                .unwrap()
                .is_none()
        );
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00+08:00").unwrap();
        let upload = AcceptedUpload {
            tenant_id: "t1",
            appid: "wxa",
            order: &order,
            upload_time: "2026-12-05T10:00:00+08:00",
            upload_time_at: at,
            tracking: "SF1",
            request_id: Some("r1"),
            uncertain: false,
        };
        let first = store.record_shipping_upload(upload.clone()).await.unwrap();
        assert_eq!((first.uploads, first.last_tracking.as_str()), (1, "SF1"));
        let later = at + chrono::Duration::hours(1);
        let second = store
            .record_shipping_upload(AcceptedUpload {
                upload_time: "2026-12-05T11:00:00+08:00",
                upload_time_at: later,
                tracking: "SF2",
                ..upload
            })
            .await
            .unwrap();
        assert_eq!((second.uploads, second.last_tracking.as_str()), (2, "SF2"));
        assert_eq!(second.first_uploaded_at, first.first_uploaded_at);
        assert_eq!(second.last_upload_time_at, later.with_timezone(&Utc));
        // Another order, another Mini Program: their own counts.
        let other = OrderRef::Merchant {
            mchid: "1900".into(),
            out_trade_no: "A1".into(),
        };
        assert!(
            store
                .shipping_upload("wxa", &other)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .shipping_upload("wxb", &order)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_order_is_claimed_by_one_upload_at_a_time() {
        let store = memory_store().await;
        let order = OrderRef::Transaction("4201".into());
        let hold = chrono::Duration::seconds(60);
        let first = store
            .claim_shipping_upload("t1", "wxa", &order, hold)
            .await
            .unwrap();
        assert_eq!(first, UploadClaim::Claimed(None));
        let second = store
            .claim_shipping_upload("t1", "wxa", &order, hold)
            .await
            .unwrap();
        assert!(matches!(second, UploadClaim::InFlight { .. }), "{second:?}");
        // A claimed order with nothing uploaded is no previous upload.
        assert!(
            store
                .shipping_upload("wxa", &order)
                .await
                .unwrap()
                .is_none()
        );
        store.release_shipping_upload("wxa", &order).await.unwrap();
        assert_eq!(
            store
                .claim_shipping_upload("t1", "wxa", &order, hold)
                .await
                .unwrap(),
            UploadClaim::Claimed(None)
        );
        // An upload with no answer counts, and ends the claim.
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00+08:00").unwrap();
        store
            .record_shipping_upload(AcceptedUpload {
                tenant_id: "t1",
                appid: "wxa",
                order: &order,
                upload_time: "2026-12-05T10:00:00+08:00",
                upload_time_at: at,
                tracking: "SF1",
                request_id: None,
                uncertain: true,
            })
            .await
            .unwrap();
        let UploadClaim::Claimed(Some(previous)) = store
            .claim_shipping_upload("t1", "wxa", &order, hold)
            .await
            .unwrap()
        else {
            panic!("claimable, with the uncertain upload");
        };
        assert!(previous.uncertain && previous.uploads == 1);
        // A holder that died: its claim runs out.
        store.release_shipping_upload("wxa", &order).await.unwrap();
        let dead = chrono::Duration::seconds(-1);
        store
            .claim_shipping_upload("t1", "wxa", &order, dead)
            .await
            .unwrap();
        assert!(matches!(
            store
                .claim_shipping_upload("t1", "wxa", &order, hold)
                .await
                .unwrap(),
            UploadClaim::Claimed(Some(_))
        ));
    }
}
