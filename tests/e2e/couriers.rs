//! Courier codes checked against WeChat's lists over HTTP: an unknown
//! `express_company` or helper `delivery_id` is a 400 naming the field with
//! the closest codes and nothing reaches WeChat; the lists are fetched once
//! and shared; when no list can be had the check is skipped and the answer
//! says so; `GET /v1/couriers` finds a code by name.
use serde_json::{Value, json};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, add_body, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";
const DELIVERY_LIST: &str = "/cgi-bin/express/delivery/open_msg/get_delivery_list";
const DELIVERY_GETALL: &str = "/cgi-bin/express/business/delivery/getall";
const ORDER_ADD: &str = "/cgi-bin/express/business/order/add";

fn with_courier(mut body: Value, code: &str) -> Value {
    body["shipping_list"][0]["express_company"] = json!(code);
    body
}

async fn couriers(app: &TestApp, key: &str, query: &str) -> Value {
    let resp = app
        .http
        .get(app.url(&format!("/v1/couriers?{query}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn an_unknown_courier_is_refused_with_the_closest_codes_and_nothing_sent() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("couriers").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&order.transaction_id, &order.openid, "SF100");

    for (code, closest) in [("sf", "SF"), ("ZT0", "ZTO"), ("顺丰", "SF")] {
        let refused = app
            .call(
                &app.base,
                &key,
                &appid,
                UPLOAD,
                &with_courier(body.clone(), code),
                None,
            )
            .await;
        assert_eq!(refused.status, 400, "{code}: {}", refused.body);
        assert_eq!(refused.body["field"], "shipping_list[0].express_company");
        assert_eq!(refused.body["suggestions"][0], closest, "{}", refused.body);
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains("get_delivery_list"), "{detail}");
    }
    assert_eq!(app.sim.call_count(UPLOAD), 0, "nothing reached WeChat");
    let shipped = app
        .call(
            &app.base,
            &key,
            &appid,
            UPLOAD,
            &with_courier(body, "SF"),
            None,
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    assert_eq!(shipped.header("tpgate-courier-check"), None);
    // One fetch served every check.
    assert_eq!(app.sim.call_count(DELIVERY_LIST), 1);

    // The helper's own list for order/add: JD is `JDL` there.
    let mut add = add_body("o-courier", &order.openid);
    add["delivery_id"] = json!("NOPE");
    let refused = app
        .call(&app.base, &key, &appid, ORDER_ADD, &add, None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["field"], "delivery_id");
    assert_eq!(refused.body["prevents_errcode"], 9300503);
    assert_eq!(app.sim.call_count(ORDER_ADD), 0);
    assert_eq!(app.sim.call_count(DELIVERY_GETALL), 1);

    // Found by name, in both lists.
    let found = couriers(&app, &key, "q=%E9%A1%BA%E4%B8%B0").await;
    assert_eq!(found["items"][0]["delivery_id"], "SF", "{found}");
    assert_eq!(found["items"][0]["delivery_name"], "顺丰速运", "{found}");
    let lists = found["lists"].as_array().unwrap();
    assert!(
        lists
            .iter()
            .all(|l| l["available"] == true && l["count"].as_u64() > Some(5)),
        "{found}"
    );
    let helper_only = couriers(&app, &key, "q=jd&list=helper").await;
    assert_eq!(
        helper_only["items"][0]["delivery_id"], "JDL",
        "{helper_only}"
    );
    assert_eq!(helper_only["items"][0]["list"], "helper");
    // Still one fetch of each list.
    assert_eq!(app.sim.call_count(DELIVERY_LIST), 1);
    assert_eq!(app.sim.call_count(DELIVERY_GETALL), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_list_the_check_is_skipped_and_the_answer_says_so() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("couriers-down").await;
    // WeChat fails every fetch of the list (the first and the retries).
    app.sim.inject_fault(DELIVERY_LIST, -1, 10);
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = with_courier(
        upload_body(&order.transaction_id, &order.openid, "X1"),
        "SMALLCOURIER",
    );
    let answer = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert_eq!(answer.status, 200, "WeChat decides: {}", answer.body);
    assert_eq!(
        answer.header("tpgate-courier-check"),
        Some("skipped; list=get_delivery_list")
    );
    // Sent as given, never replaced.
    let shipped = app.sim.order(&order.transaction_id).unwrap();
    assert_eq!(
        shipped.shipping.unwrap().shipping_list[0].express_company,
        "SMALLCOURIER"
    );
    let attempts = app.sim.call_count(DELIVERY_LIST);
    assert!(attempts >= 1);
    // A failed fetch is not repeated at every call.
    let other = app.sim.create_paid_order(NewOrder::default());
    let again = app
        .call(
            &app.base,
            &key,
            &appid,
            UPLOAD,
            &upload_body(&other.transaction_id, &other.openid, "X2"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(app.sim.call_count(DELIVERY_LIST), attempts);
    let found = couriers(&app, &key, "q=SF&list=express").await;
    assert_eq!(found["lists"][0]["available"], false, "{found}");
    assert_eq!(found["items"], json!([]));
    app.shutdown().await;
}
