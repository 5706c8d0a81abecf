//! Logistics: the logistics-query plugin (seeds 000 and 002,
//! `/cgi-bin/express/delivery/open_msg/*`, permission set 45; at most
//! 100 000 calls a day per appid and 100 per user) and the logistics helper
//! (物流助手 / 批量下单, `/cgi-bin/express/business/*`, permission set 45 or
//! 71). Request and response models, which are also the proxy's OpenAPI
//! schemas, and the rules as plain functions.
//!
//! The two are separate WeChat products: the plugin follows a waybill of
//! any courier registered with `trace_waybill` and is read by
//! `waybill_token`; the helper creates waybills itself (`order/add`) and
//! reads only those, by the merchant's `order_id`, `delivery_id` and
//! `waybill_id` (`path/get`, `order/get`, `order/batchget`). A waybill
//! traced with the plugin is unknown to the helper (WeChat staff: "查询组件
//! … 无法查到物流助手的…测试单,如果需要查询物流助手下单的物流订单轨迹,可以使用
//! 对应的查询接口 getPath", community doc 000480e9a6c4b0982a30dc6db61400).
//!
//! # Layout
//! - `trace_waybill`: [`TraceWaybillRequest`] (with [`GoodsInfo`],
//!   [`GoodsDetail`]) → [`TraceWaybillResponse`].
//! - `query_trace`: [`QueryTraceRequest`] → [`QueryTraceResponse`] (with
//!   [`WaybillInfo`], [`ShopInfo`], [`DeliveryInfo`]; status values in
//!   [`waybill_status`]).
//! - `update_waybill_goods`: [`UpdateWaybillGoodsRequest`] → `WechatAck`.
//! - `path/get`: [`GetPathRequest`] → [`GetPathResponse`] (with
//!   [`PathItem`]; node types in [`action_type`]).
//! - `order/get`: [`GetWaybillOrderRequest`] → [`GetWaybillOrderResponse`]
//!   (with [`WaybillDataItem`]).
//! - [`helper`]: the helper's waybill lifecycle: `order/add`,
//!   `order/cancel`, `order/batchget`, `account/getall`, `delivery/getall`.
//! - [`plugin`]: `/wxa/plugin` (applying for the logistics-query plugin).
//! - Rules: one `validate_*` function per group of rules, each naming the
//!   errcodes it returns; [`Validate`] runs them in the order below.
//!
//! Responses are lenient (`#[serde(default)]`, `#[oai(default)]`): a partial
//! answer from WeChat still parses. Optional request fields sent empty
//! (`"sender_phone": ""`) count as left out.
//!
//! # Rules, in the order they are checked
//! | request | field | rule | errcode |
//! |---|---|---|---|
//! | trace_waybill | `openid` | not blank, ≤ 128 bytes | 40003 |
//! | trace_waybill | `sender_phone` | when given, a phone number: digits, `+`, `-`, space, `*` (masking), at least one digit, ≤ 32 bytes | 40097 |
//! | trace_waybill | `receiver_phone` | not blank, a phone number as above | 40097 |
//! | trace_waybill | `waybill_id` | not blank | 40097 |
//! | trace_waybill, update_waybill_goods | `goods_info.detail_list` | at least one entry | 40097 |
//! | trace_waybill, update_waybill_goods | `goods_info.detail_list[i].goods_name` | not blank | 40097 |
//! | trace_waybill, update_waybill_goods | `goods_info.detail_list[i].goods_img_url` | a URL (`https://…`, `http://…`, `//…`) or host path (`www.qq.com/a.png`), ≤ 2048 bytes | 40097 |
//! | trace_waybill, update_waybill_goods | `goods_info.detail_list[i].goods_desc` | at most 40 characters | 40097 |
//! | trace_waybill | `order_detail_path` | at most 1024 bytes | 40097 |
//! | query_trace, update_waybill_goods | `waybill_token` | not blank | 9300507 |
//! | query_trace, update_waybill_goods, path/get, order/get | `openid` | when given, not blank, ≤ 128 bytes | 40003 |
//! | order/get | `order_id` | not blank | 40097 |
//! | path/get, order/get | `delivery_id` | not blank | 40097 |
//! | path/get | `waybill_id` | not blank | 40097 |
//!
//! `trace_waybill`'s `trans_id` is optional: the seeds mark it required, but
//! WeChat staff answered that it is not (orders paid with points have none;
//! community doc 000e2e2c284a089a965d8f2765bc00, 2022-01-17).
//! `path/get` needs no `order_id`: WeChat's current page lists only
//! `openid`, `delivery_id` and `waybill_id`
//! (developers.weixin.qq.com/miniprogram/dev/server/API/express/express-by-business/api_getpath);
//! seed 001 is older.
//!
//! `update_waybill_goods` checks `waybill_token`, `openid`, then
//! `goods_info`; `path/get` checks `openid`, `delivery_id`, then
//! `waybill_id`; `order/get` checks `order_id`, `openid`, then
//! `delivery_id`. Whether a token exists (9300507), was modified too often
//! (9300560), matches the openid (9300534), whether a waybill exists
//! (40199), and the quotas (9300513) only WeChat (or the simulator) knows.
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use crate::{Validate, ValidationError, errcode as ec, shipping::MAX_OPENID_BYTES};

