//! Shipping-information management (`/wxa/sec/order/*`, seed 004): payment
//! orders and their state across calls, and each Mini Program's settings.
//!
//! Every API first applies the seed rules through `wechat-api`'s `Validate`
//! (the same code the proxy runs), then what only WeChat knows: whether the
//! order exists for the calling appid, who paid it, and where it stands.
//!
//! # The order state machine
//! - Pending (1) → shipped (2) on the first complete upload (unified, or
//!   split with `is_all_delivered`); a split upload not yet complete keeps
//!   it pending and may be repeated.
//! - While shipped, one re-shipment replaces the shipping information; the
//!   next upload gets 10060003. Any other state (3–6, set by tests with
//!   [`State::set_order_state`]) gets 10060004.
//! - Every upload after the first (an update, a re-shipment, the next part
//!   of a split shipment) must carry an `upload_time` later than the
//!   previous upload's (seed 004 note 4), else 268485216, the errcode WeChat
//!   answers (staff answer in community doc 00000c8377c460473f12270a966400:
//!   "之前发过一次货,新的发货时间晚于旧的时间点").
//! - `upload_combined_shipping_info` runs the same machine on each sub-order,
//!   all or nothing: every sub-order is checked before any is changed.
//! - The APIs except `is_trade_managed` and
//!   `is_trade_management_confirmation_completed` need the Mini Program to
//!   have opened the service (`is_trade_managed`, [`State::set_trade_management`]),
//!   else 48001: the capability is missing (a permission set not granted is
//!   61007, see [`State::authorizer_caller`]).
//! - `notify_confirm_receive` works once (10060030), only on a shipped order
//!   (10060028) shipped by express (10060032), with a `received_time` after
//!   the shipping upload time (10060029). It records the reminder; the order
//!   stays shipped (only the user's confirmation would move it on).
//! - `opspecialorder` reports a pending order (shipped 10060002, other
//!   states 10060004) as pre-sale (with `delay_to` 15–330 days after payment,
//!   268546001) or test order; an unknown order is 268546002.
//!
//! # Order timers and pushes
//! WeChat pushes `trade_manage_*` events about orders on its own (seed 004
//! IX); the simulator queues them ([`State::take_app_events`]) and
//! [`crate::Simulator`] sends them to the gateway, each at most once per
//! order ([`OrderPushes`]):
//! - on an order's first complete shipment, `trade_manage_order_settlement`
//!   with `estimated_settlement_time` (seed 004: "when the order is
//!   completed and shipped"; `SimConfig::settlement_push_on_shipping`);
//! - when the sim clock is advanced: `trade_manage_remind_shipping` for each
//!   order still pending shipment `SimConfig::remind_shipping_after` (48 h)
//!   after payment, and automatic receipt for each order still shipped
//!   `SimConfig::auto_confirm_after` (10 days) after shipping: state 3 and
//!   `trade_manage_order_settlement` with `confirm_receive_method` 2;
//! - when the buyer confirms receipt ([`State::confirm_receipt`]): state 3
//!   and `trade_manage_order_settlement` with `confirm_receive_method` 1.
//!
//! Times run on the sim clock from when the simulator *recorded* the
//! shipment, which is also the pushes' `shipped_time`: a request's
//! `upload_time` is the merchant's claim, used to order uploads (note 4),
//! and tests routinely send old ones. Settlement is at the confirmation
//! (the relayed rule settles "after" it, no delay given; WeChat's community
//! says "若用户主动确认收货,立即进行结算", an AI-marked answer in
//! developers.weixin.qq.com/community/develop/doc/000688fc08c0380dcae3bb84562000);
//! the estimate on shipping is when automatic receipt would come (the same
//! answer: "结算时间为T+10(T为发货时间)" for express shipments). Which
//! fields each push carries: seed 004 IX (`estimated_settlement_time` "only
//! … when you push it when you ship"; `confirm_receive_method`,
//! `confirm_receive_time`, `settlement_time` "Only … pushed when settlement
//! occurs").
use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
};

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wechat_api::{
    Validate, errcode as ec,
    shipping::{
        GetOrderListRequest, GetOrderListResponse, GetOrderRequest, NotifyConfirmReceiveRequest,
        OpSpecialOrderRequest, OrderKey, OrderShipping, OrderShippingItem, SetMsgJumpPathRequest,
        ShippingItem, ShippingOrder, TradeManagedRequest, UploadCombinedShippingInfoRequest,
        UploadShippingInfoRequest, validate_delay_after_payment,
    },
};

use super::{State, WxError, WxResult, random_hex};
use crate::{
    AppEvent, CONFIRM_RECEIVE_AUTO, CONFIRM_RECEIVE_MANUAL, ESTIMATED_SETTLEMENT_DELAY_SECS,
};

/// `order_state` of a paid order waiting for shipment.
pub const ORDER_PENDING_SHIPMENT: i32 = 1;
/// `order_state` once every parcel has shipped.
pub const ORDER_SHIPPED: i32 = 2;
/// `order_state` once receipt is confirmed (seed 004 §III: "(3) confirm
/// receipt of the goods"). No source says which state follows settlement
/// ("(4) The transaction is completed", "(6) The funds are pending
/// settlement"); the simulator stays at 3.
pub const ORDER_RECEIVED: i32 = 3;

