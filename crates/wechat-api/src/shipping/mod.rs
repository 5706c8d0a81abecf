//! Shipping-information management (`/wxa/sec/order/*`, seed 004, permission
//! set 142 or 18): request and response models, which are also the proxy's
//! OpenAPI schemas, and the seed's rules as plain functions.
//!
//! # Layout
//! - This module: `upload_shipping_info` ([`UploadShippingInfoRequest`] with
//!   [`OrderKey`], [`ShippingItem`], [`Contact`], [`Payer`]) and `get_order`
//!   ([`GetOrderRequest`]); the answers [`WechatAck`] and
//!   [`GetOrderResponse`] (with [`ShippingOrder`], [`OrderShipping`],
//!   [`OrderShippingItem`]); the rules shared by every API below.
//! - [`combined`] has `upload_combined_shipping_info`
//!   ([`UploadCombinedShippingInfoRequest`], [`SubOrder`]).
//! - [`orders`] has `get_order_list` ([`GetOrderListRequest`],
//!   [`PayTimeRange`], [`GetOrderListResponse`]) and `notify_confirm_receive`
//!   ([`NotifyConfirmReceiveRequest`]).
//! - [`account`] has `set_msg_jump_path` ([`SetMsgJumpPathRequest`]),
//!   `is_trade_managed` and `is_trade_management_confirmation_completed`
//!   ([`TradeManagedRequest`], [`IsTradeManagedResponse`],
//!   [`TradeManagementConfirmationResponse`]).
//! - [`special`] has `opspecialorder` ([`OpSpecialOrderRequest`]).
//!
//! Every item of the submodules is re-exported here. Rules: one `validate_*`
//! function per group of rules, each naming the errcodes it returns;
//! [`Validate`] runs them in the order of the tables (each submodule has its
//! own table).
//!
//! Enumerations stay integers and conditionally required fields stay
//! `Option`, so a wrong value reaches the rules and gets the seed's errcode
//! instead of a generic parse error. That holds for both parsers: serde (the
//! simulator) and poem-openapi (the proxy).
//!
//! # Rules of `upload_shipping_info`, in the order they are checked
//! | field | rule | errcode |
//! |---|---|---|
//! | `order_key.order_number_type` | 1 or 2 | 268485194 |
//! | `order_key.mchid`, `order_key.out_trade_no` | non-empty for type 1 | 268485196, 268485197 |
//! | `order_key.transaction_id` | non-empty for type 2 | 268485195 |
//! | `logistics_type` | 1..=4 | 10060005 |
//! | `delivery_mode` | 1 or 2 | 268485224 |
//! | `shipping_list` | exactly 1 entry when unified (1); missing counts as none | 268485228 |
//! | `delivery_mode` | split (2) only with logistics_type 1 | 10060006 |
//! | `is_all_delivered` | present when split | 10060007 |
//! | `shipping_list` | not empty (split) | 10060014 |
//! | `shipping_list` | at most 15 entries ([`MAX_SHIPPING_ENTRIES`]) | 10060024 |
//! | `shipping_list[i].item_desc` | non-blank, at most 120 characters | 10060008, 10060009 |
//! | `shipping_list[i].tracking_no` | non-blank for express (1); ≤ 128 bytes | 268485226, 10060026 |
//! | `shipping_list[i].express_company` | non-blank for express (1); ≤ 128 bytes | 268485227, 10060025 |
//! | `shipping_list[i].contact.*` | each ≤ 1024 bytes | 10060014 |
//! | `shipping_list[i].contact` | one contact non-blank when `express_company` is `SF` | 10060014 |
//! | `upload_time` | RFC 3339 | 268485216 |
//! | `payer.openid` | 1–128 bytes | 10060014 |
//!
//! `get_order` (and `notify_confirm_receive`) need `transaction_id`, or
//! `merchant_id` and `merchant_trade_no` (10060014).
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use crate::{Validate, ValidationError, errcode as ec};

pub mod account;
pub mod combined;
pub mod orders;
pub mod special;

pub use account::*;
pub use combined::*;
pub use orders::*;
pub use special::*;