/// Longest `goods_desc`, in characters (not bytes): "最多40汉字".
pub const MAX_GOODS_DESC_CHARS: usize = 40;
/// Longest phone number, in bytes.
pub const MAX_PHONE_BYTES: usize = 32;
/// Longest `goods_img_url`, in bytes. The seeds give no limit; this one keeps
/// absurd bodies from reaching WeChat.
pub const MAX_IMG_URL_BYTES: usize = 2048;
/// Longest `order_detail_path`, in bytes (as `set_msg_jump_path`'s path).
pub const MAX_ORDER_DETAIL_PATH_BYTES: usize = crate::shipping::MAX_JUMP_PATH_BYTES;

/// Values of [`WaybillInfo::status`] (seed 000, "Waybill Status").
pub mod waybill_status {
    /// 0: the waybill does not exist or has not been collected.
    pub const NOT_COLLECTED: i64 = 0;
    /// 1: collected.
    pub const COLLECTED: i64 = 1;
    /// 2: in transit.
    pub const IN_TRANSIT: i64 = 2;
    /// 3: out for delivery.
    pub const OUT_FOR_DELIVERY: i64 = 3;
    /// 4: signed for.
    pub const SIGNED: i64 = 4;
    /// 5: exception.
    pub const EXCEPTION: i64 = 5;
    /// 6: signed for on the recipient's behalf.
    pub const SIGNED_BY_PROXY: i64 = 6;
}

/// Values of [`PathItem::action_type`] (seed 001). The seed's example also
/// shows 300001, which its table does not list.
pub mod action_type {
    /// 100001: collection stage, collected.
    pub const COLLECTED: i64 = 100001;
    /// 100002: collection stage, collection failed.
    pub const COLLECTION_FAILED: i64 = 100002;
    /// 100003: collection stage, courier assigned.
    pub const COURIER_ASSIGNED: i64 = 100003;
    /// 200001: transport stage, track updated.
    pub const IN_TRANSIT: i64 = 200001;
    /// 300002: delivery stage, delivery started.
    pub const OUT_FOR_DELIVERY: i64 = 300002;
    /// 300003: delivery stage, signed for.
    pub const SIGNED: i64 = 300003;
    /// 300004: delivery stage, signing failed.
    pub const SIGNING_FAILED: i64 = 300004;
    /// 400001: exception stage, order cancelled.
    pub const ORDER_CANCELLED: i64 = 400001;
    /// 400002: exception stage, order held.
    pub const ORDER_HELD: i64 = 400002;
}

// === Models: logistics-query plugin ===

/// One item of the goods.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct GoodsDetail {
    /// Goods name.
    pub goods_name: String,
    /// Goods image URL, e.g. `https://www.qq.com/a.png` (the seed's example is the host path `www.qq.com`).
    pub goods_img_url: String,
    /// Goods description, at most 40 characters; WeChat shows the goods name when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_desc: Option<String>,
}

/// Goods information.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
pub struct GoodsInfo {
    /// The goods, at least one item.
    #[serde(default)]
    #[oai(default)]
    pub detail_list: Vec<GoodsDetail>,
}

