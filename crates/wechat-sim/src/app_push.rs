//! Mini Program event pushes to the gateway's 消息与事件接收 URL, sent as
//! WeChat sends them to a third-party platform (protocol.md §3, §10; seed 004
//! "IX. Relevant Messaging"):
//!
//! - POST to the URL template with `$APPID$` replaced by the authorizer
//!   appid, query `signature`, `timestamp`, `nonce`, `openid` (the sender,
//!   as in the official third-party example), `encrypt_type=aes`,
//!   `msg_signature`;
//! - body `<xml><ToUserName><![CDATA[gh_…]]></ToUserName><Encrypt>…</Encrypt></xml>`
//!   (text/xml), the plaintext encrypted with the **component's** key and
//!   the component appid as trailer;
//! - an answer other than HTTP 200 with body `success` or empty, or no
//!   answer within [`SimConfig::app_push_timeout`] (WeChat: 5 s), is
//!   retried, [`APP_PUSH_TRIES`] tries in all, each one the very same
//!   request (same body, same CreateTime), which is what receivers dedupe on.
//!
//! [`SimConfig::app_push_timeout`]: crate::SimConfig::app_push_timeout
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wechat_api::shipping::ShippingOrder;

use crate::{Simulator, push::SimError, push::cdata, state::original_id};

/// Tries WeChat makes per app push: the first and two retries.
pub const APP_PUSH_TRIES: u32 = 3;

/// How long after shipping the simulator estimates settlement
/// (`estimated_settlement_time`), in seconds. WeChat publishes no fixed
/// delay (it depends on receipt confirmation); ten days is the sim's choice.
pub const ESTIMATED_SETTLEMENT_DELAY_SECS: i64 = 10 * 24 * 3600;

/// `msg` of [`AppEvent::remind_access_api`]. WeChat's wording is not
/// published; this text is illustrative.
pub const REMIND_ACCESS_API_MSG: &str =
    "你的小程序已产生交易，请尽快接入发货信息管理服务API，以免影响资金结算";

/// `msg` of [`AppEvent::remind_shipping_for`] (illustrative, like
/// [`REMIND_ACCESS_API_MSG`]).
pub const REMIND_SHIPPING_MSG: &str = "你的小程序有订单超过48小时未录入发货信息，请尽快发货";

/// `confirm_receive_method` values, by seed 004's numbering (1 manual, 2
/// automatic), which field reports confirm.
pub use wechat_api::events::{CONFIRM_RECEIVE_AUTO, CONFIRM_RECEIVE_MANUAL};

/// A Mini Program event to push. The JSON form (control route) is the event
/// name under `event` plus its fields, as in the XML:
/// `{"event": "trade_manage_remind_shipping", "transaction_id": "…", …}`;
/// any other event name takes `fields`: `{"event": "x", "fields": [["k", "v"]]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum AppEvent {
    /// `trade_manage_remind_access_api`: the Mini Program should integrate
    /// the shipping-management APIs.
    #[serde(rename = "trade_manage_remind_access_api")]
    RemindAccessApi { msg: String },
    /// `trade_manage_remind_shipping`: an order has gone 48 h unshipped.
    #[serde(rename = "trade_manage_remind_shipping")]
    RemindShipping {
        transaction_id: String,
        merchant_id: String,
        sub_merchant_id: String,
        merchant_trade_no: String,
        /// Unix seconds.
        pay_time: i64,
        msg: String,
    },
    /// `trade_manage_order_settlement`: pushed on shipping (with
    /// `estimated_settlement_time`) and on settlement (with the
    /// `confirm_receive_*` fields and `settlement_time`). Absent fields are
    /// left out of the XML, as WeChat does.
    #[serde(rename = "trade_manage_order_settlement")]
    OrderSettlement {
        transaction_id: String,
        merchant_id: String,
        sub_merchant_id: String,
        merchant_trade_no: String,
        pay_time: i64,
        shipped_time: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_settlement_time: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm_receive_method: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm_receive_time: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settlement_time: Option<i64>,
    },
    /// Any other event, e.g. one the gateway does not know. Values made only
    /// of digits (with an optional leading `-`) are written bare, the rest as
    /// CDATA, which is how WeChat writes numbers and strings.
    #[serde(untagged)]
    Other {
        event: String,
        fields: Vec<(String, String)>,
    },
}

