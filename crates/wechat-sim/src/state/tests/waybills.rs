//! The logistics-query plugin and the logistics helper: waybill tokens, the
//! journey on the sim clock, goods changes, quotas, path/get and order/get.
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use wechat_api::{
    errcode as ec,
    logistics::{
        GetPathRequest, GetWaybillOrderRequest, QueryTraceRequest, QueryTraceResponse,
        TraceWaybillRequest, UpdateWaybillGoodsRequest,
    },
};

use super::{OTHER_APPID, advance_and_renew, authorize, code_of, component_token, platform, shop};
use crate::{
    routes::{QUERY_TRACE, TRACE_WAYBILL},
    state::{State, WxResult, logistics::shanghai_day},
};

const HOUR: i64 = 3600;
const PAYER: &str = "oWaybillUser";

fn trace_json(waybill_id: &str) -> Value {
    json!({
        "openid": PAYER,
        "sender_phone": "12345678901",
        "receiver_phone": "189****1234",
        "delivery_id": "SF",
        "waybill_id": waybill_id,
        "goods_info": {"detail_list": [{"goods_name": "测试名字", "goods_img_url": "www.qq.com", "goods_desc": "好东西"}]},
        "trans_id": "4200000000000000000000000001",
        "order_detail_path": "pages/order/detail?id=1"
    })
}

fn trace(s: &mut State, token: &str, body: Value) -> WxResult<String> {
    let appid = s.logistics_caller(Some(token))?;
    let req: TraceWaybillRequest = serde_json::from_value(body).unwrap();
    s.trace_waybill(&appid, &req)
}

fn query(
    s: &mut State,
    token: &str,
    waybill_token: &str,
    openid: Option<&str>,
) -> WxResult<QueryTraceResponse> {
    let appid = s.logistics_caller(Some(token))?;
    let req = QueryTraceRequest {
        waybill_token: waybill_token.to_owned(),
        openid: openid.map(str::to_owned),
    };
    s.query_trace(&appid, &req)
}

fn status(s: &mut State, token: &str, waybill_token: &str) -> i64 {
    query(s, token, waybill_token, None)
        .unwrap()
        .waybill_info
        .unwrap()
        .status
}

fn update_goods(s: &mut State, token: &str, waybill_token: &str, name: &str) -> WxResult<()> {
    let appid = s.logistics_caller(Some(token))?;
    let req: UpdateWaybillGoodsRequest = serde_json::from_value(json!({
        "waybill_token": waybill_token,
        "goods_info": {"detail_list": [{"goods_name": name, "goods_img_url": "https://img.example/a.png"}]}
    }))
    .unwrap();
    s.update_waybill_goods(&appid, &req)
}

fn path_of(s: &State, token: &str, waybill_id: &str, delivery_id: &str) -> WxResult<Vec<i64>> {
    let appid = s.logistics_caller(Some(token))?;
    let req = GetPathRequest {
        order_id: "o-1".into(),
        openid: None,
        delivery_id: delivery_id.into(),
        waybill_id: waybill_id.into(),
    };
    Ok(s.get_path(&appid, &req)?
        .path_item_list
        .into_iter()
        .map(|n| n.action_type)
        .collect())
}

#[test]
fn trace_waybill_issues_one_token_per_waybill() {
    let (mut s, token, _) = shop();
    let first = trace(&mut s, &token, trace_json("WX001")).unwrap();
    let again = trace(&mut s, &token, trace_json("WX001")).unwrap();
    let other = trace(&mut s, &token, trace_json("WX002")).unwrap();
    assert_eq!(first, again);
    assert_ne!(first, other);
    let appid = s.config.default_authorizer_appid.clone();
    assert_eq!(s.waybill_token(&appid, "WX001"), Some(first.clone()));
    let view = s.waybill(&first).unwrap();
    assert_eq!(
        (view.openid.as_str(), view.delivery_id.as_deref()),
        (PAYER, Some("SF"))
    );
    assert_eq!(view.goods_info.detail_list[0].goods_name, "测试名字");
    assert_eq!(view.status, 0);

    let answer = query(&mut s, &token, &first, Some(PAYER)).unwrap();
    assert_eq!(answer.waybill_info.unwrap().waybill_id, "WX001");
    assert_eq!(
        answer.shop_info.unwrap().goods_info.unwrap().detail_list[0].goods_desc,
        Some("好东西".into())
    );
    let delivery = answer.delivery_info.unwrap();
    assert_eq!(
        (
            delivery.delivery_id.as_str(),
            delivery.delivery_name.as_deref()
        ),
        ("SF", Some("顺丰速运"))
    );

    // Seed rules first: a bad body is refused before anything else.
    let mut bad = trace_json("WX003");
    bad["goods_info"]["detail_list"] = json!([]);
    assert_eq!(code_of(trace(&mut s, &token, bad)), ec::INVALID_PARAMETER);
}

