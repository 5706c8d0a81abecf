//! [`Checked`]: a request body whose parse errors name the field.
//!
//! poem-openapi's own errors name types, not fields, when a value has the
//! wrong type ("Expected input type \"boolean\", found \"yes\""), and it
//! turns `false` into the string `"false"`. For a `T` that also derives
//! serde's `Deserialize` (same names), the body is first read by serde with
//! `serde_path_to_error`, which is strict and knows the path, so the 400 says
//! `field` = `enabled`. The schema in the spec is `T`'s, unchanged.
use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

pub struct Checked<T>(pub T);

/// `Type` of a wrapper that only checks how `T` is read: `T`'s schema and
/// values, unchanged (written once for [`Checked`] and [`NoNulls`]).
macro_rules! same_type_as_inner {
    ($wrapper:ident) => {
        impl<T: Type> Type for $wrapper<T> {
            const IS_REQUIRED: bool = true;
            type RawValueType = T::RawValueType;
            type RawElementValueType = T::RawElementValueType;

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
                self.0.as_raw_value()
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                self.0.raw_element_iter()
            }
        }

        impl<T: ToJSON> ToJSON for $wrapper<T> {
            fn to_json(&self) -> Option<Value> {
                self.0.to_json()
            }
        }
    };
}

same_type_as_inner!(Checked);

/// A request body as every tpgate body must be: a JSON object without a
/// `null` (see [`first_null`]); else the 400's words.
pub fn object_without_nulls(value: Option<Value>) -> Result<Value, String> {
    let raw = value.unwrap_or(Value::Null);
    if !raw.is_object() {
        return Err("the request body must be a JSON object".to_owned());
    }
    if let Some(field) = first_null(&raw, "") {
        return Err(null_message(&field));
    }
    Ok(raw)
}

impl<T: ParseFromJSON + serde::de::DeserializeOwned> ParseFromJSON for Checked<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let raw = object_without_nulls(value).map_err(ParseError::custom)?;
        if let Some(field) = first_control_char(&raw, "") {
            return Err(ParseError::custom(format!(
                "field `{field}`: must not contain control characters"
            )));
        }
        // serde first: it is strict about types (poem-openapi would take
        // `false` for a string) and names the field; then poem-openapi,
        // for the validators (lengths, ranges, patterns), which name theirs.
        if let Some(named) = field_error::<T>(&raw) {
            return Err(ParseError::custom(named));
        }
        T::parse_from_json(Some(raw))
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

/// A request body that is a JSON object without `null`s (an optional field
/// is left out, never `null`: see [`first_null`]), for bodies `Checked`
/// cannot take (a `T` without serde's `Deserialize`, e.g. one carrying
/// WeChat bodies as sent). The schema in the spec is `T`'s, unchanged.
pub struct NoNulls<T>(pub T);

same_type_as_inner!(NoNulls);

impl<T: ParseFromJSON> ParseFromJSON for NoNulls<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let raw = object_without_nulls(value).map_err(ParseError::custom)?;
        T::parse_from_json(Some(raw))
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

/// The path of the first `null` in `value`. No field of tpgate's request
/// bodies takes `null`: an optional field is left out, so a `null` is a
/// mistake worth naming rather than silently reading as "absent".
pub fn first_null(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Null => Some(path.to_owned()),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            first_null(v, &p)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_null(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The path of the first string (key or value) in `value` holding a NUL or
/// another C0 control character other than tab and newlines: Postgres
/// refuses NUL in text (a 500 if it got that far), and no name, URL or
/// reason needs them.
pub fn first_control_char(value: &Value, path: &str) -> Option<String> {
    let bad = |s: &str| {
        s.chars()
            .any(|c| c.is_control() && (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    };
    match value {
        Value::String(s) if bad(s) => Some(path.to_owned()),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if bad(k) {
                Some(p)
            } else {
                first_control_char(v, &p)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_control_char(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The parse message for a `null` at `field` (the problem mapping turns the
/// quoted path into `field`).
pub fn null_message(field: &str) -> String {
    format!("field `{field}`: must not be null; leave an optional field out instead")
}

/// `field `payer.openid`: is required` (the problem mapping turns the
/// quoted path into `field`), from serde walking `raw` as a `T`.
pub fn field_error<T: serde::de::DeserializeOwned>(raw: &Value) -> Option<String> {
    let err = serde_path_to_error::deserialize::<_, T>(raw).err()?;
    let path = err.path().to_string();
    let inner = err.inner().to_string();
    let missing = inner
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (missing, path.as_str()) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, path) => path.to_owned(),
    };
    let reason = if missing.is_some() {
        "is required".to_owned()
    } else {
        inner
    };
    Some(format!("field `{field}`: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, poem_openapi::Object, serde::Deserialize)]
    struct Setting {
        enabled: bool,
        #[oai(validator(max_length = 3))]
        name: Option<String>,
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = Checked::<Setting>::parse_from_json(Some(serde_json::json!({"enabled": "yes"})))
            .err()
            .unwrap();
        assert!(
            err.message().contains("field `enabled`"),
            "{}",
            err.message()
        );
        let err = Checked::<Setting>::parse_from_json(Some(serde_json::json!({})))
            .err()
            .unwrap();
        assert!(
            err.message().contains("field `enabled`"),
            "{}",
            err.message()
        );
        assert!(
            Checked::<Setting>::parse_from_json(Some(serde_json::json!({"enabled": true}))).is_ok()
        );
    }
}