/// A field value as WeChat writes it: strings in CDATA, numbers bare.
enum FieldValue<'a> {
    Text(&'a str),
    Number(i64),
    /// An `Other` value that is an integer, written as given (so `007`
    /// stays `007`).
    Bare(&'a str),
}

impl FieldValue<'_> {
    fn to_xml(&self) -> String {
        match self {
            FieldValue::Text(text) => cdata(text),
            FieldValue::Number(n) => n.to_string(),
            FieldValue::Bare(text) => (*text).to_owned(),
        }
    }
}

/// Whether `name` can be an XML element name as WeChat's field names are
/// (`[A-Za-z_][A-Za-z0-9_.-]*`). Checked because `Other` fields come from
/// control-route JSON and are written into the XML as tags.
fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether `value` is written bare in an `Other` event (an integer).
fn looks_numeric(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Whether `appid` is safe to put in the URL path and the XML. Real appids
/// are `wx` + 16 hex; the check is looser so tests can use any plain id.
fn valid_appid(appid: &str) -> bool {
    (1..=64).contains(&appid.len())
        && appid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// The openid WeChat's system account has towards `appid`: the
/// `FromUserName` of trade-management events ("the sender is the system
/// account"). Stable per appid, 28 characters starting with `o`, like real
/// openids.
pub fn system_openid(appid: &str) -> String {
    // By characters, not bytes: `appid` is caller input and may not be ASCII.
    format!("oSYS{}", appid.trim_start_matches("wx"))
        .chars()
        .chain(std::iter::repeat('0'))
        .take(28)
        .collect()
}

/// When the order's last parcel was shipped (its latest upload time); the
/// payment time for an order that has not shipped.
fn shipped_time(order: &ShippingOrder) -> i64 {
    order
        .shipping
        .as_ref()
        .and_then(|s| s.shipping_list.iter().map(|i| i.upload_time).max())
        .unwrap_or(order.pay_time)
}

impl AppEvent {
    /// `trade_manage_remind_access_api` with [`REMIND_ACCESS_API_MSG`].
    pub fn remind_access_api() -> Self {
        AppEvent::RemindAccessApi {
            msg: REMIND_ACCESS_API_MSG.to_owned(),
        }
    }

    /// `trade_manage_remind_shipping` for `order` (as [`Simulator::order`]
    /// shows it; a [`crate::SimOrder`] lacks the payment time).
    pub fn remind_shipping_for(order: &ShippingOrder) -> Self {
        AppEvent::RemindShipping {
            transaction_id: order.transaction_id.clone(),
            merchant_id: order.merchant_id.clone(),
            sub_merchant_id: order.sub_merchant_id.clone(),
            merchant_trade_no: order.merchant_trade_no.clone(),
            pay_time: order.pay_time,
            msg: REMIND_SHIPPING_MSG.to_owned(),
        }
    }

    /// `trade_manage_order_settlement` for `order`. `settled == false`: the
    /// push on shipping, with `estimated_settlement_time` =
    /// `shipped_time` + [`ESTIMATED_SETTLEMENT_DELAY_SECS`]. `settled ==
    /// true`: the push on settlement, receipt confirmed automatically
    /// ([`CONFIRM_RECEIVE_AUTO`], 2) and settled at that estimate.
    pub fn order_settlement_for(order: &ShippingOrder, settled: bool) -> Self {
        Self::order_settlement_with(order, settled.then_some(CONFIRM_RECEIVE_AUTO))
    }

    /// `trade_manage_order_settlement` for `order`: on settlement when
    /// `confirm_receive_method` is given ([`CONFIRM_RECEIVE_MANUAL`] 1: the
    /// user confirmed receipt, [`CONFIRM_RECEIVE_AUTO`] 2: confirmed
    /// automatically), else on shipping; see [`Self::order_settlement_for`].
    pub fn order_settlement_with(
        order: &ShippingOrder,
        confirm_receive_method: Option<i64>,
    ) -> Self {
        let shipped_time = shipped_time(order);
        let estimate = shipped_time + ESTIMATED_SETTLEMENT_DELAY_SECS;
        match confirm_receive_method {
            Some(method) => Self::order_settled(order, shipped_time, method, estimate),
            None => Self::order_shipped(order, shipped_time, estimate),
        }
    }

    /// `trade_manage_order_settlement` for `order` with the given times:
    /// either `estimated_settlement_time` (the push at shipping) or the
    /// receipt (method, time) with the settlement time (the push at
    /// settlement), never both (seed 004 IX).
    fn settlement(
        order: &ShippingOrder,
        shipped_time: i64,
        estimated_settlement_time: Option<i64>,
        receipt: Option<(i64, i64)>,
    ) -> Self {
        AppEvent::OrderSettlement {
            transaction_id: order.transaction_id.clone(),
            merchant_id: order.merchant_id.clone(),
            sub_merchant_id: order.sub_merchant_id.clone(),
            merchant_trade_no: order.merchant_trade_no.clone(),
            pay_time: order.pay_time,
            shipped_time,
            estimated_settlement_time,
            confirm_receive_method: receipt.map(|(method, _)| method),
            confirm_receive_time: receipt.map(|(_, at)| at),
            settlement_time: receipt.map(|(_, at)| at),
        }
    }

    /// `trade_manage_order_settlement` as the simulator pushes it on its
    /// own when `order` ships: `shipped_time` and
    /// `estimated_settlement_time` given (the sim clock's, see
    /// `state::shipping`'s "Order timers and pushes"). Seed 004 IX: pushed
    /// "When the order is completed and shipped"; `estimated_settlement_time`
    /// "You only have this field when you push it when you ship".
    pub fn order_shipped(
        order: &ShippingOrder,
        shipped_time: i64,
        estimated_settlement_time: i64,
    ) -> Self {
        Self::settlement(order, shipped_time, Some(estimated_settlement_time), None)
    }

    /// `trade_manage_order_settlement` as the simulator pushes it on its
    /// own when receipt of `order` is confirmed (`confirm_receive_method`
    /// [`CONFIRM_RECEIVE_MANUAL`] or [`CONFIRM_RECEIVE_AUTO`]) at
    /// `confirmed_at`, which is also the settlement time. Seed 004 IX:
    /// pushed "When the order is settled"; `confirm_receive_method`,
    /// `confirm_receive_time` and `settlement_time` "Only the field is pushed
    /// when settlement occurs".
    pub fn order_settled(
        order: &ShippingOrder,
        shipped_time: i64,
        confirm_receive_method: i64,
        confirmed_at: i64,
    ) -> Self {
        Self::settlement(
            order,
            shipped_time,
            None,
            Some((confirm_receive_method, confirmed_at)),
        )
    }

    /// The XML `Event` value, e.g. `trade_manage_remind_shipping`.
    pub fn name(&self) -> &str {
        match self {
            AppEvent::RemindAccessApi { .. } => "trade_manage_remind_access_api",
            AppEvent::RemindShipping { .. } => "trade_manage_remind_shipping",
            AppEvent::OrderSettlement { .. } => "trade_manage_order_settlement",
            AppEvent::Other { event, .. } => event,
        }
    }

    /// The event's own fields, in the seed's order.
    fn fields(&self) -> Result<Vec<(&str, FieldValue<'_>)>, SimError> {
        use FieldValue::{Bare, Number, Text};
        /// The order identifiers both order events start with.
        fn order_ids<'a>(
            transaction_id: &'a str,
            merchant_id: &'a str,
            sub_merchant_id: &'a str,
            merchant_trade_no: &'a str,
        ) -> Vec<(&'static str, FieldValue<'a>)> {
            vec![
                ("transaction_id", Text(transaction_id)),
                ("merchant_id", Text(merchant_id)),
                ("sub_merchant_id", Text(sub_merchant_id)),
                ("merchant_trade_no", Text(merchant_trade_no)),
            ]
        }
        Ok(match self {
            AppEvent::RemindAccessApi { msg } => vec![("msg", Text(msg))],
            AppEvent::RemindShipping {
                transaction_id,
                merchant_id,
                sub_merchant_id,
                merchant_trade_no,
                pay_time,
                msg,
            } => {
                let mut fields = order_ids(
                    transaction_id,
                    merchant_id,
                    sub_merchant_id,
                    merchant_trade_no,
                );
                fields.push(("pay_time", Number(*pay_time)));
                fields.push(("msg", Text(msg)));
                fields
            }
            AppEvent::OrderSettlement {
                transaction_id,
                merchant_id,
                sub_merchant_id,
                merchant_trade_no,
                pay_time,
                shipped_time,
                estimated_settlement_time,
                confirm_receive_method,
                confirm_receive_time,
                settlement_time,
            } => {
                let mut fields = order_ids(
                    transaction_id,
                    merchant_id,
                    sub_merchant_id,
                    merchant_trade_no,
                );
                fields.push(("pay_time", Number(*pay_time)));
                fields.push(("shipped_time", Number(*shipped_time)));
                let optional = [
                    ("estimated_settlement_time", estimated_settlement_time),
                    ("confirm_receive_method", confirm_receive_method),
                    ("confirm_receive_time", confirm_receive_time),
                    ("settlement_time", settlement_time),
                ];
                for (name, value) in optional {
                    if let Some(v) = value {
                        fields.push((name, Number(*v)));
                    }
                }
                fields
            }
            AppEvent::Other { event, fields } => {
                if event.is_empty() {
                    return Err(SimError::InvalidEvent("the event name is empty".into()));
                }
                let mut out = Vec::with_capacity(fields.len());
                for (name, value) in fields {
                    if !valid_field_name(name) {
                        return Err(SimError::InvalidEvent(format!(
                            "{name:?} is not an XML element name"
                        )));
                    }
                    let value = if looks_numeric(value) {
                        Bare(value)
                    } else {
                        Text(value)
                    };
                    out.push((name.as_str(), value));
                }
                out
            }
        })
    }

    /// The plaintext message WeChat encrypts: common fields, then the
    /// event's own.
    fn to_xml(
        &self,
        to_user_name: &str,
        from_user_name: &str,
        create_time: i64,
    ) -> Result<String, SimError> {
        let fields: String = self
            .fields()?
            .iter()
            .map(|(name, value)| format!("<{name}>{}</{name}>", value.to_xml()))
            .collect();
        Ok(format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Event>{}</Event>{fields}</xml>",
            cdata(to_user_name),
            cdata(from_user_name),
            cdata("event"),
            cdata(self.name()),
        ))
    }
}

