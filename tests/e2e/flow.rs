//! The walking skeleton, end to end: ticket → tenant, key, link → onboarding
//! through the simulated authorization page → shipping calls.
use serde_json::{Value, json};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, upload_body};

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";
const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
const COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
const GET_ORDER: &str = "/wxa/sec/order/get_order";

#[tokio::test]
async fn ticket_to_shipment_to_reshipment_limit() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let key = app.create_api_key(&tenant).await;
    let link = app.create_link(&tenant).await;

    // Browser: tpgate → simulated WeChat page → back to tpgate.
    let to_wechat = app.wechat_page_for(&link).await;
    assert!(
        to_wechat.contains("/cgi-bin/componentloginpage?"),
        "{to_wechat}"
    );
    assert!(to_wechat.contains("pre_auth_code="), "{to_wechat}");
    let (status, html) = app.follow_onboarding(&link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("142"), "{html}");
    assert!(!html.contains("will not work"), "{html}");

    // The authorizer is stored under the link's tenant with its sets.
    let list: Value = app.authorizers(Some(&tenant)).await;
    let appid = app.sim_config.default_authorizer_appid.clone();
    assert_eq!(list["items"][0]["appid"], appid.as_str());
    assert_eq!(list["items"][0]["permission_sets"], json!([18, 45, 142]));
    assert_eq!(list["items"][0]["status"], "active");
    let listed = list.to_string();
    assert!(!listed.contains("refreshtoken@@@") && !listed.contains("token@@@"));

    let order = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&order.transaction_id, &order.openid, "SF001");

    let (status, answer) = app.proxy(&key, &appid, "upload_shipping_info", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errcode"], 0);

    // Second upload: it would spend the order's single re-shipment, so
    // tpgate refuses it until confirmed, whatever the Idempotency-Key.
    // An update carries a later upload_time than the previous upload's
    // (seed 004 note 4); WeChat refuses the same one with 268485216.
    let upload = "/wxa/sec/order/upload_shipping_info";
    let mut reship = upload_body(&order.transaction_id, &order.openid, "SF002");
    reship["upload_time"] = json!("2022-12-15T14:29:35.120+08:00");
    let unconfirmed = app
        .call(&app.base, &key, &appid, upload, &reship, Some("a-new-key"))
        .await;
    assert_eq!(unconfirmed.status, 409, "{}", unconfirmed.body);
    let kind = unconfirmed.body["type"].as_str().unwrap();
    assert!(kind.ends_with("reshipment_requires_confirmation"), "{kind}");
    let detail = unconfirmed.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("SF001"),
        "names the earlier upload: {detail}"
    );
    let confirm = [("Tpgate-Confirm-Reshipment", "true")];
    let confirmed = app
        .call_with(&app.base, &key, &appid, upload, &reship, None, &confirm)
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.header("tpgate-reshipment"), Some("last"));

    // Not later than the last upload: refused here, as WeChat would (268485216).
    let stale = app
        .call_with(&app.base, &key, &appid, upload, &reship, None, &confirm)
        .await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    assert_eq!(stale.body["prevents_errcode"], 268485216);

    // Third, confirmed: WeChat's 10060003, mapped to a 409 problem.
    let mut third = upload_body(&order.transaction_id, &order.openid, "SF003");
    third["upload_time"] = json!("2022-12-15T15:29:35.120+08:00");
    let refused = app
        .call_with(&app.base, &key, &appid, upload, &third, None, &confirm)
        .await;
    let problem = refused.body;
    assert_eq!(refused.status, 409, "{problem}");
    assert_eq!(problem["wechat_errcode"], 10060003);
    assert!(problem["wechat_errmsg"].as_str().unwrap().contains("rid"));

    let (status, got) = app
        .proxy(
            &key,
            &appid,
            "get_order",
            &json!({ "transaction_id": order.transaction_id }),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["order"]["order_state"], 2);
    assert_eq!(got["order"]["shipping"]["finish_shipping_count"], 2);
    assert_eq!(
        got["order"]["shipping"]["shipping_list"][0]["tracking_no"],
        "SF002"
    );
    assert_eq!(app.sim.call_count(UPLOAD), 3);
    app.shutdown().await;
}

