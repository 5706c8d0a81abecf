//! The logistics helper's waybill lifecycle (物流助手 / 批量下单,
//! `/cgi-bin/express/business/*`, permission set 45 or 71): create a
//! waybill (`order/add`), cancel it (`order/cancel`), read several at once
//! (`order/batchget`), and the two lists a merchant needs first: its bound
//! courier accounts (`account/getall`) and the couriers the helper supports
//! (`delivery/getall`). `path/get` and `order/get` (in the parent module)
//! read the waybills `order/add` created, by `order_id`, `delivery_id` and
//! `waybill_id`.
//!
//! Sources: WeChat's API pages under
//! `developers.weixin.qq.com/miniprogram/dev/server/API/express/express-by-business/`
//! (`api_addorder`, `api_cancelorder`, `api_batchgetorder`,
//! `api_getallaccount`, `api_getalldelivery`), each listing permission sets
//! "45、71". The two lists are `GET` APIs without a body.
//!
//! # Rules, in the order they are checked
//! | request | field | rule | errcode |
//! |---|---|---|---|
//! | order/add | `add_source` | 0 (Mini Program order) or 2 (App or H5 order) | 40097 |
//! | order/add | `wx_appid` | not blank when `add_source` is 2 | 40097 |
//! | order/add | `order_id` | not blank, ≤ 512 bytes | 40097 |
//! | order/add | `openid` | not blank, ≤ 128 bytes when `add_source` is 0; when given otherwise, the same | 40003 |
//! | order/add, order/cancel | `delivery_id` | not blank | 40097 |
//! | order/add | `biz_id` | not blank | 40097 |
//! | order/add | `custom_remark` | ≤ 1024 bytes | 40097 |
//! | order/add | `sender.*`, `receiver.*` | `tel` or `mobile` not blank; `name`, `company`, `country`, `province`, `city`, `area` ≤ 64 bytes, `tel`, `mobile` ≤ 32, `post_code` ≤ 10, `address` ≤ 512 | 40097 |
//! | order/add | `cargo.detail_list[i].name` | ≤ 128 bytes | 40097 |
//! | order/add | `insured.use_insured` | 0 (not insured) or 1 (insured) | 40097 |
//! | order/add | `insured.insured_value` | ≥ 0 (fen) | 40097 |
//! | order/cancel | `order_id`, `waybill_id` | not blank | 40097 |
//! | order/cancel | `openid` | when given, not blank, ≤ 128 bytes | 40003 |
//! | order/batchget | `order_list` | 1 to 100 entries | 40097 |
//! | order/batchget | `order_list[i].order_id`, `.delivery_id` | not blank | 40097 |
//!
//! Fields WeChat's pages and the independent SDKs disagree on (whether
//! `shop`, the contacts' `name` and the cargo's dimensions are required;
//! SF's `expect_time`) have no local rule: the courier decides and WeChat
//! answers 9300501 with its `delivery_resultcode`. Whether a courier is in
//! the helper's list (9300503), an `order_id` is new (9300522) and a
//! waybill exists (40199) or can still be cancelled (9300506, 9300524),
//! only WeChat knows.
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::{
    GetWaybillOrderResponse, WaybillDataItem, blank, validate_openid, validate_optional_openid,
    validate_required,
};
use crate::{Validate, ValidationError, errcode as ec};

/// Longest `order_id` of `order/add`, in bytes ("不超过512字节").
pub const MAX_HELPER_ORDER_ID_BYTES: usize = 512;
/// Longest `custom_remark`, in bytes ("不超过1024字节").
pub const MAX_CUSTOM_REMARK_BYTES: usize = 1024;
/// Longest cargo item name, in bytes ("不超过128字节").
pub const MAX_CARGO_NAME_BYTES: usize = 128;
/// Most orders one `order/batchget` reads ("最多不能超过100个").
pub const MAX_BATCH_ORDERS: usize = 100;

/// Values of [`AddWaybillOrderRequest::add_source`].
pub mod add_source {
    /// 0: an order of the Mini Program (the user gets logistics service notifications).
    pub const MINI_PROGRAM: i64 = 0;
    /// 2: an order of an App or H5 page (`wx_appid` required; no notifications).
    pub const APP_OR_H5: i64 = 2;
}

/// Values of [`LogisticsAccount::status_code`].
pub mod account_status {
    /// 0: bound.
    pub const BOUND: i64 = 0;
    /// 1: under review.
    pub const REVIEWING: i64 = 1;
    /// 2: binding failed.
    pub const FAILED: i64 = 2;
    /// 3: unbound.
    pub const UNBOUND: i64 = 3;
}

