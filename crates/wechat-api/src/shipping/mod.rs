//! Shipping-information management (`/wxa/sec/order/*`, seed 004): request and
//! response models (also the OpenAPI schemas of the proxy) and the seed rules.
//!
//! Enumerations stay integers on the wire and optional fields stay `Option`,
//! so a wrong value reaches [`Validate::validate`] and gets the seed's errcode
//! instead of a generic parse error.
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use crate::{Validate, ValidationError, errcode as ec};

/// `express_company` code of SF Express (顺丰), which requires a contact.
pub const SF_EXPRESS_COMPANY: &str = "SF";
pub const MAX_SHIPPING_ENTRIES: usize = 10;
pub const MAX_ITEM_DESC_CHARS: usize = 120;
pub const MAX_CODE_BYTES: usize = 128;
pub const MAX_CONTACT_BYTES: usize = 1024;
pub const MAX_OPENID_BYTES: usize = 128;

/// Which order an upload is for.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
pub struct OrderKey {
    /// 1 = merchant order number (`mchid` + `out_trade_no`), 2 = WeChat Pay transaction (`transaction_id`).
    pub order_number_type: i64,
    /// WeChat Pay transaction id (required for type 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub transaction_id: Option<String>,
    /// Merchant id issued by WeChat Pay (required for type 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub mchid: Option<String>,
    /// Merchant-side order number, unique per merchant (required for type 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub out_trade_no: Option<String>,
}

/// Contact details, masked except the last 4 digits (e.g. `189****1234`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct Contact {
    /// Sender's masked contact, at most 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub consignor_contact: Option<String>,
    /// Recipient's masked contact, at most 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub receiver_contact: Option<String>,
}

/// One parcel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
pub struct ShippingItem {
    /// Tracking number, 1–128 bytes; required for express (logistics_type 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tracking_no: Option<String>,
    /// Express company code from get_delivery_list (e.g. `SF`, `STO`), 1–128 bytes; required for express.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub express_company: Option<String>,
    /// Goods description, e.g. `微信红包抱枕*1个`; required, at most 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub item_desc: Option<String>,
    /// Contact; required (sender or recipient) when the express company is SF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub contact: Option<Contact>,
}

/// The payer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
pub struct Payer {
    /// The payer's openid under the Mini Program, 1–128 bytes.
    pub openid: String,
}

/// Body of `upload_shipping_info` (WeChat's JSON shape).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
pub struct UploadShippingInfoRequest {
    /// The payment order to ship.
    pub order_key: OrderKey,
    /// 1 express, 2 same-city delivery, 3 virtual goods, 4 self-pickup.
    pub logistics_type: i64,
    /// 1 unified (one parcel), 2 split (several parcels; express only).
    pub delivery_mode: i64,
    /// Split delivery only (required there): whether all parcels have now shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub is_all_delivered: Option<bool>,
    /// Parcels: exactly 1 for unified delivery, 1–10 for split.
    pub shipping_list: Vec<ShippingItem>,
    /// RFC 3339 time of this upload, e.g. `2022-12-15T13:29:35.120+08:00`; a later upload must carry a later time.
    pub upload_time: String,
    /// Who paid.
    pub payer: Payer,
}

/// Body of `get_order`: `transaction_id`, or `merchant_id` + `merchant_trade_no`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct GetOrderRequest {
    /// WeChat Pay transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub transaction_id: Option<String>,
    /// Merchant id issued by WeChat Pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub merchant_id: Option<String>,
    /// Secondary merchant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub sub_merchant_id: Option<String>,
    /// Merchant-side order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub merchant_trade_no: Option<String>,
}

/// WeChat's plain success answer: `{"errcode":0,"errmsg":"ok"}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct WechatAck {
    /// 0 on success.
    #[serde(default)]
    pub errcode: i64,
    /// `ok` on success.
    #[serde(default)]
    pub errmsg: String,
}

/// Answer of `get_order`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct GetOrderResponse {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    /// The payment order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub order: Option<ShippingOrder>,
}

/// A payment order and its shipping state.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
pub struct ShippingOrder {
    pub transaction_id: String,
    pub merchant_id: String,
    pub sub_merchant_id: String,
    pub merchant_trade_no: String,
    /// Goods description (cut at 120 characters by WeChat).
    pub description: String,
    /// Amount paid, in fen.
    pub paid_amount: i64,
    /// The payer's openid.
    pub openid: String,
    /// Unix seconds.
    pub trade_create_time: i64,
    /// Unix seconds.
    pub pay_time: i64,
    /// 1 pending shipment, 2 shipped, 3 receipt confirmed, 4 completed, 5 refunded, 6 pending settlement.
    pub order_state: i64,
    /// Whether the order is in a trade dispute.
    pub in_complaint: bool,
    /// Shipping information (`{}` before the first shipment).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub shipping: Option<OrderShipping>,
}

