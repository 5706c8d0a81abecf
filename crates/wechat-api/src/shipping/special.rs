//! `POST /wxa/sec/order/opspecialorder` (seed 004 §X): special shipment
//! reports for orders not shipped yet: pre-sale orders (shipping more than
//! 15 days after payment; the user is told the expected shipping time) and
//! test orders (never shipped; the money goes back to the user).
//!
//! # Rules, in the order they are checked
//! | field | rule | errcode |
//! |---|---|---|
//! | `order_id` | not blank | 268546002 |
//! | `type` | 1 (pre-sale) or 2 (test order) | 268546000 |
//! | `delay_to` | present for type 1 | 268546001 |
//! | `delay_to` | for type 1, not in the past and at most 330 days from now | 268546001 |
//!
//! The seed's exact rule is "15 to 330 days after the payment time", and
//! only WeChat (or the simulator) knows the payment time: it applies
//! [`validate_delay_after_payment`]. Locally, "not before now, and at most
//! 330 days from now" is the part that holds whatever the payment time was
//! (the payment is in the past, so `pay_time + 330 days ≤ now + 330 days`).
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::blank;
use crate::{Validate, ValidationError, errcode as ec};

/// One day, in seconds.
const DAY_SECS: i64 = 24 * 60 * 60;
/// A pre-sale order ships at least 15 days after payment.
pub const SPECIAL_ORDER_MIN_DELAY_SECS: i64 = 15 * DAY_SECS;
/// A pre-sale order ships at most 330 days after payment.
pub const SPECIAL_ORDER_MAX_DELAY_SECS: i64 = 330 * DAY_SECS;

/// Values of [`OpSpecialOrderRequest::type`](OpSpecialOrderRequest).
pub mod special_order_type {
    /// 1: pre-sale order; `delay_to` is required.
    pub const PRE_SALE: i64 = 1;
    /// 2: test order; never shipped, the money is refunded automatically.
    pub const TEST: i64 = 2;
}

/// Body of `POST /wxa/sec/order/opspecialorder`: reports an order not shipped yet as a pre-sale order (with its expected shipping time) or as a test order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct OpSpecialOrderRequest {
    /// The order to report: its WeChat Pay order number or merchant order number.
    pub order_id: String,
    /// Special shipment type: 1 = pre-sale order; 2 = test order.
    #[serde(rename = "type")]
    #[oai(rename = "type")]
    pub r#type: i64,
    /// Expected shipping time, Unix timestamp in seconds: required for type 1 (15 to 330 days after the payment), left out for type 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_to: Option<i64>,
}

impl poem_openapi::types::Example for OpSpecialOrderRequest {
    /// A test order (type 2): the seed's own example is a pre-sale order
    /// with a fixed `delay_to` (2025-07-09), which the rules refuse once that
    /// time is past, and the docs must never show a body tpgate refuses. A
    /// pre-sale order adds `"delay_to"`, 15 to 330 days after the payment.
    fn example() -> Self {
        Self {
            order_id: "123456".to_owned(),
            r#type: special_order_type::TEST,
            delay_to: None,
        }
    }
}

/// `order_id` (at `field`) is not blank, else 268546002: no account has an
/// order without a number.
pub fn validate_special_order_id(order_id: &str, field: &str) -> Result<(), ValidationError> {
    if !blank(Some(order_id)) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::SPECIAL_ORDER_NOT_FOUND,
        "order_id is required: the order's WeChat Pay order number or merchant order number",
    ))
}

/// `type` (at `field`) is 1 (pre-sale) or 2 (test order), else 268546000.
pub fn validate_special_order_type(special_type: i64, field: &str) -> Result<(), ValidationError> {
    if matches!(
        special_type,
        special_order_type::PRE_SALE | special_order_type::TEST
    ) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::SPECIAL_ORDER_TYPE_INVALID,
        format!("type must be 1 (pre-sale order) or 2 (test order), got {special_type}"),
    ))
}

/// `delay_to` (at `field`) of a pre-sale order, judged at `now_unix`, all
/// 268546001: present, not before `now_unix`, and at most
/// [`SPECIAL_ORDER_MAX_DELAY_SECS`] after it.
pub fn validate_delay_to(
    delay_to: Option<i64>,
    now_unix: i64,
    field: &str,
) -> Result<(), ValidationError> {
    let Some(delay_to) = delay_to else {
        return Err(ValidationError::new(
            field,
            ec::SPECIAL_ORDER_DELAY_TO_INVALID,
            "delay_to is required for a pre-sale order (type 1): the expected shipping time, 15 to 330 days after the payment",
        ));
    };
    let latest = now_unix.saturating_add(SPECIAL_ORDER_MAX_DELAY_SECS);
    if delay_to < now_unix {
        return Err(ValidationError::new(
            field,
            ec::SPECIAL_ORDER_DELAY_TO_INVALID,
            format!(
                "delay_to ({delay_to}) is in the past (now is {now_unix}); give the expected shipping time, 15 to 330 days after the payment"
            ),
        ));
    }
    if delay_to > latest {
        return Err(ValidationError::new(
            field,
            ec::SPECIAL_ORDER_DELAY_TO_INVALID,
            format!(
                "delay_to ({delay_to}) is more than 330 days from now ({now_unix}); a pre-sale order ships at most 330 days after the payment"
            ),
        ));
    }
    Ok(())
}

/// The seed's exact rule, for whoever knows the payment time (the
/// simulator): `delay_to` is [`SPECIAL_ORDER_MIN_DELAY_SECS`] to
/// [`SPECIAL_ORDER_MAX_DELAY_SECS`] after `pay_time`, both inclusive, else
/// 268546001 on `delay_to`.
pub fn validate_delay_after_payment(delay_to: i64, pay_time: i64) -> Result<(), ValidationError> {
    let after = delay_to.saturating_sub(pay_time);
    if (SPECIAL_ORDER_MIN_DELAY_SECS..=SPECIAL_ORDER_MAX_DELAY_SECS).contains(&after) {
        return Ok(());
    }
    Err(ValidationError::new(
        "delay_to",
        ec::SPECIAL_ORDER_DELAY_TO_INVALID,
        format!(
            "delay_to ({delay_to}) must be 15 to 330 days after the payment ({pay_time}); it is {after} seconds after"
        ),
    ))
}

impl OpSpecialOrderRequest {
    /// The rules judged at `now_unix` (Unix seconds), in order:
    /// [`validate_special_order_id`], [`validate_special_order_type`], and
    /// for type 1 [`validate_delay_to`]. `delay_to` of a test order is
    /// ignored, as WeChat does.
    pub fn validate_at(&self, now_unix: i64) -> Result<(), ValidationError> {
        validate_special_order_id(&self.order_id, "order_id")?;
        validate_special_order_type(self.r#type, "type")?;
        if self.r#type == special_order_type::PRE_SALE {
            validate_delay_to(self.delay_to, now_unix, "delay_to")?;
        }
        Ok(())
    }
}

impl Validate for OpSpecialOrderRequest {
    /// [`OpSpecialOrderRequest::validate_at`] the current time.
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_at(chrono::Utc::now().timestamp())
    }
}

#[cfg(test)]
mod tests;
