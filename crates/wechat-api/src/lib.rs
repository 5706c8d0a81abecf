#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod component;
pub mod couriers;
pub mod errcode;
pub mod events;
pub mod logistics;
pub mod paths;
pub mod shipping;

use serde::{Deserialize, Serialize};

/// A rule violation found locally: the JSON path of the field, the WeChat
/// errcode the rule prevents, and what is wrong in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// JSON path of the offending field, e.g. `shipping_list[0].item_desc`.
    pub field: String,
    /// The errcode WeChat would answer (see [`errcode`]).
    pub errcode: i64,
    /// Plain English: what is wrong and what is allowed.
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

/// A request that can be checked against the seed rules before it is sent.
pub trait Validate {
    /// The first rule violated, in the order the rules are documented.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// WeChat's common envelope. An absent `errcode` means success (0).
///
/// Parse an answer into this first; parse the typed body only when
/// [`is_ok`](Self::is_ok), because failed answers carry nothing else.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, poem_openapi::Object)]
#[oai(rename = "WechatAck")]
pub struct WechatStatus {
    /// Error code; 0 on success.
    #[serde(default)]
    #[oai(default)]
    pub errcode: i64,
    /// Error reason; `ok` on success.
    #[serde(default)]
    #[oai(default)]
    pub errmsg: String,
}

/// The `rid` WeChat appends to a failed call's errmsg, as in the example of
/// WeChat's getRidInfo doc (`"reach max api daily quota limit rid:
/// 617682e0-09059ac5-34a8e2ea"`,
/// <https://developers.weixin.qq.com/doc/oplatform/openApi/openapi/api_getridinfo.md>):
/// the id `cgi-bin/openapi/rid/get` and WeChat support take. Successful
/// answers carry none. Bounded, as it comes from outside: at most 64
/// characters of `A–Z a–z 0–9 -`.
pub fn rid_in_errmsg(errmsg: &str) -> Option<&str> {
    let (_, rest) = errmsg.rsplit_once("rid:")?;
    let rest = rest.trim_start();
    let end = rest
        .bytes()
        .take(64)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    (end > 0).then(|| &rest[..end])
}

impl WechatStatus {
    /// `{"errcode":0,"errmsg":"ok"}`.
    pub fn ok() -> Self {
        Self {
            errcode: 0,
            errmsg: "ok".to_owned(),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errcode == 0
    }
}

impl From<&ValidationError> for WechatStatus {
    /// What WeChat answers for a request that breaks the rule.
    fn from(err: &ValidationError) -> Self {
        Self {
            errcode: err.errcode,
            errmsg: err.to_string(),
        }
    }
}

/// Helpers shared by the modules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use poem_openapi::registry::{MetaSchemaRef, Registry};

    /// Every schema in `registry` and every property of it has a description
    /// (it becomes the OpenAPI documentation), and every property has a
    /// WeChat snake_case name.
    #[track_caller]
    pub fn assert_documented(registry: &Registry) {
        for (name, schema) in &registry.schemas {
            assert!(schema.description.is_some(), "{name} has no description");
            for (field, prop) in &schema.properties {
                assert!(
                    field.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{name}.{field} is not a WeChat snake_case name"
                );
                // A documented reference becomes an inline allOf with the description.
                let documented = match prop {
                    MetaSchemaRef::Inline(s) => s.description.is_some(),
                    MetaSchemaRef::Reference(_) => false,
                };
                assert!(documented, "{name}.{field} has no description");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rid_is_read_from_an_errmsg_bounded() {
        // The example of WeChat's getRidInfo doc.
        assert_eq!(
            rid_in_errmsg("reach max api daily quota limit rid: 617682e0-09059ac5-34a8e2ea"),
            Some("617682e0-09059ac5-34a8e2ea")
        );
        assert_eq!(rid_in_errmsg("system error"), None);
        assert_eq!(rid_in_errmsg("x rid: "), None);
        assert_eq!(rid_in_errmsg("x rid: ab<script>"), Some("ab"));
        assert_eq!(
            rid_in_errmsg(&format!("x rid: {}", "a".repeat(100))).map(str::len),
            Some(64)
        );
    }

    #[test]
    fn absent_errcode_is_success() {
        let s: WechatStatus =
            serde_json::from_str(r#"{"component_access_token":"t","expires_in":7200}"#).unwrap();
        assert!(s.is_ok());
        let s: WechatStatus =
            serde_json::from_str(r#"{"errcode":40014,"errmsg":"invalid access_token"}"#).unwrap();
        assert!(!s.is_ok());
        assert_eq!(s.errcode, errcode::INVALID_ACCESS_TOKEN);
    }

    #[test]
    fn validation_error_displays_field_and_message() {
        let e = ValidationError::new("payer.openid", errcode::PARAMETER_ERROR, "is empty");
        assert_eq!(e.to_string(), "payer.openid: is empty");
        let s = WechatStatus::from(&e);
        assert_eq!(
            (s.errcode, s.errmsg.as_str()),
            (10060014, "payer.openid: is empty")
        );
    }

    /// Every request model's OpenAPI example survives a serde round trip and
    /// passes the crate's rules, so the docs never show a body tpgate would
    /// refuse. The registered schema's example is that same JSON.
    #[test]
    fn request_examples_pass_the_rules() {
        use poem_openapi::types::{Example, Type};
        use serde::de::DeserializeOwned;

        use crate::{logistics::*, shipping::*};

        /// `T::example()` through serde and back, after checking that the
        /// registered schema shows exactly that JSON.
        #[track_caller]
        fn round_trip<T>() -> T
        where
            T: Example + Type + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            let name = T::name();
            let example = T::example();
            let json = serde_json::to_string(&example).unwrap();
            let parsed: T = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{name}: example does not parse back: {e}\n{json}"));
            assert_eq!(parsed, example, "{name}: example changes in a round trip");

            let mut registry = poem_openapi::registry::Registry::new();
            T::register(&mut registry);
            let shown = registry.schemas[name.as_ref()].example.clone();
            assert_eq!(
                shown,
                Some(serde_json::from_str(&json).unwrap()),
                "{name}: the OpenAPI example is not the serde JSON"
            );
            parsed
        }

        /// `T::example()` round-tripped and checked by [`Validate`].
        #[track_caller]
        fn check<T>()
        where
            T: Validate
                + Example
                + Type
                + Serialize
                + DeserializeOwned
                + PartialEq
                + std::fmt::Debug,
        {
            let parsed = round_trip::<T>();
            if let Err(e) = parsed.validate() {
                panic!("{}: example breaks a rule: {e} ({})", T::name(), e.errcode);
            }
        }

        check::<UploadShippingInfoRequest>();
        check::<UploadCombinedShippingInfoRequest>();
        check::<GetOrderRequest>();
        check::<GetOrderListRequest>();
        check::<NotifyConfirmReceiveRequest>();
        check::<SetMsgJumpPathRequest>();
        check::<TradeManagedRequest>();
        check::<TraceWaybillRequest>();
        check::<QueryTraceRequest>();
        check::<UpdateWaybillGoodsRequest>();
        check::<GetPathRequest>();
        check::<GetWaybillOrderRequest>();
        check::<AddWaybillOrderRequest>();
        check::<CancelWaybillOrderRequest>();
        check::<BatchGetWaybillOrderRequest>();
        check::<ManagePluginRequest>();

        check::<OpSpecialOrderRequest>();
    }
}