/// One sealed push, ready to be sent (and sent again: a retry or a
/// duplicate is exactly this request once more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPushMessage {
    /// The authorizer appid (`$APPID$`).
    pub appid: String,
    /// The `Event` value.
    pub event: String,
    /// `CreateTime` (sim clock, unix seconds); also the query `timestamp`.
    pub create_time: i64,
    /// `ToUserName`: the Mini Program's `gh_` id.
    pub to_user_name: String,
    /// `FromUserName`: the system account's openid ([`system_openid`]).
    pub from_user_name: String,
    /// The decrypted message, for assertions.
    pub plaintext: String,
    /// The full URL, query included.
    pub url: String,
    /// The encrypted envelope POSTed.
    pub body: String,
}

/// What one try got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PushAttempt {
    /// The gateway answered (any status).
    Answered {
        status: u16,
        body: String,
        elapsed_ms: u64,
    },
    /// No complete answer within the timeout.
    TimedOut { elapsed_ms: u64 },
    /// No answer at all (connection refused or reset, …).
    Failed { error: String, elapsed_ms: u64 },
}

impl PushAttempt {
    /// Whether WeChat would stop retrying: HTTP 200 with `success` or an
    /// empty body.
    pub fn acknowledged(&self) -> bool {
        matches!(self, PushAttempt::Answered { status: 200, body, .. } if body.is_empty() || body == "success")
    }
}

