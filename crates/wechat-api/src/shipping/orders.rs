//! `POST /wxa/sec/order/get_order_list` and
//! `POST /wxa/sec/order/notify_confirm_receive` (seed 004 §IV, §V).
//!
//! # Rules of `get_order_list`, in the order they are checked (all 10060014)
//! | field | rule |
//! |---|---|
//! | `pay_time_range.begin_time`, `.end_time` | when given, 0 ≤ t ≤ 4294967295 (a 32-bit unsigned timestamp) |
//! | `pay_time_range` | `begin_time` ≤ `end_time` when both are given |
//! | `order_state` | when given, 1..=6 (see [`order_state`](super::order_state)) |
//! | `openid` | when given, at most 128 bytes |
//!
//! `page_size` has no local rule: WeChat documents only its default (100),
//! no maximum and no minimum, and independent sources disagree (50, none),
//! so what WeChat accepts is left to WeChat.
//!
//! # Rules of `notify_confirm_receive`, in the order they are checked
//! | field | rule | errcode |
//! |---|---|---|
//! | `transaction_id`, or `merchant_id` + `merchant_trade_no` | the order is identified | 10060014 |
//! | `received_time` | a positive Unix timestamp | 10060029 |
//!
//! Whether the order has shipped (10060028), by express (10060032), before
//! `received_time` (10060029), and was not reminded yet (10060030), only
//! WeChat knows.
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::{MAX_OPENID_BYTES, ShippingOrder, validate_order_lookup};
use crate::{Validate, ValidationError, errcode as ec};

/// `page_size` of `get_order_list` when the request gives none (the seed's
/// "100 by default"). Not a maximum: WeChat documents none.
pub const DEFAULT_PAGE_SIZE: i64 = 100;
/// Largest timestamp in `pay_time_range`: WeChat takes a missing `end_time`
/// as the largest 32-bit unsigned integer.
pub const MAX_PAY_TIME: i64 = u32::MAX as i64;

/// Body of `POST /wxa/sec/order/get_order_list`: payment orders by payment time, payer and state, a page at a time.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct GetOrderListRequest {
    /// The range the payment time falls in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_time_range: Option<PayTimeRange>,
    /// Order state: 1 pending shipment; 2 shipped; 3 receipt confirmed; 4 transaction completed; 5 refunded; 6 funds pending settlement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_state: Option<i64>,
    /// The payer's openid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Paging cursor: leave out for the first page; when an answer has `has_more` true, pass its `last_index` to get the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_index: Option<String>,
    /// Length of the returned list; 100 by default. WeChat documents no maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i64>,
}

impl poem_openapi::types::Example for GetOrderListRequest {
    /// The seed's example request (seed 004 §IV): the first page of two
    /// orders paid in a one-second range.
    fn example() -> Self {
        Self {
            pay_time_range: Some(PayTimeRange {
                begin_time: Some(1670563531),
                end_time: Some(1670563531),
            }),
            order_state: None,
            openid: None,
            last_index: None,
            page_size: Some(2),
        }
    }
}

/// A range of payment times, both ends inclusive.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct PayTimeRange {
    /// Start, Unix timestamp in seconds; 0 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<i64>,
    /// End (inclusive), Unix timestamp in seconds; the largest 32-bit unsigned integer when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
}

/// Answer of `get_order_list`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetOrderListResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Paging cursor: pass it as `last_index` to get the next page.
    pub last_index: String,
    /// Whether more payment orders follow.
    pub has_more: bool,
    /// The payment orders of this page.
    pub order_list: Vec<ShippingOrder>,
}

/// Body of `POST /wxa/sec/order/notify_confirm_receive`: reminds the user, once per order, to confirm receipt of an express shipment. The order is given by `transaction_id`, or by `merchant_id` + `merchant_trade_no`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct NotifyConfirmReceiveRequest {
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
    /// When the goods were received, Unix timestamp in seconds; shown to the user in the reminder and must be after the shipping time.
    pub received_time: i64,
}

