//! The WeChat-compatible host over HTTP: tokens from `/cgi-bin/token` and
//! `/cgi-bin/stable_token` (what the SDKs we cannot install here send, at
//! the wire), the seed APIs at their WeChat paths with `?access_token=`,
//! every refusal in WeChat's shape with WeChat's errcode, the tokens'
//! isolation and revocation, and the listener of its own.
use serde_json::{Value, json};
use wechat_sim::NewOrder;

use std::time::Duration;

use crate::helpers::{TestApp, TestOptions, eventually, upload_body};

/// `GET /cgi-bin/token` as WxJava sends it
/// (`https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=%s&secret=%s`,
/// its `setAccessTokenUrl` with the host swapped).
async fn token(app: &TestApp, appid: &str, secret: &str) -> Value {
    let url = app.url(&format!(
        "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}"
    ));
    wechat(app.http.get(url)).await
}

/// `POST /cgi-bin/stable_token`, WeChat's JSON body.
async fn stable_token(app: &TestApp, appid: &str, secret: &str, force: bool) -> Value {
    let body = json!({
        "grant_type": "client_credential",
        "appid": appid,
        "secret": secret,
        "force_refresh": force,
    });
    wechat(app.http.post(app.url("/cgi-bin/stable_token")).json(&body)).await
}

/// A WeChat-shaped answer: always HTTP 200 with JSON.
async fn wechat(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "WeChat answers 200 whatever happened");
    resp.json().await.unwrap()
}

async fn call(app: &TestApp, path: &str, access_token: &str, body: &Value) -> Value {
    let url = app.url(&format!("{path}?access_token={access_token}"));
    wechat(app.http.post(url).json(body)).await
}