// === Models: order/add ===

/// A sender or recipient of a waybill. Byte limits from WeChat's page: name, company, country, province, city and area at most 64; tel and mobile at most 32; post_code at most 10; address at most 512.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct WaybillContact {
    /// Name, at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Landline number; required when mobile is left out. At most 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tel: Option<String>,
    /// Mobile number; required when tel is left out. At most 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Company name, at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Post code, at most 10 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_code: Option<String>,
    /// Country, at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Province, e.g. `广东省`; at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// City, e.g. `广州市`; at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// District or county, e.g. `海珠区`; at most 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// Street address, e.g. `XX路XX号XX大厦XX`; at most 512 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// One item of a parcel, passed to the courier.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct WaybillCargoItem {
    /// Goods name, at most 128 bytes.
    pub name: String,
    /// Quantity.
    pub count: i64,
}

/// The parcel, passed to the courier (some couriers need `detail_list`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct WaybillCargo {
    /// Number of parcels (the length of detail_list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Total weight in kilograms, e.g. 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Length in centimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_x: Option<f64>,
    /// Width in centimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_y: Option<f64>,
    /// Height in centimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_z: Option<f64>,
    /// The parcel's items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_list: Option<Vec<WaybillCargoItem>>,
}

/// One item of the goods shown in the logistics notification and on the label.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct WaybillShopGoods {
    /// Goods name.
    #[serde(default)]
    #[oai(default)]
    pub goods_name: String,
    /// Goods image URL.
    #[serde(default)]
    #[oai(default)]
    pub goods_img_url: String,
    /// Goods description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_desc: Option<String>,
}

/// The goods, shown in the logistics service notification and on the electronic label.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct WaybillShop {
    /// Path of the merchant's Mini Program the notification opens (the order page is recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wxa_path: Option<String>,
    /// Goods thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub img_url: Option<String>,
    /// Goods name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_name: Option<String>,
    /// Goods quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_count: Option<i64>,
    /// The goods, one entry each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_list: Option<Vec<WaybillShopGoods>>,
}

/// Insurance of the parcel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct WaybillInsured {
    /// 0 not insured; 1 insured.
    pub use_insured: i64,
    /// Insured value in fen, e.g. 10000 for 100 yuan.
    pub insured_value: i64,
}

/// A courier's service type (from delivery/getall or account/getall).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct DeliveryService {
    /// Service type id, e.g. 0.
    pub service_type: i64,
    /// Service type name, e.g. `标准快递`.
    pub service_name: String,
}

/// Body of `POST /cgi-bin/express/business/order/add`: creates a waybill with a courier the Mini Program has an account with. `path/get`, `order/get` and `order/cancel` then find it by `order_id`, `delivery_id` and the answer's `waybill_id`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct AddWaybillOrderRequest {
    /// Order source: 0 an order of the Mini Program; 2 an order of an App or H5 page (no logistics service notification is sent).
    pub add_source: i64,
    /// Appid of the App or H5 page, bound to the same Open Platform account as the Mini Program; required when add_source is 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wx_appid: Option<String>,
    /// The merchant's order id, globally unique, at most 512 bytes.
    pub order_id: String,
    /// The user's openid; required unless add_source is 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Courier id, from delivery/getall.
    pub delivery_id: String,
    /// The merchant's customer code with the courier (from account/getall), or the courier's cash code.
    pub biz_id: String,
    /// Remark for the courier, e.g. `易碎物品`; at most 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_remark: Option<String>,
    /// Tag of a platform Mini Program's merchant; other Mini Programs leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagid: Option<i64>,
    /// Expected pick-up time, Unix timestamp in seconds (0: agreed in advance); SF Express needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_time: Option<i64>,
    /// Order-splitting strategy: 0 signed with a local branch (default), 1 signed with the headquarters (YTO only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_mode: Option<i64>,
    /// The sender.
    pub sender: WaybillContact,
    /// The recipient.
    pub receiver: WaybillContact,
    /// The parcel, passed to the courier.
    pub cargo: WaybillCargo,
    /// The goods, shown in the logistics service notification and on the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<WaybillShop>,
    /// Insurance.
    pub insured: WaybillInsured,
    /// Service type, from delivery/getall.
    pub service: DeliveryService,
}

