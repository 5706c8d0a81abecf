//! `POST /wxa/sec/order/upload_combined_shipping_info` (seed 004 §II): the
//! shipping information of a combined payment order and its sub-orders.
//!
//! # Rules, in the order they are checked
//! | field | rule | errcode |
//! |---|---|---|
//! | `order_key.*` | as for `upload_shipping_info` | 268485194–268485197 |
//! | `sub_orders[i].order_key.*` | as for `upload_shipping_info` | 268485194–268485197 |
//! | `sub_orders[i].order_key.order_number_type` | same as the main order's | 268485253 |
//! | `sub_orders[i].order_key` | not the same order as an earlier sub-order | 10060013 |
//! | `sub_orders[i].*` | the shipment rules of `upload_shipping_info` | 10060005 … 10060026 |
//! | `upload_time` | RFC 3339 | 268485216 |
//! | `payer.openid` | 1–128 bytes | 10060014 |
//!
//! Each sub-order is checked completely (key, type, duplicate, shipment)
//! before the next one.
use std::collections::HashSet;

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::{
    Contact, OrderKey, Payer, ShippingItem, validate_order_key, validate_payer, validate_shipment,
    validate_upload_time,
};
use crate::{Validate, ValidationError, errcode as ec};

/// Body of `POST /wxa/sec/order/upload_combined_shipping_info`: uploads (or, once, updates) the shipping information of a combined payment order, sub-order by sub-order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct UploadCombinedShippingInfoRequest {
    /// The combined (main) payment order whose shipping information is uploaded.
    pub order_key: OrderKey,
    /// Logistics details of each sub-order; every sub-order uses the same order_number_type as the main order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_orders: Option<Vec<SubOrder>>,
    /// Upload time in RFC 3339 format, e.g. `2022-12-15T13:29:35.120+08:00`. It orders the requests: an update must carry a later time than the previous upload.
    pub upload_time: String,
    /// The payer.
    pub payer: Payer,
}

impl poem_openapi::types::Example for UploadCombinedShippingInfoRequest {
    /// The seed's example request (seed 004 §II): a combined order by
    /// merchant order numbers, one sub-order split into two parcels and one
    /// shipped as a single parcel.
    fn example() -> Self {
        fn key(mchid: &str, out_trade_no: &str) -> OrderKey {
            OrderKey {
                order_number_type: 1,
                transaction_id: None,
                mchid: Some(mchid.to_owned()),
                out_trade_no: Some(out_trade_no.to_owned()),
            }
        }
        fn parcel(tracking_no: &str, company: &str, desc: &str, contact: Contact) -> ShippingItem {
            ShippingItem {
                tracking_no: Some(tracking_no.to_owned()),
                express_company: Some(company.to_owned()),
                item_desc: Some(desc.to_owned()),
                contact: Some(contact),
            }
        }
        let consignor = Contact {
            consignor_contact: Some("021-**34-12".to_owned()),
            receiver_contact: None,
        };
        Self {
            order_key: key("fake-mchid-123", "fake-tradeno-20221214190427-0"),
            sub_orders: Some(vec![
                SubOrder {
                    order_key: key("fake-mchid-123", "fake-tradeno-20221214190427-01"),
                    logistics_type: 1,
                    delivery_mode: 2,
                    is_all_delivered: Some(true),
                    shipping_list: vec![
                        parcel(
                            "fake-trackingno-202212141904271",
                            "YD",
                            "微信气泡狗零钱包*1",
                            consignor.clone(),
                        ),
                        parcel(
                            "fake-trackingno-202212141904272",
                            "DHL",
                            "微信黄脸布艺胸针*1;微信气泡狗零钱包*1",
                            consignor,
                        ),
                    ],
                },
                SubOrder {
                    order_key: key("fake-mchid-321", "fake-tradeno-20221214190427-02"),
                    logistics_type: 1,
                    delivery_mode: 1,
                    is_all_delivered: None,
                    shipping_list: vec![parcel(
                        "fake-trackingno-202212141904273",
                        "YTO",
                        "微信气泡狗双面钥匙扣*1",
                        Contact {
                            consignor_contact: None,
                            receiver_contact: Some("+86-123****4321".to_owned()),
                        },
                    )],
                },
            ]),
            upload_time: "2022-12-15T13:29:35.120+08:00".to_owned(),
            payer: Payer {
                openid: "ogqztkPsejM9MQAFfwCQSCi4oNg3".to_owned(),
            },
        }
    }
}