/// `express_company` code of SF Express (顺丰): its shipments need a contact.
pub const SF_EXPRESS_COMPANY: &str = "SF";
/// Most parcels a payment order can be split into: `shipping_list` has
/// 1–15 entries.
///
/// Seed 004 says 10 ("Multipleness: [1, 10]", errcode 10060024 "must not be
/// greater than 10"), but WeChat's current documentation allows 15, and it
/// wins: `shipping_list` "多重性: [1, 15]"
/// (developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_uploadshippinginfo)
/// and "一笔支付单最多分拆成 15 个包裹"
/// (developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html,
/// note 5). Refusing 11–15 locally would refuse shipments WeChat accepts.
pub const MAX_SHIPPING_ENTRIES: usize = 15;
/// Longest `item_desc`, in characters (not bytes): "限120个字以内".
pub const MAX_ITEM_DESC_CHARS: usize = 120;
/// Longest `tracking_no` / `express_company`, in bytes.
pub const MAX_CODE_BYTES: usize = 128;
/// Longest `consignor_contact` / `receiver_contact`, in bytes.
pub const MAX_CONTACT_BYTES: usize = 1024;
/// Longest `payer.openid`, in bytes.
pub const MAX_OPENID_BYTES: usize = 128;

/// Values of [`ShippingOrder::order_state`].
pub mod order_state {
    /// 1: paid, waiting for shipment.
    pub const PENDING_SHIPMENT: i32 = 1;
    /// 2: shipped.
    pub const SHIPPED: i32 = 2;
    /// 3: the user confirmed receipt.
    pub const RECEIPT_CONFIRMED: i32 = 3;
    /// 4: the transaction is completed.
    pub const COMPLETED: i32 = 4;
    /// 5: refunded.
    pub const REFUNDED: i32 = 5;
    /// 6: funds pending settlement.
    pub const PENDING_SETTLEMENT: i32 = 6;
}

/// The payment order that shipping information is uploaded for.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderKey {
    /// Order number type: 1 = merchant-side order number (`mchid` + `out_trade_no`); 2 = WeChat Pay order number (`transaction_id`).
    pub order_number_type: i64,
    /// The WeChat Pay order number of the original payment transaction. Required when order_number_type is 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Merchant number of the payment order's merchant, issued by WeChat Pay. Required when order_number_type is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<String>,
    /// Merchant-side order number (digits, letters and `_-*`), unique under the same merchant. Required when order_number_type is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
}

/// Contact details, masked except the last 4 digits.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct Contact {
    /// Sender's contact, masked except the last 4 digits (e.g. `189****1234`, `021-****1234`); at most 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignor_contact: Option<String>,
    /// Recipient's contact, masked except the last 4 digits (e.g. `189****1234`, `021-****1234`); at most 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_contact: Option<String>,
}

/// One entry of the logistics information list (one parcel).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct ShippingItem {
    /// Tracking number, required for express delivery (logistics_type 1), e.g. `323244567777`; 1–128 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_no: Option<String>,
    /// Logistics company code (courier id from get_delivery_list), required for express delivery, e.g. `DHL`; 1–128 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub express_company: Option<String>,
    /// Goods description, e.g. `微信红包抱枕*1个`; required, at most 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_desc: Option<String>,
    /// Contact details; required when the express company is SF Express (`SF`, 顺丰): the sender's or the recipient's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// The payer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
pub struct Payer {
    /// The user's openid under the Mini Program's AppID, e.g. `oUpF8uMuAJO_M2pxb1Q9zNjWeS6o`; 1–128 bytes.
    pub openid: String,
}

