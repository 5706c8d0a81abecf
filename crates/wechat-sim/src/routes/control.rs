//! The `/sim/...` control surface: the [`Simulator`] methods over HTTP, for
//! tests and tools that run the simulator out of process. Not counted in
//! `call_counts`. Errors are `{"error": "..."}` with a 4xx/5xx status.
use std::time::Duration;

use poem::{
    IntoResponse as _, Request, Response, handler,
    http::StatusCode,
    web::{Data, Json, Path},
};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::json;

use crate::{
    APP_PUSH_TRIES, AppEvent, ConfirmReceiptError, Courier, NewCombinedOrder, NewOrder, SimError,
    Simulator, state::order_json,
};

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    Json(json!({ "error": message.to_string() }))
        .with_status(status)
        .into_response()
}

/// A JSON body; an empty body counts as `{}`.
fn parse_body<T: DeserializeOwned>(raw: &[u8]) -> serde_json::Result<T> {
    let raw = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        raw
    };
    serde_json::from_slice(raw)
}

/// 400, naming what is wrong with the body.
fn bad_body(e: serde_json::Error) -> Response {
    error(StatusCode::BAD_REQUEST, format!("body: {e}"))
}

fn push_answer(result: Result<crate::PushOutcome, SimError>) -> Response {
    match result {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e @ SimError::NoGateway) => error(StatusCode::CONFLICT, e),
        Err(e @ SimError::Http(_)) => error(StatusCode::BAD_GATEWAY, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `POST /sim/push/ticket` → PushOutcome.
#[handler]
pub(super) async fn push_ticket(Data(sim): Data<&Simulator>) -> Response {
    push_answer(sim.push_ticket().await)
}

#[derive(Deserialize)]
struct PushAuthorized {
    /// `authorized` (default) or `updateauthorized`.
    info_type: Option<String>,
    authorizer_appid: String,
    pre_auth_code: Option<String>,
}

/// `POST /sim/push/authorized {info_type?, authorizer_appid, pre_auth_code?}` → PushOutcome.
#[handler]
pub(super) async fn push_authorized(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    let req: PushAuthorized = match parse_body(&raw) {
        Ok(req) => req,
        Err(e) => return bad_body(e),
    };
    let info_type = req.info_type.as_deref().unwrap_or("authorized");
    push_answer(
        sim.push_authorized(
            info_type,
            &req.authorizer_appid,
            req.pre_auth_code.as_deref(),
        )
        .await,
    )
}

#[derive(Deserialize)]
struct PushUnauthorized {
    authorizer_appid: String,
}

/// `POST /sim/push/unauthorized {authorizer_appid}` → PushOutcome.
#[handler]
pub(super) async fn push_unauthorized(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<PushUnauthorized>(&raw) {
        Ok(req) => push_answer(sim.push_unauthorized(&req.authorizer_appid).await),
        Err(e) => bad_body(e),
    }
}

/// Most extra deliveries one `/sim/push/app-event` call makes (`repeat`),
/// so one request cannot keep the simulator busy for long.
const MAX_APP_PUSH_REPEATS: u32 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushAppEvent {
    appid: String,
    /// The event itself (AppEvent JSON), or else `from_order`.
    event: Option<AppEvent>,
    /// Build the event from a simulator order instead.
    from_order: Option<FromOrder>,
    /// A single try, without WeChat's retries.
    #[serde(default)]
    once: bool,
    /// Deliver the very same message this many more times (duplicates).
    #[serde(default)]
    repeat: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromOrder {
    transaction_id: String,
    /// `trade_manage_remind_shipping` or `trade_manage_order_settlement`.
    event: String,
    /// For `trade_manage_order_settlement`: the push on settlement (else the
    /// one on shipping).
    #[serde(default)]
    settled: bool,
    /// For the push on settlement: how receipt was confirmed, 1 manually
    /// by the user or 2 automatically (the default).
    confirm_receive_method: Option<i64>,
}

/// `POST /sim/push/app-event {appid, event | from_order, once?, repeat?}`
/// (`from_order`: `{transaction_id, event, settled?, confirm_receive_method?}`) →
/// AppPushOutcome, plus `repeats: [AppPushOutcome]` when `repeat` > 0. 409
/// without an app-events URL; 400 for a bad appid, event or order.
#[handler]
pub(super) async fn push_app_event(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    let req: PushAppEvent = match parse_body(&raw) {
        Ok(req) => req,
        Err(e) => return bad_body(e),
    };
    if req.repeat > MAX_APP_PUSH_REPEATS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("repeat is at most {MAX_APP_PUSH_REPEATS}"),
        );
    }
    let event = match (req.event, req.from_order) {
        (Some(event), None) => event,
        (None, Some(from)) => {
            let Some(shipping_order) = sim.order(&from.transaction_id) else {
                return error(StatusCode::NOT_FOUND, "no such order");
            };
            match from.event.as_str() {
                "trade_manage_remind_shipping" => AppEvent::remind_shipping_for(&shipping_order),
                "trade_manage_order_settlement" => AppEvent::order_settlement_with(
                    &shipping_order,
                    from.settled.then(|| {
                        from.confirm_receive_method
                            .unwrap_or(crate::CONFIRM_RECEIVE_AUTO)
                    }),
                ),
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "from_order.event {other:?}: expected trade_manage_remind_shipping or trade_manage_order_settlement"
                        ),
                    );
                }
            }
        }
        _ => return error(StatusCode::BAD_REQUEST, "give either event or from_order"),
    };
    let message = match sim.seal_app_event(&req.appid, &event) {
        Ok(message) => message,
        Err(e @ (SimError::NoAppGateway | SimError::InvalidGatewayUrl { .. })) => {
            return error(StatusCode::CONFLICT, e);
        }
        Err(e @ (SimError::InvalidAppid(_) | SimError::InvalidEvent(_))) => {
            return error(StatusCode::BAD_REQUEST, e);
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let tries = if req.once { 1 } else { APP_PUSH_TRIES };
    let first = sim.deliver_app_push(&message, tries).await;
    let mut repeats = Vec::new();
    for _ in 0..req.repeat {
        repeats.push(sim.deliver_app_push(&message, tries).await);
    }
    let mut answer = serde_json::to_value(&first).unwrap_or_else(|_| json!({}));
    if !repeats.is_empty() {
        answer["repeats"] = serde_json::to_value(&repeats).unwrap_or_else(|_| json!([]));
    }
    Json(answer).into_response()
}

/// `POST /sim/orders` (NewOrder, every field optional) → SimOrder.
#[handler]
pub(super) fn create_order(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<NewOrder>(&raw) {
        Ok(new) => Json(sim.create_paid_order(new)).into_response(),
        Err(e) => bad_body(e),
    }
}

/// `GET /sim/orders/{transaction_id}` → the order as get_order shows it.
#[handler]
pub(super) fn order(Data(sim): Data<&Simulator>, Path(transaction_id): Path<String>) -> Response {
    match sim.order(&transaction_id) {
        Some(order) => Json(order_json(&order)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such order"),
    }
}

/// `GET /sim/clock` → `{now}`.
#[handler]
pub(super) fn clock(Data(sim): Data<&Simulator>) -> Response {
    Json(json!({ "now": sim.now() })).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

/// `POST /sim/clock/advance {seconds}` → `{now, pushes: [AppPushOutcome]}`,
/// once the order pushes that fell due (shipping reminders, automatic
/// receipt) were delivered, so a test can check the gateway right after.
#[handler]
pub(super) async fn advance_clock(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<Advance>(&raw) {
        Ok(req) => {
            let pushes = sim.advance_clock_and_push(req.seconds).await;
            Json(json!({ "now": sim.now(), "pushes": pushes })).into_response()
        }
        Err(e) => bad_body(e),
    }
}

/// `POST /sim/orders/{transaction_id}/confirm-receipt` → `{order, pushes:
/// [AppPushOutcome]}`: the buyer confirms receipt of a shipped order (state
/// 2 → 3), and the settlement push (`confirm_receive_method` 1) is
/// delivered before the answer. 404 for an unknown order, 409 for one not
/// shipped (which includes one already confirmed).
#[handler]
pub(super) async fn confirm_receipt(
    Data(sim): Data<&Simulator>,
    Path(transaction_id): Path<String>,
) -> Response {
    match sim.confirm_receipt_and_push(&transaction_id).await {
        Ok((confirmed, pushes)) => {
            Json(json!({ "order": order_json(&confirmed), "pushes": pushes })).into_response()
        }
        Err(e @ ConfirmReceiptError::NoSuchOrder) => error(StatusCode::NOT_FOUND, e),
        Err(e @ ConfirmReceiptError::NotShipped(_)) => error(StatusCode::CONFLICT, e),
    }
}

/// The order timers and pushes of [`crate::SimConfig`], in seconds; a
/// `None` duration is a timer switched off.
#[derive(Serialize)]
struct OrderEventsView {
    remind_shipping_after_secs: Option<u64>,
    auto_confirm_after_secs: Option<u64>,
    settlement_push_on_shipping: bool,
}

/// `GET /sim/order-events` → `{remind_shipping_after_secs,
/// auto_confirm_after_secs, settlement_push_on_shipping}`.
#[handler]
pub(super) fn order_events(Data(sim): Data<&Simulator>) -> Response {
    let config = sim.config();
    Json(OrderEventsView {
        remind_shipping_after_secs: config.remind_shipping_after.map(|d| d.as_secs()),
        auto_confirm_after_secs: config.auto_confirm_after.map(|d| d.as_secs()),
        settlement_push_on_shipping: config.settlement_push_on_shipping,
    })
    .into_response()
}

/// A field that may be absent (leave it), null (`Some(None)`) or a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderEvents {
    /// Null switches the reminders off.
    #[serde(default, deserialize_with = "present")]
    remind_shipping_after_secs: Option<Option<u64>>,
    /// Null switches automatic receipt off.
    #[serde(default, deserialize_with = "present")]
    auto_confirm_after_secs: Option<Option<u64>>,
    settlement_push_on_shipping: Option<bool>,
}

/// `POST /sim/order-events {remind_shipping_after_secs?,
/// auto_confirm_after_secs?, settlement_push_on_shipping?}` → 204. An
/// absent field is left as it is; a null duration switches that timer off.
#[handler]
pub(super) fn set_order_events(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<OrderEvents>(&raw) {
        Ok(req) => {
            sim.configure(|c| {
                if let Some(secs) = req.remind_shipping_after_secs {
                    c.remind_shipping_after = secs.map(Duration::from_secs);
                }
                if let Some(secs) = req.auto_confirm_after_secs {
                    c.auto_confirm_after = secs.map(Duration::from_secs);
                }
                if let Some(on) = req.settlement_push_on_shipping {
                    c.settlement_push_on_shipping = on;
                }
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

/// `GET /sim/couriers` → `{delivery_list, count}`: what
/// `get_delivery_list` answers.
#[handler]
pub(super) fn couriers(Data(sim): Data<&Simulator>) -> Response {
    let delivery_list = sim.couriers();
    Json(json!({ "count": delivery_list.len(), "delivery_list": delivery_list })).into_response()
}

#[derive(Deserialize)]
struct ReplaceCouriers {
    delivery_list: Vec<Courier>,
}

/// `PUT /sim/couriers {delivery_list: [{delivery_id, delivery_name}]}` →
/// 204: `get_delivery_list` answers this list from now on (taken as
/// given; other fields, such as `count` from `GET`, are ignored).
#[handler]
pub(super) fn set_couriers(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<ReplaceCouriers>(&raw) {
        Ok(req) => {
            sim.set_couriers(req.delivery_list);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

/// `GET /sim/calls` → `{path: count}`.
#[handler]
pub(super) fn calls(Data(sim): Data<&Simulator>) -> Response {
    Json(sim.call_counts()).into_response()
}

#[derive(Deserialize)]
struct NextAuthorization {
    appid: String,
    func_ids: Vec<i64>,
}

/// `POST /sim/next-authorization {appid, func_ids}` → 204.
#[handler]
pub(super) fn next_authorization(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<NextAuthorization>(&raw) {
        Ok(req) => {
            sim.set_next_authorization(&req.appid, req.func_ids);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

#[derive(Deserialize)]
struct Fault {
    path: String,
    errcode: i64,
    times: u32,
}

/// `POST /sim/faults {path, errcode, times}` → 204.
#[handler]
pub(super) fn inject_fault(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<Fault>(&raw) {
        Ok(req) => {
            sim.inject_fault(&req.path, req.errcode, req.times);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

#[derive(Deserialize)]
struct Gateway {
    events_url: Option<String>,
    /// A template with `$APPID$`.
    app_events_url: Option<String>,
}

/// `POST /sim/gateway {events_url?, app_events_url?}` → 204; 400 if neither
/// is given or one is not an absolute URL (the template once `$APPID$` is
/// filled in). Nothing changes on a 400.
#[handler]
pub(super) fn gateway(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    let req = match parse_body::<Gateway>(&raw) {
        Ok(req) => req,
        Err(e) => return bad_body(e),
    };
    if req.events_url.is_none() && req.app_events_url.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "give events_url, app_events_url or both",
        );
    }
    if let Some(Err(e)) = req.events_url.as_deref().map(url::Url::parse) {
        return error(StatusCode::BAD_REQUEST, format!("events_url: {e}"));
    }
    if let Some(template) = &req.app_events_url {
        // Checked with a sample appid: that is the URL pushes will use.
        if let Err(e) = url::Url::parse(&template.replace("$APPID$", "wx0123456789abcdef")) {
            return error(StatusCode::BAD_REQUEST, format!("app_events_url: {e}"));
        }
    }
    if let Some(url) = &req.events_url {
        sim.set_gateway_events_url(url);
    }
    if let Some(template) = &req.app_events_url {
        sim.set_gateway_app_events_url(template);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /sim/orders/{transaction_id}/extras` → OrderExtras, or 404.
#[handler]
pub(super) fn order_extras(
    Data(sim): Data<&Simulator>,
    Path(transaction_id): Path<String>,
) -> Response {
    match sim.order_extras(&transaction_id) {
        Some(extras) => Json(extras).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such order"),
    }
}

#[derive(Deserialize)]
struct OrderState {
    order_state: i32,
}

/// `POST /sim/orders/{transaction_id}/state {order_state}` → 204, or 404.
#[handler]
pub(super) fn set_order_state(
    Data(sim): Data<&Simulator>,
    Path(transaction_id): Path<String>,
    raw: Vec<u8>,
) -> Response {
    match parse_body::<OrderState>(&raw) {
        Ok(req) if sim.set_order_state(&transaction_id, req.order_state) => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => error(StatusCode::NOT_FOUND, "no such order"),
        Err(e) => bad_body(e),
    }
}

/// `POST /sim/combined-orders` (NewCombinedOrder, every field optional) → SimCombinedOrder.
#[handler]
pub(super) fn create_combined_order(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<NewCombinedOrder>(&raw) {
        Ok(new) => Json(sim.create_combined_order(new)).into_response(),
        Err(e) => bad_body(e),
    }
}

/// `GET /sim/apps/{appid}` → AppSettings.
#[handler]
pub(super) fn app_settings(Data(sim): Data<&Simulator>, Path(appid): Path<String>) -> Response {
    Json(sim.app_settings(&appid)).into_response()
}

#[derive(Deserialize)]
struct TradeManagement {
    is_trade_managed: Option<bool>,
    completed: Option<bool>,
}

/// `POST /sim/apps/{appid}/trade-management {is_trade_managed?, completed?}` → 204.
#[handler]
pub(super) fn set_trade_management(
    Data(sim): Data<&Simulator>,
    Path(appid): Path<String>,
    raw: Vec<u8>,
) -> Response {
    match parse_body::<TradeManagement>(&raw) {
        Ok(req) => {
            if let Some(managed) = req.is_trade_managed {
                sim.set_trade_managed(&appid, managed);
            }
            if let Some(completed) = req.completed {
                sim.set_trade_management_confirmation_completed(&appid, completed);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

#[derive(Deserialize)]
struct LogisticsPlugin {
    /// Default true.
    open: Option<bool>,
}

/// `POST /sim/apps/{appid}/logistics-plugin {open?}` → 204: opens (default)
/// or closes the logistics-query plugin for the Mini Program, as an approved
/// `/wxa/plugin` apply does.
#[handler]
pub(super) fn set_logistics_plugin(
    Data(sim): Data<&Simulator>,
    Path(appid): Path<String>,
    raw: Vec<u8>,
) -> Response {
    match parse_body::<LogisticsPlugin>(&raw) {
        Ok(req) => {
            sim.set_logistics_plugin(&appid, req.open.unwrap_or(true));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

/// `GET /sim/waybills/{waybill_token}` → SimWaybill, or 404.
#[handler]
pub(super) fn waybill(Data(sim): Data<&Simulator>, Path(token): Path<String>) -> Response {
    match sim.waybill(&token) {
        Some(waybill) => Json(waybill).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such waybill_token"),
    }
}

#[derive(Deserialize)]
struct WaybillStatus {
    /// 0–6, or null to follow the clock again.
    status: Option<i64>,
}

/// `POST /sim/waybills/{waybill_token}/status {status}` → 204; 404 for an
/// unknown token, 400 for a status out of 0–6.
#[handler]
pub(super) fn set_waybill_status(
    Data(sim): Data<&Simulator>,
    Path(token): Path<String>,
    raw: Vec<u8>,
) -> Response {
    let req = match parse_body::<WaybillStatus>(&raw) {
        Ok(req) => req,
        Err(e) => return bad_body(e),
    };
    if req.status.is_some_and(|s| !(0..=6).contains(&s)) {
        return error(StatusCode::BAD_REQUEST, "status must be 0 to 6, or null");
    }
    if sim.set_waybill_status(&token, req.status) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such waybill_token")
    }
}

/// `GET /sim/quotas?path=&appid=&openid=` → QuotaUsage `{appid, user}`; 400
/// without `path` and `appid`.
#[handler]
pub(super) fn quota_usage(Data(sim): Data<&Simulator>, req: &Request) -> Response {
    let (Some(path), Some(appid)) = (
        super::query_param(req, "path"),
        super::query_param(req, "appid"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "path and appid are required");
    };
    let openid = super::query_param(req, "openid");
    Json(sim.quota_usage(&path, &appid, openid.as_deref())).into_response()
}

#[derive(Deserialize)]
struct Quotas {
    per_appid: Option<u64>,
    per_user: Option<u64>,
    max_waybill_goods_updates: Option<u32>,
}

/// `POST /sim/quotas {per_appid?, per_user?, max_waybill_goods_updates?}` → 204.
#[handler]
pub(super) fn set_quotas(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<Quotas>(&raw) {
        Ok(req) => {
            sim.configure(|c| {
                if let Some(n) = req.per_appid {
                    c.logistics_appid_daily_quota = n;
                }
                if let Some(n) = req.per_user {
                    c.logistics_user_daily_quota = n;
                }
                if let Some(n) = req.max_waybill_goods_updates {
                    c.max_waybill_goods_updates = n;
                }
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}

#[derive(Deserialize)]
struct Delay {
    path: String,
    millis: u64,
    times: u32,
}

/// `POST /sim/delays {path, millis, times}` → 204.
#[handler]
pub(super) fn inject_delay(Data(sim): Data<&Simulator>, raw: Vec<u8>) -> Response {
    match parse_body::<Delay>(&raw) {
        Ok(req) => {
            sim.inject_delay(&req.path, Duration::from_millis(req.millis), req.times);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_body(e),
    }
}