/// Permission sets that allow the `/wxa/sec/order/*` APIs (either one).
pub const SHIPPING_FUNC_IDS: [i64; 2] = [142, 18];

/// `get_order_list` page size when the request gives none (the seed's
/// default). WeChat documents no maximum, so a larger `page_size` is served
/// as asked.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Prefix of the decoded `last_index`, so a forged or mangled one is told
/// apart from a real one (10060011).
const LAST_INDEX_PREFIX: &str = "sim-order:";

/// A paid order to create. Every field is optional and defaulted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    /// The Mini Program the order was paid in (default: the config's
    /// `default_authorizer_appid`). Orders of another appid are invisible to
    /// that appid's tokens (10060001), like on WeChat.
    pub appid: Option<String>,
    pub openid: Option<String>,
    pub mchid: Option<String>,
    pub out_trade_no: Option<String>,
    /// In fen.
    pub paid_amount: Option<i64>,
    pub description: Option<String>,
}

/// The identifiers of a created order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOrder {
    pub appid: String,
    /// 28 digits, like WeChat Pay's.
    pub transaction_id: String,
    pub mchid: String,
    pub out_trade_no: String,
    /// The payer; `upload_shipping_info` must name it (else 10060031).
    pub openid: String,
    pub paid_amount: i64,
}

/// A combined payment (合单支付) to create: one payment by one payer over
/// several sub-orders, shipped with `upload_combined_shipping_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewCombinedOrder {
    /// Default: the config's `default_authorizer_appid`; the sub-orders get it too.
    pub appid: Option<String>,
    /// The payer, of the combined order and every sub-order.
    pub openid: Option<String>,
    /// The combined order's merchant number (default `1900000109`).
    pub mchid: Option<String>,
    /// The combined order's merchant order number (`combine_out_trade_no`).
    pub out_trade_no: Option<String>,
    /// The sub-orders (their `appid` and `openid` are ignored); empty means two
    /// defaulted ones.
    pub sub_orders: Vec<NewOrder>,
}

/// The identifiers of a created combined payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCombinedOrder {
    pub appid: String,
    /// The combined payment's WeChat Pay number (28 digits).
    pub transaction_id: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub openid: String,
    pub sub_orders: Vec<SimOrder>,
}

/// A special shipment report (`opspecialorder`) as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialOrder {
    /// 1 pre-sale, 2 test order.
    #[serde(rename = "type")]
    pub r#type: i64,
    /// Expected shipping time of a pre-sale order (unix seconds).
    pub delay_to: Option<i64>,
}

/// What an order carries besides what `get_order` shows: for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderExtras {
    /// The `received_time` of the (single) `notify_confirm_receive`.
    pub receipt_reminder: Option<i64>,
    /// The last `opspecialorder` report.
    pub special_order: Option<SpecialOrder>,
    /// The combined payment this order is a sub-order of.
    pub combined_transaction_id: Option<String>,
    /// Whether the single re-shipment has been used.
    pub reshipped: bool,
    /// The automatic pushes queued so far.
    #[serde(default)]
    pub pushes: OrderPushes,
    /// How and when receipt was confirmed (the order is then in state 3).
    #[serde(default)]
    pub receipt: Option<ReceiptConfirmation>,
}

/// When the simulator queued each of an order's automatic pushes (sim
/// clock, unix seconds): each goes out at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPushes {
    /// `trade_manage_remind_shipping`.
    pub remind_shipping: Option<i64>,
    /// `trade_manage_order_settlement` on shipping (the estimate).
    pub settlement_on_shipping: Option<i64>,
    /// `trade_manage_order_settlement` on settlement (receipt confirmed).
    pub settlement: Option<i64>,
}

/// A confirmed receipt, as the settlement push reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptConfirmation {
    /// 1 by the buyer ([`CONFIRM_RECEIVE_MANUAL`]), 2 automatically
    /// ([`CONFIRM_RECEIVE_AUTO`]): seed 004 IX ("1. Manually confirm
    /// receipt; 2. Automatically confirm the receipt"). WeChat's page once
    /// had them the other way round; developers report the pushes follow
    /// this numbering ("实际收到的推送 手动确认收货返回的是 1; 自动确认收货返回的是2",
    /// developers.weixin.qq.com/community/develop/doc/00082c49688a8053f18fb31c45b800).
    pub confirm_receive_method: i64,
    /// Sim clock, unix seconds.
    pub confirm_receive_time: i64,
}

/// Why the buyer cannot confirm receipt ([`State::confirm_receipt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmReceiptError {
    #[error("no such order")]
    NoSuchOrder,
    #[error("the order is in state {0}: only a shipped order (2) can have its receipt confirmed")]
    NotShipped(i32),
}

/// One Mini Program's shipping-management settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettings {
    /// Set by `set_msg_jump_path` (`None` until then: WeChat's default page).
    pub msg_jump_path: Option<String>,
    /// What `is_trade_managed` answers (default `true`).
    pub is_trade_managed: bool,
    /// What `is_trade_management_confirmation_completed` answers (default `true`).
    pub completed: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            msg_jump_path: None,
            is_trade_managed: true,
            completed: true,
        }
    }
}