/// Shipping state of a payment order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
pub struct OrderShipping {
    pub delivery_mode: i64,
    pub logistics_type: i64,
    /// Whether all parcels have shipped.
    pub finish_shipping: bool,
    pub goods_desc: String,
    /// 0 not finished, 1 finished, 2 re-shipped and finished.
    pub finish_shipping_count: i64,
    pub shipping_list: Vec<OrderShippingItem>,
}

/// One shipped parcel as WeChat reports it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
pub struct OrderShippingItem {
    pub tracking_no: String,
    pub express_company: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub goods_desc: Option<String>,
    /// Unix seconds.
    pub upload_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub contact: Option<Contact>,
}

// === rules ===

fn blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v.trim().is_empty())
}

/// `order_key` rules (reused by `upload_combined_shipping_info` sub-orders).
pub fn validate_order_key(key: &OrderKey, path: &str) -> Result<(), ValidationError> {
    match key.order_number_type {
        1 => {
            if blank(&key.mchid) {
                return Err(ValidationError::new(
                    format!("{path}.mchid"),
                    ec::MCHID_REQUIRED,
                    "mchid is required when order_number_type is 1 (merchant order number)",
                ));
            }
            if blank(&key.out_trade_no) {
                return Err(ValidationError::new(
                    format!("{path}.out_trade_no"),
                    ec::OUT_TRADE_NO_REQUIRED,
                    "out_trade_no is required when order_number_type is 1 (merchant order number)",
                ));
            }
            Ok(())
        }
        2 => {
            if blank(&key.transaction_id) {
                return Err(ValidationError::new(
                    format!("{path}.transaction_id"),
                    ec::TRANSACTION_ID_REQUIRED,
                    "transaction_id is required when order_number_type is 2 (WeChat Pay transaction)",
                ));
            }
            Ok(())
        }
        other => Err(ValidationError::new(
            format!("{path}.order_number_type"),
            ec::INVALID_ORDER_NUMBER_TYPE,
            format!(
                "order_number_type must be 1 (merchant order number) or 2 (transaction id), got {other}"
            ),
        )),
    }
}

fn check_code(
    value: &Option<String>,
    field: String,
    errcode: i64,
    what: &str,
) -> Result<(), ValidationError> {
    if let Some(v) = value
        && v.len() > MAX_CODE_BYTES
    {
        return Err(ValidationError::new(
            field,
            errcode,
            format!(
                "{what} is {} bytes; at most {MAX_CODE_BYTES} are allowed",
                v.len()
            ),
        ));
    }
    Ok(())
}

/// Rules for one parcel of a shipment with `logistics_type`.
pub fn validate_shipping_item(
    item: &ShippingItem,
    logistics_type: i64,
    path: &str,
) -> Result<(), ValidationError> {
    match &item.item_desc {
        Some(desc) if !desc.trim().is_empty() => {
            let chars = desc.chars().count();
            if chars > MAX_ITEM_DESC_CHARS {
                return Err(ValidationError::new(
                    format!("{path}.item_desc"),
                    ec::ITEM_DESC_TOO_LONG,
                    format!(
                        "item_desc has {chars} characters; at most {MAX_ITEM_DESC_CHARS} are allowed"
                    ),
                ));
            }
        }
        _ => {
            return Err(ValidationError::new(
                format!("{path}.item_desc"),
                ec::ITEM_DESC_EMPTY,
                "item_desc is required (e.g. \"微信红包抱枕*1个\")",
            ));
        }
    }
    if logistics_type == 1 {
        if blank(&item.tracking_no) {
            return Err(ValidationError::new(
                format!("{path}.tracking_no"),
                ec::TRACKING_NO_REQUIRED,
                "tracking_no is required for express shipping (logistics_type 1)",
            ));
        }
        if blank(&item.express_company) {
            return Err(ValidationError::new(
                format!("{path}.express_company"),
                ec::EXPRESS_COMPANY_REQUIRED,
                "express_company is required for express shipping (logistics_type 1); use a get_delivery_list code",
            ));
        }
    }
    check_code(
        &item.tracking_no,
        format!("{path}.tracking_no"),
        ec::TRACKING_NO_TOO_LONG,
        "tracking_no",
    )?;
    check_code(
        &item.express_company,
        format!("{path}.express_company"),
        ec::EXPRESS_COMPANY_TOO_LONG,
        "express_company",
    )?;
    let contact = item.contact.clone().unwrap_or_default();
    for (name, value) in [
        ("consignor_contact", &contact.consignor_contact),
        ("receiver_contact", &contact.receiver_contact),
    ] {
        if let Some(v) = value
            && v.len() > MAX_CONTACT_BYTES
        {
            return Err(ValidationError::new(
                format!("{path}.contact.{name}"),
                ec::PARAMETER_ERROR,
                format!(
                    "{name} is {} bytes; at most {MAX_CONTACT_BYTES} are allowed",
                    v.len()
                ),
            ));
        }
    }
    if item.express_company.as_deref().map(str::trim) == Some(SF_EXPRESS_COMPANY)
        && blank(&contact.consignor_contact)
        && blank(&contact.receiver_contact)
    {
        return Err(ValidationError::new(
            format!("{path}.contact"),
            ec::PARAMETER_ERROR,
            "SF Express shipments need contact.consignor_contact or contact.receiver_contact (masked, last 4 digits visible)",
        ));
    }
    Ok(())
}