fn access_token(answer: &Value) -> String {
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

fn errcode(answer: &Value) -> i64 {
    answer["errcode"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_token_from_the_root_calls_the_seed_apis_in_wechats_shape() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("host-flow").await;
    let issued = token(&app, &appid, &key).await;
    let t = access_token(&issued);
    assert_eq!(issued["expires_in"], 7200);
    // Senparc takes a string of 32 characters or fewer for an appid; the
    // SDKs put it in a query string.
    assert!(t.len() > 32 && !t.contains('@'), "{t}");
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );

    let order = app.sim.create_paid_order(NewOrder::default());
    let got = call(
        &app,
        "/wxa/sec/order/get_order",
        &t,
        &json!({ "transaction_id": order.transaction_id }),
    )
    .await;
    assert_eq!(errcode(&got), 0, "{got}");
    assert_eq!(
        got["order"]["transaction_id"],
        order.transaction_id.as_str()
    );

    let upload = upload_body(&order.transaction_id, &order.openid, "SF001");
    let first = call(&app, "/wxa/sec/order/upload_shipping_info", &t, &upload).await;
    assert_eq!(
        (errcode(&first), first["errmsg"].as_str()),
        (0, Some("ok")),
        "{first}"
    );
    // WeChat's own refusal passes unchanged, rid and all (the re-shipment,
    // then the third upload).
    let later = |tracking: &str, secs: i64| {
        let mut b = upload_body(&order.transaction_id, &order.openid, tracking);
        let at = chrono::Utc::now() + chrono::Duration::seconds(secs);
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        b["upload_time"] = at.with_timezone(&shanghai).to_rfc3339().into();
        b
    };
    // The re-shipment guard answers in WeChat's shape too; its header
    // confirms here as on /v1/apps.
    let unconfirmed = call(
        &app,
        "/wxa/sec/order/upload_shipping_info",
        &t,
        &later("SF002", 1),
    )
    .await;
    assert_eq!(errcode(&unconfirmed), 47001, "{unconfirmed}");
    assert!(
        unconfirmed["errmsg"]
            .as_str()
            .unwrap()
            .contains("Tpgate-Confirm-Reshipment")
    );
    let url = app.url(&format!(
        "/wxa/sec/order/upload_shipping_info?access_token={t}"
    ));
    let confirm = |body: &Value| {
        app.http
            .post(url.clone())
            .header("Tpgate-Confirm-Reshipment", "true")
            .json(body)
    };
    let second = wechat(confirm(&later("SF002", 1))).await;
    assert_eq!(errcode(&second), 0, "{second}");
    let third = wechat(confirm(&later("SF003", 2))).await;
    assert_eq!(errcode(&third), 10060003, "{third}");
    let errmsg = third["errmsg"].as_str().unwrap();
    assert!(
        errmsg.contains("rid:") && !errmsg.contains("tpgate"),
        "as WeChat sent it: {errmsg}"
    );

    // A broken seed rule: the errcode it prevents, tpgate's words in errmsg.
    let mut two_parcels = upload_body(&order.transaction_id, &order.openid, "SF004");
    let parcel = two_parcels["shipping_list"][0].clone();
    two_parcels["shipping_list"]
        .as_array_mut()
        .unwrap()
        .push(parcel);
    let refused = call(
        &app,
        "/wxa/sec/order/upload_shipping_info",
        &t,
        &two_parcels,
    )
    .await;
    assert_eq!(errcode(&refused), 268485228, "{refused}");
    assert!(
        refused["errmsg"].as_str().unwrap().contains("tpgate: "),
        "{refused}"
    );

    // A GET API with the token.
    let couriers = wechat(app.http.get(app.url(&format!(
        "/cgi-bin/express/business/delivery/getall?access_token={t}"
    ))))
    .await;
    assert_eq!(errcode(&couriers), 0, "{couriers}");

    // PowerWeChat's token GET carries an extra `neededText=`: ignored, as
    // WeChat ignores parameters it does not know.
    let extra = wechat(app.http.get(app.url(&format!(
        "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={key}&neededText="
    ))))
    .await;
    assert!(extra["access_token"].is_string(), "{extra}");

    // Bodies WeChat cannot read, and no token at all.
    let resp = app
        .http
        .post(app.url(&format!("/wxa/sec/order/get_order?access_token={t}")))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&resp.json::<Value>().await.unwrap()), 47001);
    let resp = app
        .http
        .post(app.url(&format!("/wxa/sec/order/get_order?access_token={t}")))
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&resp.json::<Value>().await.unwrap()), 44002);
    let none = wechat(
        app.http
            .post(app.url("/wxa/sec/order/get_order"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(errcode(&none), 41001);
    // Over the body limit, the wrong method, a POST to the token URL: all
    // in WeChat's shape.
    let big = json!({ "transaction_id": "x".repeat(300_000) });
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t, &big).await),
        47001
    );
    let get = wechat(
        app.http
            .get(app.url(&format!("/wxa/sec/order/get_order?access_token={t}"))),
    )
    .await;
    assert_eq!(errcode(&get), 43002, "{get}");
    let posted = wechat(app.http.post(app.url(&format!(
        "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={key}"
    ))))
    .await;
    assert!(posted["access_token"].is_string(), "{posted}");
    // Not a proxied API, and no raw passthrough for this tenant.
    let other = call(
        &app,
        "/wxa/getwxacode",
        &t,
        &json!({ "path": "pages/index" }),
    )
    .await;
    assert_eq!(errcode(&other), 48001, "{other}");

    // The call log has them, under the Mini Program, with WeChat's errcode.
    let path = format!("/admin/v1/calls?appid={appid}&api=upload_shipping_info");
    eventually(
        Duration::from_secs(5),
        "the refused upload is logged",
        async || {
            let calls: Value = app.admin_get(&path).await.json().await.unwrap();
            calls["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|c| c["errcode"] == 10060003))
        },
    )
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn token_endpoints_refuse_like_wechat_and_reveal_no_other_tenant() {
    let app = TestApp::spawn().await;
    let (_, key_a, appid) = app.onboarded_tenant("host-a").await;
    let tenant_b = app.create_tenant("host-b").await;
    let key_b = app.create_api_key(&tenant_b).await;

    let bad = |v: &Value, code: i64| assert_eq!(errcode(v), code, "{v}");
    bad(&token(&app, &appid, "tpk_nonsense").await, 40125);
    let resp = wechat(app.http.get(app.url(&format!(
        "/cgi-bin/token?grant_type=password&appid={appid}&secret={key_a}"
    ))))
    .await;
    bad(&resp, 40002);
    let resp = wechat(app.http.get(app.url(&format!(
        "/cgi-bin/token?grant_type=client_credential&secret={key_a}"
    ))))
    .await;
    bad(&resp, 41002);
    let resp = wechat(app.http.get(app.url(&format!(
        "/cgi-bin/token?grant_type=client_credential&appid={appid}"
    ))))
    .await;
    bad(&resp, 41004);
    // Tenant B's key asking for tenant A's Mini Program gets exactly what
    // an appid nobody has gets.
    let other = token(&app, &appid, &key_b).await;
    let unknown = token(&app, "wx00000000000000ff", &key_b).await;
    bad(&other, 40013);
    assert_eq!(other, unknown, "nothing tells the two apart");
    // A key restricted to other Mini Programs, and an admin-only key.
    let restricted = app
        .create_api_key_with(
            &app.create_tenant("host-c").await,
            json!({ "name": "c", "scopes": ["proxy_read"] }),
        )
        .await;
    bad(&token(&app, &appid, &restricted).await, 40013);
    let tenant_a = app.authorizers(None).await["items"][0]["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_only = app
        .create_api_key_with(
            &tenant_a,
            json!({ "name": "adm", "scopes": ["admin_read"] }),
        )
        .await;
    bad(&token(&app, &appid, &admin_only).await, 40125);
    // Malformed stable_token bodies.
    let resp = wechat(app.http.post(app.url("/cgi-bin/stable_token")).body("[1,")).await;
    bad(&resp, 47001);
    let resp = wechat(app.http.post(app.url("/cgi-bin/stable_token"))).await;
    bad(&resp, 44002);
    app.shutdown().await;
}

#[tokio::test]
async fn stable_tokens_last_force_refresh_keeps_the_old_one_for_a_grace_and_an_expired_one_is_42001()
 {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("host-stable").await;
    let first = access_token(&stable_token(&app, &appid, &key, false).await);
    let again = stable_token(&app, &appid, &key, false).await;
    assert_eq!(access_token(&again), first, "the same token while it lasts");
    assert!(again["expires_in"].as_i64().unwrap() <= 7200);
    let forced = access_token(&stable_token(&app, &appid, &key, true).await);
    assert_ne!(forced, first);
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });
    for t in [&first, &forced] {
        let got = call(&app, "/wxa/sec/order/get_order", t, &lookup).await;
        assert_eq!(errcode(&got), 0, "the old token works for the grace: {got}");
    }
    // An expired token is 42001 (so the SDK refreshes once and retries).
    let store = app.auth.store();
    let (held, _, _) = store.cached_host_token(&forced).await.unwrap().unwrap();
    let (_, expired) = store
        .issue_host_token(
            &held.tenant_id,
            &held.api_key_id,
            &appid,
            true,
            chrono::Duration::seconds(-1),
            chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    let got = call(&app, "/wxa/sec/order/get_order", expired.expose(), &lookup).await;
    assert_eq!(errcode(&got), 42001, "{got}");
    // One refresh, one retry: what every SDK does after 40001/42001.
    let fresh = access_token(&token(&app, &appid, &key).await);
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &fresh, &lookup).await),
        0
    );
    app.shutdown().await;
}