/// Every try of one delivery of an app push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPushOutcome {
    /// What was sent; [`Simulator::deliver_app_push`] sends it again.
    pub message: AppPushMessage,
    /// In order; the last one is the acknowledged one when `acknowledged`.
    pub attempts: Vec<PushAttempt>,
    pub acknowledged: bool,
}

impl Simulator {
    /// Sends the queued Mini Program events (the order pushes the rules
    /// gave rise to, `state::shipping`) in a background task, so the call
    /// that queued them answers at once, as WeChat's API answers do not
    /// wait for its pushes. Without a Tokio runtime they stay queued until
    /// a call that has one.
    pub(crate) fn push_queued_app_events_later(&self) {
        if !self.lock().has_app_events() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("wechat-sim: no Tokio runtime; app events stay queued");
            return;
        };
        let sim = self.clone();
        runtime.spawn(async move {
            sim.push_queued_app_events().await;
        });
    }

    /// Sends every queued Mini Program event now, oldest first, each with
    /// WeChat's retries ([`Simulator::push_app_event`]), and returns what
    /// each delivery got. Deliveries never overlap, so the gateway gets the
    /// events in the order they arose. An event that cannot be sent (no
    /// app-events URL) is dropped, as WeChat's push to nowhere is lost.
    pub async fn push_queued_app_events(&self) -> Vec<AppPushOutcome> {
        self.with_queued_app_events_pushed(|_| ()).await.1
    }

    /// Runs `change` on the state, then sends the queued events as
    /// [`Simulator::push_queued_app_events`] does. `change` runs once
    /// earlier deliveries are done, so what it queues is pushed, and
    /// reported, here rather than by a delivery already under way.
    pub(crate) async fn with_queued_app_events_pushed<T>(
        &self,
        change: impl FnOnce(&mut crate::state::State) -> T,
    ) -> (T, Vec<AppPushOutcome>) {
        let _in_order = self.app_push_order.lock().await;
        let changed = change(&mut self.lock());
        let mut outcomes = Vec::new();
        loop {
            let queued = self.lock().take_app_events();
            if queued.is_empty() {
                return (changed, outcomes);
            }
            for q in queued {
                match self.push_app_event(&q.appid, &q.event).await {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(e @ SimError::NoAppGateway) => {
                        tracing::debug!(authorizer.appid = %q.appid, event = q.event.name(), error = %e, "wechat-sim dropped an app event");
                    }
                    Err(e) => {
                        tracing::warn!(authorizer.appid = %q.appid, event = q.event.name(), error = %e, "wechat-sim could not push an app event");
                    }
                }
            }
        }
    }

    /// Where pushes for Mini Programs go from now on (a template with `$APPID$`).
    pub fn set_gateway_app_events_url(&self, url_template: &str) {
        self.lock().config.gateway_app_events_url = Some(url_template.to_owned());
    }

    /// Builds, encrypts and signs `event` for `appid` as WeChat would, at the
    /// sim clock's now, without sending it.
    pub fn seal_app_event(
        &self,
        appid: &str,
        event: &AppEvent,
    ) -> Result<AppPushMessage, SimError> {
        let (config, now) = {
            let s = self.lock();
            (s.config.clone(), s.now())
        };
        let template = config
            .gateway_app_events_url
            .as_deref()
            .ok_or(SimError::NoAppGateway)?;
        if !valid_appid(appid) {
            return Err(SimError::InvalidAppid(appid.to_owned()));
        }
        let raw_url = template.replace("$APPID$", appid);
        let mut url = url::Url::parse(&raw_url).map_err(|source| SimError::InvalidGatewayUrl {
            url: raw_url.clone(),
            source,
        })?;
        let to_user_name = original_id(appid);
        let from_user_name = system_openid(appid);
        let plaintext = event.to_xml(&to_user_name, &from_user_name, now)?;
        // The component's key and appid trailer, even though the message is
        // about (and addressed to) the Mini Program (protocol.md §3, §12.4).
        let body = crate::push::seal(
            &config,
            &mut url,
            ("ToUserName", &to_user_name),
            &plaintext,
            now,
            Some(&from_user_name),
        )?;
        Ok(AppPushMessage {
            appid: appid.to_owned(),
            event: event.name().to_owned(),
            create_time: now,
            to_user_name,
            from_user_name,
            plaintext,
            url: url.to_string(),
            body,
        })
    }

    /// Pushes `event` for `appid` with WeChat's retries: up to
    /// [`APP_PUSH_TRIES`] tries of the same request until one is
    /// acknowledged. The gateway not answering is an outcome, not an error;
    /// errors are configuration or input problems.
    pub async fn push_app_event(
        &self,
        appid: &str,
        event: &AppEvent,
    ) -> Result<AppPushOutcome, SimError> {
        let message = self.seal_app_event(appid, event)?;
        Ok(self.deliver_app_push(&message, APP_PUSH_TRIES).await)
    }

    /// Like [`Simulator::push_app_event`] with a single try: for tests of
    /// what the gateway answers, without WeChat's retries.
    pub async fn push_app_event_once(
        &self,
        appid: &str,
        event: &AppEvent,
    ) -> Result<AppPushOutcome, SimError> {
        let message = self.seal_app_event(appid, event)?;
        Ok(self.deliver_app_push(&message, 1).await)
    }

    /// Sends `message` (byte for byte what was sent before) up to `tries`
    /// times (at least once) until acknowledged. Delivering an already
    /// acknowledged message again is a duplicate, as WeChat produces when
    /// an acknowledgement is lost.
    pub async fn deliver_app_push(&self, message: &AppPushMessage, tries: u32) -> AppPushOutcome {
        let timeout = self.config().app_push_timeout;
        let mut attempts = Vec::new();
        let mut acknowledged = false;
        for _ in 0..tries.max(1) {
            let attempt = self.try_app_push(message, timeout).await;
            acknowledged = attempt.acknowledged();
            tracing::info!(
                authorizer.appid = %message.appid,
                event = %message.event,
                attempt = attempts.len() + 1,
                acknowledged,
                result = ?attempt,
                "wechat-sim pushed an app event"
            );
            attempts.push(attempt);
            if acknowledged {
                break;
            }
        }
        AppPushOutcome {
            message: message.clone(),
            attempts,
            acknowledged,
        }
    }

    /// One try: the whole answer (status and body) must arrive within
    /// `timeout`, as WeChat's 5 s covers the reply, not just the connection.
    async fn try_app_push(&self, message: &AppPushMessage, timeout: Duration) -> PushAttempt {
        let started = Instant::now();
        let request = self
            .http
            .post(&message.url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            // Overrides the client's own timeout, which may be shorter.
            .timeout(timeout)
            .body(message.body.clone());
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(Ok((status, body))) => PushAttempt::Answered {
                status,
                body,
                elapsed_ms,
            },
            Ok(Err(e)) if e.is_timeout() => PushAttempt::TimedOut { elapsed_ms },
            Ok(Err(e)) => PushAttempt::Failed {
                error: e.to_string(),
                elapsed_ms,
            },
            Err(_) => PushAttempt::TimedOut { elapsed_ms },
        }
    }
}

#[cfg(test)]
mod tests;
