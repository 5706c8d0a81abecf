//! The re-shipment guard over HTTP: a payment order's second upload (its
//! one re-shipment) only when confirmed, whatever the Idempotency-Key; the
//! same key still replays the first answer; `upload_time` must move on;
//! an order uploaded outside tpgate is WeChat's to judge; and a tenant can
//! switch the guard off.
use serde_json::{Value, json};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";

fn at(hour: u32) -> Value {
    json!(format!("2026-12-05T{hour:02}:00:00+08:00"))
}

#[tokio::test]
async fn the_same_key_replays_a_new_key_is_refused_and_the_guard_can_be_switched_off() {
    let app = TestApp::spawn().await;
    let (tenant, key, appid) = app.onboarded_tenant("reship").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let mut body = upload_body(&order.transaction_id, &order.openid, "SF1");
    body["upload_time"] = at(10);

    let first = app
        .call(&app.base, &key, &appid, UPLOAD, &body, Some("job-1"))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The same request again (a retry): the stored answer, not a refusal.
    let again = app
        .call(&app.base, &key, &appid, UPLOAD, &body, Some("job-1"))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A duplicate job with its own key: refused, nothing sent.
    let mut duplicate = body.clone();
    duplicate["upload_time"] = at(11);
    let refused = app
        .call(&app.base, &key, &appid, UPLOAD, &duplicate, Some("job-2"))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let shipped = app.sim.order(&order.transaction_id).unwrap();
    assert_eq!(
        shipped.shipping.unwrap().finish_shipping_count,
        1,
        "WeChat saw one upload"
    );

    // Switched off for the tenant: the second upload goes (and is the last).
    let resp = app
        .http
        .patch(app.url(&format!("/admin/v1/tenants/{tenant}")))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "reshipment_guard": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["reshipment_guard"],
        false
    );
    let allowed = app
        .call(&app.base, &key, &appid, UPLOAD, &duplicate, Some("job-3"))
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    // upload_time must still move on, guard or not.
    let stale = app
        .call(&app.base, &key, &appid, UPLOAD, &duplicate, Some("job-4"))
        .await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    assert_eq!(stale.body["field"], "upload_time");
    app.shutdown().await;
}

#[tokio::test]
async fn an_order_uploaded_outside_tpgate_is_wechats_to_judge() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("reship-outside").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    // Uploaded twice behind tpgate's back (e.g. the merchant's old system).
    for (hour, tracking) in [(8, "X1"), (9, "X2")] {
        let mut b = upload_body(&order.transaction_id, &order.openid, tracking);
        b["upload_time"] = at(hour);
        app.sim
            .upload_shipping_directly(&appid, &b)
            .expect("the simulator takes it");
    }
    let mut body = upload_body(&order.transaction_id, &order.openid, "SF1");
    body["upload_time"] = at(10);
    let answer = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(
        answer.body["wechat_errcode"], 10060003,
        "WeChat decided: {}",
        answer.body
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_upload_time_is_filled_and_said() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("reship-time").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let mut body = upload_body(&order.transaction_id, &order.openid, "SF1");
    body.as_object_mut().unwrap().remove("upload_time");
    let before = chrono::Utc::now().timestamp();
    let answer = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let filled = answer
        .header("tpgate-filled-upload-time")
        .expect("says what it filled");
    assert!(filled.ends_with("+08:00"), "Asia/Shanghai: {filled}");
    let at = chrono::DateTime::parse_from_rfc3339(filled)
        .unwrap()
        .timestamp();
    assert!((before - 1..=before + 5).contains(&at), "now: {filled}");
    // WeChat got that time.
    let shipped = app
        .sim
        .order(&order.transaction_id)
        .unwrap()
        .shipping
        .unwrap();
    assert_eq!(shipped.shipping_list[0].upload_time, at);
    app.shutdown().await;
}

#[tokio::test]
async fn two_uploads_of_one_order_at_once_send_one() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("reship-race").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    // WeChat is slow: the first upload is still in flight when the second comes.
    app.sim
        .inject_delay(UPLOAD, std::time::Duration::from_millis(800), 1);
    let mut a = upload_body(&order.transaction_id, &order.openid, "SF1");
    a["upload_time"] = at(10);
    let mut b = upload_body(&order.transaction_id, &order.openid, "SF2");
    b["upload_time"] = at(11);
    let first = app.call(&app.base, &key, &appid, UPLOAD, &a, Some("worker-1"));
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        app.call(&app.base, &key, &appid, UPLOAD, &b, Some("worker-2"))
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(second.status, 409, "{}", second.body);
    let kind = second.body["type"].as_str().unwrap();
    assert!(kind.ends_with("shipment_upload_in_progress"), "{kind}");
    assert!(second.header("retry-after").is_some());
    let shipped = app.sim.order(&order.transaction_id).unwrap();
    assert_eq!(shipped.shipping.unwrap().finish_shipping_count, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn an_upload_without_an_answer_counts_so_no_retry_spends_the_reshipment_unknowingly() {
    let app = TestApp::start(crate::helpers::TestOptions {
        config: Box::new(|c| c.wechat.timeout_secs = 1),
        ..Default::default()
    })
    .await;
    let (_, key, appid) = app.onboarded_tenant("reship-timeout").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    // WeChat takes the upload, and its answer never arrives in time.
    app.sim
        .inject_delay(UPLOAD, std::time::Duration::from_secs(3), 1);
    let mut body = upload_body(&order.transaction_id, &order.openid, "SF1");
    body["upload_time"] = at(10);
    let lost = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert!(lost.status >= 500, "{}", lost.body);
    // A plain retry (a later time, a new key) is stopped: it would be the
    // order's re-shipment, since WeChat has the first.
    let mut retry = body.clone();
    retry["upload_time"] = at(11);
    let refused = app
        .call(&app.base, &key, &appid, UPLOAD, &retry, Some("retry"))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("get_order"), "{detail}");
    let shipped = app.sim.order(&order.transaction_id).unwrap();
    assert_eq!(
        shipped.shipping.unwrap().finish_shipping_count,
        1,
        "WeChat had it"
    );
    app.shutdown().await;
}
