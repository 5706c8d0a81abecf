//! The shipping APIs and their control endpoints over HTTP.
use poem::{http::StatusCode, test::TestClient};
use serde_json::{Value, json};

use super::{access_token, assert_rid, call, json_of};
use crate::{
    NewOrder, SimConfig, Simulator,
    routes::{
        GET_ORDER_LIST, IS_TRADE_MANAGED, IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
        NOTIFY_CONFIRM_RECEIVE, OP_SPECIAL_ORDER, SET_MSG_JUMP_PATH, UPLOAD_COMBINED_SHIPPING_INFO,
    },
};

const SHIPPING_PATHS: [&str; 9] = [
    super::UPLOAD_SHIPPING_INFO,
    UPLOAD_COMBINED_SHIPPING_INFO,
    super::GET_ORDER,
    GET_ORDER_LIST,
    NOTIFY_CONFIRM_RECEIVE,
    SET_MSG_JUMP_PATH,
    IS_TRADE_MANAGED,
    IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    OP_SPECIAL_ORDER,
];

#[tokio::test]
async fn combined_shipping_the_order_list_and_receipt_reminders() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![142]);
    let cli = TestClient::new(sim.endpoint());

    let combined = json_of(
        cli.post("/sim/combined-orders")
            .body_json(&json!({"openid": "oCombined", "sub_orders": [{"paid_amount": 100}, {"paid_amount": 250}]}))
            .send()
            .await,
    )
    .await;
    assert_eq!(combined["paid_amount"], Value::Null, "not part of the ids");
    let subs = combined["sub_orders"].as_array().unwrap().clone();
    assert_eq!(subs.len(), 2);
    let sub_order = |s: &Value| {
        json!({
            "order_key": {"order_number_type": 2, "transaction_id": s["transaction_id"]},
            "logistics_type": 1, "delivery_mode": 1,
            "shipping_list": [{"tracking_no": "YT1", "express_company": "YTO", "item_desc": "钥匙扣*1"}]
        })
    };
    let body = json!({
        "order_key": {"order_number_type": 2, "transaction_id": combined["transaction_id"]},
        "sub_orders": subs.iter().map(sub_order).collect::<Vec<_>>(),
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": "oCombined"}
    });
    assert_eq!(
        call(&cli, UPLOAD_COMBINED_SHIPPING_INFO, &token, &body).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    let mut refused = body.clone();
    refused["sub_orders"][1]["logistics_type"] = json!(7);
    let answer = call(&cli, UPLOAD_COMBINED_SHIPPING_INFO, &token, &refused).await;
    assert_eq!(answer["errcode"], 10060005);
    assert_rid(answer["errmsg"].as_str().unwrap());

    // The list: both sub-orders, one per page.
    let page1 = call(
        &cli,
        GET_ORDER_LIST,
        &token,
        &json!({"page_size": 1, "order_state": 2}),
    )
    .await;
    assert_eq!(page1["errcode"], 0);
    assert_eq!(page1["has_more"], true);
    assert_eq!(
        page1["order_list"][0]["transaction_id"],
        subs[0]["transaction_id"]
    );
    assert_eq!(
        page1["order_list"][0]["shipping"]["finish_shipping_count"],
        1
    );
    let page2 = call(
        &cli,
        GET_ORDER_LIST,
        &token,
        &json!({"page_size": 1, "order_state": 2, "last_index": page1["last_index"]}),
    )
    .await;
    assert_eq!(page2["has_more"], false);
    assert_eq!(
        page2["order_list"][0]["transaction_id"],
        subs[1]["transaction_id"]
    );
    let pending = sim.create_paid_order(NewOrder::default());
    let page = call(&cli, GET_ORDER_LIST, &token, &json!({"order_state": 1})).await;
    assert_eq!(
        page["order_list"][0]["transaction_id"],
        pending.transaction_id.as_str()
    );
    assert_eq!(page["order_list"][0]["shipping"], json!({}));
    let bad = call(&cli, GET_ORDER_LIST, &token, &json!({"last_index": "zz"})).await;
    assert_eq!(bad["errcode"], 10060011);

    // One receipt reminder per shipped order.
    let remind =
        json!({"transaction_id": subs[0]["transaction_id"], "received_time": 1671082175 + 3600});
    assert_eq!(
        call(&cli, NOTIFY_CONFIRM_RECEIVE, &token, &remind).await["errcode"],
        0
    );
    assert_eq!(
        call(&cli, NOTIFY_CONFIRM_RECEIVE, &token, &remind).await["errcode"],
        10060030
    );
    let tx = subs[0]["transaction_id"].as_str().unwrap();
    let extras = json_of(cli.get(format!("/sim/orders/{tx}/extras")).send().await).await;
    assert_eq!(extras["receipt_reminder"], 1671082175 + 3600);
    assert_eq!(
        extras["combined_transaction_id"],
        combined["transaction_id"]
    );
    let pending_remind =
        json!({"transaction_id": pending.transaction_id, "received_time": 1671082175});
    assert_eq!(
        call(&cli, NOTIFY_CONFIRM_RECEIVE, &token, &pending_remind).await["errcode"],
        10060028
    );
}

