//! Every request has an id: the caller's `X-Request-Id` when sane, else a
//! fresh one. It comes back in the header of every answer (whichever layer
//! made it), in every problem body, and on the WeChat calls the request
//! caused; recorded calls are deleted past `call_log.retention_days`.
use serde_json::{Value, json};
use store::calls::{CallFilter, CallOutcome, NewCall};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, TestOptions};

const HEADER: &str = "x-request-id";

/// The id an answer carries in its header, and the answer's body.
async fn answer(resp: reqwest::Response) -> (u16, String, String, String) {
    let status = resp.status().as_u16();
    let id = resp.headers()[HEADER].to_str().unwrap().to_owned();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, id, content_type, resp.text().await.unwrap())
}

/// A generated id: what `RequestId::from_caller` keeps (1–64 characters of
/// `A–Z a–z 0–9 - _ . :`).
fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Problems from every layer (router, spec guard, body limit, handler,
/// auth) carry the caller's id in the header and the body.
#[tokio::test]
async fn a_sane_caller_id_comes_back_on_every_problem() {
    let app = TestApp::spawn().await;
    let http = &app.http;
    let big = json!({ "name": "x".repeat(300 * 1024) });
    let cases = [
        ("unknown route", http.get(app.url("/no/such/route")), 404),
        ("method", http.delete(app.url("/healthz")), 405),
        (
            "unknown query parameter",
            http.get(app.url("/admin/v1/tenants?stauts=active"))
                .bearer_auth(&app.admin_token),
            400,
        ),
        (
            "validation",
            http.post(app.url("/admin/v1/tenants"))
                .bearer_auth(&app.admin_token)
                .json(&json!({})),
            400,
        ),
        (
            "body too large",
            http.post(app.url("/admin/v1/tenants"))
                .bearer_auth(&app.admin_token)
                .json(&big),
            413,
        ),
        (
            "no tenant",
            http.get(app.url("/admin/v1/tenants/no-such-tenant"))
                .bearer_auth(&app.admin_token),
            404,
        ),
        (
            "no key",
            http.post(app.url("/v1/apps/wx0123456789abcdef/wxa/sec/order/get_order"))
                .json(&json!({})),
            401,
        ),
    ];
    for (i, (what, req, status)) in cases.into_iter().enumerate() {
        let sent = format!("caller-{i}.x_y:z");
        let (got, id, content_type, body) =
            answer(req.header(HEADER, &sent).send().await.unwrap()).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(id, sent, "{what}: header");
        assert_eq!(content_type, "application/problem+json", "{what}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["request_id"], sent, "{what}: {body}");
        assert_eq!(body["status"], status, "{what}: the rest of the body kept");
    }
    // Answers that are not problems carry it too, their bodies untouched.
    for url in [
        app.url("/healthz"),
        app.ops_url("/readyz"),
        app.url("/onboard/no-such-link"),
    ] {
        let (_, id, _, body) = answer(
            http.get(url.clone())
                .header(HEADER, "plain-1")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(id, "plain-1", "{url}");
        assert!(!body.contains("plain-1"), "{url}: {body}");
    }
    app.shutdown().await;
}

/// An id that is not a short token (it would land in logs and headers as
/// sent) is replaced, never echoed; without one, each request gets its own.
#[tokio::test]
async fn other_ids_are_replaced_and_missing_ones_made() {
    let app = TestApp::spawn().await;
    let insane: Vec<reqwest::header::HeaderValue> = [
        "has space".as_bytes(),
        "a".repeat(65).as_bytes(),
        b"semi;colon",
        b"<script>",
        "naïve".as_bytes(),
    ]
    .iter()
    .map(|v| reqwest::header::HeaderValue::from_bytes(v).unwrap())
    .collect();
    let mut seen = std::collections::HashSet::new();
    for sent in insane.iter().map(Some).chain([None, None, None]) {
        let mut req = app.http.get(app.url("/no/such/route"));
        if let Some(sent) = sent {
            req = req.header(HEADER, sent.clone());
        }
        let (status, id, _, body) = answer(req.send().await.unwrap()).await;
        assert_eq!(status, 404);
        assert!(is_sane(&id), "{id:?}");
        if let Some(sent) = sent {
            assert_ne!(id.as_bytes(), sent.as_bytes(), "replaced");
            assert!(!body.contains("space") && !body.contains("aaaa"), "{body}");
        }
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["request_id"], id.as_str(), "header and body agree");
        assert!(seen.insert(id), "a fresh id per request");
    }
    app.shutdown().await;
}

/// The WeChat calls a request causes carry its id and tpgate's answer,
/// and a graceful shutdown writes what is still queued.
#[tokio::test]
async fn a_requests_wechat_calls_carry_its_id() {
    let mut app = TestApp::spawn().await;
    let (tenant, key, appid) = app.onboarded_tenant("Traced").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let resp = app
        .http
        .post(app.url(&format!("/v1/apps/{appid}/wxa/sec/order/get_order")))
        .bearer_auth(&key)
        .header(HEADER, "trace-get-order-1")
        .json(&json!({ "transaction_id": order.transaction_id }))
        .send()
        .await
        .unwrap();
    let (status, id, _, body) = answer(resp).await;
    assert_eq!((status, id.as_str()), (200, "trace-get-order-1"), "{body}");
    // No waiting for the writer: stopping flushes the queue.
    let store = app.auth.store().clone();
    app.stop_instance().await;
    let calls = store
        .list_calls(
            &CallFilter {
                request_id: Some("trace-get-order-1".into()),
                ..CallFilter::default()
            },
            None,
            50,
        )
        .await
        .unwrap();
    assert!(!calls.is_empty(), "the proxied call was recorded");
    for entry in &calls {
        let call = &entry.call;
        assert_eq!(call.status, Some(200), "{call:?}");
        assert_eq!(call.appid.as_deref(), Some(appid.as_str()), "{call:?}");
        assert_eq!(call.tenant_id.as_deref(), Some(tenant.as_str()), "{call:?}");
    }
    assert!(
        calls.iter().any(|c| c.call.outcome == CallOutcome::Ok),
        "{calls:?}"
    );
    app.shutdown().await;
}

fn old_call(api: &str) -> NewCall {
    let mut call = NewCall::new(api, CallOutcome::Ok);
    call.request_id = Some("retention".into());
    call.appid = Some("wx0123456789abcdef".into());
    call.status = Some(200);
    call
}

/// Housekeeping deletes recorded calls older than `call_log.retention_days`
/// (here 2) and keeps younger ones.
#[tokio::test]
async fn recorded_calls_are_deleted_past_their_retention() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| c.call_log.retention_days = 2),
        ..TestOptions::default()
    })
    .await;
    let store = app.auth.store();
    store
        .insert_calls((0..3).map(|i| old_call(&format!("/api/{i}"))).collect())
        .await
        .unwrap();
    let count = || async {
        store
            .list_calls(&CallFilter::default(), None, 100)
            .await
            .unwrap()
            .len()
    };
    let housekeep =
        || tpgate::workers::housekeep(&app.auth, app.config.retention, &app.config.call_log);
    housekeep().await;
    assert_eq!(count().await, 3, "young");
    app.clock.advance(86_400 + 3_600);
    housekeep().await;
    assert_eq!(count().await, 3, "a day old, kept two");
    app.clock.advance(86_400);
    housekeep().await;
    assert_eq!(count().await, 0, "past the retention");
    app.shutdown().await;
}
