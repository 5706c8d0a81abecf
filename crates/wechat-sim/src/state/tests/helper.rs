//! The logistics helper: waybills created by order/add, and only those,
//! read, tracked and cancelled; the courier and account lists, and the
//! logistics-query courier list (`get_delivery_list`) beside the helper's.
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use wechat_api::{
    errcode as ec,
    logistics::{
        AddWaybillOrderRequest, AddWaybillOrderResponse, BatchGetWaybillOrderRequest,
        CancelWaybillOrderRequest, GetPathRequest, GetWaybillOrderRequest, TraceWaybillRequest,
    },
};

use super::{OTHER_APPID, advance_and_renew, authorize, code_of, component_token, platform, shop};
use crate::state::{State, WxResult};

const HOUR: i64 = 3600;

fn add_json(order_id: &str) -> Value {
    json!({
        "add_source": 0, "order_id": order_id, "openid": "oHelperUser",
        "delivery_id": "SF", "biz_id": "SF_CASH",
        "sender": {"name": "张三", "mobile": "13800138000", "address": "XX路1号"},
        "receiver": {"name": "李四", "mobile": "13900139000", "address": "YY路2号"},
        "cargo": {"count": 1, "weight": 1.2, "detail_list": [{"name": "气泡狗<1>", "count": 1}]},
        "insured": {"use_insured": 0, "insured_value": 0},
        "service": {"service_type": 0, "service_name": "标准快递"}
    })
}

fn add(s: &mut State, token: &str, body: Value) -> WxResult<AddWaybillOrderResponse> {
    let appid = s.helper_caller(Some(token))?;
    let req: AddWaybillOrderRequest = serde_json::from_value(body).unwrap();
    s.add_waybill_order(&appid, &req)
}

