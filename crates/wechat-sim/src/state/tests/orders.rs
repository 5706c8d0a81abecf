//! The shipping APIs beyond upload_shipping_info/get_order: combined orders,
//! the order list, receipt reminders, settings and special shipment reports;
//! the order timers and the pushes they queue.
use serde_json::{Value, json};
use wechat_api::shipping::{
    GetOrderListRequest, NotifyConfirmReceiveRequest, OpSpecialOrderRequest, SetMsgJumpPathRequest,
    TradeManagedRequest, UploadCombinedShippingInfoRequest,
};

use super::{OTHER_APPID, advance_and_renew, code_of, shop, upload, upload_json};
use crate::{
    AppEvent, CONFIRM_RECEIVE_AUTO, CONFIRM_RECEIVE_MANUAL,
    state::{
        ConfirmReceiptError, NewCombinedOrder, NewOrder, QueuedAppEvent, ReceiptConfirmation,
        SimCombinedOrder, SimOrder, State, WxResult,
        shipping::{ORDER_PENDING_SHIPMENT, ORDER_RECEIVED, ORDER_SHIPPED},
    },
};
use wechat_api::errcode as ec;

const DAY: i64 = 86_400;

fn combined_json(combined: &SimCombinedOrder, subs: &[&SimOrder]) -> Value {
    json!({
        "order_key": {"order_number_type": 2, "transaction_id": combined.transaction_id},
        "sub_orders": subs.iter().map(|s| json!({
            "order_key": {"order_number_type": 2, "transaction_id": s.transaction_id},
            "logistics_type": 1,
            "delivery_mode": 1,
            "shipping_list": [{"tracking_no": format!("T-{}", s.out_trade_no), "express_company": "YTO", "item_desc": "钥匙扣*1"}]
        })).collect::<Vec<_>>(),
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": combined.openid}
    })
}

fn upload_combined(s: &mut State, token: &str, body: Value) -> WxResult<()> {
    let appid = s.shipping_caller(Some(token))?;
    let req: UploadCombinedShippingInfoRequest = serde_json::from_value(body).unwrap();
    s.upload_combined_shipping_info(&appid, &req)
}

fn state_of(s: &State, order: &SimOrder) -> i32 {
    s.order(&order.transaction_id).unwrap().order_state
}

fn count_of(s: &State, order: &SimOrder) -> i32 {
    s.order(&order.transaction_id)
        .unwrap()
        .shipping
        .map_or(-1, |sh| sh.finish_shipping_count)
}

// === upload_combined_shipping_info ===

#[test]
fn combined_upload_ships_each_sub_order_then_reships_once() {
    let (mut s, token, _) = shop();
    let combined = s.create_combined_order(NewCombinedOrder::default());
    assert_eq!(combined.sub_orders.len(), 2);
    let (a, b) = (&combined.sub_orders[0], &combined.sub_orders[1]);
    assert_eq!(a.openid, combined.openid);
    assert_eq!(
        s.order_extras(&a.transaction_id)
            .unwrap()
            .combined_transaction_id
            .as_deref(),
        Some(combined.transaction_id.as_str())
    );

    upload_combined(&mut s, &token, combined_json(&combined, &[a, b])).unwrap();
    assert_eq!((state_of(&s, a), count_of(&s, a)), (ORDER_SHIPPED, 1));
    assert_eq!((state_of(&s, b), count_of(&s, b)), (ORDER_SHIPPED, 1));

    // An update needs a later upload_time (268485216), per sub-order.
    assert_eq!(
        code_of(upload_combined(
            &mut s,
            &token,
            combined_json(&combined, &[a])
        )),
        ec::UPLOAD_TIME_INVALID
    );
    let later = |subs: &[&SimOrder]| {
        let mut body = combined_json(&combined, subs);
        body["upload_time"] = json!("2022-12-15T13:30:35.120+08:00");
        body
    };
    // The re-shipment of one sub-order; then the next is refused for both,
    // and a refused call changes neither sub-order.
    upload_combined(&mut s, &token, later(&[a])).unwrap();
    assert_eq!(count_of(&s, a), 2);
    let mut again = later(&[b, a]);
    again["upload_time"] = json!("2022-12-15T13:31:35.120+08:00");
    assert_eq!(
        code_of(upload_combined(&mut s, &token, again)),
        ec::RESHIPMENT_USED
    );
    assert_eq!(count_of(&s, b), 1, "all or nothing");
    assert!(!s.order_extras(&b.transaction_id).unwrap().reshipped);
}

