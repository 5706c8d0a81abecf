//! Mini Program events pushed to the platform's 消息与事件接收 URL
//! (`/wechat/apps/{appid}/events`): always safe mode, encrypted with the
//! component's key, the trailer appid the component's (protocol.md §10).
//! Parsed from XML, or JSON defensively; stored once per happening, with the
//! webhook deliveries it causes, before WeChat hears `success`.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use store::{
    events::NewEvent,
    shipping_orders::{OrderNews, OrderNote, SeenOrder, Settlement},
};
use wechat_api::events::{MiniProgramEvent, event_data};

use crate::{AuthError, PushQuery, TenantAuth, push::PushParseError};

/// WeChat gives up on an answer after 5 s and retries; commit or fail
/// before that, so a slow database is a retry, not a silent loss.
const STORE_BUDGET: Duration = Duration::from_secs(4);

/// A decrypted push: its envelope and every field.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPush {
    /// The Mini Program's original id (`gh_…`).
    pub to_user_name: String,
    pub from_user_name: String,
    pub create_time: i64,
    /// `event` for events; `text`, `image`… for user messages.
    pub msg_type: String,
    /// The event name (`trade_manage_order_settlement`…), for events.
    pub event: Option<String>,
    /// Every field, as pushed (XML leaves as strings, nested elements as objects).
    pub fields: Map<String, Value>,
}

impl AppPush {
    /// What tenants subscribe to: the event name, or `message.<type>`.
    pub fn event_type(&self) -> String {
        match &self.event {
            Some(e) if self.msg_type == "event" => e.clone(),
            _ => format!("message.{}", self.msg_type),
        }
    }
}

/// What happened to a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppPushOutcome {
    Stored {
        event_type: String,
    },
    /// Already stored (WeChat's retry, or the same event twice).
    Duplicate {
        event_type: String,
    },
}

/// Parses a decrypted message: XML (always, from WeChat) or JSON.
pub fn parse_app_push(plaintext: &str) -> Result<AppPush, PushParseError> {
    let trimmed = plaintext.trim_start();
    let fields = if trimmed.starts_with('{') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(map)) => map,
            _ => return Err(PushParseError::Xml("not a JSON object")),
        }
    } else {
        xml_fields(trimmed)?
    };
    let text = |name: &'static str| -> Result<String, PushParseError> {
        match fields.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(PushParseError::Missing(name)),
        }
    };
    let create_time = text("CreateTime")?
        .trim()
        .parse::<i64>()
        .map_err(|_| PushParseError::Xml("CreateTime is not a number"))?;
    Ok(AppPush {
        to_user_name: text("ToUserName")?,
        from_user_name: text("FromUserName").unwrap_or_default(),
        create_time,
        msg_type: text("MsgType")?,
        event: text("Event").ok(),
        fields,
    })
}

