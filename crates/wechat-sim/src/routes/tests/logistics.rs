//! The logistics-query plugin, `/wxa/plugin`, the logistics helper, the
//! courier list (`get_delivery_list`), their control endpoints, and
//! injected delays over HTTP.
use std::time::{Duration, Instant};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use poem::{http::StatusCode, test::TestClient};
use serde_json::json;

use super::{access_token, call, json_of};
use crate::{
    SimConfig, Simulator,
    routes::{
        ACCOUNT_GETALL, ADD_WAYBILL_ORDER, BATCHGET_WAYBILL_ORDER, CANCEL_WAYBILL_ORDER,
        DELIVERY_GETALL, GET_DELIVERY_LIST, GET_ORDER, GET_PATH, GET_WAYBILL_ORDER, MANAGE_PLUGIN,
        QUERY_TRACE, TRACE_WAYBILL, UPDATE_WAYBILL_GOODS,
    },
};

const PLUGIN_PATHS: [&str; 3] = [TRACE_WAYBILL, QUERY_TRACE, UPDATE_WAYBILL_GOODS];
const HELPER_POST_PATHS: [&str; 5] = [
    ADD_WAYBILL_ORDER,
    CANCEL_WAYBILL_ORDER,
    BATCHGET_WAYBILL_ORDER,
    GET_PATH,
    GET_WAYBILL_ORDER,
];

/// A GET of WeChat's (no body), answered as JSON.
async fn get(cli: &TestClient<poem::Route>, path: &str, token: &str) -> serde_json::Value {
    json_of(cli.get(path).query("access_token", &token).send().await).await
}

fn add_body(order_id: &str) -> serde_json::Value {
    json!({
        "add_source": 0, "order_id": order_id, "openid": "oUser",
        "delivery_id": "SF", "biz_id": "SF_CASH",
        "sender": {"name": "张三", "mobile": "13800138000"},
        "receiver": {"name": "李四", "mobile": "13900139000"},
        "cargo": {"count": 1, "weight": 1.2, "detail_list": [{"name": "狗", "count": 1}]},
        "insured": {"use_insured": 0, "insured_value": 0},
        "service": {"service_type": 0, "service_name": "标准快递"}
    })
}

fn trace_body(openid: &str, waybill_id: &str) -> serde_json::Value {
    json!({
        "openid": openid,
        "receiver_phone": "189****1234",
        "delivery_id": "SF",
        "waybill_id": waybill_id,
        "goods_info": {"detail_list": [{"goods_name": "测试名字", "goods_img_url": "www.qq.com"}]},
        "trans_id": "4200000000000000000000000001",
        "extra_field": "passed through, ignored"
    })
}