/// Body of `POST /cgi-bin/express/delivery/open_msg/trace_waybill`: tells WeChat the waybill of a payment transaction, so that it follows the waybill's status and answers with the `waybill_token` the plugin shows it with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TraceWaybillRequest {
    /// The user's openid.
    pub openid: String,
    /// Sender's mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_phone: Option<String>,
    /// Recipient's mobile phone number; some couriers check the waybill against it.
    pub receiver_phone: String,
    /// Courier id (the company the waybill belongs to), from get_delivery_list. It makes recognising the waybill number more accurate; recommended for smaller couriers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// Waybill number.
    pub waybill_id: String,
    /// Goods information.
    pub goods_info: GoodsInfo,
    /// Transaction number generated by WeChat Pay, usually starting with 420. Optional (WeChat staff: not required, e.g. for orders paid with points), but recommended when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trans_id: Option<String>,
    /// Path the goods card of the landing page opens (the order details page is recommended); the Mini Program's home page when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_detail_path: Option<String>,
}

impl poem_openapi::types::Example for TraceWaybillRequest {
    /// The seed's example request (seed 002), plus a `trans_id` (a WeChat
    /// Pay transaction number, starting with 420), which WeChat recommends
    /// when there is one.
    fn example() -> Self {
        Self {
            openid: "ovtZW4yB7DIj3CxOb6ii-nk4HhFo".to_owned(),
            sender_phone: Some("12345678901".to_owned()),
            receiver_phone: "123456566".to_owned(),
            delivery_id: Some("KYSY".to_owned()),
            waybill_id: "WXTESTEXPRESS0000014".to_owned(),
            goods_info: GoodsInfo {
                detail_list: vec![
                    GoodsDetail {
                        goods_name: "测试名字".to_owned(),
                        goods_img_url: "www.qq.com".to_owned(),
                        goods_desc: None,
                    },
                    GoodsDetail {
                        goods_name: "测试名字2".to_owned(),
                        goods_img_url: "www.qq.com".to_owned(),
                        goods_desc: None,
                    },
                ],
            },
            trans_id: Some("4200001234202212141904270001".to_owned()),
            order_detail_path: None,
        }
    }
}

/// Answer of `trace_waybill`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct TraceWaybillResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Query id: store it, then query the waybill with it (query_trace, the plugin's openWaybillTracking).
    pub waybill_token: String,
}

/// Body of `POST /cgi-bin/express/delivery/open_msg/query_trace`: the waybill `trace_waybill` registered.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct QueryTraceRequest {
    /// Query id returned by trace_waybill.
    pub waybill_token: String,
    /// The user's openid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

impl poem_openapi::types::Example for QueryTraceRequest {
    /// The seed's example request (seed 000).
    fn example() -> Self {
        Self {
            waybill_token: "o_ARWHaxIxzWHmdui-AIw8SuE1QtaUZK8aUnZguAn1nsZ72ZjWlq8btV8j-wAc94"
                .to_owned(),
            openid: Some("ovtZW4yB7DIj3CxOb6ii-nk4HhFo".to_owned()),
        }
    }
}

/// Answer of `query_trace`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct QueryTraceResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Waybill information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waybill_info: Option<WaybillInfo>,
    /// Goods information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop_info: Option<ShopInfo>,
    /// Courier information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_info: Option<DeliveryInfo>,
}

/// A waybill and its status.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct WaybillInfo {
    /// Waybill status: 0 does not exist or not collected; 1 collected; 2 in transit; 3 out for delivery; 4 signed for; 5 exception; 6 signed for on the recipient's behalf (see [`waybill_status`]).
    pub status: i64,
    /// Waybill number.
    pub waybill_id: String,
}

/// The goods of a traced waybill.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct ShopInfo {
    /// Goods information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_info: Option<GoodsInfo>,
}

/// The courier of a traced waybill.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct DeliveryInfo {
    /// Courier id.
    pub delivery_id: String,
    /// Courier name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_name: Option<String>,
}