/// Rules shared by an upload and each sub-order of a combined upload.
pub fn validate_shipment(
    logistics_type: i64,
    delivery_mode: i64,
    is_all_delivered: Option<bool>,
    shipping_list: &[ShippingItem],
    path: &str,
) -> Result<(), ValidationError> {
    let at = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    if !(1..=4).contains(&logistics_type) {
        return Err(ValidationError::new(
            at("logistics_type"),
            ec::INVALID_LOGISTICS_TYPE,
            format!(
                "logistics_type must be 1 (express), 2 (same-city), 3 (virtual) or 4 (self-pickup), got {logistics_type}"
            ),
        ));
    }
    match delivery_mode {
        1 => {
            if shipping_list.len() != 1 {
                return Err(ValidationError::new(
                    at("shipping_list"),
                    ec::UNIFIED_NEEDS_ONE_ENTRY,
                    format!(
                        "unified delivery (delivery_mode 1) needs exactly one shipping_list entry, got {}",
                        shipping_list.len()
                    ),
                ));
            }
        }
        2 => {
            if logistics_type != 1 {
                return Err(ValidationError::new(
                    at("delivery_mode"),
                    ec::SPLIT_NOT_EXPRESS,
                    "split delivery (delivery_mode 2) is only allowed with express shipping (logistics_type 1)",
                ));
            }
            if is_all_delivered.is_none() {
                return Err(ValidationError::new(
                    at("is_all_delivered"),
                    ec::IS_ALL_DELIVERED_REQUIRED,
                    "is_all_delivered is required for split delivery (delivery_mode 2)",
                ));
            }
        }
        other => {
            return Err(ValidationError::new(
                at("delivery_mode"),
                ec::INVALID_DELIVERY_MODE,
                format!("delivery_mode must be 1 (unified) or 2 (split), got {other}"),
            ));
        }
    }
    if shipping_list.is_empty() {
        return Err(ValidationError::new(
            at("shipping_list"),
            ec::PARAMETER_ERROR,
            "shipping_list needs at least one entry",
        ));
    }
    if shipping_list.len() > MAX_SHIPPING_ENTRIES {
        return Err(ValidationError::new(
            at("shipping_list"),
            ec::SHIPPING_LIST_TOO_LONG,
            format!(
                "shipping_list has {} entries; at most {MAX_SHIPPING_ENTRIES} parcels are allowed",
                shipping_list.len()
            ),
        ));
    }
    for (i, item) in shipping_list.iter().enumerate() {
        validate_shipping_item(item, logistics_type, &at(&format!("shipping_list[{i}]")))?;
    }
    Ok(())
}

pub fn validate_upload_time(upload_time: &str, field: &str) -> Result<(), ValidationError> {
    chrono::DateTime::parse_from_rfc3339(upload_time.trim())
        .map(|_| ())
        .map_err(|_| {
            ValidationError::new(
                field,
                ec::UPLOAD_TIME_INVALID,
                format!("upload_time {upload_time:?} is not RFC 3339 (e.g. 2022-12-15T13:29:35.120+08:00)"),
            )
        })
}

pub fn validate_payer(payer: &Payer, field: &str) -> Result<(), ValidationError> {
    let len = payer.openid.trim().len();
    if len == 0 || payer.openid.len() > MAX_OPENID_BYTES {
        return Err(ValidationError::new(
            field,
            ec::PARAMETER_ERROR,
            format!("payer.openid must be 1–{MAX_OPENID_BYTES} bytes"),
        ));
    }
    Ok(())
}

impl Validate for UploadShippingInfoRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        validate_order_key(&self.order_key, "order_key")?;
        validate_shipment(
            self.logistics_type,
            self.delivery_mode,
            self.is_all_delivered,
            &self.shipping_list,
            "",
        )?;
        validate_upload_time(&self.upload_time, "upload_time")?;
        validate_payer(&self.payer, "payer.openid")
    }
}

impl Validate for GetOrderRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        if !blank(&self.transaction_id) {
            return Ok(());
        }
        if blank(&self.merchant_id) || blank(&self.merchant_trade_no) {
            return Err(ValidationError::new(
                if blank(&self.merchant_id) {
                    "merchant_id"
                } else {
                    "merchant_trade_no"
                },
                ec::PARAMETER_ERROR,
                "give transaction_id, or both merchant_id and merchant_trade_no",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