#[derive(Debug, Clone)]
struct Order {
    ids: SimOrder,
    description: String,
    paid_at: i64,
    order_state: i32,
    shipping: Option<OrderShipping>,
    extras: OrderExtras,
    /// `upload_time` of the last accepted upload, in Unix milliseconds: the
    /// next must be later (268485216).
    last_upload_ms: Option<i64>,
    /// When the simulator recorded the first complete shipment (sim clock):
    /// what the order timers and the pushes' `shipped_time` go by.
    shipped_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct CombinedOrder {
    ids: SimOrder,
    /// transaction_ids of the sub-orders.
    sub_orders: Vec<String>,
}

/// The shipping part of [`State`].
#[derive(Debug, Default)]
pub(super) struct Shipping {
    /// transaction_id → order. Ordered, and transaction_ids grow with
    /// creation, so listings and `last_index` paging are stable.
    orders: BTreeMap<String, Order>,
    /// Combined payments by their transaction_id. Their sub-orders are in
    /// `orders`.
    combined: BTreeMap<String, CombinedOrder>,
    /// Orders and combined orders created so far; numbers default fields.
    order_seq: u64,
    /// Per Mini Program (appid) settings; absent means the defaults.
    apps: HashMap<String, AppSettings>,
}

/// One shipment of one order, from `upload_shipping_info` or a sub-order.
struct Shipment<'a> {
    logistics_type: i64,
    delivery_mode: i64,
    is_all_delivered: Option<bool>,
    shipping_list: &'a [ShippingItem],
    /// Unix seconds of the request's `upload_time`.
    upload_time: i64,
    /// The same in milliseconds, for the ordering rule.
    upload_ms: i64,
}

impl Shipment<'_> {
    fn complete(&self) -> bool {
        self.delivery_mode == 1 || self.is_all_delivered == Some(true)
    }

    fn record(&self, finish_shipping_count: i32) -> OrderShipping {
        OrderShipping {
            delivery_mode: self.delivery_mode,
            logistics_type: self.logistics_type,
            finish_shipping: self.complete(),
            goods_desc: self
                .shipping_list
                .iter()
                .filter_map(|i| i.item_desc.as_deref())
                .collect::<Vec<_>>()
                .join(";"),
            finish_shipping_count,
            shipping_list: self
                .shipping_list
                .iter()
                .map(|i| OrderShippingItem {
                    tracking_no: i.tracking_no.clone().unwrap_or_default(),
                    express_company: i.express_company.clone().unwrap_or_default(),
                    goods_desc: i.item_desc.clone(),
                    upload_time: self.upload_time,
                    contact: i.contact.clone(),
                })
                .collect(),
        }
    }
}

/// Whether `order` can take another shipment: pending, or shipped with the
/// re-shipment unused (else 10060003); any other state 10060004.
fn check_shippable(order: &Order) -> WxResult<()> {
    match order.order_state {
        ORDER_PENDING_SHIPMENT => Ok(()),
        ORDER_SHIPPED if !order.extras.reshipped => Ok(()),
        ORDER_SHIPPED => Err(WxError::new(
            ec::RESHIPMENT_USED,
            "the payment order has used its re-shipment opportunity",
        )),
        _ => Err(WxError::new(
            ec::NOT_SHIPPABLE,
            "the payment order is not in a shippable state",
        )),
    }
}

/// Whether `shipment` comes after the order's previous upload: its
/// `upload_time` must be later, else 268485216 (module docs).
fn check_upload_order(order: &Order, shipment: &Shipment<'_>) -> WxResult<()> {
    match order.last_upload_ms {
        Some(previous) if shipment.upload_ms <= previous => Err(WxError::new(
            ec::UPLOAD_TIME_INVALID,
            "上传时间非法,请按照 RFC 3339 格式填写: upload_time must be later than the previous upload's",
        )),
        _ => Ok(()),
    }
}

/// Applies a shipment [`check_shippable`] allowed: a pending order ships
/// when the shipment is complete (count 1); a shipped one uses its
/// re-shipment (count 2 when complete), replacing the shipping. True when
/// the order has just shipped (pending → shipped) at `now`.
fn ship(order: &mut Order, shipment: &Shipment<'_>, now: i64) -> bool {
    order.last_upload_ms = Some(shipment.upload_ms);
    let complete = i32::from(shipment.complete());
    if order.order_state == ORDER_SHIPPED {
        order.extras.reshipped = true;
        order.shipping = Some(shipment.record(1 + complete));
        false
    } else {
        order.shipping = Some(shipment.record(complete));
        if complete == 1 {
            order.order_state = ORDER_SHIPPED;
            order.shipped_at.get_or_insert(now);
        }
        complete == 1
    }
}

/// Whole seconds of a configured duration, for the sim clock.
fn clock_secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// When `order` shipped by the sim clock; the payment time for an order
/// put in state 2 without a shipment it could record.
fn shipped_at(order: &Order) -> i64 {
    order.shipped_at.unwrap_or(order.paid_at)
}

/// Confirms receipt of a shipped `order` (`method` at `at`), recording the
/// settlement push queued at `now`: the event to push.
fn confirm(order: &mut Order, method: i64, at: i64, now: i64) -> AppEvent {
    order.order_state = ORDER_RECEIVED;
    order.extras.receipt = Some(ReceiptConfirmation {
        confirm_receive_method: method,
        confirm_receive_time: at,
    });
    order.extras.pushes.settlement = Some(now);
    AppEvent::order_settled(&order_view(order), shipped_at(order), method, at)
}