/// Body of `POST /cgi-bin/express/delivery/open_msg/update_waybill_goods`: replaces the goods information of a traced waybill (a limited number of times).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct UpdateWaybillGoodsRequest {
    /// Query id returned by trace_waybill.
    pub waybill_token: String,
    /// The user's openid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Goods information.
    pub goods_info: GoodsInfo,
}

impl poem_openapi::types::Example for UpdateWaybillGoodsRequest {
    /// The seed's example request (seed 000, whose text is a machine
    /// translation).
    fn example() -> Self {
        Self {
            waybill_token: "o_ARWHaxIxzWHmdui-AIw8SuE1QtaUZK8aUnZguAn1nsZ72ZjWlq8btV8j-wAc94"
                .to_owned(),
            openid: Some("ovtZW4yB7DIj3CxOb6ii-nk4HhFo".to_owned()),
            goods_info: GoodsInfo {
                detail_list: vec![GoodsDetail {
                    goods_name: "test update product".to_owned(),
                    goods_img_url: "www.qq.com".to_owned(),
                    goods_desc: None,
                }],
            },
        }
    }
}

// === Models: logistics helper ===

/// Body of `POST /cgi-bin/express/business/path/get`: the track nodes of a waybill the logistics helper's `order/add` created.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct GetPathRequest {
    /// Order id given to order/add. Not needed: WeChat's current documentation lists only openid, delivery_id and waybill_id (the seed's older page still shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The user's openid; not needed when add_source is 2 (no logistics service notifications are sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Courier id, from getAllDelivery.
    pub delivery_id: String,
    /// Waybill id.
    pub waybill_id: String,
}

impl poem_openapi::types::Example for GetPathRequest {
    /// The seed's example request (seed 001).
    fn example() -> Self {
        Self {
            order_id: Some("01234567890123456789".to_owned()),
            openid: Some("oABC123456".to_owned()),
            delivery_id: "SF".to_owned(),
            waybill_id: "123456789".to_owned(),
        }
    }
}

/// Answer of `path/get`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetPathResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The user's openid.
    pub openid: String,
    /// Courier id.
    pub delivery_id: String,
    /// Waybill id.
    pub waybill_id: String,
    /// Number of track nodes.
    pub path_item_num: i64,
    /// The track nodes.
    pub path_item_list: Vec<PathItem>,
}

/// One track node of a waybill.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct PathItem {
    /// When the node happened, Unix timestamp in seconds.
    pub action_time: i64,
    /// Node type: 100001 collected; 100002 collection failed; 100003 courier assigned; 200001 in transit; 300002 out for delivery; 300003 signed for; 300004 signing failed; 400001 order cancelled; 400002 order held (see [`action_type`]).
    pub action_type: i64,
    /// Node details, e.g. `快递员已成功取件`.
    pub action_msg: String,
}

/// Body of `POST /cgi-bin/express/business/order/get`: the print data of a waybill the logistics helper's `order/add` created.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct GetWaybillOrderRequest {
    /// Order id given to order/add.
    pub order_id: String,
    /// The user's openid; not needed when add_source is 2 (no logistics service notifications are sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Print type of the label: 1 single-part, 0 two-part (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_type: Option<i64>,
    /// Courier id, from getAllDelivery; must match waybill_id.
    pub delivery_id: String,
    /// Waybill id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waybill_id: Option<String>,
}

impl poem_openapi::types::Example for GetWaybillOrderRequest {
    /// The seed's example request (seed 003).
    fn example() -> Self {
        Self {
            order_id: "01234567890123456789".to_owned(),
            openid: Some("oABC123456".to_owned()),
            print_type: None,
            delivery_id: "SF".to_owned(),
            waybill_id: Some("123456789".to_owned()),
        }
    }
}

/// Answer of `order/get`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetWaybillOrderResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The waybill's HTML, Base64-encoded.
    pub print_html: String,
    /// Waybill information, as key/value pairs.
    pub waybill_data: Vec<WaybillDataItem>,
    /// Courier id.
    pub delivery_id: String,
    /// Order id.
    pub order_id: String,
    /// Waybill number.
    pub waybill_id: String,
    /// Waybill status: 0 normal; 1 cancelled.
    pub order_status: i64,
}

/// One piece of waybill information.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct WaybillDataItem {
    /// Waybill information key, e.g. `SF_bagAddr`.
    pub key: String,
    /// Waybill information value, e.g. `广州`.
    pub value: String,
}

