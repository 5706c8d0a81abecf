//! What tpgate uploaded for each payment order: the guard of its one
//! re-shipment (seed 004: a payment order's shipping information may be
//! uploaded again once; a third upload is 10060003) and of `upload_time`
//! (each upload must carry a later one, else 268485216).
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveValue::Set,
    EntityTrait,
    sea_query::{ExprTrait as _, OnConflict},
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
    fn key(&self) -> String {
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
        }
    }
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
}

impl Store {
    /// What tpgate uploaded for `order` of `appid`, if anything.
    pub async fn shipping_upload(
        &self,
        appid: &str,
        order: &OrderRef,
    ) -> Result<Option<ShippingUpload>, StoreError> {
        Ok(row::Entity::find_by_id((appid.to_owned(), order.key()))
            .one(self.db())
            .await?
            .map(ShippingUpload::from))
    }

    /// Notes an upload WeChat accepted: one more for its order.
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
}