#[tokio::test]
async fn waybills_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![45]);
    let cli = TestClient::new(sim.endpoint());

    // Not opened yet: 48001 (the capability is missing).
    let closed = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF100")).await;
    assert_eq!(closed["errcode"], 48001);
    cli.post(format!("/sim/apps/{appid}/logistics-plugin"))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(sim.logistics_plugin_open(&appid));

    let traced = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF100")).await;
    assert_eq!(
        (traced["errcode"].clone(), traced["errmsg"].clone()),
        (json!(0), json!("ok"))
    );
    let first_token = traced["waybill_token"].as_str().unwrap().to_owned();
    // A repeat answers a new token, as WeChat does.
    let again = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF100")).await;
    let waybill_token = again["waybill_token"].as_str().unwrap().to_owned();
    assert_ne!(waybill_token, first_token);

    let trace = call(
        &cli,
        QUERY_TRACE,
        &token,
        &json!({"waybill_token": waybill_token, "openid": "oUser"}),
    )
    .await;
    assert_eq!(
        trace["waybill_info"],
        json!({"status": 0, "waybill_id": "SF100"})
    );
    assert_eq!(
        trace["shop_info"]["goods_info"]["detail_list"][0]["goods_name"],
        "测试名字"
    );
    assert_eq!(trace["delivery_info"]["delivery_id"], "SF");
    let mismatch = call(
        &cli,
        QUERY_TRACE,
        &token,
        &json!({"waybill_token": waybill_token, "openid": "oOther"}),
    )
    .await;
    assert_eq!(mismatch["errcode"], 9300534);

    let view = json_of(
        cli.get(format!("/sim/waybills/{waybill_token}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        (view["openid"].clone(), view["status"].clone()),
        (json!("oUser"), json!(0))
    );
    cli.get("/sim/waybills/nope")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    cli.post(format!("/sim/waybills/{waybill_token}/status"))
        .body_json(&json!({"status": 4}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    cli.post(format!("/sim/waybills/{waybill_token}/status"))
        .body_json(&json!({"status": 9}))
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    cli.post("/sim/waybills/nope/status")
        .body_json(&json!({"status": 1}))
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let trace = call(
        &cli,
        QUERY_TRACE,
        &token,
        &json!({"waybill_token": waybill_token}),
    )
    .await;
    assert_eq!(trace["waybill_info"]["status"], 4);

    // path/get and order/get are the logistics helper's: a waybill traced
    // with the plugin is unknown to them (40199).
    let unknown = call(
        &cli,
        GET_PATH,
        &token,
        &json!({"delivery_id": "SF", "waybill_id": "SF100"}),
    )
    .await;
    assert_eq!(unknown["errcode"], 40199);

    // Goods changes: limited (set to 1 through the control surface).
    cli.post("/sim/quotas")
        .body_json(&json!({"max_waybill_goods_updates": 1}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let goods = json!({"waybill_token": waybill_token, "goods_info": {"detail_list": [{"goods_name": "新", "goods_img_url": "https://a.example/x.png"}]}});
    assert_eq!(
        call(&cli, UPDATE_WAYBILL_GOODS, &token, &goods).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    assert_eq!(
        call(&cli, UPDATE_WAYBILL_GOODS, &token, &goods).await["errcode"],
        9300560
    );
    assert_eq!(
        sim.waybill(&waybill_token).unwrap().goods_info.detail_list[0].goods_name,
        "新"
    );
}

#[tokio::test]
async fn helper_waybills_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![71]);
    let cli = TestClient::new(sim.endpoint());

    let couriers = get(&cli, DELIVERY_GETALL, &token).await;
    assert!(
        couriers["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["delivery_id"] == "JDL")
    );
    let accounts = get(&cli, ACCOUNT_GETALL, &token).await;
    assert_eq!(accounts["count"], 1);
    // They are GET APIs, as WeChat's.
    cli.post(DELIVERY_GETALL)
        .query("access_token", &token)
        .send()
        .await
        .assert_status(StatusCode::METHOD_NOT_ALLOWED);

    let added = call(&cli, ADD_WAYBILL_ORDER, &token, &add_body("ORDER-1")).await;
    assert_eq!(added["errcode"], 0, "{added}");
    let waybill_id = added["waybill_id"].as_str().unwrap().to_owned();
    let repeated = call(&cli, ADD_WAYBILL_ORDER, &token, &add_body("ORDER-1")).await;
    assert_eq!(repeated["errcode"], 9300522);

    let path = call(
        &cli,
        GET_PATH,
        &token,
        &json!({"delivery_id": "SF", "waybill_id": waybill_id}),
    )
    .await;
    assert_eq!(
        (path["errcode"].clone(), path["path_item_num"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(path["openid"], "oUser");
    let print = call(
        &cli,
        GET_WAYBILL_ORDER,
        &token,
        &json!({"order_id": "ORDER-1", "delivery_id": "SF"}),
    )
    .await;
    let html = STANDARD
        .decode(print["print_html"].as_str().unwrap())
        .unwrap();
    assert!(String::from_utf8(html).unwrap().contains(&waybill_id));
    assert_eq!(
        print["waybill_data"][1],
        json!({"key": "SF_mark", "value": "101- 07-03 509"})
    );
    let batch = call(
        &cli,
        BATCHGET_WAYBILL_ORDER,
        &token,
        &json!({"order_list": [{"order_id": "ORDER-1", "delivery_id": "SF"}, {"order_id": "X", "delivery_id": "SF"}]}),
    )
    .await;
    assert_eq!(batch["order_list"][0]["waybill_id"], waybill_id.as_str());
    assert_eq!(batch["order_list"][1]["errcode"], 40199);
    let cancelled = call(
        &cli,
        CANCEL_WAYBILL_ORDER,
        &token,
        &json!({"order_id": "ORDER-1", "delivery_id": "SF", "waybill_id": waybill_id}),
    )
    .await;
    assert_eq!(cancelled["errcode"], 0, "{cancelled}");
    assert!(
        sim.helper_waybill(&appid, "ORDER-1", "SF")
            .unwrap()
            .cancelled_at
            .is_some()
    );
}

/// `/wxa/plugin` with set 40 opens the logistics-query plugin.
#[tokio::test]
async fn applying_for_the_plugin_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = "wx00000000000000cc";
    let token = access_token(&sim, appid, vec![40, 45]);
    let cli = TestClient::new(sim.endpoint());
    let applied = call(
        &cli,
        MANAGE_PLUGIN,
        &token,
        &json!({"action": "apply", "plugin_appid": "wx9ad912bf20548d92"}),
    )
    .await;
    assert_eq!(applied, json!({"errcode": 0, "errmsg": "ok"}));
    let traced = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF1")).await;
    assert_eq!(traced["errcode"], 0, "{traced}");
    let no_40 = access_token(&sim, "wx00000000000000dd", vec![45]);
    let denied = call(&cli, MANAGE_PLUGIN, &no_40, &json!({"action": "list"})).await;
    assert_eq!(denied["errcode"], 61007);
}

/// The plugin's three APIs share the daily quotas (the trace counts too).
#[tokio::test]
async fn per_user_quota_answers_9300513_and_is_readable() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![45]);
    sim.set_logistics_plugin(&appid, true);
    let cli = TestClient::new(sim.endpoint());
    cli.post("/sim/quotas")
        .body_json(&json!({"per_user": 2, "per_appid": 100}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(sim.config().logistics_user_daily_quota, 2);

    let waybill_token =
        call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF1")).await["waybill_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let query = json!({"waybill_token": waybill_token, "openid": "oUser"});
    assert_eq!(call(&cli, QUERY_TRACE, &token, &query).await["errcode"], 0);
    assert_eq!(
        call(&cli, QUERY_TRACE, &token, &query).await["errcode"],
        9300513
    );
    assert_eq!(sim.error_count(QUERY_TRACE, 9300513), 1);

    let usage = json_of(
        cli.get("/sim/quotas")
            .query("path", &QUERY_TRACE)
            .query("appid", &appid)
            .query("openid", &"oUser")
            .send()
            .await,
    )
    .await;
    assert_eq!(usage, json!({"appid": 2, "user": 2}));
    let same = json_of(
        cli.get("/sim/quotas")
            .query("path", &TRACE_WAYBILL)
            .query("appid", &appid)
            .query("openid", &"oUser")
            .send()
            .await,
    )
    .await;
    assert_eq!(same, usage);
    cli.get("/sim/quotas")
        .query("path", &QUERY_TRACE)
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

/// Token, then the set (61007 when not granted), then for the plugin the
/// plugin opened (48001), then the body.
#[tokio::test]
async fn every_logistics_api_checks_token_permission_and_body() {
    let sim = Simulator::new(SimConfig::sandbox());
    let shipping_only = access_token(&sim, "wx00000000000000aa", vec![18, 142]);
    let allowed = access_token(&sim, "wx00000000000000bb", vec![45]);
    let not_opened = access_token(&sim, "wx00000000000000cc", vec![45]);
    sim.set_logistics_plugin("wx00000000000000bb", true);
    let cli = TestClient::new(sim.endpoint());
    for path in PLUGIN_PATHS {
        let closed = call(&cli, path, &not_opened, &json!({})).await;
        assert_eq!(closed["errcode"], 48001, "{path}");
    }
    for path in [DELIVERY_GETALL, ACCOUNT_GETALL] {
        assert_eq!(get(&cli, path, "").await["errcode"], 41001, "{path}");
        assert_eq!(
            get(&cli, path, &shipping_only).await["errcode"],
            61007,
            "{path}"
        );
        assert_eq!(get(&cli, path, &allowed).await["errcode"], 0, "{path}");
    }
    for path in PLUGIN_PATHS.into_iter().chain(HELPER_POST_PATHS) {
        let missing = json_of(cli.post(path).body("{}").send().await).await;
        assert_eq!(missing["errcode"], 41001, "{path}");
        let denied = call(&cli, path, &shipping_only, &json!({})).await;
        assert_eq!(denied["errcode"], 61007, "{path}");
        let garbage = json_of(
            cli.post(path)
                .query("access_token", &allowed)
                .body("\u{0}")
                .send()
                .await,
        )
        .await;
        assert_eq!(garbage["errcode"], 47001, "{path}");
    }
}

#[tokio::test]
async fn delays_hold_the_answer_back_without_blocking_other_calls() {
    let sim = Simulator::new(SimConfig::sandbox());
    let cli = TestClient::new(sim.endpoint());
    cli.post("/sim/delays")
        .body_json(&json!({"path": GET_ORDER, "millis": 400, "times": 1}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    cli.post("/sim/delays")
        .body("{\"path\": 1}")
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    let start = Instant::now();
    let slow = async {
        let body = json_of(cli.post(GET_ORDER).body("{}").send().await).await;
        (body, start.elapsed())
    };
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let body = json_of(cli.post(QUERY_TRACE).body("{}").send().await).await;
        (body, start.elapsed())
    };
    let ((slow_body, slow_took), (fast_body, fast_took)) = tokio::join!(slow, fast);
    assert_eq!(slow_body["errcode"], 41001, "the call is answered as usual");
    assert!(slow_took >= Duration::from_millis(400), "{slow_took:?}");
    assert_eq!(fast_body["errcode"], 41001);
    assert!(fast_took < Duration::from_millis(400), "{fast_took:?}");
    assert_eq!(sim.call_count(GET_ORDER), 1);

    // Used up: the next call answers at once. Delays also work on unknown paths.
    let start = Instant::now();
    json_of(cli.post(GET_ORDER).body("{}").send().await).await;
    assert!(start.elapsed() < Duration::from_millis(400));
    sim.inject_delay("/cgi-bin/nope", Duration::from_millis(200), 1);
    let start = Instant::now();
    cli.post("/cgi-bin/nope")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

/// `get_delivery_list` over HTTP: the token, sets 45/120/121/142 (61007
/// otherwise), the body, the answer's shape, the list replaced through
/// `/sim/couriers`, and faults, delays and call counts like any path.
#[tokio::test]
async fn the_courier_list_over_http() {
    let sim = Simulator::new(SimConfig::sandbox());
    let shipping = access_token(&sim, "wx000000000000d142", vec![142]);
    let development = access_token(&sim, "wx000000000000d018", vec![18]);
    let cli = TestClient::new(sim.endpoint());

    let missing = json_of(cli.post(GET_DELIVERY_LIST).body("{}").send().await).await;
    assert_eq!(missing["errcode"], 41001);
    let denied = call(&cli, GET_DELIVERY_LIST, &development, &json!({})).await;
    assert_eq!(denied["errcode"], 61007, "{denied}");
    for set in [45, 120, 121] {
        let token = access_token(&sim, &format!("wx000000000000d{set:03}"), vec![set]);
        let ok = call(&cli, GET_DELIVERY_LIST, &token, &json!({})).await;
        assert_eq!(ok["errcode"], 0, "set {set}: {ok}");
    }
    let garbage = json_of(
        cli.post(GET_DELIVERY_LIST)
            .query("access_token", &shipping)
            .body("[1, 2")
            .send()
            .await,
    )
    .await;
    assert_eq!(garbage["errcode"], 47001);

    let list = call(&cli, GET_DELIVERY_LIST, &shipping, &json!({})).await;
    assert_eq!(
        (list["errcode"].clone(), list["errmsg"].clone()),
        (json!(0), json!("ok"))
    );
    let couriers = list["delivery_list"].as_array().unwrap();
    assert_eq!(list["count"], couriers.len());
    assert!(couriers.contains(&json!({"delivery_id": "SF", "delivery_name": "顺丰速运"})));
    assert!(couriers.contains(&json!({"delivery_id": "JTSD", "delivery_name": "极兔速递"})));
    let shown = json_of(cli.get("/sim/couriers").send().await).await;
    assert_eq!(shown["delivery_list"], list["delivery_list"]);
    assert_eq!(shown["count"], list["count"]);

    // Replaced: WeChat answers the new list from now on.
    let replacement = json!([
        {"delivery_id": "SF", "delivery_name": "顺丰速运"},
        {"delivery_id": "NEWCO", "delivery_name": "新快递"}
    ]);
    cli.put("/sim/couriers")
        .body_json(&json!({"delivery_list": replacement}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let list = call(&cli, GET_DELIVERY_LIST, &shipping, &json!({})).await;
    assert_eq!(list["delivery_list"], replacement);
    assert_eq!(list["count"], 2);
    assert_eq!(sim.couriers().len(), 2);
    for bad in ["{", r#"{"delivery_list": 5}"#, "{}"] {
        cli.put("/sim/couriers")
            .body(bad)
            .send()
            .await
            .assert_status(StatusCode::BAD_REQUEST);
    }
    assert_eq!(sim.couriers().len(), 2, "a refused body changes nothing");

    // Faults and delays work here as on every path; every call is counted.
    cli.post("/sim/faults")
        .body_json(&json!({"path": GET_DELIVERY_LIST, "errcode": 45009, "times": 1}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let fault = call(&cli, GET_DELIVERY_LIST, &shipping, &json!({})).await;
    assert_eq!(fault["errcode"], 45009);
    cli.post("/sim/delays")
        .body_json(&json!({"path": GET_DELIVERY_LIST, "millis": 300, "times": 1}))
        .send()
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let start = Instant::now();
    let slow = call(&cli, GET_DELIVERY_LIST, &shipping, &json!({})).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(slow["count"], 2);
    let calls = json_of(cli.get("/sim/calls").send().await).await;
    assert_eq!(calls[GET_DELIVERY_LIST], 10, "{calls}");
    assert_eq!(sim.error_count(GET_DELIVERY_LIST, 61007), 1);
}