#[test]
fn combined_upload_knows_its_orders_and_payer() {
    let (mut s, token, lone) = shop();
    let combined = s.create_combined_order(NewCombinedOrder {
        openid: Some("oCombinedPayer".into()),
        sub_orders: vec![NewOrder {
            out_trade_no: Some("sub-1".into()),
            ..NewOrder::default()
        }],
        ..NewCombinedOrder::default()
    });
    let sub = &combined.sub_orders[0];
    assert_eq!(sub.out_trade_no, "sub-1");
    assert_eq!(sub.openid, "oCombinedPayer");

    let mut body = combined_json(&combined, &[sub]);
    body["payer"]["openid"] = json!("oSomeoneElse");
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::PAYER_MISMATCH
    );

    // A plain order is not a combined order, nor one of its sub-orders.
    let mut body = combined_json(&combined, &[sub]);
    body["order_key"]["transaction_id"] = json!(lone.transaction_id);
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );
    let body = combined_json(&combined, &[&lone]);
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );

    // The same sub-order named twice, by two different keys.
    let mut body = combined_json(&combined, &[sub, sub]);
    body["order_key"] = json!({"order_number_type": 1, "mchid": combined.mchid, "out_trade_no": combined.out_trade_no});
    body["sub_orders"][0]["order_key"] =
        json!({"order_number_type": 1, "mchid": sub.mchid, "out_trade_no": sub.out_trade_no});
    body["sub_orders"][1]["order_key"] =
        json!({"order_number_type": 1, "mchid": sub.mchid, "out_trade_no": " sub-1"});
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::SUB_ORDER_DUPLICATE
    );

    let mut body = combined_json(&combined, &[]);
    body.as_object_mut().unwrap().remove("sub_orders");
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::PARAMETER_ERROR
    );

    // Another appid's combined order does not exist for this one.
    let foreign = s.create_combined_order(NewCombinedOrder {
        appid: Some(OTHER_APPID.into()),
        ..NewCombinedOrder::default()
    });
    let body = combined_json(&foreign, &[&foreign.sub_orders[0]]);
    assert_eq!(
        code_of(upload_combined(&mut s, &token, body)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );
    assert_eq!(state_of(&s, sub), ORDER_PENDING_SHIPMENT);
}

#[test]
fn orders_in_other_states_are_not_shippable() {
    let (mut s, token, order) = shop();
    assert!(s.set_order_state(&order.transaction_id, 5));
    assert!(!s.set_order_state("nope", 5));
    assert_eq!(
        code_of(upload(&mut s, &token, upload_json(&order, "X"))),
        ec::NOT_SHIPPABLE
    );
}

// === get_order_list ===

fn list(s: &State, token: &str, body: Value) -> WxResult<(Vec<String>, String, bool)> {
    let appid = s.shipping_caller(Some(token))?;
    let req: GetOrderListRequest = serde_json::from_value(body).unwrap();
    let page = s.get_order_list(&appid, &req)?;
    Ok((
        page.order_list
            .into_iter()
            .map(|o| o.transaction_id)
            .collect(),
        page.last_index,
        page.has_more,
    ))
}

#[test]
fn the_order_list_pages_with_last_index() {
    let (mut s, token, first) = shop();
    let mut all = vec![first.transaction_id.clone()];
    for _ in 0..4 {
        all.push(s.create_order(NewOrder::default()).transaction_id);
    }
    s.create_order(NewOrder {
        appid: Some(OTHER_APPID.into()),
        ..NewOrder::default()
    });

    let (everything, _, more) = list(&s, &token, json!({})).unwrap();
    assert_eq!((everything, more), (all.clone(), false));

    let (page1, index1, more1) = list(&s, &token, json!({"page_size": 2})).unwrap();
    assert_eq!((page1.as_slice(), more1), (&all[0..2], true));
    let (page2, index2, more2) =
        list(&s, &token, json!({"page_size": 2, "last_index": index1})).unwrap();
    assert_eq!((page2.as_slice(), more2), (&all[2..4], true));
    let (page3, index3, more3) =
        list(&s, &token, json!({"page_size": 2, "last_index": index2})).unwrap();
    assert_eq!((page3.as_slice(), more3), (&all[4..], false));
    let (empty, same, more4) =
        list(&s, &token, json!({"page_size": 2, "last_index": index3})).unwrap();
    assert!(empty.is_empty() && !more4);
    assert_eq!(same, index3);

    for bad in ["nothex", "00ff", &hex::encode("sim-order")] {
        assert_eq!(
            code_of(list(&s, &token, json!({"last_index": bad}))),
            ec::LAST_INDEX_INVALID,
            "{bad}"
        );
    }
}

