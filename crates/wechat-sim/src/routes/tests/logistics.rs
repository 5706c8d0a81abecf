//! The logistics APIs, their control endpoints, and injected delays over HTTP.
use std::time::{Duration, Instant};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use poem::{http::StatusCode, test::TestClient};
use serde_json::json;

use super::{access_token, call, json_of};
use crate::{
    SimConfig, Simulator,
    routes::{
        GET_ORDER, GET_PATH, GET_WAYBILL_ORDER, QUERY_TRACE, TRACE_WAYBILL, UPDATE_WAYBILL_GOODS,
    },
};

const LOGISTICS_PATHS: [&str; 5] = [
    TRACE_WAYBILL,
    QUERY_TRACE,
    UPDATE_WAYBILL_GOODS,
    GET_PATH,
    GET_WAYBILL_ORDER,
];

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

    let traced = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF100")).await;
    assert_eq!(
        (traced["errcode"].clone(), traced["errmsg"].clone()),
        (json!(0), json!("ok"))
    );
    let waybill_token = traced["waybill_token"].as_str().unwrap().to_owned();
    let again = call(&cli, TRACE_WAYBILL, &token, &trace_body("oUser", "SF100")).await;
    assert_eq!(again["waybill_token"], waybill_token.as_str());

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

    let path = call(
        &cli,
        GET_PATH,
        &token,
        &json!({"order_id": "o1", "delivery_id": "SF", "waybill_id": "SF100"}),
    )
    .await;
    assert_eq!(path["path_item_num"], 4);
    assert_eq!(path["path_item_list"][3]["action_type"], 300003);
    assert_eq!(path["openid"], "oUser");
    let unknown = call(
        &cli,
        GET_PATH,
        &token,
        &json!({"order_id": "o1", "delivery_id": "SF", "waybill_id": "SF404"}),
    )
    .await;
    assert_eq!(unknown["errcode"], 9300559);

    let print = call(
        &cli,
        GET_WAYBILL_ORDER,
        &token,
        &json!({"order_id": "o1", "delivery_id": "SF", "waybill_id": "SF100"}),
    )
    .await;
    let html = STANDARD
        .decode(print["print_html"].as_str().unwrap())
        .unwrap();
    assert!(String::from_utf8(html).unwrap().contains("SF100"));
    assert_eq!(
        print["waybill_data"][1],
        json!({"key": "SF_mark", "value": "101- 07-03 509"})
    );
    assert_eq!(
        (print["order_id"].clone(), print["order_status"].clone()),
        (json!("o1"), json!(0))
    );

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
async fn per_user_quota_answers_9300513_and_is_readable() {
    let sim = Simulator::new(SimConfig::sandbox());
    let appid = sim.config().default_authorizer_appid;
    let token = access_token(&sim, &appid, vec![45]);
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
    cli.get("/sim/quotas")
        .query("path", &QUERY_TRACE)
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_logistics_api_checks_token_permission_and_body() {
    let sim = Simulator::new(SimConfig::sandbox());
    let shipping_only = access_token(&sim, "wx00000000000000aa", vec![18, 142]);
    let allowed = access_token(&sim, "wx00000000000000bb", vec![45]);
    let cli = TestClient::new(sim.endpoint());
    for path in LOGISTICS_PATHS {
        let missing = json_of(cli.post(path).body("{}").send().await).await;
        assert_eq!(missing["errcode"], 41001, "{path}");
        let denied = call(&cli, path, &shipping_only, &json!({})).await;
        assert_eq!(denied["errcode"], 48001, "{path}");
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