// === Rules ===

/// `None`, empty, or only whitespace.
fn blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

/// `openid` (at `field`) is not blank and at most 128 bytes, else 40003.
pub fn validate_openid(openid: &str, field: &str) -> Result<(), ValidationError> {
    let len = openid.len();
    if blank(Some(openid)) || len > MAX_OPENID_BYTES {
        return Err(ValidationError::new(
            field,
            ec::INVALID_OPENID,
            format!(
                "openid must be the user's openid under this Mini Program, 1 to {MAX_OPENID_BYTES} bytes; got {len} bytes"
            ),
        ));
    }
    Ok(())
}

/// An optional `openid` (at `field`): when present, as [`validate_openid`]
/// (40003). Present but empty is an error too: the per-user quota is counted
/// by this openid.
pub fn validate_optional_openid(openid: Option<&str>, field: &str) -> Result<(), ValidationError> {
    match openid {
        Some(openid) => validate_openid(openid, field),
        None => Ok(()),
    }
}

/// A required string (at `field`) is not blank, else 40097.
pub fn validate_required(value: &str, field: &str) -> Result<(), ValidationError> {
    if !blank(Some(value)) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_PARAMETER,
        format!("{field} is required and cannot be blank"),
    ))
}

/// `waybill_token` (at `field`) is not blank, else 9300507.
pub fn validate_waybill_token(token: &str, field: &str) -> Result<(), ValidationError> {
    if !blank(Some(token)) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::WAYBILL_TOKEN_INVALID,
        "waybill_token is required: the waybill_token trace_waybill returned",
    ))
}

/// A phone number (at `field`), all 40097: required ones are not blank;
/// optional ones sent blank count as left out; a number is at most 32 bytes
/// of digits, `+`, `-`, spaces and `*` (masking), with at least one digit.
pub fn validate_phone(
    phone: Option<&str>,
    required: bool,
    field: &str,
) -> Result<(), ValidationError> {
    let Some(phone) = phone.filter(|p| !p.trim().is_empty()) else {
        if required {
            return Err(ValidationError::new(
                field,
                ec::INVALID_PARAMETER,
                format!("{field} is required: the mobile phone number, e.g. \"13800138000\""),
            ));
        }
        return Ok(());
    };
    let plausible = phone.len() <= MAX_PHONE_BYTES
        && phone.chars().any(|c| c.is_ascii_digit())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '*'));
    if plausible {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_PARAMETER,
        format!(
            "{field} is not a phone number: use digits, '+', '-', spaces and '*', at most {MAX_PHONE_BYTES} bytes (e.g. \"+86 138****8000\")"
        ),
    ))
}

/// Whether `url` is an http(s) URL, a protocol-relative `//host/...`, or a
/// host path like the seed's `www.qq.com/a.png`: no whitespace, and a host of
/// letters, digits, `-` and `.` containing a dot (or `localhost`), with an
/// optional numeric port.
fn looks_like_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "http://", "//"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .unwrap_or(&lower);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let well_formed = !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && !host.contains("..")
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.'));
    well_formed && (host.contains('.') || host == "localhost")
}

/// One goods item at `path`, all 40097: `goods_name` not blank;
/// `goods_img_url` not blank, a URL or host path, at most 2048 bytes;
/// `goods_desc`, when given, at most 40 characters (counting characters,
/// not bytes).
pub fn validate_goods_detail(detail: &GoodsDetail, path: &str) -> Result<(), ValidationError> {
    validate_required(&detail.goods_name, &format!("{path}.goods_name"))?;
    let url_field = format!("{path}.goods_img_url");
    validate_required(&detail.goods_img_url, &url_field)?;
    let url = detail.goods_img_url.trim();
    if url.len() > MAX_IMG_URL_BYTES || !looks_like_url(url) {
        return Err(ValidationError::new(
            url_field,
            ec::INVALID_PARAMETER,
            format!(
                "goods_img_url must be an image URL such as \"https://www.qq.com/a.png\" (or a host path such as \"www.qq.com/a.png\"), at most {MAX_IMG_URL_BYTES} bytes"
            ),
        ));
    }
    if let Some(desc) = &detail.goods_desc {
        let chars = desc.chars().count();
        if chars > MAX_GOODS_DESC_CHARS {
            return Err(ValidationError::new(
                format!("{path}.goods_desc"),
                ec::INVALID_PARAMETER,
                format!(
                    "goods_desc has {chars} characters; at most {MAX_GOODS_DESC_CHARS} are allowed"
                ),
            ));
        }
    }
    Ok(())
}