/// Body of `POST /wxa/sec/order/upload_shipping_info`: uploads (or, once, updates) the shipping information of a payment order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct UploadShippingInfoRequest {
    /// The payment order whose shipping information is uploaded.
    pub order_key: OrderKey,
    /// Logistics mode: 1 = physical delivery by an express company; 2 = same-city delivery; 3 = virtual goods (no physical delivery, e.g. top-ups, memberships); 4 = user self-pickup.
    pub logistics_type: i64,
    /// Delivery mode: 1 = UNIFIED_DELIVERY (one parcel, one tracking number); 2 = SPLIT_DELIVERY (several parcels; express only).
    pub delivery_mode: i64,
    /// Required for split delivery: whether all parcels have now shipped. The user is told shipping is complete only when all have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_all_delivered: Option<bool>,
    /// Logistics information list: exactly 1 entry for unified delivery, 1–15 for split delivery. Required; a body without it is answered with WeChat's errcode (268485228 for unified delivery), not a parse error.
    #[serde(default)]
    #[oai(default)]
    pub shipping_list: Vec<ShippingItem>,
    /// Upload time in RFC 3339 format, e.g. `2022-12-15T13:29:35.120+08:00`. It orders the requests: an update must carry a later time than the previous upload. WeChat requires it; when it is absent, tpgate fills in the current time (Asia/Shanghai) before calling WeChat and says so in the `Tpgate-Filled-Upload-Time` answer header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_time: Option<String>,
    /// The payer.
    pub payer: Payer,
}

impl poem_openapi::types::Example for UploadShippingInfoRequest {
    /// The seed's example request (seed 004 §I): one STO parcel with the
    /// sender's masked contact, for a WeChat Pay order number.
    fn example() -> Self {
        Self {
            order_key: OrderKey {
                order_number_type: 2,
                transaction_id: Some("fake-transid-20221214190427-1".to_owned()),
                mchid: None,
                out_trade_no: None,
            },
            logistics_type: 1,
            delivery_mode: 1,
            is_all_delivered: None,
            shipping_list: vec![ShippingItem {
                tracking_no: Some("fake-trackingno-2022121419042711".to_owned()),
                express_company: Some("STO".to_owned()),
                item_desc: Some("微信气泡狗集线器*1".to_owned()),
                contact: Some(Contact {
                    consignor_contact: Some("+86-177****1234".to_owned()),
                    receiver_contact: None,
                }),
            }],
            upload_time: Some("2022-12-15T13:29:35.120+08:00".to_owned()),
            payer: Payer {
                openid: "ogqztkPsejM9MQAFfwCQSCi4oNg3".to_owned(),
            },
        }
    }
}

/// Body of `POST /wxa/sec/order/get_order`: the order is given by `transaction_id`, or by `merchant_id` + `merchant_trade_no`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct GetOrderRequest {
    /// The WeChat Pay order number of the original payment transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Merchant number of the payment order's merchant, issued by WeChat Pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// Secondary (sub-)merchant number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_merchant_id: Option<String>,
    /// Order number within the merchant system (digits, letters and `_-*`), unique under the same merchant number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_trade_no: Option<String>,
}

impl poem_openapi::types::Example for GetOrderRequest {
    /// The seed's example request (seed 004 §III).
    fn example() -> Self {
        Self {
            transaction_id: Some("fake-transid-20221209132531-44".to_owned()),
            merchant_id: Some("fake-mchid-123".to_owned()),
            sub_merchant_id: None,
            merchant_trade_no: Some("fake-tradeno-20221209132531-44".to_owned()),
        }
    }
}

/// WeChat's plain answer: `{"errcode":0,"errmsg":"ok"}` on success. The
/// common envelope itself; its OpenAPI schema is named `WechatAck`.
pub type WechatAck = crate::WechatStatus;

/// Answer of `get_order`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct GetOrderResponse {
    /// Error code; 0 on success.
    #[serde(default)]
    #[oai(default)]
    pub errcode: i64,
    /// Error reason; `ok` on success.
    #[serde(default)]
    #[oai(default)]
    pub errmsg: String,
    /// Payment order information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<ShippingOrder>,
}

/// A payment order and its shipping state.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct ShippingOrder {
    /// The WeChat Pay order number of the original payment transaction.
    pub transaction_id: String,
    /// Merchant number of the payment order's merchant, issued by WeChat Pay.
    pub merchant_id: String,
    /// Secondary (sub-)merchant number.
    pub sub_merchant_id: String,
    /// Order number within the merchant system (digits, letters and `_-*`), unique under the same merchant number.
    pub merchant_trade_no: String,
    /// Descriptions of all goods of the payment order joined by semicolons; cut off past 120 characters and ended with `...`.
    pub description: String,
    /// Amount actually paid, in fen.
    pub paid_amount: i64,
    /// The payer's openid.
    pub openid: String,
    /// Transaction creation time, Unix timestamp in seconds.
    pub trade_create_time: i64,
    /// Payment time, Unix timestamp in seconds.
    pub pay_time: i64,
    /// Order state: 1 pending shipment; 2 shipped; 3 receipt confirmed; 4 transaction completed; 5 refunded; 6 funds pending settlement (see [`order_state`]).
    pub order_state: i32,
    /// Whether the order is in a transaction dispute.
    pub in_complaint: bool,
    /// Shipping information; `{}` while the order has not shipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<OrderShipping>,
}