impl poem_openapi::types::Example for AddWaybillOrderRequest {
    /// WeChat's example request of addOrder, with `cargo.detail_list` and
    /// `shop.detail_list` as WeChat staff completed it (community doc
    /// 00008ca9bf4628ed3960f20876b800).
    fn example() -> Self {
        let contact =
            |name: &str, mobile: &str, city: &str, area: &str, address: &str| WaybillContact {
                name: Some(name.to_owned()),
                mobile: Some(mobile.to_owned()),
                country: Some("中国".to_owned()),
                province: Some("广东省".to_owned()),
                city: Some(city.to_owned()),
                area: Some(area.to_owned()),
                address: Some(address.to_owned()),
                ..WaybillContact::default()
            };
        Self {
            add_source: add_source::MINI_PROGRAM,
            wx_appid: None,
            order_id: "01234567890123456789".to_owned(),
            openid: Some("oABC123456".to_owned()),
            delivery_id: "SF".to_owned(),
            biz_id: "SF_CASH".to_owned(),
            custom_remark: Some("易碎物品".to_owned()),
            tagid: None,
            expect_time: Some(1_557_989_929),
            take_mode: None,
            sender: contact(
                "张三",
                "13800138000",
                "广州市",
                "海珠区",
                "XX路XX号XX大厦XX",
            ),
            receiver: contact(
                "王小蒙",
                "13900139000",
                "广州市",
                "天河区",
                "XX路XX号XX大厦XX",
            ),
            cargo: WaybillCargo {
                count: Some(1),
                weight: Some(1.2),
                space_x: Some(20.0),
                space_y: Some(15.0),
                space_z: Some(10.0),
                detail_list: Some(vec![WaybillCargoItem {
                    name: "微信气泡狗*1".to_owned(),
                    count: 1,
                }]),
            },
            shop: Some(WaybillShop {
                wxa_path: Some("/index/index?from=waybill&id=01234567890123456789".to_owned()),
                img_url: None,
                goods_name: None,
                goods_count: None,
                detail_list: Some(vec![WaybillShopGoods {
                    goods_name: "微信气泡狗".to_owned(),
                    goods_img_url: "https://img.example.com/dog.png".to_owned(),
                    goods_desc: Some("气泡狗*1".to_owned()),
                }]),
            }),
            insured: WaybillInsured {
                use_insured: 1,
                insured_value: 10000,
            },
            service: DeliveryService {
                service_type: 0,
                service_name: "标准快递".to_owned(),
            },
        }
    }
}

/// Answer of `order/add`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct AddWaybillOrderResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The order id given.
    pub order_id: String,
    /// The waybill number the courier issued: path/get, order/get and order/cancel take it.
    pub waybill_id: String,
    /// The courier's own result code (0 on success).
    pub delivery_resultcode: i64,
    /// The courier's own result message.
    pub delivery_resultmsg: String,
    /// Waybill information, as key/value pairs.
    pub waybill_data: Vec<WaybillDataItem>,
}

// === Models: order/cancel ===

/// Body of `POST /cgi-bin/express/business/order/cancel`: cancels a waybill order/add created, before the courier collects it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct CancelWaybillOrderRequest {
    /// Order id given to order/add.
    pub order_id: String,
    /// The user's openid; not needed when add_source was 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Courier id.
    pub delivery_id: String,
    /// Waybill number order/add returned.
    pub waybill_id: String,
}

impl poem_openapi::types::Example for CancelWaybillOrderRequest {
    /// WeChat's example request of cancelOrder.
    fn example() -> Self {
        Self {
            order_id: "01234567890123456789".to_owned(),
            openid: Some("oABC123456".to_owned()),
            delivery_id: "SF".to_owned(),
            waybill_id: "123456789".to_owned(),
        }
    }
}

/// Answer of `order/cancel`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct CancelWaybillOrderResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The courier's own result code (0 on success).
    pub delivery_resultcode: i64,
    /// The courier's own result message.
    pub delivery_resultmsg: String,
}

// === Models: order/batchget ===

/// One waybill to read.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct WaybillOrderKey {
    /// Order id given to order/add.
    pub order_id: String,
    /// Courier id; must match waybill_id.
    pub delivery_id: String,
    /// Waybill number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waybill_id: Option<String>,
}

/// Body of `POST /cgi-bin/express/business/order/batchget`: the print data of up to 100 waybills order/add created.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(example)]
pub struct BatchGetWaybillOrderRequest {
    /// The waybills, 1 to 100.
    #[serde(default)]
    #[oai(default)]
    pub order_list: Vec<WaybillOrderKey>,
}

