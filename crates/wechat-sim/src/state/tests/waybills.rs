//! The logistics-query plugin: opening it, waybill tokens, the journey on
//! the sim clock, goods changes and the plugin-wide quotas.
use serde_json::{Value, json};
use wechat_api::{
    errcode as ec,
    logistics::{
        ManagePluginRequest, QueryTraceRequest, QueryTraceResponse, TraceWaybillRequest,
        UpdateWaybillGoodsRequest,
    },
};

use super::{OTHER_APPID, advance_and_renew, authorize, code_of, component_token, platform};
use crate::{
    routes::{QUERY_TRACE, TRACE_WAYBILL, UPDATE_WAYBILL_GOODS},
    state::{State, WxResult, logistics::shanghai_day},
};

/// [`super::shop`] whose Mini Program opened the logistics-query plugin.
fn shop() -> (State, String, crate::SimOrder) {
    let (mut s, token, order) = super::shop();
    let appid = s.config.default_authorizer_appid.clone();
    s.set_logistics_plugin(&appid, true);
    (s, token, order)
}

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
    let appid = s.plugin_caller(Some(token))?;
    let req: TraceWaybillRequest = serde_json::from_value(body).unwrap();
    s.trace_waybill(&appid, &req)
}

fn query(
    s: &mut State,
    token: &str,
    waybill_token: &str,
    openid: Option<&str>,
) -> WxResult<QueryTraceResponse> {
    let appid = s.plugin_caller(Some(token))?;
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
    let appid = s.plugin_caller(Some(token))?;
    let req: UpdateWaybillGoodsRequest = serde_json::from_value(json!({
        "waybill_token": waybill_token,
        "goods_info": {"detail_list": [{"goods_name": name, "goods_img_url": "https://img.example/a.png"}]}
    }))
    .unwrap();
    s.update_waybill_goods(&appid, &req)
}

/// WeChat answers a repeated trace_waybill with a new token (community
/// report on trace_waybill: "waybill_id_A + product_name_b => trace_waybill
/// => token_b"); the earlier token keeps working.
#[test]
fn trace_waybill_issues_a_new_token_each_time() {
    let (mut s, token, _) = shop();
    let first = trace(&mut s, &token, trace_json("WX001")).unwrap();
    let again = trace(&mut s, &token, trace_json("WX001")).unwrap();
    let other = trace(&mut s, &token, trace_json("WX002")).unwrap();
    assert_ne!(first, again);
    assert_ne!(first, other);
    let appid = s.config.default_authorizer_appid.clone();
    assert_eq!(s.waybill_token(&appid, "WX001"), Some(again.clone()));
    query(&mut s, &token, &again, Some(PAYER)).unwrap();
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

    // trans_id is optional (WeChat staff: e.g. orders paid with points).
    let mut no_trans = trace_json("WX004");
    no_trans.as_object_mut().unwrap().remove("trans_id");
    let points = trace(&mut s, &token, no_trans).unwrap();
    assert_eq!(s.waybill(&points).unwrap().trans_id, None);
}

/// JD Logistics is `JDL` in WeChat's courier lists.
#[test]
fn jd_logistics_is_jdl() {
    let (mut s, token, _) = shop();
    let mut body = trace_json("JD0001");
    body["delivery_id"] = json!("JDL");
    let waybill = trace(&mut s, &token, body).unwrap();
    let delivery = query(&mut s, &token, &waybill, None)
        .unwrap()
        .delivery_info
        .unwrap();
    assert_eq!(delivery.delivery_name.as_deref(), Some("京东物流"));
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
    s.set_logistics_plugin(OTHER_APPID, true);
    assert_eq!(
        code_of(query(&mut s, &other, &waybill, None)),
        ec::WAYBILL_TOKEN_INVALID
    );
    assert_eq!(
        code_of(update_goods(&mut s, &other, &waybill, "x")),
        ec::WAYBILL_TOKEN_INVALID
    );
}