/// Unix seconds of an RFC 3339 time the rules already accepted (`now` if not).
fn unix_time(rfc3339: &str, now: i64) -> i64 {
    unix_millis(rfc3339, now * 1000).div_euclid(1000)
}

/// Unix milliseconds of an RFC 3339 time the rules already accepted
/// (`now_ms` if not).
fn unix_millis(rfc3339: &str, now_ms: i64) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.trim())
        .map(|t| t.timestamp_millis())
        .unwrap_or(now_ms)
}

/// Whether `key` (already validated) names the order `ids`.
fn key_matches(key: &OrderKey, ids: &SimOrder) -> bool {
    let value = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if key.order_number_type == 2 {
        value(&key.transaction_id) == ids.transaction_id
    } else {
        value(&key.mchid) == ids.mchid && value(&key.out_trade_no) == ids.out_trade_no
    }
}

/// Whether an order lookup (`transaction_id`, else `merchant_id` +
/// `merchant_trade_no`) names `ids`.
fn lookup_matches(
    transaction_id: Option<&str>,
    merchant_id: Option<&str>,
    merchant_trade_no: Option<&str>,
    ids: &SimOrder,
) -> bool {
    match transaction_id.map(str::trim).filter(|t| !t.is_empty()) {
        Some(id) => ids.transaction_id == id,
        None => {
            merchant_id.map(str::trim) == Some(ids.mchid.as_str())
                && merchant_trade_no.map(str::trim) == Some(ids.out_trade_no.as_str())
        }
    }
}

fn order_not_found() -> WxError {
    WxError::new(ec::PAYMENT_ORDER_NOT_FOUND, "payment order does not exist")
}

fn encode_last_index(transaction_id: &str) -> String {
    hex::encode(format!("{LAST_INDEX_PREFIX}{transaction_id}"))
}

/// The transaction_id a `last_index` this simulator issued stands for; any
/// other string is 10060011.
fn decode_last_index(last_index: &str) -> WxResult<String> {
    hex::decode(last_index.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix(LAST_INDEX_PREFIX).map(str::to_owned))
        .ok_or_else(|| {
            WxError::new(
                ec::LAST_INDEX_INVALID,
                "last_index is invalid: pass the last_index of the previous page unchanged",
            )
        })
}

fn order_view(o: &Order) -> ShippingOrder {
    ShippingOrder {
        transaction_id: o.ids.transaction_id.clone(),
        merchant_id: o.ids.mchid.clone(),
        sub_merchant_id: String::new(),
        merchant_trade_no: o.ids.out_trade_no.clone(),
        description: o.description.clone(),
        paid_amount: o.ids.paid_amount,
        openid: o.ids.openid.clone(),
        trade_create_time: o.paid_at,
        pay_time: o.paid_at,
        order_state: o.order_state,
        in_complaint: false,
        shipping: o.shipping.clone(),
    }
}

/// An order as WeChat's JSON shows it: `"shipping": {}` before the first
/// shipment (the typed model omits an absent `shipping`).
pub fn order_json(order: &ShippingOrder) -> Value {
    let mut value = serde_json::to_value(order).unwrap_or_else(|_| json!({}));
    if order.shipping.is_none() {
        value["shipping"] = json!({});
    }
    value
}

impl State {
    /// The appid behind an authorizer token (41001/40001/42001), which must
    /// have granted permission set 142 or 18 (61007).
    pub fn shipping_caller(&self, token: Option<&str>) -> WxResult<String> {
        self.authorizer_caller(token, &SHIPPING_FUNC_IDS)
    }

    /// [`State::shipping_caller`] for the APIs that need the Mini Program to
    /// have opened the shipping-information service: else 48001.
    pub fn shipping_service_caller(&self, token: Option<&str>) -> WxResult<String> {
        let appid = self.shipping_caller(token)?;
        if !self.app_settings(&appid).is_trade_managed {
            return Err(WxError::new(
                ec::API_UNAUTHORIZED,
                "api unauthorized: the Mini Program has not opened the shipping-information management service",
            ));
        }
        Ok(appid)
    }

    /// Identifiers for a new order: `new`'s, else defaults numbered by
    /// `order_seq`.
    fn new_order_ids(&mut self, new: NewOrder) -> SimOrder {
        self.shipping.order_seq += 1;
        let n = self.shipping.order_seq;
        let mut rng = rand::rng();
        SimOrder {
            appid: new
                .appid
                .unwrap_or_else(|| self.config.default_authorizer_appid.clone()),
            transaction_id: format!("4200{n:06}{:018}", rng.random_range(0..10u64.pow(18))),
            mchid: new.mchid.unwrap_or_else(|| "1900000109".into()),
            out_trade_no: new
                .out_trade_no
                .unwrap_or_else(|| format!("sim-{n:06}-{}", random_hex(4))),
            openid: new
                .openid
                .unwrap_or_else(|| format!("oSim{}", random_hex(12))),
            paid_amount: new.paid_amount.unwrap_or(100 * n as i64),
        }
    }