impl poem_openapi::types::Example for BatchGetWaybillOrderRequest {
    /// WeChat's example request of batchGetOrder (one waybill).
    fn example() -> Self {
        Self {
            order_list: vec![WaybillOrderKey {
                order_id: "01234567890123456789".to_owned(),
                delivery_id: "SF".to_owned(),
                waybill_id: Some("123456789".to_owned()),
            }],
        }
    }
}

/// Answer of `order/batchget`: one entry per waybill asked for, each with its own errcode.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct BatchGetWaybillOrderResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The waybills, each as order/get answers it (with its own errcode).
    pub order_list: Vec<GetWaybillOrderResponse>,
}

// === Models: account/getall, delivery/getall ===

/// A courier account the Mini Program has bound.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct LogisticsAccount {
    /// The merchant's customer code with the courier (order/add's biz_id).
    pub biz_id: String,
    /// Courier id.
    pub delivery_id: String,
    /// When the account was bound, Unix timestamp in seconds.
    pub create_time: i64,
    /// When the account was last updated, Unix timestamp in seconds.
    pub update_time: i64,
    /// Binding status: 0 bound; 1 under review; 2 binding failed; 3 unbound (see [`account_status`]).
    pub status_code: i64,
    /// Account alias.
    pub alias: String,
    /// Why binding failed (EMS review result).
    pub remark_wrong_msg: String,
    /// Remark given when binding (for EMS review).
    pub remark_content: String,
    /// Electronic label balance.
    pub quota_num: i64,
    /// When the balance was last updated, Unix timestamp in seconds.
    pub quota_update_time: i64,
    /// Service types the account supports.
    pub service_type: Vec<DeliveryService>,
}

/// Answer of `GET /cgi-bin/express/business/account/getall`: the courier accounts the Mini Program has bound.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetAllAccountResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Number of accounts.
    pub count: i64,
    /// The accounts.
    pub list: Vec<LogisticsAccount>,
}

/// A courier the logistics helper supports.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct DeliveryCompany {
    /// Courier id, e.g. `SF`, `ZTO`, `YTO`, `STO`, `YD`, `JTSD`, `EMS`, `JDL` (JD Logistics is `JDL`, not `JD`).
    pub delivery_id: String,
    /// Courier name, e.g. `顺丰速运`.
    pub delivery_name: String,
    /// Whether cash (non-account) orders are supported: 1 yes.
    pub can_use_cash: i64,
    /// Whether the label balance can be queried: 1 yes.
    pub can_get_quota: i64,
    /// biz_id for cash orders, when can_use_cash is 1.
    pub cash_biz_id: String,
    /// Service types the courier supports.
    pub service_type: Vec<DeliveryService>,
}

/// Answer of `GET /cgi-bin/express/business/delivery/getall`: the couriers the logistics helper supports.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetAllDeliveryResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Number of couriers.
    pub count: i64,
    /// The couriers.
    pub data: Vec<DeliveryCompany>,
}

// === Rules ===

/// A value (at `field`) of at most `max` bytes, else 40097.
fn validate_max_bytes(value: Option<&str>, max: usize, field: &str) -> Result<(), ValidationError> {
    match value {
        Some(v) if v.len() > max => Err(ValidationError::new(
            field,
            ec::INVALID_PARAMETER,
            format!(
                "{field} is {} bytes long; at most {max} bytes are allowed",
                v.len()
            ),
        )),
        _ => Ok(()),
    }
}

/// `add_source` (at `field`) is 0 or 2, else 40097.
pub fn validate_add_source(add_source: i64, field: &str) -> Result<(), ValidationError> {
    if matches!(add_source, add_source::MINI_PROGRAM | add_source::APP_OR_H5) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_PARAMETER,
        format!(
            "add_source must be 0 (an order of the Mini Program) or 2 (an order of an App or H5 page), got {add_source}"
        ),
    ))
}