/// `goods_info` at `path`, all 40097: `detail_list` has at least one entry,
/// and each passes [`validate_goods_detail`].
pub fn validate_goods_info(info: &GoodsInfo, path: &str) -> Result<(), ValidationError> {
    let list = format!("{path}.detail_list");
    if info.detail_list.is_empty() {
        return Err(ValidationError::new(
            list,
            ec::INVALID_PARAMETER,
            "goods_info.detail_list needs at least one item with goods_name and goods_img_url",
        ));
    }
    for (i, detail) in info.detail_list.iter().enumerate() {
        validate_goods_detail(detail, &format!("{list}[{i}]"))?;
    }
    Ok(())
}

/// `order_detail_path` (at `field`), when given, is at most 1024 bytes, else
/// 40097.
pub fn validate_order_detail_path(path: Option<&str>, field: &str) -> Result<(), ValidationError> {
    match path {
        Some(p) if p.len() > MAX_ORDER_DETAIL_PATH_BYTES => Err(ValidationError::new(
            field,
            ec::INVALID_PARAMETER,
            format!(
                "order_detail_path is {} bytes long; at most {MAX_ORDER_DETAIL_PATH_BYTES} bytes are allowed",
                p.len()
            ),
        )),
        _ => Ok(()),
    }
}

impl Validate for TraceWaybillRequest {
    /// [`validate_openid`], [`validate_phone`] (sender, then receiver),
    /// [`validate_required`] (`waybill_id`), [`validate_goods_info`],
    /// [`validate_order_detail_path`]. `trans_id` is optional (module docs).
    fn validate(&self) -> Result<(), ValidationError> {
        validate_openid(&self.openid, "openid")?;
        validate_phone(self.sender_phone.as_deref(), false, "sender_phone")?;
        validate_phone(Some(&self.receiver_phone), true, "receiver_phone")?;
        validate_required(&self.waybill_id, "waybill_id")?;
        validate_goods_info(&self.goods_info, "goods_info")?;
        validate_order_detail_path(self.order_detail_path.as_deref(), "order_detail_path")
    }
}

impl Validate for QueryTraceRequest {
    /// [`validate_waybill_token`], [`validate_optional_openid`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_waybill_token(&self.waybill_token, "waybill_token")?;
        validate_optional_openid(self.openid.as_deref(), "openid")
    }
}

impl Validate for UpdateWaybillGoodsRequest {
    /// [`validate_waybill_token`], [`validate_optional_openid`],
    /// [`validate_goods_info`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_waybill_token(&self.waybill_token, "waybill_token")?;
        validate_optional_openid(self.openid.as_deref(), "openid")?;
        validate_goods_info(&self.goods_info, "goods_info")
    }
}

impl Validate for GetPathRequest {
    /// [`validate_optional_openid`], [`validate_required`] (`delivery_id`,
    /// then `waybill_id`). `order_id` is optional (module docs).
    fn validate(&self) -> Result<(), ValidationError> {
        validate_optional_openid(self.openid.as_deref(), "openid")?;
        validate_required(&self.delivery_id, "delivery_id")?;
        validate_required(&self.waybill_id, "waybill_id")
    }
}

impl Validate for GetWaybillOrderRequest {
    /// [`validate_required`] (`order_id`), [`validate_optional_openid`],
    /// [`validate_required`] (`delivery_id`).
    fn validate(&self) -> Result<(), ValidationError> {
        validate_required(&self.order_id, "order_id")?;
        validate_optional_openid(self.openid.as_deref(), "openid")?;
        validate_required(&self.delivery_id, "delivery_id")
    }
}

pub mod helper;
pub mod plugin;

pub use helper::*;
pub use plugin::*;

#[cfg(test)]
mod tests;