    /// A paid order, pending shipment, in `new.appid` (default: the default
    /// authorizer).
    pub fn create_order(&mut self, new: NewOrder) -> SimOrder {
        let description = new.description.clone();
        let ids = self.new_order_ids(new);
        self.insert_order(ids.clone(), description, None);
        ids
    }

    fn insert_order(&mut self, ids: SimOrder, description: Option<String>, combined: Option<&str>) {
        let n = self.shipping.order_seq;
        let order = Order {
            description: description.unwrap_or_else(|| format!("Demo goods #{n}*1")),
            paid_at: self.now(),
            order_state: ORDER_PENDING_SHIPMENT,
            shipping: None,
            extras: OrderExtras {
                combined_transaction_id: combined.map(str::to_owned),
                ..OrderExtras::default()
            },
            last_upload_ms: None,
            shipped_at: None,
            ids,
        };
        self.shipping
            .orders
            .insert(order.ids.transaction_id.clone(), order);
    }

    /// A paid combined payment with its sub-orders, all pending shipment and
    /// paid by the same user in the same appid.
    pub fn create_combined_order(&mut self, new: NewCombinedOrder) -> SimCombinedOrder {
        let appid = new
            .appid
            .clone()
            .unwrap_or_else(|| self.config.default_authorizer_appid.clone());
        let ids = self.new_order_ids(NewOrder {
            appid: Some(appid.clone()),
            openid: new.openid,
            mchid: new.mchid,
            out_trade_no: new.out_trade_no,
            paid_amount: Some(0),
            description: None,
        });
        let subs = if new.sub_orders.is_empty() {
            vec![NewOrder::default(), NewOrder::default()]
        } else {
            new.sub_orders
        };
        let mut sub_orders = Vec::with_capacity(subs.len());
        for sub in subs {
            let description = sub.description.clone();
            let sub_ids = self.new_order_ids(NewOrder {
                appid: Some(appid.clone()),
                openid: Some(ids.openid.clone()),
                ..sub
            });
            self.insert_order(sub_ids.clone(), description, Some(&ids.transaction_id));
            sub_orders.push(sub_ids);
        }
        let paid_amount = sub_orders.iter().map(|s| s.paid_amount).sum();
        let ids = SimOrder { paid_amount, ..ids };
        self.shipping.combined.insert(
            ids.transaction_id.clone(),
            CombinedOrder {
                ids: ids.clone(),
                sub_orders: sub_orders
                    .iter()
                    .map(|s| s.transaction_id.clone())
                    .collect(),
            },
        );
        SimCombinedOrder {
            appid: ids.appid,
            transaction_id: ids.transaction_id,
            mchid: ids.mchid,
            out_trade_no: ids.out_trade_no,
            openid: ids.openid,
            sub_orders,
        }
    }

    /// The transaction_id of `appid`'s order that `matches`, else 10060001.
    fn find_order(&self, appid: &str, matches: impl Fn(&SimOrder) -> bool) -> WxResult<String> {
        self.shipping
            .orders
            .values()
            .find(|o| o.ids.appid == appid && matches(&o.ids))
            .map(|o| o.ids.transaction_id.clone())
            .ok_or_else(order_not_found)
    }

    fn order_entry(&mut self, transaction_id: &str) -> WxResult<&mut Order> {
        self.shipping
            .orders
            .get_mut(transaction_id)
            .ok_or_else(order_not_found)
    }

    /// `upload_shipping_info` for `appid` (from [`State::shipping_caller`]):
    /// the seed rules, the order (10060001) and its payer (10060031), then the
    /// state machine (module docs).
    pub fn upload_shipping_info(
        &mut self,
        appid: &str,
        req: &UploadShippingInfoRequest,
    ) -> WxResult<()> {
        req.validate()?;
        let tx = self.find_order(appid, |ids| key_matches(&req.order_key, ids))?;
        let now = self.now();
        let shipment = Shipment {
            logistics_type: req.logistics_type,
            delivery_mode: req.delivery_mode,
            is_all_delivered: req.is_all_delivered,
            shipping_list: &req.shipping_list,
            upload_time: unix_time(req.upload_time.as_deref().unwrap_or_default(), now),
            upload_ms: unix_millis(req.upload_time.as_deref().unwrap_or_default(), now * 1000),
        };
        let order = self.order_entry(&tx)?;
        if order.ids.openid != req.payer.openid {
            return Err(WxError::new(
                ec::PAYER_MISMATCH,
                "the payment order does not belong to the user of this openid",
            ));
        }
        check_shippable(order)?;
        check_upload_order(order, &shipment)?;
        if ship(order, &shipment, now) {
            self.on_shipped(&tx);
        }
        Ok(())
    }