impl poem_openapi::types::Example for NotifyConfirmReceiveRequest {
    /// The seed's example request (seed 004 §V).
    fn example() -> Self {
        Self {
            transaction_id: Some("fake-transid-20221209132531-44".to_owned()),
            merchant_id: Some("fake-mchid-123".to_owned()),
            sub_merchant_id: None,
            merchant_trade_no: Some("fake-tradeno-20221209132531-44".to_owned()),
            received_time: 1670829139,
        }
    }
}

/// `pay_time_range` (at `field`), all 10060014: each given time is 0 to
/// [`MAX_PAY_TIME`], and `begin_time` ≤ `end_time` when both are given.
pub fn validate_pay_time_range(range: &PayTimeRange, field: &str) -> Result<(), ValidationError> {
    for (name, value) in [
        ("begin_time", range.begin_time),
        ("end_time", range.end_time),
    ] {
        if let Some(t) = value
            && !(0..=MAX_PAY_TIME).contains(&t)
        {
            return Err(ValidationError::new(
                format!("{field}.{name}"),
                ec::PARAMETER_ERROR,
                format!("{name} must be a Unix timestamp in seconds, 0 to {MAX_PAY_TIME}; got {t}"),
            ));
        }
    }
    if let (Some(begin), Some(end)) = (range.begin_time, range.end_time)
        && begin > end
    {
        return Err(ValidationError::new(
            format!("{field}.begin_time"),
            ec::PARAMETER_ERROR,
            format!("begin_time ({begin}) is after end_time ({end}); the range would be empty"),
        ));
    }
    Ok(())
}

/// The filters of `get_order_list`, all 10060014:
/// - `order_state`, when given, is 1..=6;
/// - `openid`, when given, is at most 128 bytes.
///
/// `page_size` is not checked (module docs).
pub fn validate_order_list_filters(req: &GetOrderListRequest) -> Result<(), ValidationError> {
    if let Some(state) = req.order_state
        && !(1..=6).contains(&state)
    {
        return Err(ValidationError::new(
            "order_state",
            ec::PARAMETER_ERROR,
            format!(
                "order_state must be 1 (pending shipment), 2 (shipped), 3 (receipt confirmed), 4 (completed), 5 (refunded) or 6 (pending settlement), got {state}"
            ),
        ));
    }
    if let Some(openid) = &req.openid
        && openid.len() > MAX_OPENID_BYTES
    {
        return Err(ValidationError::new(
            "openid",
            ec::PARAMETER_ERROR,
            format!(
                "openid is {} bytes long; an openid has at most {MAX_OPENID_BYTES} bytes",
                openid.len()
            ),
        ));
    }
    Ok(())
}

/// `received_time` (at `field`) is a positive Unix timestamp, else 10060029.
/// (Whether it is after the shipping time only WeChat knows.)
pub fn validate_received_time(received_time: i64, field: &str) -> Result<(), ValidationError> {
    if received_time > 0 {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::RECEIVED_TIME_INVALID,
        format!(
            "received_time must be the Unix timestamp (seconds) of the receipt, after the shipping time; got {received_time}"
        ),
    ))
}

impl Validate for GetOrderListRequest {
    /// [`validate_pay_time_range`] when a range is given, then
    /// [`validate_order_list_filters`].
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(range) = &self.pay_time_range {
            validate_pay_time_range(range, "pay_time_range")?;
        }
        validate_order_list_filters(self)
    }
}

impl Validate for NotifyConfirmReceiveRequest {
    /// [`validate_order_lookup`], then [`validate_received_time`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_order_lookup(
            self.transaction_id.as_deref(),
            self.merchant_id.as_deref(),
            self.merchant_trade_no.as_deref(),
        )?;
        validate_received_time(self.received_time, "received_time")
    }
}

#[cfg(test)]
mod tests;