/// Shipping information of a payment order. Every field may be absent: an order that has not shipped answers `{}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
pub struct OrderShipping {
    /// Delivery mode: 1 = UNIFIED_DELIVERY (unified delivery); 2 = SPLIT_DELIVERY (split delivery).
    #[oai(default)]
    pub delivery_mode: i64,
    /// Logistics mode: 1 = express delivery; 2 = same-city delivery; 3 = virtual goods; 4 = user self-pickup.
    #[oai(default)]
    pub logistics_type: i64,
    /// Whether all shipments have been completed.
    #[oai(default)]
    pub finish_shipping: bool,
    /// Goods description entered on the Mini Program admin's shipping-entry page.
    #[oai(default)]
    pub goods_desc: String,
    /// Number of completed full shipments: 0 = not completed; 1 = completed; 2 = re-shipped and completed.
    #[oai(default)]
    pub finish_shipping_count: i32,
    /// Logistics information list: one entry for unified delivery, several for split delivery.
    #[oai(default)]
    pub shipping_list: Vec<OrderShippingItem>,
}

/// One shipped parcel as WeChat reports it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct OrderShippingItem {
    /// Tracking number, e.g. `323244567777`.
    pub tracking_no: String,
    /// Same-city delivery company name, or express company code (courier id from get_delivery_list), e.g. `DHL`.
    pub express_company: String,
    /// Goods description uploaded with the upload-shipping-information API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_desc: Option<String>,
    /// When the logistics information was uploaded, Unix timestamp in seconds.
    pub upload_time: i64,
    /// Contact details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

// === Rules ===

/// `None`, empty, or only whitespace.
fn blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

/// `path.field`, or `field` at the top level (`path` empty).
fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `order_key` at `path` (also each sub-order of `upload_combined_shipping_info`):
/// - `order_number_type` is 1 or 2, else 268485194;
/// - type 1 needs a non-blank `mchid` (268485196) and `out_trade_no` (268485197);
/// - type 2 needs a non-blank `transaction_id` (268485195).
pub fn validate_order_key(key: &OrderKey, path: &str) -> Result<(), ValidationError> {
    match key.order_number_type {
        1 => {
            if blank(key.mchid.as_deref()) {
                return Err(ValidationError::new(
                    join(path, "mchid"),
                    ec::MCHID_REQUIRED,
                    "mchid is required when order_number_type is 1 (merchant order number)",
                ));
            }
            if blank(key.out_trade_no.as_deref()) {
                return Err(ValidationError::new(
                    join(path, "out_trade_no"),
                    ec::OUT_TRADE_NO_REQUIRED,
                    "out_trade_no is required when order_number_type is 1 (merchant order number)",
                ));
            }
            Ok(())
        }
        2 => {
            if blank(key.transaction_id.as_deref()) {
                return Err(ValidationError::new(
                    join(path, "transaction_id"),
                    ec::TRANSACTION_ID_REQUIRED,
                    "transaction_id is required when order_number_type is 2 (WeChat Pay order number)",
                ));
            }
            Ok(())
        }
        other => Err(ValidationError::new(
            join(path, "order_number_type"),
            ec::INVALID_ORDER_NUMBER_TYPE,
            format!(
                "order_number_type must be 1 (merchant order number) or 2 (WeChat Pay order number), got {other}"
            ),
        )),
    }
}

/// `logistics_type` (at `field`) is 1 express, 2 same-city, 3 virtual goods or
/// 4 self-pickup, else 10060005.
pub fn validate_logistics_type(logistics_type: i64, field: &str) -> Result<(), ValidationError> {
    if (1..=4).contains(&logistics_type) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_LOGISTICS_TYPE,
        format!(
            "logistics_type must be 1 (express), 2 (same-city delivery), 3 (virtual goods) or 4 (self-pickup), got {logistics_type}"
        ),
    ))
}