    /// `upload_combined_shipping_info` for `appid`: the seed rules; the
    /// combined order (10060001) and its payer (10060031); at least one
    /// sub-order (10060014), each a sub-order of that combined order
    /// (10060001), none named twice (10060013), each shippable (10060003,
    /// 10060004) with an `upload_time` after its previous upload's
    /// (268485216). Only then is each shipped, as by `upload_shipping_info`.
    pub fn upload_combined_shipping_info(
        &mut self,
        appid: &str,
        req: &UploadCombinedShippingInfoRequest,
    ) -> WxResult<()> {
        req.validate()?;
        let now = self.now();
        let combined = self
            .shipping
            .combined
            .values()
            .find(|c| c.ids.appid == appid && key_matches(&req.order_key, &c.ids))
            .cloned()
            .ok_or_else(|| {
                WxError::new(
                    ec::PAYMENT_ORDER_NOT_FOUND,
                    "combined payment order does not exist",
                )
            })?;
        if combined.ids.openid != req.payer.openid {
            return Err(WxError::new(
                ec::PAYER_MISMATCH,
                "the payment order does not belong to the user of this openid",
            ));
        }
        let sub_orders = req.sub_orders.as_deref().unwrap_or_default();
        if sub_orders.is_empty() {
            return Err(WxError::new(
                ec::PARAMETER_ERROR,
                "sub_orders: list the sub-orders whose shipping information is uploaded",
            ));
        }
        let upload_time = unix_time(&req.upload_time, now);
        let upload_ms = unix_millis(&req.upload_time, now * 1000);
        let mut targets: Vec<String> = Vec::with_capacity(sub_orders.len());
        for (i, sub) in sub_orders.iter().enumerate() {
            let Some(tx) = combined
                .sub_orders
                .iter()
                .filter_map(|tx| self.shipping.orders.get(tx))
                .find(|o| key_matches(&sub.order_key, &o.ids))
                .map(|o| o.ids.transaction_id.clone())
            else {
                return Err(WxError::new(
                    ec::PAYMENT_ORDER_NOT_FOUND,
                    format!("sub_orders[{i}]: not a sub-order of this combined payment order"),
                ));
            };
            if targets.contains(&tx) {
                return Err(WxError::new(
                    ec::SUB_ORDER_DUPLICATE,
                    format!("sub_orders[{i}]: the sub-order is listed twice"),
                ));
            }
            let shipment = Shipment {
                logistics_type: sub.logistics_type,
                delivery_mode: sub.delivery_mode,
                is_all_delivered: sub.is_all_delivered,
                shipping_list: &sub.shipping_list,
                upload_time,
                upload_ms,
            };
            let order = self.order_entry(&tx)?;
            check_shippable(order)
                .and_then(|()| check_upload_order(order, &shipment))
                .map_err(|e| WxError::new(e.errcode, format!("sub_orders[{i}]: {}", e.errmsg)))?;
            targets.push(tx);
        }
        for (sub, tx) in sub_orders.iter().zip(&targets) {
            let shipment = Shipment {
                logistics_type: sub.logistics_type,
                delivery_mode: sub.delivery_mode,
                is_all_delivered: sub.is_all_delivered,
                shipping_list: &sub.shipping_list,
                upload_time,
                upload_ms,
            };
            if ship(self.order_entry(tx)?, &shipment, now) {
                self.on_shipped(tx);
            }
        }
        Ok(())
    }

    /// `get_order` for `appid`: by transaction_id, else merchant_id +
    /// merchant_trade_no (neither: 10060014).
    pub fn get_order(&mut self, appid: &str, req: &GetOrderRequest) -> WxResult<ShippingOrder> {
        req.validate()?;
        let tx = self.find_order(appid, |ids| {
            lookup_matches(
                req.transaction_id.as_deref(),
                req.merchant_id.as_deref(),
                req.merchant_trade_no.as_deref(),
                ids,
            )
        })?;
        Ok(order_view(self.order_entry(&tx)?))
    }