#[tokio::test]
async fn tokens_end_with_their_key_tenant_or_authorization_and_do_what_their_key_may() {
    let app = TestApp::spawn().await;
    let (tenant, _, appid) = app.onboarded_tenant("host-revoke").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });

    // A read-only key's token reads and may not write.
    let reader = app
        .create_api_key_with(&tenant, json!({ "name": "r", "scopes": ["proxy_read"] }))
        .await;
    let t = access_token(&token(&app, &appid, &reader).await);
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t, &lookup).await),
        0
    );
    let write = call(
        &app,
        "/wxa/sec/order/upload_shipping_info",
        &t,
        &upload_body(&order.transaction_id, &order.openid, "SF1"),
    )
    .await;
    assert_eq!(errcode(&write), 48001, "{write}");
    assert_eq!(
        app.sim.order(&order.transaction_id).unwrap().order_state,
        1,
        "nothing shipped"
    );

    // Revoking the key ends its tokens.
    let writer = app
        .create_api_key_with(
            &tenant,
            json!({ "name": "w", "scopes": ["proxy_read", "proxy_write"] }),
        )
        .await;
    let tw = access_token(&token(&app, &appid, &writer).await);
    let keys: Value = app
        .admin_get(&format!("/admin/v1/tenants/{tenant}/api-keys"))
        .await
        .json()
        .await
        .unwrap();
    let id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "w")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.admin_post(
        &format!("/admin/v1/tenants/{tenant}/api-keys/{id}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &tw, &lookup).await),
        40001
    );
    assert_eq!(
        errcode(&token(&app, &appid, &writer).await),
        40125,
        "the SDK's refresh fails cleanly"
    );

    // Suspending the tenant ends the others; resuming brings them back
    // (the token was never revoked, its tenant was).
    app.admin_post(&format!("/admin/v1/tenants/{tenant}/suspend"), json!({}))
        .await;
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t, &lookup).await),
        40001
    );
    app.admin_post(&format!("/admin/v1/tenants/{tenant}/resume"), json!({}))
        .await;
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t, &lookup).await),
        0
    );

    // An ended authorization ends them too.
    let resp = app
        .admin_post(
            &format!("/admin/v1/authorizers/{appid}/revoke"),
            json!({ "reason": "test" }),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t, &lookup).await),
        40001
    );
    assert_eq!(errcode(&token(&app, &appid, &reader).await), 40013);
    app.shutdown().await;
}

