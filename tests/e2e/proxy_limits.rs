//! Rate limits: per user and per appid before WeChat's quota is spent, exact
//! across instances sharing Redis, fail-open to local counters when Redis is
//! unreachable, and usage readable in the admin API.
use std::time::Duration;

use serde_json::{Value, json};
use tokio::{io::copy_bidirectional, net::TcpListener, task::JoinSet};
use wechat_sim::NewOrder;

use crate::helpers::{Replica, TestApp, TestOptions, eventually};

const TRACE: &str = "/cgi-bin/express/delivery/open_msg/trace_waybill";
const QUERY: &str = "/cgi-bin/express/delivery/open_msg/query_trace";

fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Sends every `(appid, WeChat path, body)` at once, alternately to `app`
/// and `replica`: each call's appid and HTTP status.
async fn all_at_once(
    app: &TestApp,
    replica: &Replica,
    key: &str,
    calls: impl IntoIterator<Item = (String, &'static str, Value)>,
) -> Vec<(String, u16)> {
    let mut running = JoinSet::new();
    for (i, (appid, path, body)) in calls.into_iter().enumerate() {
        let base = if i % 2 == 0 { &app.base } else { &replica.base };
        let url = base.join(&format!("v1/apps/{appid}{path}")).unwrap();
        let (http, key) = (app.http.clone(), key.to_owned());
        running.spawn(async move {
            let status = http
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (appid, status)
        });
    }
    running.join_all().await
}

/// One API group's row of `GET /admin/v1/usage?<query>`.
async fn usage(app: &TestApp, query: &str, group: &str) -> Value {
    let usage: Value = app
        .admin_get(&format!("/admin/v1/usage?{query}"))
        .await
        .json()
        .await
        .unwrap();
    usage["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["api_group"] == group)
        .cloned()
        .unwrap_or_else(|| panic!("no {group} in {usage}"))
}

fn trace_body(openid: &str, waybill_id: &str) -> Value {
    json!({
        "openid": openid, "receiver_phone": "13800001234", "waybill_id": waybill_id,
        "goods_info": { "detail_list": [{ "goods_name": "狗*1", "goods_img_url": "https://img.example.com/a.png" }] }
    })
}

/// An app with Redis (when the environment has one), a tenant whose Mini
/// Program opened the logistics-query plugin, and a traced waybill: returns
/// (key, appid, openid, waybill_token).
async fn traced(app: &TestApp) -> (String, String, String, String) {
    let (_tenant, key, appid) = app.onboarded_tenant("acme").await;
    app.sim.set_logistics_plugin(&appid, true);
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = trace_body(&order.openid, "WX0001");
    let a = app.call(&app.base, &key, &appid, TRACE, &body, None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let token = a.body["waybill_token"].as_str().unwrap().to_owned();
    (key, appid, order.openid, token)
}

#[tokio::test]
async fn the_101st_query_by_one_user_is_refused_before_wechat() {
    let app = TestApp::start(TestOptions {
        redis: true,
        ..TestOptions::default()
    })
    .await;
    let (key, appid, openid, token) = traced(&app).await;
    let query = json!({ "waybill_token": token, "openid": openid });
    // trace_waybill and query_trace are separate APIs of one group: the
    // user's 100 a day counts both (1 trace + 99 queries).
    for i in 0..99 {
        let a = app.call(&app.base, &key, &appid, QUERY, &query, None).await;
        assert_eq!(a.status, 200, "call {i}: {}", a.body);
    }
    let last = app.call(&app.base, &key, &appid, QUERY, &query, None).await;
    assert_eq!(last.status, 429, "{}", last.body);
    assert_eq!(
        last.body["type"],
        "https://tpgate.dev/problems/rate-limited"
    );
    let retry_after: i64 = last.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let policy = last.header("ratelimit-policy").unwrap();
    assert!(
        policy.contains("\"logistics_plugin-user-day\";q=100;w=86400"),
        "{policy}"
    );
    assert!(
        policy.contains("\"logistics_plugin-appid-day\";q=100000;w=86400"),
        "{policy}"
    );
    let state = last.header("ratelimit").unwrap();
    assert!(
        state.contains("\"logistics_plugin-user-day\";r=0;"),
        "{state}"
    );
    // WeChat saw 1 trace + 99 queries, the 101st never.
    assert_eq!(app.sim.call_count(TRACE) + app.sim.call_count(QUERY), 100);

    // Another user of the same Mini Program is not affected. (A query
    // without openid would not do: WeChat, and the simulator, count it
    // against the waybill's user, whose day is used up.)
    let other = trace_body("oAnotherUser", "WX0002");
    let a = app.call(&app.base, &key, &appid, TRACE, &other, None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.header("ratelimit")
            .unwrap()
            .contains("\"logistics_plugin-appid-day\";r=99899;")
    );

    // Usage is readable in the admin API.
    let group = usage(
        &app,
        &format!("appid={appid}&openid={openid}"),
        "logistics_plugin",
    )
    .await;
    assert_eq!(group["appid_calls"], 101, "{group}");
    assert_eq!(group["user_calls"], 100, "{group}");
    app.shutdown().await;
}

#[tokio::test]
async fn two_instances_sharing_redis_hold_a_limit_exactly() {
    if redis_url().is_none() {
        eprintln!("TEST_REDIS_URL is not set: the cross-instance limit needs Redis (CI sets it)");
        return;
    }
    let app = TestApp::start(TestOptions {
        redis: true,
        ..TestOptions::default()
    })
    .await;
    let (key, appid, openid, token) = traced(&app).await;
    // An operator lowers this appid's per-user limit to 20 a day.
    let r = app
        .admin_put(
            "/admin/v1/rate-limit-policies",
            json!({ "api_group": "logistics_plugin", "dimension": "user", "window": "day", "scope": format!("appid:{appid}"), "max_calls": 20 }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The second instance starts after the change, so it reads it at start.
    let replica = app.spawn_replica().await;
    let query = json!({ "waybill_token": token, "openid": openid });
    let answers = all_at_once(
        &app,
        &replica,
        &key,
        (0..40).map(|_| (appid.clone(), QUERY, query.clone())),
    )
    .await;
    let mut ok = 0;
    let mut limited = 0;
    for (_, status) in answers {
        match status {
            200 => ok += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // 1 trace_waybill + 19 queries fit in 20.
    assert_eq!((ok, limited), (19, 21));
    assert_eq!(app.sim.call_count(QUERY), 19);
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_tenant_limit_holds_exactly_across_its_mini_programs_and_replicas() {
    if redis_url().is_none() {
        eprintln!("TEST_REDIS_URL is not set: the cross-instance limit needs Redis (CI sets it)");
        return;
    }
    let app = TestApp::start(TestOptions {
        redis: true,
        ..TestOptions::default()
    })
    .await;
    let (tenant, key, first) = app.onboarded_tenant("acme").await;
    let second = "wxfedcba9876543210".to_owned();
    app.sim
        .set_next_authorization(&second, app.sim_config.default_func_ids.clone());
    let link = app.create_link(&tenant).await;
    let (status, html) = app.follow_onboarding(&link).await;
    assert_eq!(status, 200, "{html}");
    for appid in [&first, &second] {
        app.sim.set_logistics_plugin(appid, true);
    }
    // The tenant may trace 20 waybills a day across its Mini Programs; one
    // user of the first may trace 5. On a Redis Cluster the tenant's
    // counter is in another hash slot than the appids' counters.
    for policy in [
        json!({ "api_group": "logistics_plugin", "dimension": "tenant", "window": "day", "scope": format!("tenant:{tenant}"), "max_calls": 20 }),
        json!({ "api_group": "logistics_plugin", "dimension": "user", "window": "day", "scope": format!("appid:{first}"), "max_calls": 5 }),
    ] {
        let r = app.admin_put("/admin/v1/rate-limit-policies", policy).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let replica = app.spawn_replica().await;
    // The first Mini Program's calls are all one user's; the second's each
    // another user's.
    let traces = (0..40).map(|i| {
        let (appid, openid) = if i % 4 < 2 {
            (first.clone(), "oSameUser".to_owned())
        } else {
            (second.clone(), format!("oUser{i}"))
        };
        (appid, TRACE, trace_body(&openid, &format!("WX{i:04}")))
    });
    let (mut first_ok, mut second_ok, mut limited) = (0u64, 0u64, 0);
    for answer in all_at_once(&app, &replica, &key, traces).await {
        match answer {
            (appid, 200) if appid == first => first_ok += 1,
            (_, 200) => second_ok += 1,
            (_, 429) => limited += 1,
            (_, other) => panic!("unexpected status {other}"),
        }
    }
    // Exactly the tenant's 20 reached WeChat, at most 5 of them the one
    // user's.
    assert_eq!((first_ok + second_ok, limited), (20, 20));
    assert!(first_ok <= 5, "{first_ok}");
    assert_eq!(app.sim.call_count(TRACE), 20);
    // Each Mini Program's usage counts what it sent: increments of refused
    // calls were taken back.
    for (appid, sent) in [(&first, first_ok), (&second, second_ok)] {
        let group = usage(&app, &format!("appid={appid}"), "logistics_plugin").await;
        assert_eq!(group["appid_calls"], sent, "{appid}: {group}");
    }
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn usage_of_calls_no_limit_applies_to_reaches_redis_from_every_replica() {
    if redis_url().is_none() {
        eprintln!("TEST_REDIS_URL is not set: counted in Redis only with Redis (CI sets it)");
        return;
    }
    let app = TestApp::start(TestOptions {
        redis: true,
        ..TestOptions::default()
    })
    .await;
    let (_tenant, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = json!({ "transaction_id": order.transaction_id });
    let replica = app.spawn_replica().await;
    // get_order: no policy limits the shipping group by default, so these
    // calls are only counted, in the background.
    for i in 0..30 {
        let base = if i % 2 == 0 { &app.base } else { &replica.base };
        let a = app
            .call(base, &key, &appid, "/wxa/sec/order/get_order", &body, None)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.header("ratelimit").is_none());
    }
    let shipping_calls =
        async || usage(&app, &format!("appid={appid}"), "shipping").await["appid_calls"].clone();
    eventually(Duration::from_secs(5), "usage flushed", async || {
        shipping_calls().await == json!(30)
    })
    .await;
    // A replica that stops adds what it counted last.
    for _ in 0..3 {
        let a = app
            .call(
                &replica.base,
                &key,
                &appid,
                "/wxa/sec/order/get_order",
                &body,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    replica.shutdown().await;
    assert_eq!(shipping_calls().await, json!(33));
    app.shutdown().await;
}

/// A TCP relay to Redis that the test can cut, as a network failure would.
async fn relay_to(target: String) -> (String, tokio::sync::watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut_tx, cut_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        loop {
            let mut cut = cut_rx.clone();
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut inbound, _)) = accepted else { return };
                    let target = target.clone();
                    let mut cut_conn = cut_rx.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                        tokio::select! {
                            _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_conn.wait_for(|c| *c) => {}
                        }
                    });
                }
                _ = cut.wait_for(|c| *c) => return,
            }
        }
    });
    (format!("redis://{addr}"), cut_tx)
}

#[tokio::test]
async fn an_unreachable_redis_fails_open_to_local_counters() {
    let Some(redis) = redis_url() else {
        eprintln!("TEST_REDIS_URL is not set: this test cuts a Redis connection (CI sets it)");
        return;
    };
    let Some(target) = redis.strip_prefix("redis://") else {
        eprintln!("TEST_REDIS_URL is not one server: this test relays one connection");
        return;
    };
    let target = target.trim_end_matches('/').to_owned();
    let (relayed, cut) = relay_to(target).await;
    let relay = relayed.trim_start_matches("redis://").to_owned();
    let app = TestApp::start(TestOptions {
        redis: true,
        config: Box::new(move |c| c.redis_url = Some(relayed)),
        ..TestOptions::default()
    })
    .await;
    let (key, appid, openid, token) = traced(&app).await;
    let r = app
        .admin_put(
            "/admin/v1/rate-limit-policies",
            json!({ "api_group": "logistics_plugin", "dimension": "user", "window": "day", "scope": "global", "max_calls": 5 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let query = json!({ "waybill_token": token, "openid": openid });
    let a = app.call(&app.base, &key, &appid, QUERY, &query, None).await;
    assert_eq!(a.status, 200, "{}", a.body);

    // Redis goes away: calls still go through (fail-open), and the limit
    // still holds, counted by this replica alone from zero.
    cut.send(true).unwrap();
    eventually(Duration::from_secs(5), "the relay is cut", async || {
        tokio::net::TcpStream::connect(relay.as_str())
            .await
            .is_err()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.call(&app.base, &key, &appid, QUERY, &query, None)
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429], "{statuses:?}");
    app.shutdown().await;
}