    /// `get_order_list` for `appid`: its orders (oldest first) paid within
    /// `pay_time_range` (bounds inclusive, default 0..=u32::MAX), in
    /// `order_state` and paid by `openid` when given; `page_size` of them
    /// (default 100, and when not positive; no maximum) after `last_index` (one this simulator issued, else
    /// 10060011). The answer's `last_index` names the page's last order (or
    /// echoes the request's on an empty page).
    pub fn get_order_list(
        &self,
        appid: &str,
        req: &GetOrderListRequest,
    ) -> WxResult<GetOrderListResponse> {
        req.validate()?;
        let given_index = req.last_index.as_deref().filter(|i| !i.trim().is_empty());
        let after = given_index.map(decode_last_index).transpose()?;
        let range = req.pay_time_range.as_ref();
        let begin = range.and_then(|r| r.begin_time).unwrap_or(0);
        let end = range
            .and_then(|r| r.end_time)
            .unwrap_or(i64::from(u32::MAX));
        let page_size = req
            .page_size
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let openid = req
            .openid
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty());
        let lower = match after {
            Some(tx) => Bound::Excluded(tx),
            None => Bound::Unbounded,
        };
        let mut matching = self
            .shipping
            .orders
            .range::<String, _>((lower, Bound::Unbounded))
            .map(|(_, o)| o)
            .filter(|o| {
                o.ids.appid == appid
                    && (begin..=end).contains(&o.paid_at)
                    && req
                        .order_state
                        .is_none_or(|s| i64::from(o.order_state) == s)
                    && openid.is_none_or(|id| o.ids.openid == id)
            });
        let order_list: Vec<ShippingOrder> =
            matching.by_ref().take(page_size).map(order_view).collect();
        let has_more = matching.next().is_some();
        let last_index = match order_list.last() {
            Some(o) => encode_last_index(&o.transaction_id),
            None => given_index.unwrap_or_default().to_owned(),
        };
        Ok(GetOrderListResponse {
            errcode: 0,
            errmsg: "ok".into(),
            last_index,
            has_more,
            order_list,
        })
    }

    /// `notify_confirm_receive` for `appid`: the seed rules, the order
    /// (10060001), then shipped (10060028), by express (10060032), not yet
    /// reminded (10060030), `received_time` after the shipping upload time
    /// (10060029). Records the reminder.
    pub fn notify_confirm_receive(
        &mut self,
        appid: &str,
        req: &NotifyConfirmReceiveRequest,
    ) -> WxResult<()> {
        req.validate()?;
        let tx = self.find_order(appid, |ids| {
            lookup_matches(
                req.transaction_id.as_deref(),
                req.merchant_id.as_deref(),
                req.merchant_trade_no.as_deref(),
                ids,
            )
        })?;
        let order = self.order_entry(&tx)?;
        let shipping = match (&order.shipping, order.order_state) {
            (Some(shipping), ORDER_SHIPPED) => shipping,
            _ => {
                return Err(WxError::new(
                    ec::NOT_IN_SHIPPED_STATE,
                    "the payment order is not in the shipped state",
                ));
            }
        };
        if shipping.logistics_type != 1 {
            return Err(WxError::new(
                ec::CONFIRM_ONLY_EXPRESS,
                "only orders shipped by express (logistics_type 1) can remind the user to confirm receipt",
            ));
        }
        if order.extras.receipt_reminder.is_some() {
            return Err(WxError::new(
                ec::CONFIRM_REMINDER_USED,
                "the payment order has used its receipt reminder",
            ));
        }
        let shipped_at = shipping
            .shipping_list
            .iter()
            .map(|i| i.upload_time)
            .max()
            .unwrap_or_default();
        if req.received_time <= shipped_at {
            return Err(WxError::new(
                ec::RECEIVED_TIME_INVALID,
                format!(
                    "received_time {} is not after the shipping time {shipped_at}",
                    req.received_time
                ),
            ));
        }
        order.extras.receipt_reminder = Some(req.received_time);
        Ok(())
    }

    /// `set_msg_jump_path` for `appid`: the seed rules, then stores the path
    /// (empty means WeChat's default page).
    pub fn set_msg_jump_path(&mut self, appid: &str, req: &SetMsgJumpPathRequest) -> WxResult<()> {
        req.validate()?;
        self.shipping
            .apps
            .entry(appid.to_owned())
            .or_default()
            .msg_jump_path = Some(req.path.clone());
        Ok(())
    }

    /// The body `appid` of `is_trade_managed` and
    /// `is_trade_management_confirmation_completed`: the seed rules (40097),
    /// then it must be the caller's own appid (40013): an authorizer token
    /// speaks for its own Mini Program only.
    fn queried_app(&self, appid: &str, req: &TradeManagedRequest) -> WxResult<AppSettings> {
        req.validate()?;
        if req.appid.trim() != appid {
            return Err(WxError::new(
                ec::INVALID_APPID,
                "invalid appid: it is not the Mini Program of this access_token",
            ));
        }
        Ok(self.app_settings(appid))
    }

    /// `is_trade_managed` for `appid` (default `true`).
    pub fn is_trade_managed(&self, appid: &str, req: &TradeManagedRequest) -> WxResult<bool> {
        Ok(self.queried_app(appid, req)?.is_trade_managed)
    }

    /// `is_trade_management_confirmation_completed` for `appid` (default `true`).
    pub fn trade_management_confirmation_completed(
        &self,
        appid: &str,
        req: &TradeManagedRequest,
    ) -> WxResult<bool> {
        Ok(self.queried_app(appid, req)?.completed)
    }

    /// `opspecialorder` for `appid`: the seed rules on the sim clock
    /// (268546000/268546001); the order by transaction_id or out_trade_no
    /// (268546002); pending shipment (shipped 10060002, else 10060004); a
    /// pre-sale `delay_to` 15–330 days after payment (268546001). Records
    /// the report (a later one replaces it).
    pub fn op_special_order(&mut self, appid: &str, req: &OpSpecialOrderRequest) -> WxResult<()> {
        req.validate_at(self.now())?;
        let order_id = req.order_id.trim();
        let tx = self
            .find_order(appid, |ids| {
                ids.transaction_id == order_id || ids.out_trade_no == order_id
            })
            .map_err(|_| {
                WxError::new(
                    ec::SPECIAL_ORDER_NOT_FOUND,
                    "there is no such order number in the account",
                )
            })?;
        let order = self.order_entry(&tx)?;
        match order.order_state {
            ORDER_PENDING_SHIPMENT => {}
            ORDER_SHIPPED => {
                return Err(WxError::new(
                    ec::ALREADY_SHIPPED,
                    "the payment order has been shipped",
                ));
            }
            _ => {
                return Err(WxError::new(
                    ec::NOT_SHIPPABLE,
                    "the payment order is not pending shipment",
                ));
            }
        }
        if req.r#type == 1 {
            validate_delay_after_payment(req.delay_to.unwrap_or_default(), order.paid_at)?;
        }
        order.extras.special_order = Some(SpecialOrder {
            r#type: req.r#type,
            delay_to: if req.r#type == 1 { req.delay_to } else { None },
        });
        Ok(())
    }

    /// The order as `get_order` shows it, whoever owns it.
    pub fn order(&self, transaction_id: &str) -> Option<ShippingOrder> {
        self.shipping.orders.get(transaction_id).map(order_view)
    }

    /// What else the simulator knows about the order.
    pub fn order_extras(&self, transaction_id: &str) -> Option<OrderExtras> {
        self.shipping
            .orders
            .get(transaction_id)
            .map(|o| o.extras.clone())
    }

    /// Puts the order in `order_state` (e.g. 5 refunded), as the user or
    /// WeChat Pay would. False if there is no such order.
    /// An order put in state 2 this way counts as shipped now for the
    /// timers (unless it shipped before).
    pub fn set_order_state(&mut self, transaction_id: &str, order_state: i32) -> bool {
        let now = self.now();
        match self.shipping.orders.get_mut(transaction_id) {
            Some(o) => {
                o.order_state = order_state;
                if order_state == ORDER_SHIPPED {
                    o.shipped_at.get_or_insert(now);
                }
                true
            }
            None => false,
        }
    }

    /// The order has just shipped: queues the settlement push with the
    /// estimate (module docs), once, if configured.
    fn on_shipped(&mut self, transaction_id: &str) {
        if !self.config.settlement_push_on_shipping {
            return;
        }
        let now = self.now();
        // The estimate is when automatic receipt would come; WeChat gives
        // none, so without automatic receipt the sim's 10 days stand.
        let estimate_after = self
            .config
            .auto_confirm_after
            .map_or(ESTIMATED_SETTLEMENT_DELAY_SECS, clock_secs);
        let Some(order) = self.shipping.orders.get_mut(transaction_id) else {
            return;
        };
        if order.extras.pushes.settlement_on_shipping.is_some() {
            return;
        }
        order.extras.pushes.settlement_on_shipping = Some(now);
        let shipped = shipped_at(order);
        let event = AppEvent::order_shipped(
            &order_view(order),
            shipped,
            shipped.saturating_add(estimate_after),
        );
        let appid = order.ids.appid.clone();
        self.queue_app_event(&appid, event);
    }

    /// The order timers that fell due by now (module docs): each pending
    /// order `remind_shipping_after` past its payment gets its shipping
    /// reminder; each shipped order `auto_confirm_after` past its shipment
    /// has its receipt confirmed automatically, at that moment. Runs when
    /// the clock is advanced; each push is queued once per order.
    pub fn run_order_timers(&mut self) {
        let now = self.now();
        let remind_after = self.config.remind_shipping_after.map(clock_secs);
        let confirm_after = self.config.auto_confirm_after.map(clock_secs);
        if remind_after.is_none() && confirm_after.is_none() {
            return;
        }
        let mut due = Vec::new();
        for order in self.shipping.orders.values_mut() {
            match order.order_state {
                ORDER_PENDING_SHIPMENT => {
                    if let Some(after) = remind_after
                        && order.extras.pushes.remind_shipping.is_none()
                        && order.paid_at.saturating_add(after) <= now
                    {
                        order.extras.pushes.remind_shipping = Some(now);
                        let event = AppEvent::remind_shipping_for(&order_view(order));
                        due.push((order.ids.appid.clone(), event));
                    }
                }
                ORDER_SHIPPED => {
                    let at = confirm_after.map(|after| shipped_at(order).saturating_add(after));
                    if let Some(at) = at
                        && at <= now
                        && order.extras.receipt.is_none()
                    {
                        let event = confirm(order, CONFIRM_RECEIVE_AUTO, at, now);
                        due.push((order.ids.appid.clone(), event));
                    }
                }
                _ => {}
            }
        }
        for (appid, event) in due {
            self.queue_app_event(&appid, event);
        }
    }

    /// The buyer confirms receipt of a shipped order (state 2, else
    /// [`ConfirmReceiptError::NotShipped`]): state 3, and the settlement
    /// push with `confirm_receive_method` 1 is queued. Returns the order
    /// as `get_order` now shows it.
    pub fn confirm_receipt(
        &mut self,
        transaction_id: &str,
    ) -> Result<ShippingOrder, ConfirmReceiptError> {
        let now = self.now();
        let order = self
            .shipping
            .orders
            .get_mut(transaction_id)
            .ok_or(ConfirmReceiptError::NoSuchOrder)?;
        if order.order_state != ORDER_SHIPPED {
            return Err(ConfirmReceiptError::NotShipped(order.order_state));
        }
        let event = confirm(order, CONFIRM_RECEIVE_MANUAL, now, now);
        let (view, appid) = (order_view(order), order.ids.appid.clone());
        self.queue_app_event(&appid, event);
        Ok(view)
    }

    /// `appid`'s shipping-management settings (defaults if never set).
    pub fn app_settings(&self, appid: &str) -> AppSettings {
        self.shipping.apps.get(appid).cloned().unwrap_or_default()
    }

    /// What `is_trade_managed` (`managed`) and
    /// `is_trade_management_confirmation_completed` (`completed`) answer
    /// for `appid` from now on; `None` leaves a flag as it is.
    pub fn set_trade_management(
        &mut self,
        appid: &str,
        managed: Option<bool>,
        completed: Option<bool>,
    ) {
        let app = self.shipping.apps.entry(appid.to_owned()).or_default();
        if let Some(m) = managed {
            app.is_trade_managed = m;
        }
        if let Some(c) = completed {
            app.completed = c;
        }
    }
}
