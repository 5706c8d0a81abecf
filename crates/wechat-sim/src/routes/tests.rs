use std::{sync::Arc, time::Duration};

use poem::{
    EndpointExt as _, Route,
    http::{StatusCode, header},
    test::{TestClient, TestResponse},
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::*;
use crate::{NewOrder, SimConfig};

mod logistics;
mod shipping;

/// An access token of `appid` authorized with `func_ids`, issued the way the
/// gateway gets one (ticket, component token, query_auth), without HTTP.
fn access_token(sim: &Simulator, appid: &str, func_ids: Vec<i64>) -> String {
    use wechat_api::component::{ComponentTokenRequest, QueryAuthRequest};
    let mut s = sim.lock();
    let ticket = s.issue_ticket();
    let config = s.config.clone();
    let ct = s
        .component_token(&ComponentTokenRequest {
            component_appid: config.component_appid.clone(),
            component_appsecret: config.component_secret.clone(),
            component_verify_ticket: ticket,
        })
        .unwrap()
        .component_access_token;
    let code = s.grant(appid, func_ids).code;
    s.query_auth(
        Some(&ct),
        &QueryAuthRequest {
            component_appid: config.component_appid,
            authorization_code: code,
        },
    )
    .unwrap()
    .authorization_info
    .authorizer_access_token
    .unwrap()
}

/// POSTs `body` to `path` with `token` and returns the JSON answer.
async fn call(cli: &TestClient<Route>, path: &str, token: &str, body: &Value) -> Value {
    json_of(
        cli.post(path)
            .query("access_token", &token)
            .body_json(body)
            .send()
            .await,
    )
    .await
}

async fn json_of(resp: TestResponse) -> Value {
    let text = resp.0.into_body().into_string().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn assert_rid(errmsg: &str) {
    let (_, rid) = errmsg
        .rsplit_once(" rid: ")
        .expect("errmsg ends with a rid");
    let parts: Vec<&str> = rid.split('-').collect();
    assert_eq!(parts.len(), 3, "{rid}");
    assert!(
        parts
            .iter()
            .all(|p| p.len() == 8 && p.chars().all(|c| c.is_ascii_hexdigit())),
        "{rid}"
    );
}

/// Ticket → component token → pre_auth_code → page → query_auth → upload →
/// get_order, all over HTTP as the gateway does it.
#[tokio::test]
async fn the_whole_flow_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let config = sim.config();
    let cli = TestClient::new(sim.endpoint());
    let ticket = sim.lock().issue_ticket();

    let token = json_of(
        cli.post(COMPONENT_TOKEN)
            .body_json(&json!({
                "component_appid": config.component_appid,
                "component_appsecret": config.component_secret,
                "component_verify_ticket": ticket,
            }))
            .send()
            .await,
    )
    .await;
    assert_eq!(token["expires_in"], 7200);
    assert!(token.get("errcode").is_none());
    let ct = token["component_access_token"].as_str().unwrap().to_owned();

    let pre = json_of(
        cli.post(CREATE_PREAUTHCODE)
            .query("component_access_token", &ct)
            .body_json(&json!({ "component_appid": config.component_appid }))
            .send()
            .await,
    )
    .await;
    let pre_auth_code = pre["pre_auth_code"].as_str().unwrap().to_owned();

    let visit = || {
        cli.get(LOGIN_PAGE)
            .query("component_appid", &config.component_appid)
            .query("pre_auth_code", &pre_auth_code)
            .query("redirect_uri", &"https://gw.example/cb?visit=1")
            .query("auth_type", &2)
            .send()
    };
    let resp = visit().await;
    resp.assert_status(StatusCode::FOUND);
    let location = url::Url::parse(
        resp.0
            .headers()
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let query: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(location.path(), "/cb");
    assert_eq!(query["visit"], "1");
    assert_eq!(query["expires_in"], "600");
    let auth_code = query["auth_code"].clone();
    assert!(auth_code.starts_with("queryauthcode@@@"));

    let again = visit().await;
    again.assert_status(StatusCode::BAD_REQUEST);
    let html = again.0.into_body().into_string().await.unwrap();
    assert!(html.contains("already been used"), "{html}");

    let auth = json_of(
        cli.post(QUERY_AUTH)
            .query("component_access_token", &ct)
            .body_json(&json!({
                "component_appid": config.component_appid,
                "authorization_code": auth_code,
            }))
            .send()
            .await,
    )
    .await;
    let info = &auth["authorization_info"];
    assert_eq!(info["authorizer_appid"], config.default_authorizer_appid);
    assert_eq!(
        info["func_info"][2],
        json!({"funcscope_category": {"id": 142}, "confirm_info": {"need_confirm": 0, "already_confirm": 0, "can_confirm": 0}})
    );
    let access = info["authorizer_access_token"].as_str().unwrap().to_owned();

    let refreshed = json_of(
        cli.post(AUTHORIZER_TOKEN)
            .query("component_access_token", &ct)
            .body_json(&json!({
                "component_appid": config.component_appid,
                "authorizer_appid": config.default_authorizer_appid,
                "authorizer_refresh_token": info["authorizer_refresh_token"],
            }))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        refreshed["authorizer_refresh_token"],
        info["authorizer_refresh_token"]
    );

    let order = sim.create_paid_order(NewOrder::default());
    let get = || {
        cli.post(GET_ORDER)
            .query("access_token", &access)
            .body_json(&json!({ "transaction_id": order.transaction_id }))
            .send()
    };
    let before = json_of(get().await).await;
    assert_eq!(before["errcode"], 0);
    assert_eq!(before["order"]["order_state"], 1);
    assert_eq!(before["order"]["shipping"], json!({}));
    assert_eq!(before["order"]["sub_merchant_id"], "");

    let shipped = json_of(
        cli.post(UPLOAD_SHIPPING_INFO)
            .query("access_token", &access)
            .body_json(&json!({
                "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
                "logistics_type": 1,
                "delivery_mode": 1,
                "shipping_list": [{
                    "tracking_no": "SF001", "express_company": "SF", "item_desc": "🍌*1",
                    "contact": {"receiver_contact": "189****1234"}
                }],
                "upload_time": "2022-12-15T13:29:35.120+08:00",
                "payer": {"openid": order.openid}
            }))
            .send()
            .await,
    )
    .await;
    assert_eq!(shipped, json!({"errcode": 0, "errmsg": "ok"}));

    let after = json_of(get().await).await;
    let shipping = &after["order"]["shipping"];
    assert_eq!(after["order"]["order_state"], 2);
    assert_eq!(shipping["finish_shipping"], true);
    assert_eq!(shipping["finish_shipping_count"], 1);
    assert_eq!(shipping["goods_desc"], "🍌*1");
    assert_eq!(
        shipping["shipping_list"][0],
        json!({"tracking_no": "SF001", "express_company": "SF", "goods_desc": "🍌*1",
               "upload_time": 1671082175, "contact": {"receiver_contact": "189****1234"}})
    );

    let calls = sim.call_counts();
    assert_eq!(calls[LOGIN_PAGE], 2);
    assert_eq!(calls[GET_ORDER], 2);
    assert_eq!(calls[UPLOAD_SHIPPING_INFO], 1);
    assert_eq!(calls.len(), 7);
}

#[tokio::test]
async fn errors_look_like_wechat() {
    let sim = Simulator::new(SimConfig::sandbox());
    let cli = TestClient::new(sim.endpoint());

    let resp = cli
        .post(GET_ORDER)
        .query("access_token", &"nope")
        .body_json(&json!({"transaction_id": "x"}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    assert_eq!(body["errcode"], 40001);
    assert_rid(body["errmsg"].as_str().unwrap());

    let missing = json_of(cli.post(UPLOAD_SHIPPING_INFO).body("{}").send().await).await;
    assert_eq!(missing["errcode"], 41001);

    // Bad JSON, once the token is good: 47001.
    let ticket = sim.lock().issue_ticket();
    let config = sim.config();
    let bad = json_of(
        cli.post(COMPONENT_TOKEN)
            .body(format!(
                "{{\"component_appid\":\"{}\",\"component_verify_ticket\":\"{ticket}\"",
                config.component_appid
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(bad["errcode"], 47001);
    assert_rid(bad["errmsg"].as_str().unwrap());

    // Faults answer first (after counting), `times` times.
    sim.inject_fault(GET_ORDER, -1, 1);
    let fault = json_of(cli.post(GET_ORDER).body("not json").send().await).await;
    assert_eq!(fault["errcode"], -1);
    let after = json_of(cli.post(GET_ORDER).body("not json").send().await).await;
    assert_eq!(after["errcode"], 41001);
    assert_eq!(sim.call_count(GET_ORDER), 3);

    // The page: an HTML 400, never a panic, for bad input.
    let page = cli
        .get(MOBILE_PAGE)
        .query("action", &"bindcomponent")
        .query("pre_auth_code", &"preauthcode@@@nope")
        .query("redirect_uri", &"not a url")
        .send()
        .await;
    page.assert_status(StatusCode::BAD_REQUEST);
    page.assert_content_type("text/html; charset=utf-8");
    assert_eq!(sim.call_count(MOBILE_PAGE), 1);

    // Unknown paths: 404 with a WeChat-style body, counted.
    let unknown = cli.post("/cgi-bin/nope").send().await;
    unknown.assert_status(StatusCode::NOT_FOUND);
    let body = json_of(unknown).await;
    assert_eq!(body["errcode"], -1);
    assert_rid(body["errmsg"].as_str().unwrap());
    assert_eq!(sim.call_count("/cgi-bin/nope"), 1);
}

#[tokio::test]
async fn the_control_surface_mirrors_the_methods() {
    let sim = Simulator::new(SimConfig::sandbox());
    let cli = TestClient::new(sim.endpoint());

    let order = json_of(
        cli.post("/sim/orders")
            .body_json(&json!({"paid_amount": 916, "openid": "oPayer"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(order["paid_amount"], 916);
    assert_eq!(order["openid"], "oPayer");
    let empty = json_of(cli.post("/sim/orders").send().await).await;
    assert_eq!(empty["mchid"], "1900000109");

    let tx = order["transaction_id"].as_str().unwrap();
    let view = json_of(cli.get(format!("/sim/orders/{tx}")).send().await).await;
    assert_eq!(view["order_state"], 1);
    assert_eq!(view["shipping"], json!({}));
    cli.get("/sim/orders/nope")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let now = json_of(cli.get("/sim/clock").send().await).await["now"]
        .as_i64()
        .unwrap();
    let later = json_of(
        cli.post("/sim/clock/advance")
            .body_json(&json!({"seconds": 7200}))
            .send()
            .await,
    )
    .await["now"]
        .as_i64()
        .unwrap();
    assert!((7200..7205).contains(&(later - now)));

    cli.post("/sim/faults")
        .body_json(&json!({"path": GET_ORDER, "errcode": 45009, "times": 1}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let fault = json_of(cli.post(GET_ORDER).send().await).await;
    assert_eq!(fault["errcode"], 45009);
    let calls = json_of(cli.get("/sim/calls").send().await).await;
    assert_eq!(calls[GET_ORDER], 1);
    assert_eq!(
        calls.as_object().unwrap().len(),
        1,
        "/sim calls are not counted"
    );

    cli.post("/sim/next-authorization")
        .body_json(&json!({"appid": "wx00000000000000aa", "func_ids": [17]}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    cli.post("/sim/faults")
        .body("{")
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    cli.post("/sim/gateway")
        .body_json(&json!({"events_url": "not a url"}))
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    cli.post("/sim/push/ticket")
        .send()
        .await
        .assert_status(StatusCode::CONFLICT);
}

/// A stand-in gateway: records each push (query, body) and answers `success`.
async fn gateway() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/wechat/component/events",
        listener.local_addr().unwrap()
    );
    #[poem::handler]
    fn events(
        req: &poem::Request,
        body: String,
        tx: poem::web::Data<&Arc<mpsc::UnboundedSender<(String, String)>>>,
    ) -> &'static str {
        let _ = tx.send((req.uri().query().unwrap_or_default().to_owned(), body));
        "success"
    }
    let app = Route::new()
        .at("/wechat/component/events", poem::post(events))
        .data(tx);
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (url, rx)
}

fn param(query: &str, name: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing from {query}"))
}

#[tokio::test]
async fn pushes_are_encrypted_and_signed_like_wechat() {
    let sim = Simulator::new(SimConfig::sandbox());
    let config = sim.config();
    let crypt = wxcrypt::MsgCrypt::new(
        &config.token,
        &config.encoding_aes_key,
        &config.component_appid,
    )
    .unwrap();
    let (url, mut pushes) = gateway().await;
    sim.set_gateway_events_url(&url);

    let outcome = sim.push_ticket().await.unwrap();
    assert_eq!((outcome.status, outcome.body.as_str()), (200, "success"));
    let (query, body) = pushes.recv().await.unwrap();
    let (ts, nonce) = (param(&query, "timestamp"), param(&query, "nonce"));
    assert_eq!(param(&query, "encrypt_type"), "aes");
    let mut sorted = [config.token.as_str(), ts.as_str(), nonce.as_str()];
    sorted.sort_unstable();
    assert_eq!(
        param(&query, "signature"),
        wxcrypt::msg_signature(sorted[0], sorted[1], sorted[2], "")
    );
    assert!(body.contains(&format!(
        "<AppId><![CDATA[{}]]></AppId>",
        config.component_appid
    )));
    let plain = crypt
        .open(&param(&query, "msg_signature"), &ts, &nonce, &body)
        .unwrap();
    let ticket = outcome.ticket.unwrap();
    assert!(
        plain
            .message
            .contains("<InfoType><![CDATA[component_verify_ticket]]></InfoType>")
    );
    assert!(plain.message.contains(&format!(
        "<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket>"
    )));

    // api_start_push_ticket pushes another one shortly after answering.
    let cli = TestClient::new(sim.endpoint());
    let started = json_of(
        cli.post(START_PUSH_TICKET)
            .body_json(&json!({
                "component_appid": config.component_appid,
                "component_secret": config.component_secret,
            }))
            .send()
            .await,
    )
    .await;
    assert_eq!(started, json!({"errcode": 0, "errmsg": "ok"}));
    let (query, body) = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
        .await
        .expect("a ticket is pushed")
        .unwrap();
    let plain = crypt
        .open(
            &param(&query, "msg_signature"),
            &param(&query, "timestamp"),
            &param(&query, "nonce"),
            &body,
        )
        .unwrap();
    assert!(plain.message.contains("ticket@@@") && !plain.message.contains(&ticket));

    // authorized: a code the gateway can exchange; unauthorized: revokes.
    sim.push_authorized("authorized", "wx00000000000000aa", Some("preauthcode@@@x"))
        .await
        .unwrap();
    let (query, body) = pushes.recv().await.unwrap();
    let plain = crypt
        .open(
            &param(&query, "msg_signature"),
            &param(&query, "timestamp"),
            &param(&query, "nonce"),
            &body,
        )
        .unwrap()
        .message;
    assert!(plain.contains("<AuthorizerAppid><![CDATA[wx00000000000000aa]]></AuthorizerAppid>"));
    assert!(plain.contains("<PreAuthCode><![CDATA[preauthcode@@@x]]></PreAuthCode>"));
    assert!(plain.contains("<AuthorizationCode><![CDATA[queryauthcode@@@"));
    sim.push_unauthorized("wx00000000000000aa").await.unwrap();
    let (_, body) = pushes.recv().await.unwrap();
    assert!(body.contains("<Encrypt>"));
}

/// A stand-in gateway for Mini Program pushes at `/wechat/apps/{appid}/events`:
/// records (appid, body) and answers `success`. Returns the URL template.
async fn app_gateway() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let template = format!(
        "http://{}/wechat/apps/$APPID$/events",
        listener.local_addr().unwrap()
    );
    #[poem::handler]
    fn events(
        poem::web::Path(appid): poem::web::Path<String>,
        body: String,
        tx: poem::web::Data<&Arc<mpsc::UnboundedSender<(String, String)>>>,
    ) -> &'static str {
        let _ = tx.send((appid, body));
        "success"
    }
    let app = Route::new()
        .at("/wechat/apps/:appid/events", poem::post(events))
        .data(tx);
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (template, rx)
}

#[tokio::test]
async fn app_events_are_pushed_over_the_control_surface() {
    let sim = Simulator::new(SimConfig::sandbox());
    let cli = TestClient::new(sim.endpoint());
    let appid = "wx0123456789abcdef";
    let event = json!({"event": "trade_manage_remind_access_api", "msg": "hi"});

    // No app-events URL yet: 409.
    cli.post("/sim/push/app-event")
        .body_json(&json!({"appid": appid, "event": event}))
        .send()
        .await
        .assert_status(StatusCode::CONFLICT);
    for bad in [json!({}), json!({"app_events_url": "no url $APPID$"})] {
        cli.post("/sim/gateway")
            .body_json(&bad)
            .send()
            .await
            .assert_status(StatusCode::BAD_REQUEST);
    }
    let (template, mut pushes) = app_gateway().await;
    cli.post("/sim/gateway")
        .body_json(&json!({"app_events_url": template}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(sim.config().gateway_app_events_url, Some(template));
    assert_eq!(sim.config().gateway_events_url, None);

    let outcome = json_of(
        cli.post("/sim/push/app-event")
            .body_json(&json!({"appid": appid, "event": event}))
            .send()
            .await,
    )
    .await;
    assert_eq!(outcome["acknowledged"], true);
    assert_eq!(outcome["attempts"][0]["result"], "answered");
    assert_eq!(outcome["attempts"][0]["status"], 200);
    assert_eq!(
        outcome["message"]["event"],
        "trade_manage_remind_access_api"
    );
    assert!(outcome.get("repeats").is_none());
    let (to, body) = pushes.recv().await.unwrap();
    assert_eq!(to, appid);
    assert_eq!(outcome["message"]["body"], body);

    // From an order, delivered once more as a duplicate.
    let order = sim.create_paid_order(NewOrder::default());
    let outcome = json_of(
        cli.post("/sim/push/app-event")
            .body_json(&json!({
                "appid": order.appid,
                "from_order": {"transaction_id": order.transaction_id, "event": "trade_manage_remind_shipping"},
                "repeat": 1,
            }))
            .send()
            .await,
    )
    .await;
    assert_eq!(outcome["acknowledged"], true);
    assert_eq!(outcome["repeats"][0]["acknowledged"], true);
    let plaintext = outcome["message"]["plaintext"].as_str().unwrap();
    assert!(plaintext.contains(&format!(
        "<transaction_id><![CDATA[{}]]></transaction_id>",
        order.transaction_id
    )));
    let (first, second) = (pushes.recv().await.unwrap(), pushes.recv().await.unwrap());
    assert_eq!(first, second);

    for (body, status) in [
        (
            json!({"appid": "wx/x", "event": event}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"appid": appid}), StatusCode::BAD_REQUEST),
        (
            json!({"appid": appid, "event": event, "from_order": {"transaction_id": order.transaction_id, "event": "trade_manage_remind_shipping"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"appid": appid, "from_order": {"transaction_id": order.transaction_id, "event": "nope"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"appid": appid, "from_order": {"transaction_id": "404", "event": "trade_manage_remind_shipping"}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"appid": appid, "event": {"event": "trade_manage_remind_shipping"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"appid": appid, "event": event, "repeat": 11}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        cli.post("/sim/push/app-event")
            .body_json(&body)
            .send()
            .await
            .assert_status(status);
    }
}
