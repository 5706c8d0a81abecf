//! Mini Program events WeChat pushes to the third-party platform's
//! 消息与事件接收 URL (seed 004 §IX, protocol.md §10): the three shipping
//! events typed with their seed fields; any other event kept as its fields.
//!
//! Pushes arrive as XML whose values are all text; [`event_data`] turns the
//! fields into the JSON a tenant's webhook receives, with the seed's numeric
//! fields as numbers.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const REMIND_ACCESS_API: &str = "trade_manage_remind_access_api";
pub const REMIND_SHIPPING: &str = "trade_manage_remind_shipping";
pub const ORDER_SETTLEMENT: &str = "trade_manage_order_settlement";

/// `trade_manage_remind_access_api`: connect the shipping-management API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindAccessApi {
    /// Message text.
    #[serde(default)]
    pub msg: Option<String>,
}

/// `trade_manage_remind_shipping`: an order unshipped for 48 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindShipping {
    pub transaction_id: String,
    pub merchant_id: String,
    #[serde(default)]
    pub sub_merchant_id: Option<String>,
    pub merchant_trade_no: String,
    /// Payment time, Unix seconds.
    pub pay_time: i64,
    #[serde(default)]
    pub msg: Option<String>,
}

/// `trade_manage_order_settlement`: shipped and to be settled, or settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSettlement {
    pub transaction_id: String,
    pub merchant_id: String,
    #[serde(default)]
    pub sub_merchant_id: Option<String>,
    pub merchant_trade_no: String,
    pub pay_time: i64,
    #[serde(default)]
    pub shipped_time: Option<i64>,
    /// Only in the push sent at shipping.
    #[serde(default)]
    pub estimated_settlement_time: Option<i64>,
    /// 1 manual, 2 automatic (seed 004, confirmed by field reports; see
    /// [`confirm_receive_method_name`]). Only at settlement.
    #[serde(default)]
    pub confirm_receive_method: Option<i64>,
    #[serde(default)]
    pub confirm_receive_time: Option<i64>,
    #[serde(default)]
    pub settlement_time: Option<i64>,
}

/// `confirm_receive_method` of a receipt the user confirmed (seed 004: "1.
/// Manually confirm receipt"; field reports agree).
pub const CONFIRM_RECEIVE_MANUAL: i64 = 1;
/// `confirm_receive_method` of a receipt confirmed automatically when the
/// confirmation period ran out (seed 004: "2. Automatically confirm the
/// receipt"; field reports agree).
pub const CONFIRM_RECEIVE_AUTO: i64 = 2;

/// The normalised name of a `confirm_receive_method`: `manual` (1) or
/// `auto` (2); `None` for any other value, which is passed on as WeChat sent
/// it.
pub fn confirm_receive_method_name(method: i64) -> Option<&'static str> {
    match method {
        CONFIRM_RECEIVE_MANUAL => Some("manual"),
        CONFIRM_RECEIVE_AUTO => Some("auto"),
        _ => None,
    }
}

/// A pushed event, typed when it is one the seeds describe.
#[derive(Debug, Clone, PartialEq)]
pub enum MiniProgramEvent {
    RemindAccessApi(RemindAccessApi),
    RemindShipping(RemindShipping),
    OrderSettlement(OrderSettlement),
    /// Any other event (or a known one missing a required field): its fields.
    Other {
        event: String,
        fields: Map<String, Value>,
    },
}

/// Fields the seeds define as numbers; XML carries them as text.
const NUMERIC: &[&str] = &[
    "CreateTime",
    "pay_time",
    "shipped_time",
    "estimated_settlement_time",
    "confirm_receive_method",
    "confirm_receive_time",
    "settlement_time",
];

/// The event's fields as JSON, numbers where the seed says number (a value
/// that does not parse stays text: nothing WeChat sends is dropped).
pub fn event_data(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) if NUMERIC.contains(&k.as_str()) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| v.clone()),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

impl MiniProgramEvent {
    /// Types `event` with `data` (from [`event_data`]).
    pub fn parse(event: &str, data: &Map<String, Value>) -> Self {
        let value = Value::Object(data.clone());
        let typed = match event {
            REMIND_ACCESS_API => serde_json::from_value(value).map(Self::RemindAccessApi),
            REMIND_SHIPPING => serde_json::from_value(value).map(Self::RemindShipping),
            ORDER_SETTLEMENT => serde_json::from_value(value).map(Self::OrderSettlement),
            _ => {
                return Self::Other {
                    event: event.to_owned(),
                    fields: data.clone(),
                };
            }
        };
        typed.unwrap_or_else(|_| Self::Other {
            event: event.to_owned(),
            fields: data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_receive_methods_follow_the_seed() {
        assert_eq!(confirm_receive_method_name(1), Some("manual"));
        assert_eq!(confirm_receive_method_name(2), Some("auto"));
        assert_eq!(confirm_receive_method_name(0), None);
        assert_eq!(confirm_receive_method_name(3), None);
    }

    fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn seed_events_are_typed_with_numbers() {
        let data = event_data(&fields(&[
            ("transaction_id", "4200001"),
            ("merchant_id", "1230000109"),
            ("merchant_trade_no", "T1"),
            ("pay_time", "1670563531"),
            ("shipped_time", "1670600000"),
            ("estimated_settlement_time", "1671000000"),
        ]));
        assert_eq!(data["pay_time"], 1670563531);
        match MiniProgramEvent::parse(ORDER_SETTLEMENT, &data) {
            MiniProgramEvent::OrderSettlement(e) => {
                assert_eq!(e.estimated_settlement_time, Some(1671000000));
                assert_eq!(e.settlement_time, None);
            }
            other => panic!("{other:?}"),
        }
        // A known event missing a required field is kept, as generic.
        let partial = event_data(&fields(&[("msg", "x")]));
        assert!(matches!(
            MiniProgramEvent::parse(REMIND_SHIPPING, &partial),
            MiniProgramEvent::Other { .. }
        ));
        // Unparseable numbers stay text.
        assert_eq!(
            event_data(&fields(&[("pay_time", "soon")]))["pay_time"],
            "soon"
        );
    }
}