#[test]
fn the_order_list_filters_by_pay_time_state_and_payer() {
    let (mut s, token, early) = shop();
    let paid_early = s.order(&early.transaction_id).unwrap().pay_time;
    s.advance(3600);
    let payer = s.create_order(NewOrder {
        openid: Some("oListPayer".into()),
        ..NewOrder::default()
    });
    let late = s.create_order(NewOrder::default());
    upload(&mut s, &token, upload_json(&late, "L")).unwrap();

    let ids = |r: WxResult<(Vec<String>, String, bool)>| r.unwrap().0;
    assert_eq!(
        ids(list(
            &s,
            &token,
            json!({"pay_time_range": {"end_time": paid_early}})
        )),
        [early.transaction_id.as_str()]
    );
    assert_eq!(
        ids(list(
            &s,
            &token,
            json!({"pay_time_range": {"begin_time": paid_early + 1}})
        )),
        [payer.transaction_id.clone(), late.transaction_id.clone()]
    );
    assert_eq!(
        ids(list(&s, &token, json!({"order_state": 2}))),
        [late.transaction_id.as_str()]
    );
    assert_eq!(
        ids(list(&s, &token, json!({"openid": "oListPayer"}))),
        [payer.transaction_id.as_str()]
    );
    assert_eq!(
        code_of(list(&s, &token, json!({"order_state": 9}))),
        ec::PARAMETER_ERROR
    );
}

// === notify_confirm_receive ===

fn remind(s: &mut State, token: &str, order: &SimOrder, received_time: i64) -> WxResult<()> {
    let appid = s.shipping_caller(Some(token))?;
    let req = NotifyConfirmReceiveRequest {
        transaction_id: Some(order.transaction_id.clone()),
        merchant_id: None,
        sub_merchant_id: None,
        merchant_trade_no: None,
        received_time,
    };
    s.notify_confirm_receive(&appid, &req)
}

/// `upload_json`'s upload_time: 2022-12-15T13:29:35+08:00.
const UPLOADED_AT: i64 = 1671082175;