/// `delivery_mode` (at `field`) is 1 unified or 2 split, else 268485224.
pub fn validate_delivery_mode(delivery_mode: i64, field: &str) -> Result<(), ValidationError> {
    if matches!(delivery_mode, 1 | 2) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_DELIVERY_MODE,
        format!("delivery_mode must be 1 (unified) or 2 (split), got {delivery_mode}"),
    ))
}

/// The delivery mode's constraints, for a valid `delivery_mode` and
/// `logistics_type`, with fields under `path`:
/// - unified (1): exactly one `shipping_list` entry, else 268485228 (also
///   for none: WeChat answers a missing `shipping_list` so);
/// - split (2): only with express (`logistics_type` 1), else 10060006 on
///   `delivery_mode`; `is_all_delivered` present, else 10060007.
pub fn validate_delivery_constraints(
    delivery_mode: i64,
    logistics_type: i64,
    is_all_delivered: Option<bool>,
    entries: usize,
    path: &str,
) -> Result<(), ValidationError> {
    if delivery_mode == 1 && entries != 1 {
        return Err(ValidationError::new(
            join(path, "shipping_list"),
            ec::UNIFIED_NEEDS_ONE_ENTRY,
            format!(
                "unified delivery (delivery_mode 1) needs exactly one shipping_list entry, got {entries}; use split delivery (2) for several parcels"
            ),
        ));
    }
    if delivery_mode == 2 {
        if logistics_type != 1 {
            return Err(ValidationError::new(
                join(path, "delivery_mode"),
                ec::SPLIT_NOT_EXPRESS,
                format!(
                    "split delivery (delivery_mode 2) is only allowed with express delivery (logistics_type 1), got logistics_type {logistics_type}"
                ),
            ));
        }
        if is_all_delivered.is_none() {
            return Err(ValidationError::new(
                join(path, "is_all_delivered"),
                ec::IS_ALL_DELIVERED_REQUIRED,
                "is_all_delivered (true or false) is required for split delivery (delivery_mode 2)",
            ));
        }
    }
    Ok(())
}

/// `shipping_list` (at `field`) is not empty (10060014). Only a split
/// delivery reaches it empty: a unified one is 268485228 first.
pub fn validate_shipping_list_not_empty(
    entries: usize,
    field: &str,
) -> Result<(), ValidationError> {
    if entries > 0 {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::PARAMETER_ERROR,
        format!("shipping_list needs 1 to {MAX_SHIPPING_ENTRIES} entries, got none"),
    ))
}

/// `shipping_list` (at `field`) has at most [`MAX_SHIPPING_ENTRIES`] (15)
/// entries (10060024).
pub fn validate_shipping_list_max(entries: usize, field: &str) -> Result<(), ValidationError> {
    if entries <= MAX_SHIPPING_ENTRIES {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::SHIPPING_LIST_TOO_LONG,
        format!(
            "shipping_list has {entries} entries; a payment order can be split into at most {MAX_SHIPPING_ENTRIES} parcels"
        ),
    ))
}

/// `item_desc` (at `field`) is present and not blank (10060008), and at most
/// 120 characters long, counting characters, not bytes (10060009).
pub fn validate_item_desc(item_desc: Option<&str>, field: &str) -> Result<(), ValidationError> {
    let Some(desc) = item_desc.filter(|d| !d.trim().is_empty()) else {
        return Err(ValidationError::new(
            field,
            ec::ITEM_DESC_EMPTY,
            "item_desc is required: describe the goods, e.g. \"微信红包抱枕*1个\"",
        ));
    };
    let chars = desc.chars().count();
    if chars > MAX_ITEM_DESC_CHARS {
        return Err(ValidationError::new(
            field,
            ec::ITEM_DESC_TOO_LONG,
            format!("item_desc has {chars} characters; at most {MAX_ITEM_DESC_CHARS} are allowed"),
        ));
    }
    Ok(())
}