/// One sub-order of a combined payment order and its shipment.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SubOrder {
    /// The sub-order whose logistics details are uploaded; its order_number_type must equal the main order's.
    pub order_key: OrderKey,
    /// Logistics mode: 1 = physical delivery by an express company; 2 = same-city delivery; 3 = virtual goods (no physical delivery, e.g. top-ups, memberships); 4 = user self-pickup.
    pub logistics_type: i64,
    /// Delivery mode: 1 = UNIFIED_DELIVERY (one parcel, one tracking number); 2 = SPLIT_DELIVERY (several parcels; express only).
    pub delivery_mode: i64,
    /// Required for split delivery: whether all parcels of this sub-order have now shipped. The user is told shipping is complete only when all have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_all_delivered: Option<bool>,
    /// The sub-order's logistics information list: exactly 1 entry for unified delivery, 1–15 for split delivery.
    #[serde(default)]
    #[oai(default)]
    pub shipping_list: Vec<ShippingItem>,
}

/// The identity of an order for the duplicate check: `transaction_id` for
/// type 2, `mchid` + `out_trade_no` for type 1, trimmed.
fn order_identity(key: &OrderKey) -> (i64, &str, &str) {
    fn trim(v: &Option<String>) -> &str {
        v.as_deref().map_or("", str::trim)
    }
    match key.order_number_type {
        2 => (2, trim(&key.transaction_id), ""),
        other => (other, trim(&key.mchid), trim(&key.out_trade_no)),
    }
}

/// The sub-orders' keys, with fields under `sub_orders[i].order_key`, for a
/// main order of type `main_type`:
/// - each key passes [`validate_order_key`] (268485194–268485197);
/// - each `order_number_type` equals `main_type`, else 268485253;
/// - no order appears twice, else 10060013 on the later one.
///
/// [`UploadCombinedShippingInfoRequest`]'s `validate` interleaves these with
/// the shipment rules sub-order by sub-order; this function checks only the
/// keys, all of them.
pub fn validate_sub_order_keys(
    sub_orders: &[SubOrder],
    main_type: i64,
) -> Result<(), ValidationError> {
    let mut seen = HashSet::new();
    for (i, sub) in sub_orders.iter().enumerate() {
        validate_sub_order_key(sub, i, main_type, &mut seen)?;
    }
    Ok(())
}

/// One sub-order's key rules (see [`validate_sub_order_keys`]); `seen` holds
/// the identities of the earlier sub-orders.
fn validate_sub_order_key<'a>(
    sub: &'a SubOrder,
    i: usize,
    main_type: i64,
    seen: &mut HashSet<(i64, &'a str, &'a str)>,
) -> Result<(), ValidationError> {
    let path = format!("sub_orders[{i}].order_key");
    validate_order_key(&sub.order_key, &path)?;
    let sub_type = sub.order_key.order_number_type;
    if sub_type != main_type {
        return Err(ValidationError::new(
            format!("{path}.order_number_type"),
            ec::SUB_ORDER_TYPE_MISMATCH,
            format!(
                "a sub-order's order_number_type must equal the main order's ({main_type}), got {sub_type}"
            ),
        ));
    }
    if !seen.insert(order_identity(&sub.order_key)) {
        return Err(ValidationError::new(
            path,
            ec::SUB_ORDER_DUPLICATE,
            "this sub-order is listed twice in sub_orders; list each order once",
        ));
    }
    Ok(())
}

impl Validate for UploadCombinedShippingInfoRequest {
    /// [`validate_order_key`] on the main order; then for each sub-order in
    /// turn its key rules ([`validate_sub_order_keys`]) and
    /// [`validate_shipment`] under `sub_orders[i]`; then
    /// [`validate_upload_time`] and [`validate_payer`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_order_key(&self.order_key, "order_key")?;
        let main_type = self.order_key.order_number_type;
        let mut seen = HashSet::new();
        for (i, sub) in self.sub_orders.iter().flatten().enumerate() {
            validate_sub_order_key(sub, i, main_type, &mut seen)?;
            validate_shipment(
                sub.logistics_type,
                sub.delivery_mode,
                sub.is_all_delivered,
                &sub.shipping_list,
                &format!("sub_orders[{i}]"),
            )?;
        }
        validate_upload_time(&self.upload_time, "upload_time")?;
        validate_payer(&self.payer, "payer.openid")
    }
}

#[cfg(test)]
mod tests;
