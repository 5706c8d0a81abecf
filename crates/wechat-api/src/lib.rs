//! Typed models of the WeChat endpoints tpgate implements, and the validation
//! rules from the seed documents. Shared by the proxy (which rejects bad
//! requests before spending WeChat quota) and the simulator (which answers
//! them with WeChat's errcodes), so both enforce exactly the same rules.
//!
//! # Layout
//! - [`errcode`]: WeChat's error codes and what they mean.
//! - [`component`]: the component/authorizer token endpoints.
//! - [`shipping`]: `/wxa/sec/order/*` models and rules.
#![forbid(unsafe_code)]

pub mod component;
pub mod errcode;
pub mod shipping;

use serde::{Deserialize, Serialize};

/// A rule violation found locally: the JSON path of the field, the WeChat
/// errcode the rule prevents, and what is wrong in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub errcode: i64,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, errcode: i64, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            errcode,
            message: message.into(),
        }
    }
}

/// A request that can be checked against the seed rules.
pub trait Validate {
    fn validate(&self) -> Result<(), ValidationError>;
}

/// WeChat's common envelope; an absent `errcode` means success.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct WechatStatus {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
}

impl WechatStatus {
    pub fn is_ok(&self) -> bool {
        self.errcode == 0
    }
}