#[test]
fn tokens_belong_to_their_appid_and_user() {
    let (mut s, token, _) = shop();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();
    assert_eq!(
        code_of(query(&mut s, &token, "sim_nope", None)),
        ec::WAYBILL_TOKEN_INVALID
    );
    assert_eq!(
        code_of(query(&mut s, &token, &waybill, Some("oSomeoneElse"))),
        ec::TOKEN_OPENID_MISMATCH
    );
    let ct = component_token(&mut s);
    let (other, _) = authorize(&mut s, &ct, OTHER_APPID, vec![45]);
    assert_eq!(
        code_of(query(&mut s, &other, &waybill, None)),
        ec::WAYBILL_TOKEN_INVALID
    );
    assert_eq!(
        code_of(update_goods(&mut s, &other, &waybill, "x")),
        ec::WAYBILL_TOKEN_INVALID
    );
}

#[test]
fn logistics_needs_permission_set_45() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let (shipping_only, _) = authorize(&mut s, &ct, OTHER_APPID, vec![18, 142]);
    assert_eq!(
        code_of(s.logistics_caller(Some(&shipping_only))),
        ec::API_UNAUTHORIZED
    );
    let (logistics, _) = authorize(&mut s, &ct, "wx00000000000000bb", vec![45]);
    assert_eq!(
        s.logistics_caller(Some(&logistics)).unwrap(),
        "wx00000000000000bb"
    );
    assert_eq!(
        code_of(s.shipping_caller(Some(&logistics))),
        ec::API_UNAUTHORIZED
    );
}

#[test]
fn the_parcel_travels_on_the_sim_clock() {
    let (mut s, token, _) = shop();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();
    assert_eq!(status(&mut s, &token, &waybill), 0);
    assert_eq!(path_of(&s, &token, "WX001", "SF").unwrap(), [] as [i64; 0]);
    let token = advance_and_renew(&mut s, HOUR - 1);
    assert_eq!(status(&mut s, &token, &waybill), 0);
    let token = advance_and_renew(&mut s, 1);
    assert_eq!(status(&mut s, &token, &waybill), 1);
    let token = advance_and_renew(&mut s, 5 * HOUR);
    assert_eq!(status(&mut s, &token, &waybill), 2);
    let token = advance_and_renew(&mut s, 18 * HOUR);
    assert_eq!(status(&mut s, &token, &waybill), 3);
    let token = advance_and_renew(&mut s, 6 * HOUR);
    assert_eq!(status(&mut s, &token, &waybill), 4);
    assert_eq!(
        path_of(&s, &token, "WX001", "SF").unwrap(),
        [100001, 200001, 300002, 300003]
    );
    let traced_at = s.waybill(&waybill).unwrap().traced_at;
    let appid = s.logistics_caller(Some(&token)).unwrap();
    let answer = s
        .get_path(
            &appid,
            &GetPathRequest {
                order_id: "o-1".into(),
                openid: None,
                delivery_id: "SF".into(),
                waybill_id: "WX001".into(),
            },
        )
        .unwrap();
    assert_eq!(answer.path_item_num, 4);
    assert_eq!(answer.openid, PAYER);
    assert_eq!(answer.path_item_list[0].action_time, traced_at + HOUR);

    // Forced states, then back to the clock.
    assert!(s.set_waybill_status(&waybill, Some(5)));
    assert_eq!(status(&mut s, &token, &waybill), 5);
    assert_eq!(
        path_of(&s, &token, "WX001", "SF").unwrap().last(),
        Some(&400002)
    );
    assert!(s.set_waybill_status(&waybill, Some(6)));
    assert_eq!(status(&mut s, &token, &waybill), 6);
    assert!(s.set_waybill_status(&waybill, Some(1)));
    assert_eq!(path_of(&s, &token, "WX001", "SF").unwrap(), [100001]);
    assert!(s.set_waybill_status(&waybill, None));
    assert_eq!(status(&mut s, &token, &waybill), 4);
    assert!(!s.set_waybill_status(&waybill, Some(7)));
    assert!(!s.set_waybill_status("sim_nope", Some(1)));
}

#[test]
fn path_get_knows_only_traced_waybills() {
    let (mut s, token, _) = shop();
    let mut no_carrier = trace_json("WX009");
    no_carrier.as_object_mut().unwrap().remove("delivery_id");
    trace(&mut s, &token, trace_json("WX001")).unwrap();
    trace(&mut s, &token, no_carrier).unwrap();
    assert_eq!(
        code_of(path_of(&s, &token, "WX404", "SF")),
        ec::WAYBILL_NOT_FOUND
    );
    assert_eq!(
        code_of(path_of(&s, &token, "WX001", "ZTO")),
        ec::WAYBILL_NOT_FOUND,
        "another carrier's waybill"
    );
    path_of(&s, &token, "WX009", "ZTO").unwrap();
    assert_eq!(
        code_of(path_of(&s, &token, "WX001", " ")),
        ec::INVALID_PARAMETER
    );
}

