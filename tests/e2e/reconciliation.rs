//! Reconciliation over HTTP with the workers running and the simulator's
//! clock: 3 unshipped orders found among 50, `shipping.overdue` at the
//! threshold, closed as they ship (through tpgate, behind its back, or as
//! WeChat's settlement push says), a reminder recorded, the health view's
//! counts; a pending order names the durable shipment waiting for it.
use std::time::Duration;

use serde_json::Value;
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, TestOptions, eventually, quick_shipments, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";
const ORDER_LIST: &str = "/wxa/sec/order/get_order_list";

async fn health(app: &TestApp, appid: &str) -> Value {
    app.admin_get(&format!("/admin/v1/authorizers/{appid}/health"))
        .await
        .json()
        .await
        .unwrap()
}

async fn pending(app: &TestApp, appid: &str) -> Vec<Value> {
    let resp = app
        .admin_get(&format!("/admin/v1/shipping/pending?appid={appid}"))
        .await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn overdue_events(app: &TestApp) -> Vec<store::events::Event> {
    let filter = store::events::EventFilter {
        event_type: Some("shipping.overdue".into()),
        ..Default::default()
    };
    app.auth
        .store()
        .list_events(&filter, None, 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn unshipped_orders_are_found_announced_when_overdue_and_closed_as_they_ship() {
    let app = TestApp::start(TestOptions {
        background_tasks: true,
        config: Box::new(|c| {
            c.reconciliation.interval_secs = 60;
            c.reconciliation.tick_secs = 1;
            c.reconciliation.page_size = 20;
        }),
        ..TestOptions::default()
    })
    .await;
    let (tenant, key, appid) = app.onboarded_tenant("reconcile").await;
    // 50 paid orders; 47 shipped (at WeChat, before tpgate looks).
    let mut unshipped = Vec::new();
    for i in 0..50 {
        let order = app.sim.create_paid_order(NewOrder::default());
        if i % 17 == 0 {
            unshipped.push(order);
        } else {
            let mut b = upload_body(&order.transaction_id, &order.openid, &format!("S{i}"));
            b["upload_time"] = serde_json::json!("2026-12-05T10:00:00+08:00");
            app.sim.upload_shipping_directly(&appid, &b).unwrap();
        }
    }
    assert_eq!(unshipped.len(), 3);
    // Within the first interval the Mini Program is found trade-managed and
    // scheduled; a minute on, its run is due.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.advance(61);
    eventually(Duration::from_secs(15), "3 pending", async || {
        pending(&app, &appid).await.len() == 3
    })
    .await;
    let found = pending(&app, &appid).await;
    let mut ids: Vec<&str> = found
        .iter()
        .map(|o| o["transaction_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected: Vec<&str> = unshipped
        .iter()
        .map(|o| o.transaction_id.as_str())
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(found[0]["tenant_id"], tenant.as_str());
    // 50 orders, 3 in state 1: one page of 20 was enough.
    assert!(app.sim.call_count(ORDER_LIST) >= 1);
    assert!(overdue_events(&app).await.is_empty());

    // 24 h after payment: each is announced overdue, once.
    app.advance(24 * 3600);
    eventually(Duration::from_secs(15), "3 overdue", async || {
        overdue_events(&app).await.len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(overdue_events(&app).await.len(), 3, "once per threshold");
    let view = health(&app, &appid).await;
    assert_eq!(view["shipping"]["pending"], 3, "{view}");
    assert_eq!(view["shipping"]["overdue"], 3, "{view}");

    // One ships through tpgate: closed at once.
    let first = &unshipped[0];
    let body = upload_body(&first.transaction_id, &first.openid, "SF1");
    let shipped = app.call(&app.base, &key, &appid, UPLOAD, &body, None).await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    assert_eq!(pending(&app, &appid).await.len(), 2);
    // One ships behind tpgate's back, without a push tpgate sees: the next
    // complete pass no longer finds it in state 1.
    app.sim.configure(|c| c.settlement_push_on_shipping = false);
    let second = &unshipped[1];
    let body = upload_body(&second.transaction_id, &second.openid, "ZT1");
    app.sim.upload_shipping_directly(&appid, &body).unwrap();
    app.advance(61);
    eventually(Duration::from_secs(15), "1 pending", async || {
        pending(&app, &appid).await.len() == 1
    })
    .await;
    // The last one: WeChat reminds, which is recorded. WeChat reminds 48 h
    // after payment, when the 48 h threshold is crossed too, and either may
    // be seen first (the announcement says which); here the reminder comes
    // an hour earlier, so the announcement below knows of it.
    app.sim
        .configure(|c| c.remind_shipping_after = Some(Duration::from_secs(47 * 3600)));
    app.advance(23 * 3600);
    let last = &unshipped[2];
    eventually(Duration::from_secs(15), "reminded", async || {
        let p = pending(&app, &appid).await;
        p.len() == 1 && p[0]["reminded_at"].is_string()
    })
    .await;
    assert_eq!(overdue_events(&app).await.len(), 3, "not yet 48 h");
    app.advance(3600);
    let p = pending(&app, &appid).await;
    assert_eq!(p[0]["transaction_id"], last.transaction_id.as_str());
    // The 48 h threshold is its own announcement.
    eventually(Duration::from_secs(15), "48 h overdue", async || {
        overdue_events(&app).await.len() == 4
    })
    .await;
    let events = overdue_events(&app).await;
    assert_eq!(events[0].data["threshold_hours"], 48);
    assert_eq!(events[0].data["reminded"], true);

    // It ships behind tpgate's back and WeChat's settlement push says so:
    // no longer pending as soon as the push is acknowledged, before any pass.
    app.sim.configure(|c| c.settlement_push_on_shipping = true);
    let body = upload_body(&last.transaction_id, &last.openid, "YT1");
    app.sim.upload_shipping_directly(&appid, &body).unwrap();
    eventually(Duration::from_secs(15), "settled by push", async || {
        pending(&app, &appid).await.is_empty()
    })
    .await;
    let view = health(&app, &appid).await;
    assert_eq!(view["shipping"]["pending"], 0, "{view}");
    app.shutdown().await;
}

/// A pending order with a durable shipment handed over for it (not yet
/// uploaded: WeChat is busy) names that shipment, so an operator sees the
/// order is on its way rather than forgotten; the others name none. Once
/// the shipment is uploaded the order is no longer pending.
#[tokio::test]
async fn a_pending_order_names_the_durable_shipment_waiting_for_it() {
    let app = TestApp::start(TestOptions {
        background_tasks: true,
        config: Box::new(|c| {
            c.reconciliation.interval_secs = 60;
            c.reconciliation.tick_secs = 1;
            quick_shipments(c);
        }),
        ..TestOptions::default()
    })
    .await;
    let (_tenant, key, appid) = app.onboarded_tenant("pending-shipment").await;
    let handed = app.sim.create_paid_order(NewOrder::default());
    let other = app.sim.create_paid_order(NewOrder::default());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.advance(61);
    eventually(Duration::from_secs(15), "2 pending", async || {
        pending(&app, &appid).await.len() == 2
    })
    .await;

    // WeChat is busy: the shipment stays queued, retried every second.
    app.sim.inject_fault(UPLOAD, -1, 1_000);
    let resp = app
        .http
        .post(app.url(&format!("/v1/apps/{appid}/shipments")))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "upload_shipping_info": upload_body(&handed.transaction_id, &handed.openid, "SF9")
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let accepted: Value = resp.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    let of = |orders: &[Value], tx: &str| -> Value {
        orders
            .iter()
            .find(|o| o["transaction_id"] == tx)
            .cloned()
            .unwrap_or_else(|| panic!("{tx} is not pending: {orders:?}"))
    };
    let orders = pending(&app, &appid).await;
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_eq!(
        of(&orders, &handed.transaction_id)["shipment_id"],
        id.as_str()
    );
    assert!(
        of(&orders, &other.transaction_id)
            .get("shipment_id")
            .is_none(),
        "{orders:?}"
    );

    // WeChat recovers: uploaded, and no longer pending.
    app.sim.inject_fault(UPLOAD, -1, 0);
    eventually(Duration::from_secs(15), "uploaded", async || {
        let orders = pending(&app, &appid).await;
        orders.len() == 1 && orders[0]["transaction_id"] == other.transaction_id.as_str()
    })
    .await;
    app.shutdown().await;
}