#[tokio::test]
async fn limits_answer_wechats_quota_errcode_and_idempotency_keys_work() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("host-limits").await;
    let t = access_token(&token(&app, &appid, &key).await);
    let resp = app
        .admin_put(
            "/admin/v1/rate-limit-policies",
            json!({ "api_group": "shipping", "dimension": "appid", "window": "minute", "scope": format!("appid:{appid}"), "max_calls": 2 }),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let order = app.sim.create_paid_order(NewOrder::default());
    let upload = upload_body(&order.transaction_id, &order.openid, "SF9");
    let url = app.url(&format!(
        "/wxa/sec/order/upload_shipping_info?access_token={t}"
    ));
    let send = || async {
        wechat(
            app.http
                .post(url.clone())
                .header("Idempotency-Key", "order-1-ship")
                .json(&upload),
        )
        .await
    };
    let first = send().await;
    assert_eq!(errcode(&first), 0, "{first}");
    let repeat = app
        .http
        .post(url.clone())
        .header("Idempotency-Key", "order-1-ship")
        .json(&upload)
        .send()
        .await
        .unwrap();
    assert_eq!(repeat.headers()["idempotent-replayed"], "true");
    assert_eq!(errcode(&repeat.json::<Value>().await.unwrap()), 0);
    let lookup = json!({ "transaction_id": order.transaction_id });
    let second = call(&app, "/wxa/sec/order/get_order", &t, &lookup).await;
    assert_eq!(errcode(&second), 0, "{second}");
    let limited = call(&app, "/wxa/sec/order/get_order", &t, &lookup).await;
    assert_eq!(errcode(&limited), 45009, "{limited}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_host_can_have_a_listener_of_its_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::start(TestOptions {
        config: Box::new(move |c| {
            c.wechat_host.listen = Some(format!("127.0.0.1:{port}").parse().unwrap())
        }),
        ..TestOptions::default()
    })
    .await;
    let (_, key, appid) = app.onboarded_tenant("host-listener").await;
    let own = format!(
        "http://127.0.0.1:{port}/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={key}"
    );
    let issued = wechat(app.http.get(own)).await;
    let t = access_token(&issued);
    let order = app.sim.create_paid_order(NewOrder::default());
    let url = format!("http://127.0.0.1:{port}/wxa/sec/order/get_order?access_token={t}");
    let got = wechat(
        app.http
            .post(url)
            .json(&json!({ "transaction_id": order.transaction_id })),
    )
    .await;
    assert_eq!(errcode(&got), 0, "{got}");
    // Not on the main listener then.
    let resp = app
        .http
        .get(app.url(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={key}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn one_40001_one_refresh_one_retry_as_the_sdks_do_it() {
    // No grace: a replaced token is "not the latest" at once.
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| c.wechat_host.grace_secs = 0),
        ..TestOptions::default()
    })
    .await;
    let (_, key, appid) = app.onboarded_tenant("host-retry").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({ "transaction_id": order.transaction_id });
    // Another deployment with the same key fetches a token: ours is replaced.
    let t1 = access_token(&token(&app, &appid, &key).await);
    let _t2 = access_token(&token(&app, &appid, &key).await);
    let refused = call(&app, "/wxa/sec/order/get_order", &t1, &lookup).await;
    assert_eq!(
        errcode(&refused),
        40001,
        "Senparc refreshes only on 40001: {refused}"
    );
    // The SDK's one refresh (silenceper's stable body: its key order, a
    // trailing newline, its content type) and its one retry.
    let body = format!(
        "{{\"appid\":\"{appid}\",\"force_refresh\":false,\"grant_type\":\"client_credential\",\"secret\":\"{key}\"}}\n"
    );
    let fresh = wechat(
        app.http
            .post(app.url("/cgi-bin/stable_token"))
            .header("content-type", "application/json;charset=utf-8")
            .body(body),
    )
    .await;
    let t3 = access_token(&fresh);
    assert_ne!(t3, t1);
    let retried = call(&app, "/wxa/sec/order/get_order", &t3, &lookup).await;
    assert_eq!(errcode(&retried), 0, "{retried}");
    // A stable token is not cut short by /cgi-bin/token (WeChat keeps the
    // two kinds apart).
    let _t4 = access_token(&token(&app, &appid, &key).await);
    assert_eq!(
        errcode(&call(&app, "/wxa/sec/order/get_order", &t3, &lookup).await),
        0
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_token_calls_only_its_own_mini_program() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("host-own-appid").await;
    let t = access_token(&token(&app, &appid, &key).await);
    // An order paid in another Mini Program (of another tenant, say).
    let other = app.sim.create_paid_order(NewOrder {
        appid: Some("wx00000000000000aa".into()),
        ..NewOrder::default()
    });
    let lookup = json!({ "transaction_id": other.transaction_id });
    let got = call(&app, "/wxa/sec/order/get_order", &t, &lookup).await;
    // The call went to WeChat as the token's own Mini Program, which does
    // not see the other's order.
    assert_eq!(errcode(&got), 10060001, "{got}");
    let path = "/admin/v1/calls?api=get_order&errcode=10060001";
    eventually(Duration::from_secs(5), "the call is logged", async || {
        let calls: Value = app.admin_get(path).await.json().await.unwrap();
        calls["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["appid"] == appid.as_str()))
    })
    .await;
    app.shutdown().await;
}
