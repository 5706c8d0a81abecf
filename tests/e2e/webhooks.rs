//! Mini Program events to tenant webhooks: the simulator pushes each event
//! (encrypted as WeChat does) to `/wechat/apps/{appid}/events`; tpgate stores
//! it once and delivers it, signed, to the tenant's endpoints, retrying
//! until the receiver takes it — across restarts, and once per endpoint
//! however many replicas deliver.
use std::time::Duration;

use serde_json::{Value, json};
use wechat_sim::{AppEvent, CONFIRM_RECEIVE_AUTO, CONFIRM_RECEIVE_MANUAL, NewOrder};

use crate::{
    helpers::{TestApp, TestOptions},
    receiver::Receiver,
};

fn fast_delivery() -> TestOptions {
    TestOptions {
        background_tasks: true,
        config: Box::new(|c| {
            c.webhooks.poll_interval_ms = 50;
            c.webhooks.retry_schedule_secs = vec![1, 1, 1, 1, 1, 1];
        }),
        ..TestOptions::default()
    }
}

/// Tenant with a webhook endpoint (created before onboarding, so the
/// authorization is delivered too), onboarded: (tenant, appid, secret).
async fn tenant_with_webhook(app: &TestApp, receiver: &Receiver) -> (String, String, String) {
    app.push_ticket().await;
    let tenant = app.create_tenant("hooked").await;
    let r = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/webhooks"),
            json!({ "url": receiver.url }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = app.create_link(&tenant).await;
    let (status, html) = app.follow_onboarding(&link).await;
    assert_eq!(status, 200, "{html}");
    (
        tenant,
        app.sim_config.default_authorizer_appid.clone(),
        secret,
    )
}

fn shipped_order(app: &TestApp) -> wechat_sim::ShippingOrder {
    let order = app.sim.create_paid_order(NewOrder::default());
    app.sim.order(&order.transaction_id).unwrap()
}

async fn stored_events(app: &TestApp) -> usize {
    app.auth
        .store()
        .list_events(&store::events::EventFilter::default(), None, 1000)
        .await
        .unwrap()
        .len()
}

/// WeChat sends `confirm_receive_method` 1 for a receipt the user confirmed
/// and 2 for an automatic one (seed 004; field reports agree): payloads add
/// the name, `manual` or `auto`, and keep WeChat's number.
#[tokio::test]
async fn settlement_payloads_name_the_confirm_receive_method() {
    let receiver = Receiver::start().await;
    let app = TestApp::start(fast_delivery()).await;
    let (_tenant, appid, _secret) = tenant_with_webhook(&app, &receiver).await;
    let order = shipped_order(&app);
    for event in [
        AppEvent::order_settlement_for(&order, false),
        AppEvent::order_settlement_with(&order, Some(CONFIRM_RECEIVE_MANUAL)),
        AppEvent::order_settlement_with(&order, Some(CONFIRM_RECEIVE_AUTO)),
    ] {
        let outcome = app.sim.push_app_event(&appid, &event).await.unwrap();
        assert!(outcome.acknowledged, "{:?}", outcome.attempts);
    }
    // authorization.authorized + the three settlement pushes.
    let got = receiver.wait_for(4, 15).await;
    let names: Vec<(Value, Value)> = got
        .iter()
        .filter(|r| r.json["type"] == "trade_manage_order_settlement")
        .map(|r| {
            let data = &r.json["data"];
            (
                data["confirm_receive_method"].clone(),
                data["confirm_receive_method_name"].clone(),
            )
        })
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for expected in [
        (Value::Null, Value::Null),
        (json!(1), json!("manual")),
        (json!(2), json!("auto")),
    ] {
        assert!(names.contains(&expected), "{expected:?} not in {names:?}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn each_event_is_stored_once_and_delivered_signed() {
    let receiver = Receiver::start().await;
    let app = TestApp::start(fast_delivery()).await;
    let (tenant, appid, secret) = tenant_with_webhook(&app, &receiver).await;
    let order = shipped_order(&app);
    let events = [
        AppEvent::remind_access_api(),
        AppEvent::remind_shipping_for(&order),
        AppEvent::order_settlement_for(&order, false),
        AppEvent::order_settlement_for(&order, true),
        AppEvent::Other {
            event: "wxa_privacy_apply".into(),
            fields: vec![("result".into(), "ok".into())],
        },
    ];
    for event in &events {
        let outcome = app.sim.push_app_event(&appid, event).await.unwrap();
        assert!(outcome.acknowledged, "{:?}", outcome.attempts);
        assert_eq!(outcome.attempts.len(), 1);
        // WeChat's retry of the same message, and the same event twice.
        let again = app.sim.deliver_app_push(&outcome.message, 1).await;
        assert!(again.acknowledged);
    }
    // authorization.authorized + the five events, each once.
    let got = receiver.wait_for(6, 15).await;
    // Deliberate: time for a duplicate to arrive, if there were one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.received();
    assert_eq!(
        got_after.len(),
        6,
        "{:#?}",
        got_after.iter().map(|r| &r.json).collect::<Vec<_>>()
    );
    assert_eq!(got.len(), 6);
    let now = chrono::Utc::now().timestamp();
    for r in &got_after {
        webhooks::signature::verify(&r.signature, &secret, &r.body, now, 300)
            .unwrap_or_else(|e| panic!("{e}: {}", r.signature));
        assert_eq!(r.json["id"], r.event_id.as_str());
        assert_eq!(r.json["tenant_id"], tenant.as_str());
        assert_eq!(r.json["appid"], appid.as_str());
        assert!(r.json["occurred_at"].is_string());
    }
    let by_type = |t: &str| {
        got_after
            .iter()
            .find(|r| r.json["type"] == t)
            .unwrap_or_else(|| panic!("no {t} delivered"))
            .json
            .clone()
    };
    by_type("authorization.authorized");
    let shipping = by_type("trade_manage_remind_shipping");
    assert_eq!(
        shipping["data"]["transaction_id"],
        order.transaction_id.as_str()
    );
    assert_eq!(
        shipping["data"]["pay_time"], order.pay_time,
        "numbers stay numbers"
    );
    let settlements: Vec<&Value> = got_after
        .iter()
        .filter(|r| r.json["type"] == "trade_manage_order_settlement")
        .map(|r| &r.json)
        .collect();
    assert_eq!(
        settlements.len(),
        2,
        "shipping-time and settlement pushes are two events"
    );
    assert_eq!(by_type("wxa_privacy_apply")["data"]["result"], "ok");
    assert_eq!(stored_events(&app).await, 6);

    // The admin API shows each event's delivery as delivered.
    let event_id = shipping["id"].as_str().unwrap();
    let r = app
        .admin_get(&format!("/admin/v1/events/{event_id}/deliveries"))
        .await;
    let deliveries: Value = r.json().await.unwrap();
    assert_eq!(
        deliveries["items"][0]["status"], "delivered",
        "{deliveries}"
    );
    assert_eq!(deliveries["items"][0]["attempts"], 1);

    // A replay delivers the same event id again.
    let r = app
        .admin_post(&format!("/admin/v1/events/{event_id}/replay"), json!({}))
        .await;
    assert_eq!(r.status(), 202);
    let got = receiver.wait_for(7, 10).await;
    assert_eq!(got[6].event_id, event_id);
    app.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_everything_once_back_even_across_a_restart() {
    let receiver = Receiver::start().await;
    let mut app = TestApp::start(fast_delivery()).await;
    let (_, appid, _) = tenant_with_webhook(&app, &receiver).await;
    receiver.wait_for(1, 10).await; // the authorization
    // Down: first answering 500, then not answering at all.
    receiver.fail_next(2);
    let order = shipped_order(&app);
    let pushed = app
        .sim
        .push_app_event(&appid, &AppEvent::remind_shipping_for(&order))
        .await
        .unwrap();
    assert!(pushed.acknowledged);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.failed() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(receiver.failed(), 2, "retried after a 500");
    receiver.go_away().await;
    // tpgate restarts while the receiver is away.
    app.stop_instance().await;
    let replica = app.spawn_replica().await;
    // Deliberate: retries come and go while it is away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "nothing while away");
    receiver.come_back().await;
    let got = receiver.wait_for(2, 15).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json["type"], "trade_manage_remind_shipping");
    let deliveries: Value = app
        .http
        .get(
            replica
                .base
                .join(&format!("admin/v1/events/{}/deliveries", got[1].event_id))
                .unwrap(),
        )
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &deliveries["items"][0];
    assert_eq!(d["status"], "delivered", "{deliveries}");
    assert!(d["attempts"].as_i64().unwrap() >= 3, "{deliveries}");
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn bad_pushes_are_rejected_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (_, _, appid) = app.onboarded_tenant("strict").await;
    let order = shipped_order(&app);
    let message = app
        .sim
        .seal_app_event(&appid, &AppEvent::remind_shipping_for(&order))
        .unwrap();
    let before = stored_events(&app).await;
    let post = |url: String, body: String| {
        let http = app.http.clone();
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // A tampered signature.
    let tampered = message
        .url
        .replacen("msg_signature=", "msg_signature=00", 1);
    assert_eq!(post(tampered, message.body.clone()).await.0, 400);
    // Not in safe mode.
    let unsigned = message.url.split('?').next().unwrap().to_owned();
    assert_eq!(post(unsigned, message.body.clone()).await.0, 400);
    // Garbage and not-XML bodies.
    assert_eq!(post(message.url.clone(), "garbage".into()).await.0, 400);
    assert_eq!(
        post(message.url.clone(), "{\"Encrypt\": 1}".into()).await.0,
        400
    );
    // Oversize.
    let (status, _) = post(message.url.clone(), "x".repeat(70 * 1024)).await;
    assert_eq!(status, 413);
    // Another Mini Program's push replayed to this one's URL (the
    // signature does not cover the URL; ToUserName gives it away).
    let foreign = app
        .sim
        .seal_app_event("wx00000000000000ff", &AppEvent::remind_shipping_for(&order))
        .unwrap();
    let replayed = foreign.url.replace("wx00000000000000ff", &appid);
    assert_eq!(post(replayed, foreign.body.clone()).await.0, 400);
    // An appid that has not authorized the platform.
    let other = message.url.replace(&appid, "wx00000000000000ff");
    assert_eq!(post(other, message.body.clone()).await.0, 404);
    assert_eq!(
        stored_events(&app).await,
        before,
        "a rejected push stored something"
    );
    // The real one is accepted.
    let (status, body) = post(message.url.clone(), message.body.clone()).await;
    assert_eq!((status, body.as_str()), (200, "success"));
    assert_eq!(stored_events(&app).await, before + 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_push_is_not_acknowledged_while_the_database_is_down() {
    if std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .is_none()
    {
        eprintln!("TEST_DATABASE_URL is not set: cutting the database needs Postgres (CI sets it)");
        return;
    }
    let app = TestApp::spawn().await;
    let (_, _, appid) = app.onboarded_tenant("outage").await;
    let order = shipped_order(&app);
    let message = app
        .sim
        .seal_app_event(&appid, &AppEvent::remind_shipping_for(&order))
        .unwrap();
    let before = stored_events(&app).await;
    app.cut_database().await;
    let outcome = app.sim.deliver_app_push(&message, 1).await;
    app.restore_database().await;
    assert!(
        !outcome.acknowledged,
        "acknowledged without storing: {:?}",
        outcome.attempts
    );
    // WeChat's retry, once the database is back, is stored.
    let mut acknowledged = false;
    for _ in 0..20 {
        if app.sim.deliver_app_push(&message, 1).await.acknowledged {
            acknowledged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(acknowledged);
    assert_eq!(stored_events(&app).await, before + 1);
    app.shutdown().await;
}

#[tokio::test]
async fn two_instances_deliver_each_event_once_per_endpoint() {
    if std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .is_none()
    {
        eprintln!(
            "TEST_DATABASE_URL is not set: two delivering replicas need Postgres (CI sets it)"
        );
        return;
    }
    let receiver = Receiver::start().await;
    let second = Receiver::start().await;
    let app = TestApp::start(fast_delivery()).await;
    let (tenant, appid, _) = tenant_with_webhook(&app, &receiver).await;
    let r = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/webhooks"),
            json!({ "url": second.url, "event_types": ["trade_manage_order_settlement"] }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let replica = app.spawn_replica().await;
    let mut pushes = Vec::new();
    for _ in 0..15 {
        let order = shipped_order(&app);
        pushes.push(AppEvent::order_settlement_for(&order, false));
    }
    for event in &pushes {
        assert!(
            app.sim
                .push_app_event(&appid, event)
                .await
                .unwrap()
                .acknowledged
        );
    }
    // authorization + 15 to the first endpoint; the 15 settlements to the second.
    let got = receiver.wait_for(16, 20).await;
    let got_second = second.wait_for(15, 20).await;
    // Deliberate: time for a duplicate to arrive, if there were one.
    tokio::time::sleep(Duration::from_millis(700)).await;
    for (name, r, want) in [("first", &receiver, 16), ("second", &second, 15)] {
        let all = r.received();
        let mut ids: Vec<&str> = all.iter().map(|x| x.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            all.len(),
            want,
            "{name} endpoint got {} deliveries",
            all.len()
        );
        assert_eq!(ids.len(), want, "{name} endpoint got a duplicate");
    }
    assert_eq!((got.len(), got_second.len()), (16, 15));
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_failing_again_and_again_is_disabled_then_resumes_when_re_enabled() {
    let receiver = Receiver::start().await;
    let app = TestApp::start(TestOptions {
        background_tasks: true,
        config: Box::new(|c| {
            c.webhooks.poll_interval_ms = 50;
            c.webhooks.retry_schedule_secs = vec![1; 10];
            c.webhooks.disable_after_failures = 2;
            c.webhooks.disable_after_failing_secs = 0;
        }),
        ..TestOptions::default()
    })
    .await;
    receiver.fail_next(1000);
    let (tenant, appid, _) = tenant_with_webhook(&app, &receiver).await;
    let order = shipped_order(&app);
    assert!(
        app.sim
            .push_app_event(&appid, &AppEvent::remind_shipping_for(&order))
            .await
            .unwrap()
            .acknowledged
    );
    let hooks: Value = app
        .admin_get(&format!("/admin/v1/tenants/{tenant}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    let hook_id = hooks["items"][0]["id"].as_str().unwrap().to_owned();
    let hook_path = format!("/admin/v1/tenants/{tenant}/webhooks/{hook_id}");
    let mut hook = Value::Null;
    for _ in 0..100 {
        hook = app.admin_get(&hook_path).await.json().await.unwrap();
        if hook["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hook["enabled"], false, "{hook}");
    assert!(
        hook["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("2 consecutive"),
        "{hook}"
    );
    // Nothing is attempted while disabled; the deliveries wait.
    let failed = receiver.failed();
    // Deliberate: past the retry schedule (1 s), to show none is made.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.failed(), failed);
    let pending: Value = app
        .admin_get(&format!("{hook_path}/deliveries?status=pending"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["items"].as_array().unwrap().len(), 2, "{pending}");
    // The receiver is fixed and the endpoint re-enabled: both arrive.
    receiver.fail_next(0);
    let r = app
        .http
        .patch(app.url(&hook_path))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = receiver.wait_for(2, 15).await;
    assert_eq!(got.len(), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn endpoints_on_private_addresses_get_nothing_unless_allowed() {
    let receiver = Receiver::start().await;
    let app = TestApp::start(TestOptions {
        background_tasks: true,
        config: Box::new(|c| {
            c.webhooks.poll_interval_ms = 50;
            c.webhooks.retry_schedule_secs = vec![60];
            // Production's default: tenants' URLs may only reach public addresses.
            c.webhooks.allow_private_targets = false;
        }),
        ..TestOptions::default()
    })
    .await;
    // The receiver is on 127.0.0.1 (an IP literal), and `localhost` (a name).
    let (tenant, appid, _) = tenant_with_webhook(&app, &receiver).await;
    // Also: an existing internal name, a name that does not exist, and a
    // public address on a port of an internal service (Redis).
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for url in [
        by_name.as_str(),
        "http://no-such-host.invalid/hook",
        "http://8.8.8.8:6379/hook",
    ] {
        let r = app
            .admin_post(
                &format!("/admin/v1/tenants/{tenant}/webhooks"),
                json!({ "url": url }),
            )
            .await;
        assert_eq!(r.status(), 201, "{url}");
    }
    let order = shipped_order(&app);
    assert!(
        app.sim
            .push_app_event(&appid, &AppEvent::remind_shipping_for(&order))
            .await
            .unwrap()
            .acknowledged
    );
    let events: Value = app
        .admin_get(&format!(
            "/admin/v1/events?tenant_id={tenant}&type=trade_manage_remind_shipping"
        ))
        .await
        .json()
        .await
        .unwrap();
    let event_id = events["items"][0]["id"].as_str().unwrap().to_owned();
    let mut errors = Vec::new();
    for _ in 0..60 {
        let d: Value = app
            .admin_get(&format!("/admin/v1/events/{event_id}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        errors = d["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["last_error"].as_str().map(str::to_owned))
            .collect();
        if errors.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One text for every reason: a tenant cannot tell an internal name
    // from an unknown one, or probe which ports answer.
    assert_eq!(errors.len(), 4, "{errors:?}");
    for e in &errors {
        assert_eq!(e, webhooks::target::UNREACHABLE, "{errors:?}");
    }
    assert!(
        receiver.received().is_empty(),
        "a private address was called"
    );
    app.shutdown().await;
}

/// `tpgate rotate-keys` re-seals every sealed column (webhook signing
/// secrets, current and previous, included): after it, a replica holding
/// only the new key still opens refresh tokens and signs deliveries.
#[tokio::test]
async fn after_a_key_rotation_only_the_new_key_is_needed() {
    let receiver = Receiver::start().await;
    let mut app = TestApp::start(fast_delivery()).await;
    let (tenant, appid, _) = tenant_with_webhook(&app, &receiver).await;
    receiver.wait_for(1, 10).await;
    // A rotated signing secret: both the current and the previous are sealed.
    let hooks: Value = app
        .admin_get(&format!("/admin/v1/tenants/{tenant}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    let hook = hooks["items"][0]["id"].as_str().unwrap().to_owned();
    let rotated: Value = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/webhooks/{hook}/rotate-secret"),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = rotated["secret"].as_str().unwrap().to_owned();
    app.stop_instance().await;

    // The operator's rotation: new key current, old key previous.
    let old_key = app.config.sealing_key.clone().unwrap();
    let new_key = store::Secret::new(store::Sealer::generate_key());
    let mut rotating = app.config.clone();
    rotating.sealing_key = Some(new_key.clone());
    rotating.sealing_previous_keys = vec![old_key];
    let store = store::Store::connect(&rotating.database_url, None, rotating.sealer().unwrap())
        .await
        .unwrap();
    let before = store.sealed_with_old_keys().await.unwrap();
    for column in [
        "authorizers.refresh_token_sealed",
        "webhook_endpoints.secret_sealed",
        "webhook_endpoints.previous_secret_sealed",
        "component_state.verify_ticket_sealed",
    ] {
        assert!(
            before.columns.iter().any(|(c, n)| c == column && *n > 0),
            "{column} in {before:?}"
        );
    }
    let report = store.reseal_all().await.unwrap();
    assert_eq!(report.resealed, before.total(), "{report:?}");
    assert_eq!(store.sealed_with_old_keys().await.unwrap().total(), 0);

    // Only the new key from now on.
    let replica = app
        .spawn_replica_with(move |c| {
            c.sealing_key = Some(new_key);
            c.sealing_previous_keys = Vec::new();
        })
        .await;
    let events_url = format!("{}wechat/apps/$APPID$/events", replica.base);
    app.sim
        .configure(move |c| c.gateway_app_events_url = Some(events_url));
    let order = shipped_order(&app);
    let pushed = app
        .sim
        .push_app_event(&appid, &AppEvent::remind_shipping_for(&order))
        .await
        .unwrap();
    assert!(pushed.acknowledged, "{:?}", pushed.attempts);
    let got = receiver.wait_for(2, 15).await;
    let now = chrono::Utc::now().timestamp();
    webhooks::signature::verify(&got[1].signature, &secret, &got[1].body, now, 300)
        .unwrap_or_else(|e| panic!("{e}: {}", got[1].signature));
    // Tokens open too: the stored access token, then a refresh that opens
    // the refresh token.
    let access = replica.auth.authorizer_access_token(&appid).await.unwrap();
    app.advance(61);
    replica
        .auth
        .force_refresh_authorizer(&appid, access.version)
        .await
        .unwrap();
    replica.shutdown().await;
    app.shutdown().await;
}

/// A tenant cannot multiply the work of each push without bound, nor have
/// replays queued without limit, and a large replay (1 000 events × 20
/// endpoints, queued in small batches) never delays WeChat's pushes by
/// more than a second.
#[tokio::test]
async fn endpoint_caps_replay_limits_and_pushes_stay_fast_during_a_big_replay() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| {
            c.webhooks.max_endpoints_per_tenant = 20;
            c.webhooks.replays_per_tenant_per_hour = 2;
        }),
        ..TestOptions::default()
    })
    .await;
    let (tenant, _key, appid) = app.onboarded_tenant("fan-out").await;
    for n in 0..20 {
        let r = app
            .admin_post(
                &format!("/admin/v1/tenants/{tenant}/webhooks"),
                json!({ "url": format!("https://hooks.example.com/{n}") }),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let r = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/webhooks"),
            json!({ "url": "https://hooks.example.com/21" }),
        )
        .await;
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());

    // 1 000 stored events to replay.
    let since = chrono::Utc::now();
    let store = app.auth.store();
    for n in 0..1000 {
        store
            .record_event(&store::events::NewEvent {
                tenant_id: Some(tenant.clone().into()),
                authorizer_appid: Some(appid.clone().into()),
                event_type: "trade_manage_remind_shipping".into(),
                data: json!({ "n": n }),
                dedupe_key: format!("bulk:{n}"),
                occurred_at: chrono::Utc::now(),
                order_note: None,
            })
            .await
            .unwrap();
    }
    let replay = {
        let http = app.http.clone();
        let url = app.url("/admin/v1/events/replay");
        let token = app.admin_token.clone();
        let tenant = tenant.clone();
        tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "tenant_id": tenant, "since": since }))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    // Pushes while it runs: each acknowledged within a second.
    let mut slowest = Duration::ZERO;
    while !replay.is_finished() {
        let order = shipped_order(&app);
        let started = std::time::Instant::now();
        let pushed = app
            .sim
            .push_app_event(&appid, &AppEvent::remind_shipping_for(&order))
            .await
            .unwrap();
        assert!(pushed.acknowledged, "{:?}", pushed.attempts);
        slowest = slowest.max(started.elapsed());
    }
    let (status, body) = replay.await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["events"], 1000, "{body}");
    assert_eq!(body["deliveries"], 20_000, "{body}");
    eprintln!("slowest push during the replay: {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "a push took {slowest:?}");

    // Replays per tenant per hour are limited.
    let again = app
        .admin_post(
            "/admin/v1/events/replay",
            json!({ "tenant_id": tenant, "since": chrono::Utc::now() }),
        )
        .await;
    assert_eq!(again.status(), 202);
    let refused = app
        .admin_post(
            "/admin/v1/events/replay",
            json!({ "tenant_id": tenant, "since": chrono::Utc::now() }),
        )
        .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    app.shutdown().await;
}
