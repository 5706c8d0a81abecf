//! Durable shipments over HTTP, with the worker running: accepted (202)
//! and uploaded once; a timeout where WeChat did record the upload ends
//! uploaded with exactly one upload call; a WeChat outage and a tpgate
//! restart lose nothing; a permanent refusal fails with WeChat's errcode;
//! a batch answers per item; two replicas upload each shipment once.
use std::time::Duration;

use serde_json::{Value, json};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, TestOptions, eventually, quick_shipments, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";
const GET_ORDER: &str = "/wxa/sec/order/get_order";

/// A gateway whose worker runs and retries within a second.
async fn app() -> TestApp {
    TestApp::start(TestOptions {
        background_tasks: true,
        config: Box::new(quick_shipments),
        ..TestOptions::default()
    })
    .await
}

async fn hand_over(app: &TestApp, key: &str, appid: &str, body: Value) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url(&format!("/v1/apps/{appid}/shipments")))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn shipment(app: &TestApp, key: &str, appid: &str, id: &str) -> Value {
    let resp = app
        .http
        .get(app.url(&format!("/v1/apps/{appid}/shipments/{id}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Waits until shipment `id` is `status`, and answers it.
async fn settled(app: &TestApp, key: &str, appid: &str, id: &str, status: &str) -> Value {
    let mut last = Value::Null;
    eventually(
        Duration::from_secs(20),
        &format!("shipment {status}"),
        async || {
            last = shipment(app, key, appid, id).await;
            last["status"] == status
        },
    )
    .await;
    last
}

async fn events_of(app: &TestApp, event_type: &str) -> Vec<store::events::Event> {
    let filter = store::events::EventFilter {
        event_type: Some(event_type.to_owned()),
        ..Default::default()
    };
    app.auth
        .store()
        .list_events(&filter, None, 500)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_shipment_is_accepted_uploaded_once_and_announced() {
    let app = app().await;
    let (tenant, key, appid) = app.onboarded_tenant("durable").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let mut upload = upload_body(&order.transaction_id, &order.openid, "SF1");
    upload.as_object_mut().unwrap().remove("upload_time");
    let (status, accepted) = hand_over(
        &app,
        &key,
        &appid,
        json!({ "upload_shipping_info": upload }),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    assert!(
        accepted["body"]["upload_time"].is_string(),
        "filled: {accepted}"
    );
    let id = accepted["id"].as_str().unwrap().to_owned();
    // A field sent as null is refused (an optional one is left out).
    let (status, refused) = hand_over(
        &app,
        &key,
        &appid,
        json!({ "upload_shipping_info": accepted["body"], "upload_combined_shipping_info": null }),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("upload_combined_shipping_info"),
        "{refused}"
    );
    let done = settled(&app, &key, &appid, &id, "uploaded").await;
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(app.sim.call_count(UPLOAD), 1);
    assert_eq!(app.sim.order(&order.transaction_id).unwrap().order_state, 2);
    let uploaded = events_of(&app, "shipment.uploaded").await;
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0].data["shipment_id"], id.as_str());

    // The order has a shipment now: another one is the re-shipment the
    // guard asks to confirm, refused before anything is stored.
    let mut again = upload_body(&order.transaction_id, &order.openid, "SF2");
    again.as_object_mut().unwrap().remove("upload_time");
    let (status, refused) =
        hand_over(&app, &key, &appid, json!({ "upload_shipping_info": again })).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["type"]
            .as_str()
            .unwrap()
            .ends_with("reshipment_requires_confirmation")
    );
    // A shipment whose outcome was recorded too late (its worker lost the
    // lease after WeChat took it) is sent again and refused by the guard:
    // WeChat's order shows the upload is its own, so it ends uploaded.
    let late = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&late.transaction_id, &late.openid, "SF7");
    let sync = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert_eq!(sync.status, 200, "{}", sync.body);
    let store = app.auth.store();
    let store::shipments::Enqueued::Created(lost) = store
        .enqueue_shipment(store::shipments::NewShipment {
            tenant_id: tenant.clone().into(),
            appid: appid.clone().into(),
            kind: store::shipments::ShipmentKind::Upload,
            order_key: format!("tx:{}", late.transaction_id),
            body,
            confirm_reshipment: false,
            idempotency_key: None,
            request_id: None,
            give_up_at: chrono::Utc::now() + chrono::Duration::hours(1),
        })
        .await
        .unwrap()
    else {
        unreachable!()
    };
    settled(&app, &key, &appid, &lost.id, "uploaded").await;
    assert_eq!(app.sim.call_count(UPLOAD), 2, "not sent again");

    // Listed by status.
    let resp = app
        .http
        .get(app.url(&format!("/v1/apps/{appid}/shipments?status=uploaded")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_timeout_wechat_did_record_ends_uploaded_with_one_upload_call() {
    let app = app().await;
    let (_, key, appid) = app.onboarded_tenant("durable-timeout").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    // WeChat records the upload but answers after tpgate gave up waiting.
    app.sim.inject_delay(UPLOAD, Duration::from_millis(1500), 1);
    let body = upload_body(&order.transaction_id, &order.openid, "SF1");
    let (status, accepted) =
        hand_over(&app, &key, &appid, json!({ "upload_shipping_info": body })).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &key, &appid, &id, "uploaded").await;
    assert_eq!(app.sim.call_count(UPLOAD), 1, "never sent twice: {done}");
    assert!(app.sim.call_count(GET_ORDER) >= 1, "read before any retry");
    assert_eq!(done["attempts"], 2, "{done}");
    let shipped = app
        .sim
        .order(&order.transaction_id)
        .unwrap()
        .shipping
        .unwrap();
    assert_eq!(shipped.finish_shipping_count, 1, "no re-shipment spent");
    app.shutdown().await;
}

#[tokio::test]
async fn an_outage_and_a_restart_lose_nothing_and_a_refusal_fails_with_wechats_errcode() {
    let mut app = app().await;
    let (_, key, appid) = app.onboarded_tenant("durable-outage").await;
    // WeChat is down (busy) for a while.
    app.sim.inject_fault(UPLOAD, -1, 3);
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&order.transaction_id, &order.openid, "SF1");
    let (status, accepted) =
        hand_over(&app, &key, &appid, json!({ "upload_shipping_info": body })).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap().to_owned();
    // The first attempt fails; then this replica goes away.
    eventually(Duration::from_secs(10), "a failed attempt", async || {
        shipment(&app, &key, &appid, &id).await["attempts"].as_i64() >= Some(1)
    })
    .await;
    app.stop_instance().await;
    let replica = app.spawn_replica().await;
    let get = |id: String| {
        let (app, key, appid, base) = (&app, &key, &appid, replica.base.clone());
        async move {
            let resp = app
                .http
                .get(
                    base.join(&format!("v1/apps/{appid}/shipments/{id}"))
                        .unwrap(),
                )
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }
    };
    let mut last = Value::Null;
    eventually(
        Duration::from_secs(20),
        "uploaded after the outage",
        async || {
            last = get(id.clone()).await;
            last["status"] == "uploaded"
        },
    )
    .await;
    assert_eq!(app.sim.order(&order.transaction_id).unwrap().order_state, 2);
    assert!(last["attempts"].as_i64() >= Some(2), "{last}");

    // A permanent refusal: failed with WeChat's errcode and advice, once.
    app.sim.inject_fault(UPLOAD, 10060001, 1);
    let other = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&other.transaction_id, &other.openid, "SF9");
    let resp = app
        .http
        .post(
            replica
                .base
                .join(&format!("v1/apps/{appid}/shipments"))
                .unwrap(),
        )
        .bearer_auth(&key)
        .json(&json!({ "upload_shipping_info": body }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let failed_id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(Duration::from_secs(20), "failed", async || {
        last = get(failed_id.clone()).await;
        last["status"] == "failed"
    })
    .await;
    assert_eq!(last["errcode"], 10060001, "{last}");
    assert_eq!(last["attempts"], 1, "not retried: {last}");
    let failed = events_of(&app, "shipment.failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].data["errcode"], 10060001);
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_batch_answers_each_item_and_two_replicas_upload_each_once() {
    let app = app().await;
    let (_, key, appid) = app.onboarded_tenant("durable-batch").await;
    let replica = app.spawn_replica().await;
    let mut items = Vec::new();
    let mut orders = Vec::new();
    for i in 0..97 {
        let order = app.sim.create_paid_order(NewOrder::default());
        items.push(json!({
            "upload_shipping_info": upload_body(&order.transaction_id, &order.openid, &format!("SF{i}")),
            "idempotency_key": format!("ship-{i}"),
        }));
        orders.push(order);
    }
    let fifth = items[5].clone();
    // An unknown courier, a body that does not parse, the same order twice.
    let bad_courier = {
        let order = app.sim.create_paid_order(NewOrder::default());
        let mut b = upload_body(&order.transaction_id, &order.openid, "X1");
        b["shipping_list"][0]["express_company"] = json!("NOPE");
        json!({ "upload_shipping_info": b })
    };
    items.push(bad_courier);
    items.push(json!({ "upload_shipping_info": { "order_key": "nope" } }));
    let mut twice = upload_body(&orders[0].transaction_id, &orders[0].openid, "SFX");
    twice["upload_time"] = json!("2023-01-01T00:00:00+08:00");
    items.push(json!({ "upload_shipping_info": twice }));
    let resp = app
        .http
        .post(app.url(&format!("/v1/apps/{appid}/shipments/batch")))
        .bearer_auth(&key)
        .json(&json!({ "shipments": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let result: Value = resp.json().await.unwrap();
    assert_eq!(result["accepted"], 97, "{result}");
    assert_eq!(result["refused"], 3, "{result}");
    let results = result["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert_eq!(results[97]["status"], 400);
    assert_eq!(
        results[97]["problem"]["field"],
        "shipping_list[0].express_company"
    );
    assert_eq!(results[98]["status"], 400);
    assert!(results[98]["problem"]["detail"].is_string());
    // The first order's shipment is queued (or already uploaded: then the
    // guard asks for confirmation).
    assert_eq!(results[99]["status"], 409, "{}", results[99]);
    // An item again: it answers its earlier shipment.
    let again = app
        .http
        .post(
            replica
                .base
                .join(&format!("v1/apps/{appid}/shipments/batch"))
                .unwrap(),
        )
        .bearer_auth(&key)
        .json(&json!({ "shipments": [fifth] }))
        .send()
        .await
        .unwrap();
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["results"][0]["status"], 200, "{again}");
    assert_eq!(
        again["results"][0]["shipment"]["id"],
        result["results"][5]["shipment"]["id"]
    );

    // Both replicas' workers run: every order uploaded exactly once.
    eventually(Duration::from_secs(30), "97 uploads", async || {
        orders
            .iter()
            .all(|o| app.sim.order(&o.transaction_id).unwrap().order_state == 2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.sim.call_count(UPLOAD), 97);
    for o in &orders {
        let shipping = app.sim.order(&o.transaction_id).unwrap().shipping.unwrap();
        assert_eq!(shipping.finish_shipping_count, 1);
    }
    let mut counts = Vec::new();
    for _ in 0..100 {
        counts = app
            .auth
            .store()
            .count_shipments_by_status(None)
            .await
            .unwrap();
        if events_of(&app, "shipment.uploaded").await.len() == 97 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "DEBUG events {}",
        events_of(&app, "shipment.uploaded").await.len()
    );
    assert_eq!(
        counts,
        vec![(store::shipments::ShipmentStatus::Uploaded, 97)]
    );
    replica.shutdown().await;
    app.shutdown().await;
}