fn path_of(s: &State, token: &str, delivery_id: &str, waybill_id: &str) -> WxResult<Vec<i64>> {
    let appid = s.helper_caller(Some(token))?;
    let req = GetPathRequest {
        order_id: None,
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

fn order_get(
    s: &State,
    token: &str,
    order_id: &str,
    waybill_id: Option<&str>,
) -> WxResult<wechat_api::logistics::GetWaybillOrderResponse> {
    let appid = s.helper_caller(Some(token))?;
    let req = GetWaybillOrderRequest {
        order_id: order_id.into(),
        openid: None,
        print_type: None,
        delivery_id: "SF".into(),
        waybill_id: waybill_id.map(str::to_owned),
    };
    s.get_waybill_order(&appid, &req)
}

fn cancel(s: &mut State, token: &str, order_id: &str, waybill_id: &str) -> WxResult<()> {
    let appid = s.helper_caller(Some(token))?;
    let req = CancelWaybillOrderRequest {
        order_id: order_id.into(),
        openid: None,
        delivery_id: "SF".into(),
        waybill_id: waybill_id.into(),
    };
    s.cancel_waybill_order(&appid, &req).map(|_| ())
}

#[test]
fn order_add_issues_a_waybill_keyed_by_order_and_courier() {
    let (mut s, token, _) = shop();
    let added = add(&mut s, &token, add_json("ORDER-1")).unwrap();
    assert!(added.waybill_id.starts_with("SF"), "{}", added.waybill_id);
    assert_eq!(added.order_id, "ORDER-1");
    assert_eq!(added.waybill_data[0].key, "SF_bagAddr");
    let appid = s.config.default_authorizer_appid.clone();
    let view = s.helper_waybill_view(&appid, "ORDER-1", "SF").unwrap();
    assert_eq!(
        (view.waybill_id.as_str(), view.openid.as_deref()),
        (added.waybill_id.as_str(), Some("oHelperUser"))
    );
    // The same order and courier again: WeChat's "this orderid is repeated".
    assert_eq!(
        code_of(add(&mut s, &token, add_json("ORDER-1"))),
        ec::ORDER_ID_REPEATED
    );
    // Another courier may carry the same order id.
    let mut yto = add_json("ORDER-1");
    yto["delivery_id"] = json!("YTO");
    yto["biz_id"] = json!("YTO_SIM_ACCOUNT");
    add(&mut s, &token, yto).unwrap();
    // An unknown courier, an unbound account, a bad body.
    let mut unknown = add_json("ORDER-2");
    unknown["delivery_id"] = json!("NOPE");
    assert_eq!(
        code_of(add(&mut s, &token, unknown)),
        ec::DELIVERY_ID_NOT_FOUND
    );
    let mut unbound = add_json("ORDER-2");
    unbound["biz_id"] = json!("someone-elses");
    assert_eq!(
        code_of(add(&mut s, &token, unbound)),
        ec::DELIVERY_LOGIC_FAIL
    );
    let mut bad = add_json("ORDER-2");
    bad["insured"]["use_insured"] = json!(3);
    assert_eq!(code_of(add(&mut s, &token, bad)), ec::INVALID_PARAMETER);
}

/// path/get and order/get know only waybills order/add created: one traced
/// with the query plugin (same id, same courier) is 40199.
#[test]
fn path_and_order_get_know_only_helper_waybills() {
    let (mut s, token, _) = shop();
    let appid = s.config.default_authorizer_appid.clone();
    s.set_logistics_plugin(&appid, true);
    let traced: TraceWaybillRequest = serde_json::from_value(json!({
        "openid": "oU", "receiver_phone": "13800001234", "delivery_id": "SF",
        "waybill_id": "SF0000000000001",
        "goods_info": {"detail_list": [{"goods_name": "狗", "goods_img_url": "https://img.example/a.png"}]},
        "trans_id": "4200000000000000000000000001"
    }))
    .unwrap();
    s.trace_waybill(&appid, &traced).unwrap();
    assert_eq!(
        code_of(path_of(&s, &token, "SF", "SF0000000000001")),
        ec::WAYBILL_ID_NOT_FOUND
    );
    assert_eq!(
        code_of(order_get(&s, &token, "4200000000000000000000000001", None)),
        ec::WAYBILL_ID_NOT_FOUND,
        "order_id is the merchant's, not the WeChat Pay number"
    );

    let added = add(&mut s, &token, add_json("ORDER-1")).unwrap();
    assert_eq!(
        path_of(&s, &token, "SF", &added.waybill_id).unwrap(),
        [] as [i64; 0]
    );
    assert_eq!(
        code_of(path_of(&s, &token, "ZTO", &added.waybill_id)),
        ec::WAYBILL_ID_NOT_FOUND
    );
    let answer = order_get(&s, &token, "ORDER-1", Some(&added.waybill_id)).unwrap();
    let html = String::from_utf8(STANDARD.decode(&answer.print_html).unwrap()).unwrap();
    assert!(html.contains("气泡狗&lt;1&gt;"), "{html}");
    assert_eq!(
        (answer.order_status, answer.waybill_id.as_str()),
        (0, added.waybill_id.as_str())
    );
    // waybill_id is optional for order/get; a wrong one is 40199.
    order_get(&s, &token, "ORDER-1", None).unwrap();
    assert_eq!(
        code_of(order_get(&s, &token, "ORDER-1", Some("SF404"))),
        ec::WAYBILL_ID_NOT_FOUND
    );
    // Another appid's token sees nothing.
    let ct = component_token(&mut s);
    let (other, _) = authorize(&mut s, &ct, OTHER_APPID, vec![71]);
    assert_eq!(
        code_of(path_of(&s, &other, "SF", &added.waybill_id)),
        ec::WAYBILL_ID_NOT_FOUND
    );
}

#[test]
fn helper_waybills_travel_and_cancel() {
    let (mut s, token, _) = shop();
    let first = add(&mut s, &token, add_json("ORDER-1")).unwrap();
    let second = add(&mut s, &token, add_json("ORDER-2")).unwrap();
    cancel(&mut s, &token, "ORDER-2", &second.waybill_id).unwrap();
    assert_eq!(
        code_of(cancel(&mut s, &token, "ORDER-2", &second.waybill_id)),
        ec::CANCEL_FAILED
    );
    assert_eq!(
        order_get(&s, &token, "ORDER-2", None).unwrap().order_status,
        1
    );
    assert_eq!(
        code_of(cancel(&mut s, &token, "ORDER-9", &second.waybill_id)),
        ec::WAYBILL_ID_NOT_FOUND
    );

    let token = advance_and_renew(&mut s, 30 * HOUR);
    assert_eq!(
        path_of(&s, &token, "SF", &first.waybill_id).unwrap(),
        [100001, 200001, 300002, 300003]
    );
    assert_eq!(
        path_of(&s, &token, "SF", &second.waybill_id).unwrap(),
        [400001],
        "a cancelled waybill's track ends with its cancellation"
    );
    // Collected: too late to cancel.
    assert_eq!(
        code_of(cancel(&mut s, &token, "ORDER-1", &first.waybill_id)),
        ec::WAYBILL_HAS_TRACE
    );
}

#[test]
fn batchget_answers_each_waybill_with_its_own_errcode() {
    let (mut s, token, _) = shop();
    let added = add(&mut s, &token, add_json("ORDER-1")).unwrap();
    let appid = s.helper_caller(Some(&token)).unwrap();
    let req: BatchGetWaybillOrderRequest = serde_json::from_value(json!({"order_list": [
        {"order_id": "ORDER-1", "delivery_id": "SF", "waybill_id": added.waybill_id},
        {"order_id": "ORDER-404", "delivery_id": "SF"}
    ]}))
    .unwrap();
    let answer = s.batch_get_waybill_orders(&appid, &req).unwrap();
    assert_eq!(answer.errcode, 0);
    assert_eq!(answer.order_list[0].errcode, 0);
    assert_eq!(answer.order_list[1].errcode, ec::WAYBILL_ID_NOT_FOUND);
    assert_eq!(answer.order_list[1].order_id, "ORDER-404");
}

#[test]
fn lists_and_permission_sets() {
    let (s, token, _) = shop();
    let couriers = s.delivery_companies();
    let ids: Vec<&str> = couriers
        .data
        .iter()
        .map(|d| d.delivery_id.as_str())
        .collect();
    for id in ["SF", "ZTO", "YTO", "STO", "YD", "JTSD", "EMS", "JDL"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(!ids.contains(&"JD"), "JD Logistics is JDL");
    assert_eq!(couriers.count, couriers.data.len() as i64);
    let appid = s.helper_caller(Some(&token)).unwrap();
    let accounts = s.logistics_accounts(&appid);
    assert_eq!(accounts.list[0].biz_id, "YTO_SIM_ACCOUNT");

    // 45 or 71, else 61007.
    let mut s = platform();
    let ct = component_token(&mut s);
    let (with_71, _) = authorize(&mut s, &ct, OTHER_APPID, vec![71]);
    s.helper_caller(Some(&with_71)).unwrap();
    let (without, _) = authorize(&mut s, &ct, "wx00000000000000bb", vec![142]);
    assert_eq!(
        code_of(s.helper_caller(Some(&without))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );
}

/// `get_delivery_list` is the query list (JD Logistics is `JD` there, `JDL`
/// in the helper's), sets 45, 120, 121 or 142, a JSON object or no body,
/// and a list tests can replace.
#[test]
fn the_query_courier_list() {
    let mut s = platform();
    let ct = component_token(&mut s);
    for set in [45, 120, 121, 142] {
        let appid = format!("wx00000000000001{set:02}");
        let (token, _) = authorize(&mut s, &ct, &appid, vec![set]);
        assert_eq!(s.delivery_list_caller(Some(&token)).unwrap(), appid);
    }
    let (development_only, _) = authorize(&mut s, &ct, OTHER_APPID, vec![18]);
    assert_eq!(
        code_of(s.delivery_list_caller(Some(&development_only))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );

    let answer = s.get_delivery_list(b"{}").unwrap();
    assert_eq!((answer.errcode, answer.errmsg.as_str()), (0, "ok"));
    assert_eq!(answer.count, answer.delivery_list.len() as i64);
    assert!(answer.count >= 30, "{}", answer.count);
    let name_of = |id: &str| {
        answer
            .delivery_list
            .iter()
            .find(|c| c.delivery_id == id)
            .map(|c| c.delivery_name.as_str())
    };
    for (id, name) in [
        ("SF", "顺丰速运"),
        ("ZTO", "中通快递"),
        ("YD", "韵达速递"),
        ("JTSD", "极兔速递"),
        ("YZPY", "邮政快递包裹"),
        ("JD", "京东快递"),
        ("DBL", "德邦快递"),
        ("ZTOKY", "中通快运"),
    ] {
        assert_eq!(name_of(id), Some(name), "{id}");
    }
    assert_eq!(name_of("JDL"), None, "JDL is the helper's code");
    let mut ids: Vec<&str> = answer
        .delivery_list
        .iter()
        .map(|c| c.delivery_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), answer.delivery_list.len(), "codes are unique");

    assert!(
        s.get_delivery_list(b"").is_ok(),
        "no body, as the page says"
    );
    assert!(s.get_delivery_list(br#"{"anything": 1}"#).is_ok());
    for bad in [&b"[1"[..], b"[]", b"\"x\"", b"null"] {
        assert_eq!(
            code_of(s.get_delivery_list(bad)),
            ec::DATA_FORMAT_ERROR,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }

    let replaced = vec![wechat_api::couriers::Courier {
        delivery_id: "NEWCO".into(),
        delivery_name: "新快递".into(),
    }];
    s.set_couriers(replaced.clone());
    let answer = s.get_delivery_list(b"{}").unwrap();
    assert_eq!((answer.delivery_list, answer.count), (replaced, 1));
}
