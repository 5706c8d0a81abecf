//! [`WechatJson`]: a JSON body documented as a typed WeChat model but carried
//! as the exact JSON the caller (or WeChat) sent.
//!
//! Requests are parsed into `T` (so missing or mistyped fields fail with a
//! clear 400 and the seed rules can run on typed data) while the original JSON
//! is what gets forwarded: fields WeChat adds later, which our model does not
//! know yet, pass through instead of being silently dropped. Responses work the
//! same way in the other direction.
use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

pub struct WechatJson<T> {
    /// Parsed view, used for validation.
    pub typed: T,
    /// The JSON as received; this is what is forwarded.
    pub raw: Value,
}

impl<T: Type> Type for WechatJson<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<T: ParseFromJSON + serde::de::DeserializeOwned> ParseFromJSON for WechatJson<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let raw = problem::checked::object_without_nulls(value).map_err(ParseError::custom)?;
        match T::parse_from_json(Some(raw.clone())) {
            Ok(typed) => Ok(Self { typed, raw }),
            Err(e) => Err(match problem::checked::field_error::<T>(&raw) {
                Some(named) => ParseError::custom(named),
                None => ParseError::propagate(e),
            }),
        }
    }
}

impl<T: Type> ToJSON for WechatJson<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.raw.clone())
    }
}