#[tokio::test]
async fn settings_and_special_orders() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![18]);
    let cli = TestClient::new(sim.endpoint());

    let path = json!({"path": "pages/order/detail"});
    assert_eq!(
        call(&cli, SET_MSG_JUMP_PATH, &token, &path).await["errcode"],
        0
    );
    let app = json_of(cli.get(format!("/sim/apps/{appid}")).send().await).await;
    assert_eq!(
        app,
        json!({"msg_jump_path": "pages/order/detail", "is_trade_managed": true, "completed": true})
    );

    let ask = json!({ "appid": appid });
    let managed = call(&cli, IS_TRADE_MANAGED, &token, &ask).await;
    assert_eq!(
        managed,
        json!({"errcode": 0, "errmsg": "ok", "is_trade_managed": true})
    );
    cli.post(format!("/sim/apps/{appid}/trade-management"))
        .body_json(&json!({"is_trade_managed": false, "completed": false}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        call(&cli, IS_TRADE_MANAGED, &token, &ask).await["is_trade_managed"],
        false
    );
    assert_eq!(
        call(
            &cli,
            IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
            &token,
            &ask
        )
        .await,
        json!({"errcode": 0, "errmsg": "ok", "completed": false})
    );
    let other = call(
        &cli,
        IS_TRADE_MANAGED,
        &token,
        &json!({"appid": "wx00000000000000aa"}),
    )
    .await;
    assert_eq!(other["errcode"], 40013);
    let blank = call(&cli, IS_TRADE_MANAGED, &token, &json!({"appid": ""})).await;
    assert_eq!(blank["errcode"], 40097);

    // The service not opened: the other APIs answer 48001 (the capability
    // is missing), until it is.
    let order = sim.create_paid_order(NewOrder::default());
    let report = json!({"order_id": order.out_trade_no, "type": 2});
    assert_eq!(
        call(&cli, OP_SPECIAL_ORDER, &token, &report).await["errcode"],
        48001
    );
    cli.post(format!("/sim/apps/{appid}/trade-management"))
        .body_json(&json!({"is_trade_managed": true}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        call(&cli, OP_SPECIAL_ORDER, &token, &report).await["errcode"],
        0
    );
    let tx = &order.transaction_id;
    let extras = json_of(cli.get(format!("/sim/orders/{tx}/extras")).send().await).await;
    assert_eq!(
        extras["special_order"],
        json!({"type": 2, "delay_to": null})
    );
    let unknown = json!({"order_id": "nope", "type": 2});
    assert_eq!(
        call(&cli, OP_SPECIAL_ORDER, &token, &unknown).await["errcode"],
        268546002
    );

    cli.post(format!("/sim/orders/{tx}/state"))
        .body_json(&json!({"order_state": 5}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(sim.order(tx).unwrap().order_state, 5);
    assert_eq!(
        call(&cli, OP_SPECIAL_ORDER, &token, &report).await["errcode"],
        10060004
    );
    cli.post("/sim/orders/nope/state")
        .body_json(&json!({"order_state": 5}))
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    cli.get("/sim/orders/nope/extras")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_shipping_api_checks_token_permission_and_body() {
    let sim = Simulator::new(SimConfig::sandbox());
    let logistics_only = access_token(&sim, "wx00000000000000aa", vec![45]);
    let allowed = access_token(&sim, "wx00000000000000bb", vec![142]);
    let cli = TestClient::new(sim.endpoint());
    for path in SHIPPING_PATHS {
        let missing = json_of(cli.post(path).body("{}").send().await).await;
        assert_eq!(missing["errcode"], 41001, "{path}");
        // A set not granted is 61007, not 48001.
        let denied = call(&cli, path, &logistics_only, &json!({})).await;
        assert_eq!(denied["errcode"], 61007, "{path}");
        let garbage = json_of(
            cli.post(path)
                .query("access_token", &allowed)
                .body("[1, 2")
                .send()
                .await,
        )
        .await;
        assert_eq!(garbage["errcode"], 47001, "{path}");
        let wrong_types = call(&cli, path, &allowed, &json!({"order_key": 5, "transaction_id": 5, "appid": 5, "path": 5, "type": "x", "received_time": "x", "page_size": "x"})).await;
        assert_eq!(wrong_types["errcode"], 47001, "{path}");
    }
}

/// A missing shipping_list is WeChat's 268485228, not a parse error (47001);
/// 15 parcels are accepted and 16 refused with 10060024 (WeChat's current
/// documentation; the seed says 10).
#[tokio::test]
async fn shipping_list_rules_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![142]);
    let cli = TestClient::new(sim.endpoint());
    let order = sim.create_paid_order(NewOrder::default());
    let parcels = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"tracking_no": format!("P{i}"), "express_company": "STO", "item_desc": "a*1"}))
            .collect()
    };
    let mut body = json!({
        "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
        "logistics_type": 1, "delivery_mode": 1,
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": order.openid}
    });
    let missing = call(&cli, super::UPLOAD_SHIPPING_INFO, &token, &body).await;
    assert_eq!(missing["errcode"], 268485228, "{missing}");
    body["delivery_mode"] = json!(2);
    body["is_all_delivered"] = json!(true);
    body["shipping_list"] = parcels(16);
    let long = call(&cli, super::UPLOAD_SHIPPING_INFO, &token, &body).await;
    assert_eq!(long["errcode"], 10060024, "{long}");
    body["shipping_list"] = parcels(15);
    let ok = call(&cli, super::UPLOAD_SHIPPING_INFO, &token, &body).await;
    assert_eq!(ok["errcode"], 0, "{ok}");
    // An update needs a later upload_time: 268485216.
    let stale = call(&cli, super::UPLOAD_SHIPPING_INFO, &token, &body).await;
    assert_eq!(stale["errcode"], 268485216, "{stale}");
}
