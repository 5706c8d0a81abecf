//! A replica killed with SIGKILL in the middle of a token refresh (WeChat
//! slow to answer `api_authorizer_token`): its lease stops being renewed and
//! lapses within the lease ttl (5 s), so another replica serves the Mini
//! Program within 6 s, and no refresh token is lost, also when WeChat
//! rotates refresh tokens.
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use wechat_sim::NewOrder;

use crate::helpers::{JWT_SECRET, TestApp, TestOptions};

const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
const GET_ORDER: &str = "/wxa/sec/order/get_order";

/// Kills the process on drop, whatever the test did.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Another replica of `app`, in its own process, on `port`.
fn replica_process(app: &TestApp, port: u16) -> Process {
    let mut config = app.config.clone();
    config.public_base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let c = &app.sim_config;
    let child = Command::new(env!("CARGO_BIN_EXE_tpgate-replica"))
        .env("REPLICA_CONFIG", serde_json::to_string(&config).unwrap())
        .env("REPLICA_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "REPLICA_SEALING_KEY",
            config.sealing_key.as_ref().unwrap().expose(),
        )
        .env("REPLICA_COMPONENT_SECRET", &c.component_secret)
        .env("REPLICA_COMPONENT_TOKEN", &c.token)
        .env("REPLICA_COMPONENT_AES_KEY", &c.encoding_aes_key)
        .env("REPLICA_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the replica process starts");
    Process(child)
}

async fn get_order(app: &TestApp, base: &url::Url, key: &str, appid: &str, tx: &str) -> u16 {
    app.call(
        base,
        key,
        appid,
        GET_ORDER,
        &json!({ "transaction_id": tx }),
        None,
    )
    .await
    .status
}

async fn killed_mid_refresh(rotate_refresh_tokens: bool) {
    let app = TestApp::start(TestOptions {
        sim: Box::new(move |s| s.rotate_refresh_tokens = rotate_refresh_tokens),
        config: Box::new(|c| {
            // Every use needs a refresh, so both replicas go for the lease.
            c.wechat.refresh_margin_secs = 7200;
            c.tokens.lease_ttl_secs = 5;
        }),
        ..TestOptions::default()
    })
    .await;
    let (_tenant, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut doomed = replica_process(&app, port);
    let doomed_base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let started = Instant::now();
    while app
        .http
        .get(doomed_base.join("healthz").unwrap())
        .send()
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30), "replica up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // WeChat takes a minute to answer: the doomed replica's refresh holds
    // the lease (renewing it) while it waits.
    app.sim
        .inject_delay(AUTHORIZER_TOKEN, Duration::from_secs(60), 1);
    let calls = app.sim.authorizer_token_calls(&appid);
    let (http, url) = (app.http.clone(), doomed_base.clone());
    let (k, a, tx) = (key.clone(), appid.clone(), order.transaction_id.clone());
    let stuck = tokio::spawn(async move {
        let _ = http
            .post(url.join(&format!("v1/apps/{a}{GET_ORDER}")).unwrap())
            .bearer_auth(k)
            .json(&json!({ "transaction_id": tx }))
            .send()
            .await;
    });
    while app.sim.authorizer_token_calls(&appid) == calls {
        assert!(started.elapsed() < Duration::from_secs(30), "refresh sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Held past a renewal or two, then SIGKILL: nothing is released.
    tokio::time::sleep(Duration::from_secs(3)).await;
    doomed.0.kill().unwrap();
    doomed.0.wait().unwrap();
    let killed = Instant::now();
    stuck.abort();

    let status = get_order(&app, &app.base, &key, &appid, &order.transaction_id).await;
    let took = killed.elapsed();
    eprintln!(
        "served by the other replica {took:?} after the kill (rotating: {rotate_refresh_tokens})"
    );
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(6), "took {took:?}");

    // The refresh token is not lost: past the old refresh token's grace,
    // the next refresh uses what was committed and WeChat accepts it.
    app.advance(600);
    let status = get_order(&app, &app.base, &key, &appid, &order.transaction_id).await;
    assert_eq!(status, 200);
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_replica_killed_mid_refresh_blocks_others_for_seconds_only() {
    killed_mid_refresh(false).await;
}

#[tokio::test]
async fn a_replica_killed_mid_refresh_loses_no_rotating_refresh_token() {
    killed_mid_refresh(true).await;
}