#[tokio::test]
async fn invalid_bodies_are_rejected_locally_with_field_and_errcode() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let cases = [
        (
            "/shipping_list/0/item_desc",
            Value::Null,
            "shipping_list[0].item_desc",
            10060008,
        ),
        ("/upload_time", json!("yesterday"), "upload_time", 268485216),
        (
            "/order_key/order_number_type",
            json!(3),
            "order_key.order_number_type",
            268485194,
        ),
        ("/delivery_mode", json!(7), "delivery_mode", 268485224),
    ];
    for (pointer, value, field, errcode) in cases {
        let mut body = upload_body(&order.transaction_id, &order.openid, "SF1");
        if value.is_null() {
            // Left out (a JSON null is refused on its own, before the rules).
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            body.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(name);
        } else {
            *body.pointer_mut(pointer).unwrap() = value;
        }
        let (status, problem) = app.proxy(&key, &appid, "upload_shipping_info", &body).await;
        assert_eq!(status, 400, "{pointer}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
        assert_eq!(problem["prevents_errcode"], errcode, "{problem}");
    }
    // Structurally broken bodies are 400 problems too.
    let (status, problem) = app
        .proxy(
            &key,
            &appid,
            "upload_shipping_info",
            &json!({"order_key": 5}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["status"], 400);
    assert_eq!(app.sim.call_count(UPLOAD), 0, "nothing reached WeChat");
    app.shutdown().await;
}

#[tokio::test]
async fn callers_are_authenticated_and_scoped_to_their_appids() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("acme").await;
    let other_tenant = app.create_tenant("other").await;
    let other_key = app.create_api_key(&other_tenant).await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&order.transaction_id, &order.openid, "SF1");

    let resp = app
        .http
        .post(app.url(&format!(
            "/v1/apps/{appid}/wxa/sec/order/upload_shipping_info"
        )))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_eq!(resp.headers()["content-type"], "application/problem+json");

    let (status, _) = app
        .proxy("tpk_nonsense", &appid, "upload_shipping_info", &body)
        .await;
    assert_eq!(status, 401);
    let (status, problem) = app
        .proxy(&other_key, &appid, "upload_shipping_info", &body)
        .await;
    assert_eq!(
        status, 404,
        "another tenant's appid looks absent: {problem}"
    );
    let (status, _) = app
        .proxy(
            &key,
            "wxffffffffffffffff",
            "get_order",
            &json!({"transaction_id": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.sim.call_count(UPLOAD), 0);

    // Admin API: no token 401, wrong role 403.
    let resp = app
        .http
        .get(app.url("/admin/v1/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth("not-a-jwt")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn missing_permission_set_is_403_before_any_wechat_call() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let key = app.create_api_key(&tenant).await;
    let appid = "wx00000000000000aa";
    app.sim.set_next_authorization(appid, vec![17, 45]);
    let link = app.create_link(&tenant).await;
    let (status, html) = app.follow_onboarding(&link).await;
    assert_eq!(status, 200);
    assert!(html.contains("Shipping will not work"), "{html}");

    let order = app.sim.create_paid_order(NewOrder::default());
    let body = upload_body(&order.transaction_id, &order.openid, "SF1");
    let (status, problem) = app.proxy(&key, appid, "upload_shipping_info", &body).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["required_permission_sets"], json!([142, 18]));
    assert_eq!(app.sim.call_count(UPLOAD), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refreshed_once() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let get = json!({ "transaction_id": order.transaction_id });

    let component_tokens = app.sim.call_count(COMPONENT_TOKEN);
    assert_eq!(
        app.sim.call_count(AUTHORIZER_TOKEN),
        0,
        "api_query_auth gave the first token"
    );

    // WeChat's clock runs ahead: it rejects the cached authorizer token
    // (42001), and then the cached component token too. tpgate refreshes each
    // once and retries once (the token is past the forced-refresh
    // cool-down by tpgate's clock, and far from its refresh margin).
    app.clock.advance(61);
    app.sim.advance_clock(7300);
    let (status, got) = app.proxy(&key, &appid, "get_order", &get).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        app.sim.call_count(AUTHORIZER_TOKEN),
        2,
        "one rejected (stale component token), one good"
    );
    assert_eq!(app.sim.call_count(COMPONENT_TOKEN), component_tokens + 1);
    assert_eq!(
        app.sim.call_count(GET_ORDER),
        2,
        "one rejected, one retried"
    );

    // tpgate's own clock enters the refresh margin: both tokens are refreshed
    // before use, without a failed call first.
    app.clock.advance(7200 - 300 - 61);
    app.sim.advance_clock(7200 - 300);
    let (status, _) = app.proxy(&key, &appid, "get_order", &get).await;
    assert_eq!(status, 200);
    assert_eq!(app.sim.call_count(AUTHORIZER_TOKEN), 3);
    assert_eq!(app.sim.call_count(COMPONENT_TOKEN), component_tokens + 2);
    assert_eq!(app.sim.call_count(GET_ORDER), 3);

    // Fresh tokens: no refresh at all.
    let (status, _) = app.proxy(&key, &appid, "get_order", &get).await;
    assert_eq!(status, 200);
    assert_eq!(app.sim.call_count(AUTHORIZER_TOKEN), 3);
    assert_eq!(app.sim.call_count(COMPONENT_TOKEN), component_tokens + 2);
    app.shutdown().await;
}

#[tokio::test]
async fn onboarding_link_errors_are_pages_not_crashes() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let resp = app
        .http
        .get(app.url("/onboard/doesnotexist"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app
        .http
        .get(app.url("/onboard/complete?visit=nope&auth_code=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app
        .http
        .get(app.url("/onboard/complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // A visit left open past its lifetime cannot be completed.
    let tenant = app.create_tenant("late").await;
    let link = app.create_link(&tenant).await;
    let page = app.wechat_page_for(&link).await;
    let back = app
        .http
        .get(&page)
        .header("referer", crate::helpers::origin_of(&app.base))
        .send()
        .await
        .unwrap();
    let complete = back.headers()["location"].to_str().unwrap().to_owned();
    app.clock.advance(3600);
    let resp = app.http.get(&complete).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let list: Value = app.authorizers(None).await;
    assert_eq!(
        list["items"],
        json!([]),
        "nothing stored from an expired visit"
    );
    app.shutdown().await;
}
