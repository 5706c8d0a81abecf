//! The JSON body of a delivery.
use serde::Serialize;
use serde_json::Value;
use store::events::Event;
use wechat_api::events::{ORDER_SETTLEMENT, confirm_receive_method_name};

/// `{id, type, appid, tenant_id, occurred_at, data}`: `id` is the event's
/// (the same on every retry and replay, for receivers to dedupe).
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub appid: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub occurred_at: String,
    pub data: &'a Value,
}

pub fn body(event: &Event) -> Vec<u8> {
    let data = normalised(&event.event_type, &event.data);
    let payload = Payload {
        id: &event.id,
        event_type: &event.event_type,
        appid: event.authorizer_appid.as_deref(),
        tenant_id: event.tenant_id.as_deref(),
        occurred_at: event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data: data.as_ref().unwrap_or(&event.data),
    };
    // Serialising plain strings and a JSON value cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The event's data with names added for WeChat's codes, so receivers need
/// not know them: a `trade_manage_order_settlement` with
/// `confirm_receive_method` 1 or 2 gets `confirm_receive_method_name`
/// `manual` or `auto` (seed 004's numbering, which field reports confirm).
/// WeChat's own fields stay as sent. `None` when nothing is added.
///
/// Added when delivering (not when storing), so replays of events stored
/// before carry it too, and the stored event stays exactly what WeChat sent.
fn normalised(event_type: &str, data: &Value) -> Option<Value> {
    if event_type != ORDER_SETTLEMENT {
        return None;
    }
    let name = data
        .get("confirm_receive_method")
        .and_then(|m| m.as_i64().or_else(|| m.as_str()?.trim().parse().ok()))
        .and_then(confirm_receive_method_name)?;
    let mut data = data.clone();
    data.as_object_mut()?
        .insert("confirm_receive_method_name".to_owned(), Value::from(name));
    Some(data)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settlements_name_the_confirm_receive_method() {
        let data = json!({"transaction_id": "4200", "confirm_receive_method": 1});
        let named = normalised(ORDER_SETTLEMENT, &data).unwrap();
        assert_eq!(named["confirm_receive_method_name"], "manual");
        assert_eq!(named["confirm_receive_method"], 1);
        let auto = json!({"confirm_receive_method": "2"});
        assert_eq!(
            normalised(ORDER_SETTLEMENT, &auto).unwrap()["confirm_receive_method_name"],
            "auto"
        );
        // At shipping there is no method; other events and values are untouched.
        assert!(normalised(ORDER_SETTLEMENT, &json!({"shipped_time": 1})).is_none());
        assert!(normalised(ORDER_SETTLEMENT, &json!({"confirm_receive_method": 7})).is_none());
        assert!(normalised("trade_manage_remind_shipping", &data).is_none());
    }
}