/// A set the Mini Program did not grant is 61007; the plugin not opened is
/// 48001 (the capability is missing).
#[test]
fn the_plugin_needs_set_45_and_the_plugin_opened() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let (shipping_only, _) = authorize(&mut s, &ct, OTHER_APPID, vec![18, 142]);
    s.set_logistics_plugin(OTHER_APPID, true);
    assert_eq!(
        code_of(s.plugin_caller(Some(&shipping_only))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );
    let appid = "wx00000000000000bb";
    let (logistics, _) = authorize(&mut s, &ct, appid, vec![45]);
    assert_eq!(
        code_of(s.plugin_caller(Some(&logistics))),
        ec::API_UNAUTHORIZED
    );
    s.set_logistics_plugin(appid, true);
    assert_eq!(s.plugin_caller(Some(&logistics)).unwrap(), appid);
    s.set_logistics_plugin(appid, false);
    assert_eq!(
        code_of(s.plugin_caller(Some(&logistics))),
        ec::API_UNAUTHORIZED
    );
    assert_eq!(
        code_of(s.shipping_caller(Some(&logistics))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );
}

/// `/wxa/plugin` (set 40) opens the plugin: apply, list, unbind.
#[test]
fn applying_for_the_plugin_opens_it() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let appid = "wx00000000000000cc";
    let (no_40, _) = authorize(&mut s, &ct, appid, vec![45]);
    assert_eq!(
        code_of(s.plugin_management_caller(Some(&no_40))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );
    let (token, _) = authorize(&mut s, &ct, appid, vec![40, 45]);
    let caller = s.plugin_management_caller(Some(&token)).unwrap();
    let manage = |s: &mut State, body: Value| {
        let req: ManagePluginRequest = serde_json::from_value(body).unwrap();
        s.manage_plugin(&caller, &req)
    };
    let list = manage(&mut s, json!({"action": "list"})).unwrap();
    assert_eq!(list.plugin_list, Some(vec![]));
    assert_eq!(
        code_of(manage(&mut s, json!({"action": "apply"}))),
        ec::INVALID_PARAMETER
    );
    assert_eq!(
        code_of(manage(
            &mut s,
            json!({"action": "apply", "plugin_appid": "wx1234"})
        )),
        ec::PLUGIN_NOT_FOUND
    );
    manage(
        &mut s,
        json!({"action": "apply", "plugin_appid": "wx9ad912bf20548d92", "reason": "物流"}),
    )
    .unwrap();
    assert!(s.logistics_plugin_open(appid));
    s.plugin_caller(Some(&token)).unwrap();
    assert_eq!(
        code_of(manage(
            &mut s,
            json!({"action": "apply", "plugin_appid": "wx9ad912bf20548d92"})
        )),
        ec::PLUGIN_ALREADY_ADDED
    );
    let list = manage(&mut s, json!({"action": "list"})).unwrap();
    assert_eq!(list.plugin_list.unwrap()[0].status, 2);
    manage(
        &mut s,
        json!({"action": "unbind", "plugin_appid": "wx9ad912bf20548d92"}),
    )
    .unwrap();
    assert!(!s.logistics_plugin_open(appid));
}

#[test]
fn the_parcel_travels_on_the_sim_clock() {
    let (mut s, token, _) = shop();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();
    assert_eq!(status(&mut s, &token, &waybill), 0);
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

    // Forced states, then back to the clock.
    assert!(s.set_waybill_status(&waybill, Some(5)));
    assert_eq!(status(&mut s, &token, &waybill), 5);
    assert!(s.set_waybill_status(&waybill, Some(6)));
    assert_eq!(status(&mut s, &token, &waybill), 6);
    assert!(s.set_waybill_status(&waybill, Some(1)));
    assert_eq!(status(&mut s, &token, &waybill), 1);
    assert!(s.set_waybill_status(&waybill, None));
    assert_eq!(status(&mut s, &token, &waybill), 4);
    assert!(!s.set_waybill_status(&waybill, Some(7)));
    assert!(!s.set_waybill_status("sim_nope", Some(1)));
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
    // A repeated trace_waybill issues a new token; the first is unchanged.
    let again = trace(&mut s, &token, trace_json("WX001")).unwrap();
    assert_eq!(s.waybill(&waybill).unwrap().goods_updates, 2);
    assert_eq!(s.waybill(&again).unwrap().goods_updates, 0);
}

#[test]
fn daily_quotas_per_user_and_per_appid() {
    let (mut s, token, _) = shop();
    s.config.logistics_user_daily_quota = 3;
    s.config.logistics_appid_daily_quota = 5;
    let appid = s.config.default_authorizer_appid.clone();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();

    // The plugin's three APIs share the quotas: the trace counted 1.
    // Without an openid in the body, the waybill's user is counted.
    query(&mut s, &token, &waybill, None).unwrap();
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
    assert_eq!(s.quota_usage(TRACE_WAYBILL, &appid, Some(PAYER)), usage);
    assert_eq!(
        code_of(update_goods(&mut s, &token, &waybill, "x")),
        ec::LOGISTICS_QUOTA_REACHED
    );
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

/// Seed 000's limits are counted for the plugin as a whole (the safe
/// reading the gateway's limiter uses too): per-API counting would let a
/// user's 100 traces and 100 queries through where WeChat may stop at 100.
#[test]
fn the_plugins_apis_share_one_quota() {
    let (mut s, token, _) = shop();
    s.config.logistics_user_daily_quota = 2;
    let appid = s.config.default_authorizer_appid.clone();
    let waybill = trace(&mut s, &token, trace_json("WX001")).unwrap();
    query(&mut s, &token, &waybill, Some(PAYER)).unwrap();
    for refused in [
        code_of(query(&mut s, &token, &waybill, Some(PAYER))),
        code_of(update_goods(&mut s, &token, &waybill, "x")),
        code_of(trace(&mut s, &token, trace_json("WX002"))),
    ] {
        assert_eq!(refused, ec::LOGISTICS_QUOTA_REACHED);
    }
    for path in [TRACE_WAYBILL, QUERY_TRACE, UPDATE_WAYBILL_GOODS] {
        assert_eq!(s.quota_usage(path, &appid, Some(PAYER)).user, 2, "{path}");
    }
}

#[test]
fn shanghai_days_start_at_utc_16_00() {
    // 2024-01-01T15:59:59Z is 23:59:59 in Shanghai; one second later is the
    // next day there.
    let before = 1_704_124_799;
    assert_eq!(shanghai_day(before) + 1, shanghai_day(before + 1));
    assert_eq!(shanghai_day(before + 1), shanghai_day(before + 86_400));
}