#[test]
fn receipt_reminders_need_an_express_shipment_and_work_once() {
    let (mut s, token, order) = shop();
    assert_eq!(
        code_of(remind(&mut s, &token, &order, UPLOADED_AT + 60)),
        ec::NOT_IN_SHIPPED_STATE
    );
    upload(&mut s, &token, upload_json(&order, "SF1")).unwrap();
    assert_eq!(
        code_of(remind(&mut s, &token, &order, UPLOADED_AT)),
        ec::RECEIVED_TIME_INVALID
    );
    remind(&mut s, &token, &order, UPLOADED_AT + 60).unwrap();
    assert_eq!(
        s.order_extras(&order.transaction_id)
            .unwrap()
            .receipt_reminder,
        Some(UPLOADED_AT + 60)
    );
    assert_eq!(
        code_of(remind(&mut s, &token, &order, UPLOADED_AT + 120)),
        ec::CONFIRM_REMINDER_USED
    );
    assert_eq!(
        state_of(&s, &order),
        ORDER_SHIPPED,
        "only the user's confirmation moves it on"
    );

    // Same-city delivery: no reminder.
    let local = s.create_order(NewOrder::default());
    let mut body = upload_json(&local, "X");
    body["logistics_type"] = json!(2);
    upload(&mut s, &token, body).unwrap();
    assert_eq!(
        code_of(remind(&mut s, &token, &local, UPLOADED_AT + 60)),
        ec::CONFIRM_ONLY_EXPRESS
    );

    let foreign = s.create_order(NewOrder {
        appid: Some(OTHER_APPID.into()),
        ..NewOrder::default()
    });
    assert_eq!(
        code_of(remind(&mut s, &token, &foreign, UPLOADED_AT + 60)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );
}

// === settings ===

#[test]
fn jump_path_and_trade_management_flags_are_per_appid() {
    let (mut s, token, _) = shop();
    let appid = s.shipping_caller(Some(&token)).unwrap();
    assert_eq!(s.app_settings(&appid).msg_jump_path, None);
    let path = SetMsgJumpPathRequest {
        path: "pages/order/detail".into(),
    };
    s.set_msg_jump_path(&appid, &path).unwrap();
    assert_eq!(
        s.app_settings(&appid).msg_jump_path.as_deref(),
        Some("pages/order/detail")
    );
    assert_eq!(s.app_settings(OTHER_APPID).msg_jump_path, None);

    let ask = |appid: &str| TradeManagedRequest {
        appid: appid.to_owned(),
    };
    assert!(s.is_trade_managed(&appid, &ask(&appid)).unwrap());
    assert!(
        s.trade_management_confirmation_completed(&appid, &ask(&appid))
            .unwrap()
    );
    s.set_trade_management(&appid, Some(false), None);
    assert!(!s.is_trade_managed(&appid, &ask(&appid)).unwrap());
    assert!(
        s.trade_management_confirmation_completed(&appid, &ask(&appid))
            .unwrap()
    );
    s.set_trade_management(&appid, None, Some(false));
    assert!(
        !s.trade_management_confirmation_completed(&appid, &ask(&appid))
            .unwrap()
    );
    assert_eq!(
        code_of(s.is_trade_managed(&appid, &ask(OTHER_APPID))),
        ec::INVALID_APPID
    );
    assert_eq!(
        code_of(s.is_trade_managed(&appid, &ask(" "))),
        ec::INVALID_PARAMETER
    );
}

// === opspecialorder ===

fn special(
    s: &mut State,
    token: &str,
    order_id: &str,
    r#type: i64,
    delay_to: Option<i64>,
) -> WxResult<()> {
    let appid = s.shipping_caller(Some(token))?;
    let req = OpSpecialOrderRequest {
        order_id: order_id.to_owned(),
        r#type,
        delay_to,
    };
    s.op_special_order(&appid, &req)
}

#[test]
fn special_orders_need_a_pending_order_and_a_delay_after_payment() {
    let (mut s, token, order) = shop();
    let paid = s.order(&order.transaction_id).unwrap().pay_time;
    let tx = order.transaction_id.as_str();
    assert_eq!(
        code_of(special(&mut s, &token, "no-such-order", 2, None)),
        ec::SPECIAL_ORDER_NOT_FOUND
    );
    assert_eq!(
        code_of(special(&mut s, &token, tx, 3, None)),
        ec::SPECIAL_ORDER_TYPE_INVALID
    );
    assert_eq!(
        code_of(special(&mut s, &token, tx, 1, None)),
        ec::SPECIAL_ORDER_DELAY_TO_INVALID
    );
    // A day after payment, 14 days after payment is in the future (the
    // proxy's check passes it) but too early: only WeChat knows the payment.
    let token = advance_and_renew(&mut s, DAY);
    assert_eq!(
        code_of(special(&mut s, &token, tx, 1, Some(paid + 14 * DAY))),
        ec::SPECIAL_ORDER_DELAY_TO_INVALID,
        "less than 15 days after payment"
    );
    assert_eq!(
        code_of(special(&mut s, &token, tx, 1, Some(paid + 331 * DAY))),
        ec::SPECIAL_ORDER_DELAY_TO_INVALID
    );
    special(
        &mut s,
        &token,
        &order.out_trade_no,
        1,
        Some(paid + 20 * DAY),
    )
    .unwrap();
    let report = s.order_extras(tx).unwrap().special_order.unwrap();
    assert_eq!((report.r#type, report.delay_to), (1, Some(paid + 20 * DAY)));
    special(&mut s, &token, tx, 2, Some(paid + 20 * DAY)).unwrap();
    let report = s.order_extras(tx).unwrap().special_order.unwrap();
    assert_eq!((report.r#type, report.delay_to), (2, None));

    upload(&mut s, &token, upload_json(&order, "X")).unwrap();
    assert_eq!(
        code_of(special(&mut s, &token, tx, 2, None)),
        ec::ALREADY_SHIPPED
    );
    let refunded = s.create_order(NewOrder::default());
    s.set_order_state(&refunded.transaction_id, 5);
    assert_eq!(
        code_of(special(&mut s, &token, &refunded.transaction_id, 2, None)),
        ec::NOT_SHIPPABLE
    );
}

// === order timers and pushes ===

const HOUR: i64 = 3600;

/// The queued events as (appid, event name, transaction_id).
fn queued(s: &mut State) -> Vec<(String, String, String)> {
    s.take_app_events()
        .into_iter()
        .map(|QueuedAppEvent { appid, event }| {
            let tx = match &event {
                AppEvent::RemindShipping { transaction_id, .. }
                | AppEvent::OrderSettlement { transaction_id, .. } => transaction_id.clone(),
                _ => String::new(),
            };
            (appid, event.name().to_owned(), tx)
        })
        .collect()
}

#[test]
fn an_unshipped_order_is_reminded_once_48_hours_after_payment() {
    let (mut s, _token, order) = shop();
    let appid = order.appid.clone();
    let shipped = s.create_order(NewOrder::default());
    s.set_order_state(&shipped.transaction_id, 2);
    s.advance(47 * HOUR);
    assert!(queued(&mut s).is_empty(), "not yet 48 h");
    s.advance(HOUR);
    assert_eq!(
        queued(&mut s),
        [(
            appid,
            "trade_manage_remind_shipping".into(),
            order.transaction_id.clone()
        )],
        "the shipped order is not reminded"
    );
    let reminded_at = s.now();
    s.advance(48 * HOUR);
    assert!(queued(&mut s).is_empty(), "once only");
    let extras = s.order_extras(&order.transaction_id).unwrap();
    assert_eq!(extras.pushes.remind_shipping, Some(reminded_at));
    assert_eq!(
        s.order(&order.transaction_id).unwrap().order_state,
        ORDER_PENDING_SHIPMENT
    );

    // Switched off: a new order is never reminded.
    s.config.remind_shipping_after = None;
    let quiet = s.create_order(NewOrder::default());
    s.advance(100 * HOUR);
    assert!(queued(&mut s).is_empty());
    assert_eq!(
        s.order_extras(&quiet.transaction_id)
            .unwrap()
            .pushes
            .remind_shipping,
        None
    );
}

#[test]
fn shipping_pushes_the_estimate_then_receipt_is_confirmed_automatically_after_10_days() {
    let (mut s, token, order) = shop();
    let shipped_at = s.now();
    upload(&mut s, &token, upload_json(&order, "SF001")).unwrap();
    let events = s.take_app_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let AppEvent::OrderSettlement {
        shipped_time,
        estimated_settlement_time,
        confirm_receive_method,
        ..
    } = &events[0].event
    else {
        panic!("{events:?}");
    };
    // The sim clock's shipment, not the request's upload_time (2022).
    assert_eq!(*shipped_time, shipped_at);
    assert_eq!(*estimated_settlement_time, Some(shipped_at + 10 * DAY));
    assert_eq!(*confirm_receive_method, None);
    // The re-shipment pushes nothing more.
    upload(&mut s, &token, super::upload_json_later(&order, "SF002", 1)).unwrap();
    assert!(queued(&mut s).is_empty());

    s.advance(10 * DAY - HOUR);
    assert!(queued(&mut s).is_empty(), "not yet 10 days");
    s.advance(2 * HOUR);
    let events = s.take_app_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let AppEvent::OrderSettlement {
        confirm_receive_method,
        confirm_receive_time,
        settlement_time,
        estimated_settlement_time,
        ..
    } = &events[0].event
    else {
        panic!("{events:?}");
    };
    let due = shipped_at + 10 * DAY;
    assert_eq!(*confirm_receive_method, Some(CONFIRM_RECEIVE_AUTO));
    assert_eq!(
        (*confirm_receive_time, *settlement_time),
        (Some(due), Some(due))
    );
    assert_eq!(*estimated_settlement_time, None);
    assert_eq!(
        s.order(&order.transaction_id).unwrap().order_state,
        ORDER_RECEIVED
    );
    assert_eq!(
        s.order_extras(&order.transaction_id).unwrap().receipt,
        Some(ReceiptConfirmation {
            confirm_receive_method: CONFIRM_RECEIVE_AUTO,
            confirm_receive_time: due
        })
    );
    s.advance(30 * DAY);
    assert!(queued(&mut s).is_empty(), "once only");
}

#[test]
fn the_buyer_confirms_receipt_of_a_shipped_order_once() {
    let (mut s, token, order) = shop();
    assert_eq!(
        s.confirm_receipt(&order.transaction_id),
        Err(ConfirmReceiptError::NotShipped(ORDER_PENDING_SHIPMENT))
    );
    assert_eq!(
        s.confirm_receipt("nope"),
        Err(ConfirmReceiptError::NoSuchOrder)
    );
    s.config.settlement_push_on_shipping = false;
    upload(&mut s, &token, upload_json(&order, "SF001")).unwrap();
    assert!(
        queued(&mut s).is_empty(),
        "the shipping push is switched off"
    );
    s.advance(DAY);
    let now = s.now();
    let view = s.confirm_receipt(&order.transaction_id).unwrap();
    assert_eq!(view.order_state, ORDER_RECEIVED);
    let events = s.take_app_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        events[0].event,
        AppEvent::OrderSettlement {
            confirm_receive_method: Some(CONFIRM_RECEIVE_MANUAL),
            confirm_receive_time: Some(t),
            settlement_time: Some(u),
            ..
        } if t == now && u == now
    ));
    assert_eq!(
        s.confirm_receipt(&order.transaction_id),
        Err(ConfirmReceiptError::NotShipped(ORDER_RECEIVED))
    );
    // A confirmed order is not confirmed again automatically.
    s.advance(30 * DAY);
    assert!(queued(&mut s).is_empty());
}