/// A sender or recipient at `path`, all 40097: `tel` or `mobile` not blank;
/// every field within its byte limit (see [`WaybillContact`]).
pub fn validate_waybill_contact(
    contact: &WaybillContact,
    path: &str,
) -> Result<(), ValidationError> {
    if blank(contact.tel.as_deref()) && blank(contact.mobile.as_deref()) {
        return Err(ValidationError::new(
            format!("{path}.mobile"),
            ec::INVALID_PARAMETER,
            format!("{path} needs a mobile or a tel number"),
        ));
    }
    for (name, value, max) in [
        ("name", &contact.name, 64),
        ("tel", &contact.tel, 32),
        ("mobile", &contact.mobile, 32),
        ("company", &contact.company, 64),
        ("post_code", &contact.post_code, 10),
        ("country", &contact.country, 64),
        ("province", &contact.province, 64),
        ("city", &contact.city, 64),
        ("area", &contact.area, 64),
        ("address", &contact.address, 512),
    ] {
        validate_max_bytes(value.as_deref(), max, &format!("{path}.{name}"))?;
    }
    Ok(())
}

/// `insured` at `path`, all 40097: `use_insured` is 0 or 1, `insured_value`
/// is not negative.
pub fn validate_insured(insured: &WaybillInsured, path: &str) -> Result<(), ValidationError> {
    if !matches!(insured.use_insured, 0 | 1) {
        return Err(ValidationError::new(
            format!("{path}.use_insured"),
            ec::INVALID_PARAMETER,
            format!(
                "use_insured must be 0 (not insured) or 1 (insured), got {}",
                insured.use_insured
            ),
        ));
    }
    if insured.insured_value < 0 {
        return Err(ValidationError::new(
            format!("{path}.insured_value"),
            ec::INVALID_PARAMETER,
            format!(
                "insured_value is in fen and cannot be negative, got {}",
                insured.insured_value
            ),
        ));
    }
    Ok(())
}

impl Validate for AddWaybillOrderRequest {
    /// The rules of the module table, in its order.
    fn validate(&self) -> Result<(), ValidationError> {
        validate_add_source(self.add_source, "add_source")?;
        if self.add_source == add_source::APP_OR_H5 && blank(self.wx_appid.as_deref()) {
            return Err(ValidationError::new(
                "wx_appid",
                ec::INVALID_PARAMETER,
                "wx_appid (the App's or H5 page's appid) is required when add_source is 2",
            ));
        }
        validate_required(&self.order_id, "order_id")?;
        validate_max_bytes(Some(&self.order_id), MAX_HELPER_ORDER_ID_BYTES, "order_id")?;
        match (&self.openid, self.add_source) {
            (None, add_source::MINI_PROGRAM) => validate_openid("", "openid")?,
            (openid, _) => validate_optional_openid(openid.as_deref(), "openid")?,
        }
        validate_required(&self.delivery_id, "delivery_id")?;
        validate_required(&self.biz_id, "biz_id")?;
        validate_max_bytes(
            self.custom_remark.as_deref(),
            MAX_CUSTOM_REMARK_BYTES,
            "custom_remark",
        )?;
        validate_waybill_contact(&self.sender, "sender")?;
        validate_waybill_contact(&self.receiver, "receiver")?;
        for (i, item) in self.cargo.detail_list.iter().flatten().enumerate() {
            validate_max_bytes(
                Some(&item.name),
                MAX_CARGO_NAME_BYTES,
                &format!("cargo.detail_list[{i}].name"),
            )?;
        }
        validate_insured(&self.insured, "insured")
    }
}

impl Validate for CancelWaybillOrderRequest {
    /// [`validate_required`] (`order_id`), [`validate_optional_openid`],
    /// [`validate_required`] (`delivery_id`, then `waybill_id`).
    fn validate(&self) -> Result<(), ValidationError> {
        validate_required(&self.order_id, "order_id")?;
        validate_optional_openid(self.openid.as_deref(), "openid")?;
        validate_required(&self.delivery_id, "delivery_id")?;
        validate_required(&self.waybill_id, "waybill_id")
    }
}

impl Validate for BatchGetWaybillOrderRequest {
    /// `order_list` has 1 to 100 entries, each with `order_id` and
    /// `delivery_id` (all 40097).
    fn validate(&self) -> Result<(), ValidationError> {
        let n = self.order_list.len();
        if n == 0 || n > MAX_BATCH_ORDERS {
            return Err(ValidationError::new(
                "order_list",
                ec::INVALID_PARAMETER,
                format!("order_list needs 1 to {MAX_BATCH_ORDERS} waybills, got {n}"),
            ));
        }
        for (i, key) in self.order_list.iter().enumerate() {
            validate_required(&key.order_id, &format!("order_list[{i}].order_id"))?;
            validate_required(&key.delivery_id, &format!("order_list[{i}].delivery_id"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