/// `tracking_no` and `express_company` of the item at `path`:
/// - for express delivery (`logistics_type` 1) both are non-blank: `tracking_no`
///   else 268485226, `express_company` else 268485227;
/// - whenever present, each is at most 128 bytes: `tracking_no` else
///   10060026, `express_company` else 10060025.
pub fn validate_tracking(
    item: &ShippingItem,
    logistics_type: i64,
    path: &str,
) -> Result<(), ValidationError> {
    if logistics_type == 1 {
        if blank(item.tracking_no.as_deref()) {
            return Err(ValidationError::new(
                join(path, "tracking_no"),
                ec::TRACKING_NO_REQUIRED,
                "tracking_no is required for express delivery (logistics_type 1)",
            ));
        }
        if blank(item.express_company.as_deref()) {
            return Err(ValidationError::new(
                join(path, "express_company"),
                ec::EXPRESS_COMPANY_REQUIRED,
                "express_company is required for express delivery (logistics_type 1); use a courier id from get_delivery_list",
            ));
        }
    }
    for (name, value, errcode) in [
        ("tracking_no", &item.tracking_no, ec::TRACKING_NO_TOO_LONG),
        (
            "express_company",
            &item.express_company,
            ec::EXPRESS_COMPANY_TOO_LONG,
        ),
    ] {
        if let Some(v) = value
            && v.len() > MAX_CODE_BYTES
        {
            return Err(ValidationError::new(
                join(path, name),
                errcode,
                format!(
                    "{name} is {} bytes long; at most {MAX_CODE_BYTES} bytes are allowed",
                    v.len()
                ),
            ));
        }
    }
    Ok(())
}

/// `contact` of the item at `path` (all 10060014):
/// - `consignor_contact` and `receiver_contact` are each at most 1024 bytes;
/// - when `express_company` is [`SF_EXPRESS_COMPANY`], at least one of them
///   is non-blank.
pub fn validate_contact(item: &ShippingItem, path: &str) -> Result<(), ValidationError> {
    let contact = item.contact.as_ref();
    let consignor = contact.and_then(|c| c.consignor_contact.as_deref());
    let receiver = contact.and_then(|c| c.receiver_contact.as_deref());
    for (name, value) in [
        ("consignor_contact", consignor),
        ("receiver_contact", receiver),
    ] {
        if let Some(v) = value
            && v.len() > MAX_CONTACT_BYTES
        {
            return Err(ValidationError::new(
                join(path, &format!("contact.{name}")),
                ec::PARAMETER_ERROR,
                format!(
                    "{name} is {} bytes long; at most {MAX_CONTACT_BYTES} bytes are allowed",
                    v.len()
                ),
            ));
        }
    }
    if item.express_company.as_deref().map(str::trim) == Some(SF_EXPRESS_COMPANY)
        && blank(consignor)
        && blank(receiver)
    {
        return Err(ValidationError::new(
            join(path, "contact"),
            ec::PARAMETER_ERROR,
            "SF Express (express_company \"SF\") needs contact.consignor_contact or contact.receiver_contact, masked except the last 4 digits (e.g. \"189****1234\")",
        ));
    }
    Ok(())
}

/// All rules of one `shipping_list` entry at `path`, in order:
/// [`validate_item_desc`], [`validate_tracking`], [`validate_contact`].
pub fn validate_shipping_item(
    item: &ShippingItem,
    logistics_type: i64,
    path: &str,
) -> Result<(), ValidationError> {
    validate_item_desc(item.item_desc.as_deref(), &join(path, "item_desc"))?;
    validate_tracking(item, logistics_type, path)?;
    validate_contact(item, path)
}

/// The shipment rules shared by `upload_shipping_info` and each sub-order of
/// `upload_combined_shipping_info`, with fields under `path` (empty at the
/// top level), in order: [`validate_logistics_type`],
/// [`validate_delivery_mode`], [`validate_delivery_constraints`] (a unified
/// delivery without entries is 268485228, as WeChat answers a missing
/// `shipping_list`), [`validate_shipping_list_not_empty`],
/// [`validate_shipping_list_max`], then [`validate_shipping_item`] for each
/// entry.
pub fn validate_shipment(
    logistics_type: i64,
    delivery_mode: i64,
    is_all_delivered: Option<bool>,
    shipping_list: &[ShippingItem],
    path: &str,
) -> Result<(), ValidationError> {
    let list = join(path, "shipping_list");
    validate_logistics_type(logistics_type, &join(path, "logistics_type"))?;
    validate_delivery_mode(delivery_mode, &join(path, "delivery_mode"))?;
    validate_delivery_constraints(
        delivery_mode,
        logistics_type,
        is_all_delivered,
        shipping_list.len(),
        path,
    )?;
    validate_shipping_list_not_empty(shipping_list.len(), &list)?;
    validate_shipping_list_max(shipping_list.len(), &list)?;
    for (i, item) in shipping_list.iter().enumerate() {
        validate_shipping_item(item, logistics_type, &format!("{list}[{i}]"))?;
    }
    Ok(())
}

