//! Account-level settings and queries of the shipping-information service
//! (seed 004 §VI–§VIII): `POST /wxa/sec/order/set_msg_jump_path`,
//! `POST /wxa/sec/order/is_trade_managed` and
//! `POST /wxa/sec/order/is_trade_management_confirmation_completed`. The
//! two queries are also allowed with permission set 18.
//!
//! # Rules
//! | request | field | rule | errcode |
//! |---|---|---|---|
//! | `set_msg_jump_path` | `path` | at most 1024 bytes; empty is allowed (WeChat then opens its default confirm-receipt page) | 10060014 |
//! | `is_trade_*` | `appid` | not blank | 40097 |
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::blank;
use crate::{Validate, ValidationError, errcode as ec};

/// Longest `path` of `set_msg_jump_path`, in bytes. The seed gives no limit;
/// this one keeps absurd bodies from reaching WeChat.
pub const MAX_JUMP_PATH_BYTES: usize = 1024;

/// Body of `POST /wxa/sec/order/set_msg_jump_path`: where the shipping and confirm-receipt messages lead inside the Mini Program.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(example)]
pub struct SetMsgJumpPathRequest {
    /// The merchant's jump path, e.g. `pages/order/detail`. WeChat appends `transaction_id`, `merchant_id`, `merchant_trade_no` (and `sub_merchant_id` when there is one) as query parameters. Empty, or a page the Mini Program does not have, leads to the platform's default confirm-receipt page.
    pub path: String,
}

impl poem_openapi::types::Example for SetMsgJumpPathRequest {
    /// The seed's example request (seed 004 §VI).
    fn example() -> Self {
        Self {
            path: "pages/order/detail".to_owned(),
        }
    }
}

/// Body of `POST /wxa/sec/order/is_trade_managed` and of `POST /wxa/sec/order/is_trade_management_confirmation_completed`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(example)]
pub struct TradeManagedRequest {
    /// AppID of the Mini Program to query, e.g. `wx0123456789abcdef`; callers other than service providers can only query their own account.
    pub appid: String,
}

impl poem_openapi::types::Example for TradeManagedRequest {
    /// The seed's example request (seed 004 §VII, §VIII).
    fn example() -> Self {
        Self {
            appid: "wx0123456789abcdef".to_owned(),
        }
    }
}

/// Answer of `is_trade_managed`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct IsTradeManagedResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Whether the Mini Program has the shipping-information management service (and so must use its API to ship).
    pub is_trade_managed: bool,
}

/// Answer of `is_trade_management_confirmation_completed`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct TradeManagementConfirmationResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// Whether the transaction settlement management confirmation is completed: every merchant linked to the Mini Program has authorized order management or been unlinked.
    pub completed: bool,
}

/// `path` (at `field`) is at most [`MAX_JUMP_PATH_BYTES`] bytes, else
/// 10060014. Empty is allowed: WeChat falls back to its default page.
pub fn validate_jump_path(path: &str, field: &str) -> Result<(), ValidationError> {
    if path.len() <= MAX_JUMP_PATH_BYTES {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::PARAMETER_ERROR,
        format!(
            "path is {} bytes long; at most {MAX_JUMP_PATH_BYTES} bytes are allowed",
            path.len()
        ),
    ))
}

/// `appid` (at `field`) is not blank, else 40097.
pub fn validate_query_appid(appid: &str, field: &str) -> Result<(), ValidationError> {
    if !blank(Some(appid)) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        ec::INVALID_PARAMETER,
        "appid is required: the AppID of the Mini Program to query, e.g. \"wx0123456789abcdef\"",
    ))
}

impl Validate for SetMsgJumpPathRequest {
    /// [`validate_jump_path`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_jump_path(&self.path, "path")
    }
}

impl Validate for TradeManagedRequest {
    /// [`validate_query_appid`].
    fn validate(&self) -> Result<(), ValidationError> {
        validate_query_appid(&self.appid, "appid")
    }
}

#[cfg(test)]
mod tests;