/// `<xml><A>1</A><B><C>2</C></B></xml>` → `{"A":"1","B":{"C":"2"}}`; a
/// repeated element becomes an array. Written here: quick-xml's serde needs
/// a type per shape, and pushes are open-ended.
fn xml_fields(xml: &str) -> Result<Map<String, Value>, PushParseError> {
    use quick_xml::{Reader, events::Event};
    let mut reader = Reader::from_str(xml);
    // (name, children, text) per open element.
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<Map<String, Value>> = None;
    loop {
        match reader
            .read_event()
            .map_err(|_| PushParseError::Xml("not well-formed XML"))?
        {
            Event::Start(start) => {
                let name = AsRef::<str>::as_ref(&start.name()).to_owned();
                stack.push((name, Map::new(), String::new()));
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(t.as_ref());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(c.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        top.2.push(c);
                    } else {
                        let name: &str = r.as_ref();
                        top.2.push_str(match name {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "quot" => "\"",
                            "apos" => "'",
                            _ => "",
                        });
                    }
                }
            }
            Event::Empty(e) => {
                let name = AsRef::<str>::as_ref(&e.name()).to_owned();
                if let Some(top) = stack.last_mut() {
                    insert(&mut top.1, name, Value::String(String::new()));
                }
            }
            Event::End(_) => {
                let Some((name, children, text)) = stack.pop() else {
                    return Err(PushParseError::Xml("unbalanced XML"));
                };
                let value = if children.is_empty() {
                    Value::String(text.trim().to_owned())
                } else {
                    Value::Object(children)
                };
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.1, name, value),
                    None => {
                        root = match value {
                            Value::Object(map) => Some(map),
                            _ => Some(Map::new()),
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or(PushParseError::Xml("no root element"))
}

fn insert(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            map.insert(name, value);
        }
    }
}

impl TenantAuth {
    /// Verifies, decrypts, parses and stores a Mini Program push for
    /// `appid`, with its webhook deliveries, in one transaction. Only an
    /// `Ok` may be acknowledged to WeChat.
    pub async fn receive_app_push(
        &self,
        appid: &str,
        query: &PushQuery,
        body: &str,
    ) -> Result<AppPushOutcome, AuthError> {
        let decrypted = if body.trim_start().starts_with('{') {
            // Defensive: some pushes are configured as JSON.
            let outer: Value = serde_json::from_str(body)
                .map_err(|_| PushParseError::Xml("body is neither XML nor JSON"))?;
            let encrypt = outer
                .get("Encrypt")
                .and_then(Value::as_str)
                .ok_or(PushParseError::Missing("Encrypt"))?;
            self.crypt.verify_signature(
                &query.msg_signature,
                &query.timestamp,
                &query.nonce,
                encrypt,
            )?;
            self.crypt.decrypt(encrypt)?
        } else {
            self.crypt
                .open(&query.msg_signature, &query.timestamp, &query.nonce, body)?
        };
        self.check_push_timestamp(&query.timestamp)?;
        let push = parse_app_push(&decrypted.message)?;
        self.check_create_time(Some(push.create_time))?;
        // Cached: a push per event is a hot path.
        let mut authorizer = self
            .store
            .cached_authorizer(appid)
            .await?
            .ok_or_else(|| AuthError::AuthorizerNotFound(appid.to_owned()))?;
        // The URL names the appid; the message names the account (its gh_
        // id), and the signature does not cover the URL: they must agree,
        // or a push for one Mini Program could be replayed to another's URL.
        if authorizer.user_name.is_none() {
            // Not known yet (the profile fetch after authorization failed):
            // ask WeChat now; if it cannot say, WeChat retries the push.
            self.sync_authorizer_profile(appid).await?;
            authorizer = self
                .store
                .authorizer(appid)
                .await?
                .ok_or_else(|| AuthError::AuthorizerNotFound(appid.to_owned()))?;
        }
        if authorizer.user_name.as_deref() != Some(push.to_user_name.as_str()) {
            return Err(AuthError::PushWrongAccount {
                appid: appid.to_owned(),
                to_user_name: push.to_user_name,
            });
        }
        let event_type = push.event_type();
        let data = event_data(&push.fields);
        let typed = MiniProgramEvent::parse(&event_type, &data);
        if let MiniProgramEvent::Other { .. } = typed
            && event_type.starts_with("trade_manage_")
        {
            tracing::warn!(event = %event_type, "a shipping event lacks a field the seed requires; kept as generic");
        }
        // A retry is the same message: same sender, time, event and fields.
        // Hashing every field (not only the ids) keeps two different events
        // of one order in the same second apart (shipped, then settled).
        let fingerprint = hex::encode(Sha256::digest(Value::Object(data.clone()).to_string()));
        let new = NewEvent {
            tenant_id: authorizer.tenant_id.clone(),
            authorizer_appid: Some(appid.to_owned().into()),
            event_type: event_type.clone(),
            data: Value::Object(data),
            dedupe_key: format!(
                "app:{appid}:{}:{}:{event_type}:{fingerprint}",
                push.from_user_name, push.create_time
            ),
            occurred_at: self.clock.at_unix(push.create_time),
            // Stored with the event, so `success` covers it.
            order_note: order_note(&typed, self.clock.now()),
        };
        let stored = tokio::time::timeout(STORE_BUDGET, self.store.record_event(&new))
            .await
            .map_err(|_| {
                AuthError::Store(store::StoreError::Unavailable(
                    "storing the event took too long".into(),
                ))
            })??;
        crate::metrics::app_push(&event_type, stored);
        Ok(if stored {
            AppPushOutcome::Stored { event_type }
        } else {
            AppPushOutcome::Duplicate { event_type }
        })
    }
}

/// What a shipping push says about its order, for reconciliation: a
/// reminder makes it pending (and the Mini Program's reconciliation due
/// now); a settlement push ships it and records the settlement, with
/// `confirm_receive_method` as `manual`/`auto`.
fn order_note(event: &MiniProgramEvent, at: DateTime<Utc>) -> Option<OrderNote> {
    let (order, news) = match event {
        MiniProgramEvent::RemindShipping(r) => (
            SeenOrder {
                transaction_id: r.transaction_id.clone(),
                merchant_id: r.merchant_id.clone(),
                sub_merchant_id: r.sub_merchant_id.clone(),
                merchant_trade_no: r.merchant_trade_no.clone(),
                pay_time: r.pay_time,
            },
            OrderNews::Reminded,
        ),
        MiniProgramEvent::OrderSettlement(s) => (
            SeenOrder {
                transaction_id: s.transaction_id.clone(),
                merchant_id: s.merchant_id.clone(),
                sub_merchant_id: s.sub_merchant_id.clone(),
                merchant_trade_no: s.merchant_trade_no.clone(),
                pay_time: s.pay_time,
            },
            OrderNews::Settled(Settlement {
                confirm_receive_method: s.confirm_receive_method.map(|m| {
                    wechat_api::events::confirm_receive_method_name(m)
                        .map(str::to_owned)
                        .unwrap_or_else(|| m.to_string())
                }),
                estimated_settlement_time: s.estimated_settlement_time,
                settlement_time: s.settlement_time,
            }),
        ),
        _ => return None,
    };
    Some(OrderNote { order, news, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_pushes_parse() {
        let xml = "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[o_sys]]></FromUserName>\
                   <CreateTime>1670563531</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                   <Event><![CDATA[trade_manage_remind_shipping]]></Event><transaction_id><![CDATA[42]]></transaction_id>\
                   <pay_time>1670563000</pay_time><msg><![CDATA[a &amp; b]]></msg><list><item>1</item><item>2</item></list></xml>";
        let push = parse_app_push(xml).unwrap();
        assert_eq!(push.to_user_name, "gh_abc");
        assert_eq!(push.create_time, 1670563531);
        assert_eq!(push.event_type(), "trade_manage_remind_shipping");
        assert_eq!(push.fields["pay_time"], "1670563000");
        assert_eq!(push.fields["list"]["item"], serde_json::json!(["1", "2"]));
        let json = r#"{"ToUserName":"gh_abc","FromUserName":"o","CreateTime":1670563531,"MsgType":"text","Content":"hi"}"#;
        let push = parse_app_push(json).unwrap();
        assert_eq!(push.event_type(), "message.text");
        assert!(matches!(
            parse_app_push("<xml><ToUserName>x</ToUserName></xml>"),
            Err(PushParseError::Missing("CreateTime"))
        ));
        assert!(parse_app_push("garbage").is_err());
        assert!(parse_app_push("<xml><a></b></xml>").is_err());
    }
}
