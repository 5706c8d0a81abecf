//! Every WeChat call a request causes is on the record, with the request's
//! id: proxied successes, local refusals, WeChat's refusals and failures,
//! retries, timeouts and the token refresh a call forces.
use std::time::Duration;

use serde_json::{Value, json};
use store::calls::{CallEntry, CallFilter, CallOutcome};
use wechat_sim::NewOrder;

use crate::helpers::{Answer, TestApp, TestOptions, eventually, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";
const GET_ORDER: &str = "/wxa/sec/order/get_order";
const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";

/// A proxied `POST` with our own `X-Request-Id`.
async fn call(
    app: &TestApp,
    key: &str,
    appid: &str,
    path: &str,
    body: &Value,
    request_id: &str,
    idempotency_key: Option<&str>,
) -> Answer {
    let headers = [("X-Request-Id", request_id)];
    app.call_with(&app.base, key, appid, path, body, idempotency_key, &headers)
        .await
}

/// The calls recorded for `request_id`, oldest first, once `n` are written
/// (the log writes off the request path).
async fn calls_of(app: &TestApp, request_id: &str, n: usize) -> Vec<CallEntry> {
    let filter = CallFilter {
        request_id: Some(request_id.to_owned()),
        ..Default::default()
    };
    let store = app.auth.store().clone();
    let mut found = Vec::new();
    eventually(Duration::from_secs(5), request_id, async || {
        found = store.list_calls(&filter, None, 50).await.unwrap();
        found.len() >= n
    })
    .await;
    found.reverse();
    assert_eq!(found.len(), n, "{request_id}: {found:#?}");
    found
}

#[tokio::test]
async fn every_wechat_call_a_request_causes_is_recorded_with_its_request_id() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| c.wechat.timeout_secs = 1),
        ..TestOptions::default()
    })
    .await;
    let (tenant, key, appid) = app.onboarded_tenant("acme").await;
    // The courier list is fetched before the first upload, in a request
    // of its own, so each request below causes exactly its own calls.
    app.warm_couriers(&key).await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });

    // A proxied success, with its idempotency key.
    let body = upload_body(&order.transaction_id, &order.openid, "SF001");
    let a = call(&app, &key, &appid, UPLOAD, &body, "req-ok", Some("ship-1")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("x-request-id"), Some("req-ok"));
    let [ok] = &calls_of(&app, "req-ok", 1).await[..] else {
        unreachable!()
    };
    let c = &ok.call;
    assert_eq!(
        (c.api.as_str(), c.outcome, c.status, c.attempt),
        ("upload_shipping_info", CallOutcome::Ok, Some(200), 1)
    );
    assert_eq!(c.tenant_id.as_deref(), Some(tenant.as_str()));
    assert_eq!(c.appid.as_deref(), Some(appid.as_str()));
    assert_eq!(c.idempotency_key.as_deref(), Some("ship-1"));
    assert!(!c.component_level && c.errcode.is_none());
    assert!(
        c.request_body.is_none() && c.response_body.is_none(),
        "bodies are off by default"
    );

    // A body tpgate refuses: recorded as not sent, with why.
    let before = app.sim.call_count(UPLOAD);
    let mut bad = body.clone();
    bad["shipping_list"][0]["tracking_no"] = json!("x".repeat(200));
    let a = call(&app, &key, &appid, UPLOAD, &bad, "req-invalid", None).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(app.sim.call_count(UPLOAD), before);
    let [refused] = &calls_of(&app, "req-invalid", 1).await[..] else {
        unreachable!()
    };
    let c = &refused.call;
    assert_eq!((c.outcome, c.status), (CallOutcome::Invalid, Some(400)));
    assert!(!c.outcome.sent());
    assert!(
        c.errmsg
            .as_deref()
            .unwrap_or_default()
            .contains("tracking_no"),
        "{c:?}"
    );
    assert!(
        !c.errmsg
            .as_deref()
            .unwrap_or_default()
            .contains("xxxxxxxxxx"),
        "input is never echoed"
    );

    // WeChat refuses: its errcode, errmsg and rid.
    app.sim.inject_fault(UPLOAD, 10060003, 1);
    let second = app.sim.create_paid_order(NewOrder::default());
    let body2 = upload_body(&second.transaction_id, &second.openid, "SF002");
    let a = call(&app, &key, &appid, UPLOAD, &body2, "req-refused", None).await;
    assert!(a.status >= 400, "{}", a.body);
    let [wechat_refused] = &calls_of(&app, "req-refused", 1).await[..] else {
        unreachable!()
    };
    let c = &wechat_refused.call;
    assert_eq!(
        (c.outcome, c.errcode, c.status),
        (CallOutcome::WechatRefused, Some(10060003), Some(a.status))
    );
    assert!(c.errmsg.is_some() && c.rid.is_some(), "{c:?}");

    // A read WeChat fails once, then answers: two rows, numbered.
    app.sim.inject_fault(GET_ORDER, -1, 1);
    let a = call(&app, &key, &appid, GET_ORDER, &lookup, "req-retry", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let retried = calls_of(&app, "req-retry", 2).await;
    let seen: Vec<_> = retried
        .iter()
        .map(|e| {
            (
                e.call.api.as_str(),
                e.call.attempt,
                e.call.outcome,
                e.call.errcode,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("get_order", 1, CallOutcome::WechatFailed, Some(-1)),
            ("get_order", 2, CallOutcome::Ok, None),
        ]
    );
    assert!(retried.iter().all(|e| e.call.status == Some(200)));

    // A write that times out: outcome unknown, tpgate answered 504.
    let third = app.sim.create_paid_order(NewOrder::default());
    let body3 = upload_body(&third.transaction_id, &third.openid, "SF003");
    app.sim.inject_delay(UPLOAD, Duration::from_secs(3), 1);
    let a = call(&app, &key, &appid, UPLOAD, &body3, "req-timeout", None).await;
    assert_eq!(a.status, 504, "{}", a.body);
    let [timed_out] = &calls_of(&app, "req-timeout", 1).await[..] else {
        unreachable!()
    };
    assert_eq!(
        (timed_out.call.outcome, timed_out.call.status),
        (CallOutcome::Timeout, Some(504))
    );

    // WeChat rejects the token: the refresh it forces is recorded with the
    // request that caused it (component-level: the platform's token).
    app.advance(61);
    app.sim.inject_fault(GET_ORDER, 40001, 1);
    let a = call(&app, &key, &appid, GET_ORDER, &lookup, "req-token", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let refreshed = calls_of(&app, "req-token", 3).await;
    let seen: Vec<_> = refreshed
        .iter()
        .map(|e| (e.call.api.as_str(), e.call.outcome, e.call.component_level))
        .collect();
    assert_eq!(
        seen,
        [
            ("get_order", CallOutcome::WechatRefused, false),
            (AUTHORIZER_TOKEN, CallOutcome::Ok, true),
            ("get_order", CallOutcome::Ok, false),
        ]
    );
    assert_eq!(refreshed[2].call.attempt, 2);
    assert_eq!(refreshed[1].call.appid.as_deref(), Some(appid.as_str()));
    assert!(refreshed[1].call.idempotency_key.is_none());

    // The metrics, with bounded labels (no appid, no tenant).
    let metrics = app
        .http
        .get(app.ops_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tpgate_wechat_calls_total{api=\"get_order\",outcome=\"wechat_failed\"}",
        "tpgate_wechat_calls_total{api=\"upload_shipping_info\",outcome=\"invalid\"}",
        "tpgate_wechat_errcodes_total{errcode=\"10060003\"}",
        "tpgate_wechat_call_duration_seconds_bucket{api=\"get_order\"",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(!metrics.contains(&appid) && !metrics.contains(&tenant));

    app.shutdown().await;
}

#[tokio::test]
async fn a_tenant_may_keep_the_bodies_of_its_writes_never_a_token() {
    let app = TestApp::spawn().await;
    let (tenant, key, appid) = app.onboarded_tenant("acme").await;
    app.warm_couriers(&key).await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });
    let body = upload_body(&order.transaction_id, &order.openid, "SF001");

    let store = app.auth.store();
    store
        .update_tenant(
            &tenant,
            &store::tenants::TenantUpdate {
                capture_call_bodies: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a = call(&app, &key, &appid, UPLOAD, &body, "cap-write", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = call(&app, &key, &appid, GET_ORDER, &lookup, "cap-read", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let [write] = &calls_of(&app, "cap-write", 1).await[..] else {
        unreachable!()
    };
    let sent = write.call.request_body.as_deref().unwrap_or_default();
    let answered = write.call.response_body.as_deref().unwrap_or_default();
    assert!(
        sent.contains(&order.transaction_id) && sent.contains("SF001"),
        "{sent}"
    );
    assert!(answered.contains("errcode"), "{answered}");
    for secret in ["access_token", "component_access_token"] {
        assert!(!sent.contains(secret) && !answered.contains(secret));
    }
    let [read] = &calls_of(&app, "cap-read", 1).await[..] else {
        unreachable!()
    };
    assert!(read.call.request_body.is_none(), "only writes are captured");

    store
        .update_tenant(
            &tenant,
            &store::tenants::TenantUpdate {
                capture_call_bodies: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = app.sim.create_paid_order(NewOrder::default());
    let body2 = upload_body(&second.transaction_id, &second.openid, "SF002");
    let a = call(&app, &key, &appid, UPLOAD, &body2, "cap-off", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let [off] = &calls_of(&app, "cap-off", 1).await[..] else {
        unreachable!()
    };
    assert!(off.call.request_body.is_none() && off.call.response_body.is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn with_the_log_off_calls_still_work_and_nothing_is_recorded() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| c.call_log.enabled = false),
        ..TestOptions::default()
    })
    .await;
    let (_tenant, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });
    let a = call(&app, &key, &appid, GET_ORDER, &lookup, "off-1", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = app
        .auth
        .store()
        .list_calls(&CallFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:#?}");
    app.shutdown().await;
}

/// `tpgate_call_log_dropped_total`'s value in `/metrics` (0 when absent).
async fn dropped(app: &TestApp) -> f64 {
    let metrics = app
        .http
        .get(app.ops_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tpgate_call_log_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn when_the_log_cannot_keep_up_calls_are_dropped_and_counted_never_waited_on() {
    use sea_orm::{ConnectionTrait as _, DatabaseBackend, TransactionTrait as _};
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| {
            c.call_log.queue_capacity = 2;
            c.call_log.batch_size = 1;
        }),
        ..TestOptions::default()
    })
    .await;
    let (_tenant, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });
    // Warm the caches: in the steady state a proxied call reads nothing
    // from the database.
    let a = call(&app, &key, &appid, GET_ORDER, &lookup, "warm", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    calls_of(&app, "warm", 1).await;

    // Our own connection holds the call table, so the writer's insert waits.
    let db = sea_orm::Database::connect(app.config.database_url.as_str())
        .await
        .unwrap();
    let blocker = db.begin().await.unwrap();
    let lock = match db.get_database_backend() {
        DatabaseBackend::Postgres => "LOCK TABLE wechat_calls IN ACCESS EXCLUSIVE MODE",
        // SQLite locks the whole file for writers.
        _ => {
            "INSERT INTO wechat_calls (id, occurred_at, api, attempt, sent, outcome, latency_ms, component_level) \
              VALUES ('blocker', '2026-01-01T00:00:00Z', 'x', 1, false, 'ok', 0, false)"
        }
    };
    blocker.execute_unprepared(lock).await.unwrap();

    let before = dropped(&app).await;
    for i in 0..20 {
        let started = std::time::Instant::now();
        let a = call(
            &app,
            &key,
            &appid,
            GET_ORDER,
            &lookup,
            &format!("full-{i}"),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "call {i} waited on the log: {:?}",
            started.elapsed()
        );
    }
    let after = dropped(&app).await;
    assert!(after - before >= 10.0, "dropped {before} → {after}");
    blocker.rollback().await.unwrap();
    app.shutdown().await;
}

/// What the log writes is what it reads back, byte for byte, whatever a
/// field holds: the Postgres writer streams rows in `COPY`'s text format,
/// where tabs, newlines and backslashes are syntax. On Postgres a NUL,
/// which no Postgres text can hold, becomes U+FFFD instead of failing the
/// batch (and with it every other call of the batch); SQLite keeps it.
#[tokio::test]
async fn the_log_keeps_any_text_exactly_and_one_odd_call_never_loses_a_batch() {
    let app = TestApp::start(TestOptions::default()).await;
    let store = app.auth.store().clone();
    let awkward = "tab\there\nnew line\r\\N \\ \\\\ \"quoted\" 'single' 中文 🚚 \\u0000";
    let mut odd = store::calls::NewCall::new("get_order", CallOutcome::WechatRefused);
    // Postgres keeps microseconds.
    odd.occurred_at = "2026-12-06T11:22:33.123456Z".parse().unwrap();
    odd.request_id = Some("copy-odd".into());
    odd.tenant_id = Some("tenant\t1".into());
    odd.appid = Some("wx0123456789abcdef".into());
    odd.attempt = 3;
    odd.status = Some(502);
    odd.errcode = Some(-1);
    odd.errmsg = Some(format!("{awkward} and a NUL: \0."));
    odd.rid = Some("rid\\1".into());
    odd.latency_ms = 4_321;
    odd.idempotency_key = Some("key\nwith newline".into());
    odd.component_level = true;
    odd.request_body = Some(format!("{{\"a\":\"{awkward}\"}}"));
    odd.response_body = Some(String::new());
    let mut plain = store::calls::NewCall::new("get_order", CallOutcome::Ok);
    plain.request_id = Some("copy-plain".into());
    store
        .insert_calls(vec![odd.clone(), plain.clone()])
        .await
        .unwrap();

    let read = |request_id: &'static str| {
        let store = store.clone();
        async move {
            let filter = CallFilter {
                request_id: Some(request_id.to_owned()),
                ..Default::default()
            };
            let found = store.list_calls(&filter, None, 10).await.unwrap();
            assert_eq!(found.len(), 1, "{request_id}: {found:#?}");
            found.into_iter().next().unwrap().call
        }
    };
    let mut expected = odd;
    if app.config.database_url.starts_with("postgres") {
        expected.errmsg = Some(format!("{awkward} and a NUL: \u{FFFD}."));
    }
    assert_eq!(read("copy-odd").await, expected);
    assert_eq!(read("copy-plain").await.outcome, CallOutcome::Ok);
}