#[test]
fn order_get_answers_print_data() {
    let (mut s, token, _) = shop();
    trace(&mut s, &token, trace_json("WX<1>")).unwrap();
    let appid = s.logistics_caller(Some(&token)).unwrap();
    let mut req = GetWaybillOrderRequest {
        order_id: "4200000000000000000000000001".into(),
        openid: None,
        delivery_id: "SF".into(),
        waybill_id: Some("WX<1>".into()),
    };
    let answer = s.get_waybill_order(&appid, &req).unwrap();
    let html = String::from_utf8(STANDARD.decode(&answer.print_html).unwrap()).unwrap();
    assert!(
        html.contains("WX&lt;1&gt;") && html.contains("测试名字"),
        "{html}"
    );
    assert_eq!(answer.waybill_data[0].key, "SF_bagAddr");
    assert_eq!(
        (answer.waybill_id.as_str(), answer.order_status),
        ("WX<1>", 0)
    );

    // Without waybill_id: found by the order (the traced trans_id).
    req.waybill_id = None;
    assert_eq!(
        s.get_waybill_order(&appid, &req).unwrap().waybill_id,
        "WX<1>"
    );
    req.order_id = "unknown".into();
    assert_eq!(
        code_of(s.get_waybill_order(&appid, &req)),
        ec::WAYBILL_NOT_FOUND
    );
}

#[test]
fn goods_can_change_a_limited_number_of_times() {
    let (mut s, token, _) = shop();
    s.config.max_waybill_goods_updates = 2;
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();
    update_goods(&mut s, &token, &waybill, "一").unwrap();
    update_goods(&mut s, &token, &waybill, "二").unwrap();
    assert_eq!(
        code_of(update_goods(&mut s, &token, &waybill, "三")),
        ec::WAYBILL_MODIFICATIONS_EXCEEDED
    );
    let goods = query(&mut s, &token, &waybill, None)
        .unwrap()
        .shop_info
        .unwrap()
        .goods_info
        .unwrap();
    assert_eq!(goods.detail_list[0].goods_name, "二");
    assert_eq!(s.waybill(&waybill).unwrap().goods_updates, 2);
    // A repeated trace_waybill does not reset anything.
    trace(&mut s, &token, trace_json("WX001")).unwrap();
    assert_eq!(s.waybill(&waybill).unwrap().goods_updates, 2);
}

#[test]
fn daily_quotas_per_user_and_per_appid() {
    let (mut s, token, _) = shop();
    s.config.logistics_user_daily_quota = 3;
    s.config.logistics_appid_daily_quota = 5;
    let appid = s.config.default_authorizer_appid.clone();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();

    // Without an openid in the body, the waybill's user is counted.
    query(&mut s, &token, &waybill, None).unwrap();
    query(&mut s, &token, &waybill, Some(PAYER)).unwrap();
    // A call the rules refuse is not counted; one the waybill checks refuse is.
    assert_eq!(
        code_of(query(&mut s, &token, " ", Some(PAYER))),
        ec::WAYBILL_TOKEN_INVALID
    );
    assert_eq!(
        code_of(query(&mut s, &token, "sim_nope", Some(PAYER))),
        ec::WAYBILL_TOKEN_INVALID
    );
    let usage = s.quota_usage(QUERY_TRACE, &appid, Some(PAYER));
    assert_eq!((usage.appid, usage.user), (3, 3));
    assert_eq!(
        code_of(query(&mut s, &token, &waybill, None)),
        ec::LOGISTICS_QUOTA_REACHED
    );
    assert_eq!(s.quota_usage(QUERY_TRACE, &appid, Some(PAYER)).user, 3);
    // Another user, until the appid's quota is used up; other APIs count apart.
    query(&mut s, &token, "sim_nope", Some("oOther")).unwrap_err();
    query(&mut s, &token, "sim_nope", Some("oOther")).unwrap_err();
    assert_eq!(
        code_of(query(&mut s, &token, "sim_nope", Some("oThird"))),
        ec::LOGISTICS_QUOTA_REACHED
    );
    assert_eq!(s.quota_usage(QUERY_TRACE, &appid, None).appid, 5);
    assert_eq!(s.quota_usage(TRACE_WAYBILL, &appid, Some(PAYER)).user, 1);
    update_goods(&mut s, &token, &waybill, "x").unwrap();

    // A new day starts at midnight Asia/Shanghai.
    let now = s.now();
    let to_midnight = 86_400 - (now + 8 * HOUR).rem_euclid(86_400);
    let token = advance_and_renew(&mut s, to_midnight - 1);
    assert_eq!(shanghai_day(s.now()), shanghai_day(now));
    assert_eq!(
        code_of(query(&mut s, &token, &waybill, None)),
        ec::LOGISTICS_QUOTA_REACHED
    );
    let token = advance_and_renew(&mut s, 1);
    assert_eq!(shanghai_day(s.now()), shanghai_day(now) + 1);
    assert_eq!(s.quota_usage(QUERY_TRACE, &appid, Some(PAYER)).user, 0);
    query(&mut s, &token, &waybill, None).unwrap();
}

#[test]
fn shanghai_days_start_at_utc_16_00() {
    // 2024-01-01T15:59:59Z is 23:59:59 in Shanghai; one second later is the
    // next day there.
    let before = 1_704_124_799;
    assert_eq!(shanghai_day(before) + 1, shanghai_day(before + 1));
    assert_eq!(shanghai_day(before + 1), shanghai_day(before + 86_400));
}
