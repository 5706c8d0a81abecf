//! The JSON body of a delivery.
use serde::Serialize;
use serde_json::Value;
use store::events::Event;

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
    let payload = Payload {
        id: &event.id,
        event_type: &event.event_type,
        appid: event.authorizer_appid.as_deref(),
        tenant_id: event.tenant_id.as_deref(),
        occurred_at: event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data: &event.data,
    };
    // Serialising plain strings and a JSON value cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}