/// `upload_time` (at `field`) is RFC 3339 with an offset, e.g.
/// `2022-12-15T13:29:35.120+08:00`, else 268485216.
pub fn validate_upload_time(upload_time: &str, field: &str) -> Result<(), ValidationError> {
    match chrono::DateTime::parse_from_rfc3339(upload_time) {
        Ok(_) => Ok(()),
        Err(_) => Err(ValidationError::new(
            field,
            ec::UPLOAD_TIME_INVALID,
            format!(
                "upload_time {upload_time:?} is not RFC 3339; use a time with an offset, e.g. \"2022-12-15T13:29:35.120+08:00\""
            ),
        )),
    }
}

/// `payer.openid` (at `field`) is 1–128 bytes and not blank, else 10060014.
/// (Whether the order belongs to that openid, 10060031, only WeChat knows.)
pub fn validate_payer(payer: &Payer, field: &str) -> Result<(), ValidationError> {
    let len = payer.openid.len();
    if blank(Some(payer.openid.as_str())) || len > MAX_OPENID_BYTES {
        return Err(ValidationError::new(
            field,
            ec::PARAMETER_ERROR,
            format!(
                "payer.openid must be the payer's openid, 1 to {MAX_OPENID_BYTES} bytes; got {len} bytes"
            ),
        ));
    }
    Ok(())
}

/// An order lookup (`get_order`, `notify_confirm_receive`) gives
/// `transaction_id`, or both `merchant_id` and `merchant_trade_no`, else
/// 10060014 on the first field missing.
pub fn validate_order_lookup(
    transaction_id: Option<&str>,
    merchant_id: Option<&str>,
    merchant_trade_no: Option<&str>,
) -> Result<(), ValidationError> {
    if !blank(transaction_id) {
        return Ok(());
    }
    let field = match (blank(merchant_id), blank(merchant_trade_no)) {
        (false, false) => return Ok(()),
        (true, true) => "transaction_id",
        (true, false) => "merchant_id",
        (false, true) => "merchant_trade_no",
    };
    Err(ValidationError::new(
        field,
        ec::PARAMETER_ERROR,
        "identify the order by transaction_id, or by both merchant_id and merchant_trade_no",
    ))
}

impl Validate for UploadShippingInfoRequest {
    /// [`validate_order_key`], [`validate_shipment`], [`validate_upload_time`],
    /// [`validate_payer`], in that order.
    fn validate(&self) -> Result<(), ValidationError> {
        validate_order_key(&self.order_key, "order_key")?;
        validate_shipment(
            self.logistics_type,
            self.delivery_mode,
            self.is_all_delivered,
            &self.shipping_list,
            "",
        )?;
        match &self.upload_time {
            Some(t) => validate_upload_time(t, "upload_time")?,
            // Seed 004 lists upload_time as required ("yes") and 268485216
            // for an upload time that is not RFC 3339; which errcode an
            // absent one gets it does not say: none is no RFC 3339 time.
            None => {
                return Err(ValidationError::new(
                    "upload_time",
                    ec::UPLOAD_TIME_INVALID,
                    "upload_time is required (RFC 3339, e.g. \"2022-12-15T13:29:35.120+08:00\")",
                ));
            }
        }
        validate_payer(&self.payer, "payer.openid")
    }
}

impl Validate for GetOrderRequest {
    /// [`validate_order_lookup`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_order_lookup(
            self.transaction_id.as_deref(),
            self.merchant_id.as_deref(),
            self.merchant_trade_no.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests;
