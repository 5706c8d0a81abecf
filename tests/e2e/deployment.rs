//! What a Kubernetes deployment relies on: a shutdown that stops accepting
//! and drains in-flight calls within the grace period, and readiness that
//! waits for migrations when pods do not run them (the Helm hook does).
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenant_auth::Clock;
use tpgate::Application;
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, TestOptions, eventually};

const GET_ORDER: &str = "/wxa/sec/order/get_order";

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_in_flight_calls() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("draining").await;
    let order = app.sim.create_paid_order(NewOrder::default());

    // A second instance on the same database, to stop while a call is in flight.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let mut config = app.config.clone();
    config.public_base_url = base.clone();
    config.shutdown_drain_secs = 10;
    let instance = Application::build(&config, Some(listener), Clock::system())
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(instance.run_until_stopped(async {
        let _ = stop_rx.await;
    }));

    // WeChat takes 1.5 s to answer this call.
    app.sim
        .inject_delay(GET_ORDER, Duration::from_millis(1500), 1);
    let url = base.join(&format!("v1/apps/{appid}{GET_ORDER}")).unwrap();
    let body = json!({ "transaction_id": order.transaction_id });
    let calls = app.sim.call_count(GET_ORDER);
    let in_flight = tokio::spawn({
        let (url, key, body) = (url.clone(), key.clone(), body.clone());
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    });
    let within = Duration::from_secs(5);
    eventually(within, "the call reaches WeChat", async || {
        app.sim.call_count(GET_ORDER) > calls
    })
    .await;
    let stopping = Instant::now();
    stop_tx.send(()).unwrap();
    let addr = (base.host_str().unwrap().to_owned(), base.port().unwrap());
    eventually(within, "the listener closes", async || {
        tokio::net::TcpStream::connect(addr.clone()).await.is_err()
    })
    .await;

    // No new connections once draining…
    let refused = reqwest::Client::new()
        .post(url)
        .bearer_auth(&key)
        .json(&body)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "a new call was accepted while draining");
    // …but the call in flight completes, with WeChat's answer.
    let (status, answer) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["order"]["transaction_id"],
        order.transaction_id.as_str()
    );
    // And the instance is gone well within the drain limit.
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("instance stopped within the drain limit")
        .unwrap()
        .unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "took {:?}",
        stopping.elapsed()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn readiness_waits_for_migrations_when_pods_do_not_run_them() {
    let app = TestApp::start(TestOptions {
        background_tasks: false,
        config: Box::new(|c| c.migrate_on_start = false),
        ..TestOptions::default()
    })
    .await;
    let readyz = || async {
        let resp = app.http.get(app.ops_url("/readyz")).send().await.unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["migrations_applied"], false, "{body}");
    assert_eq!(body["database"], true, "{body}");
    // Liveness is unaffected: restarting would not help.
    let live = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    // The Helm hook runs `tpgate migrate`; the same pod becomes ready.
    app.auth.store().migrate().await.unwrap();
    let (status, body) = readyz().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["migrations_applied"], true, "{body}");
    app.shutdown().await;
}
