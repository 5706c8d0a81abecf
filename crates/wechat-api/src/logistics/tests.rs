use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::{Value, json};

use super::*;

/// Seed 002's example request of trace_waybill, plus the `trans_id` its
/// table requires but the example leaves out.
const SEED_TRACE_REQUEST: &str = r#"{
    "openid": "ovtZW4yB7DIj3CxOb6ii-nk4HhFo",
    "waybill_id": "WXTESTEXPRESS0000014",
    "sender_phone": "12345678901",
    "receiver_phone": "123456566",
    "delivery_id": "KYSY",
    "goods_info": {
        "detail_list": [
            {
                "goods_name": "测试名字",
                "goods_img_url": "www.qq.com"
            },
            {
                "goods_name": "测试名字2",
                "goods_img_url": "www.qq.com"
            }
        ]
    },
    "trans_id": "4200001234202212150000000001"
}"#;

/// Seed 000's example answer of query_trace, with its JSON typos mended
/// (missing commas, a key with a leading space) and a delivery_info added.
const SEED_QUERY_ANSWER: &str = r#"{
    "errcode": 0,
    "errmsg": "ok",
    "waybill_info": {
        "status": 0,
        "waybill_id": "WXTESTEXPRESS0000014"
    },
    "shop_info": {
        "goods_info": {
            "detail_list": [
                {"goods_name": "Test name,", "goods_img_url": "www.qq.com"},
                {"goods_name": "Test Name 2,", "goods_img_url": "www.qq.com"}
            ]
        }
    },
    "delivery_info": {"delivery_id": "SF", "delivery_name": "顺丰速运"}
}"#;

/// Seed 001's example request of path/get, verbatim.
const SEED_PATH_REQUEST: &str = r#"{
  "order_id": "01234567890123456789",
  "openid": "oABC123456",
  "delivery_id": "SF",
  "waybill_id": "123456789"
}"#;

/// Seed 001's example answer of path/get, verbatim.
const SEED_PATH_ANSWER: &str = r#"{
  "openid": "OPENID",
  "delivery_id": "SF",
  "waybill_id": "12345678901234567890",
  "path_item_num": 3,
  "path_item_list": [
    {
      "action_time": 1533052800,
      "action_type": 100001,
      "action_msg": "快递员已成功取件"
    },
    {
      "action_time": 1533062800,
      "action_type": 200001,
      "action_msg": "快件已到达xxx集散中心,准备发往xxx"
    },
    {
      "action_time": 1533072800,
      "action_type": 300001,
      "action_msg": "快递员已出发,联系电话xxxxxx"
    }
  ]
}"#;

/// Seed 003's example answer of order/get, verbatim.
const SEED_WAYBILL_ORDER_ANSWER: &str = r#"{
"print_html": "jh7DjipP4ul4CQYUh69cniskrQZuOPwa1inAbXIqKbU0t71c0s65Au54cdWBZW0QJY4LYeofdM",
"waybill_data": [
{
"key": "SF_bagAddr",
"value": "广州"
},
{
"key": "SF_mark",
"value": "101- 07-03 509"
}
],
"delivery_id": "SF",
"waybill_id": "123456",
"order_id": "123456",
"order_status": 0
}"#;

/// `body` parsed as `T` (by serde and by poem-openapi, which must agree)
/// and validated.
fn check<T>(body: Value) -> Result<(), ValidationError>
where
    T: serde::de::DeserializeOwned + ParseFromJSON + Validate + PartialEq + std::fmt::Debug,
{
    let via_serde: T = serde_json::from_value(body.clone()).expect("serde parses");
    let via_poem = T::parse_from_json(Some(body)).expect("poem parses");
    assert_eq!(via_poem, via_serde);
    via_serde.validate()
}

/// The trace_waybill seed example, changed by `mutate`, checked.
fn trace(mutate: impl FnOnce(&mut Value)) -> Result<(), ValidationError> {
    let mut v: Value = serde_json::from_str(SEED_TRACE_REQUEST).unwrap();
    mutate(&mut v);
    check::<TraceWaybillRequest>(v)
}

#[track_caller]
fn trace_fails(mutate: impl FnOnce(&mut Value), field: &str, errcode: i64) {
    let err = trace(mutate).expect_err("should break a rule");
    assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
    assert!(!err.message.is_empty());
}

#[track_caller]
fn trace_passes(mutate: impl FnOnce(&mut Value)) {
    if let Err(e) = trace(mutate) {
        panic!("should pass: {e}");
    }
}

#[track_caller]
fn rejects<T>(body: Value, field: &str, errcode: i64)
where
    T: serde::de::DeserializeOwned + ParseFromJSON + Validate + PartialEq + std::fmt::Debug,
{
    let err = check::<T>(body.clone()).expect_err(&body.to_string());
    assert_eq!(
        (err.field.as_str(), err.errcode),
        (field, errcode),
        "{body}"
    );
}

#[track_caller]
fn accepts<T>(body: Value)
where
    T: serde::de::DeserializeOwned + ParseFromJSON + Validate + PartialEq + std::fmt::Debug,
{
    if let Err(e) = check::<T>(body.clone()) {
        panic!("{body} should pass: {e}");
    }
}

// --- trace_waybill ---

#[test]
fn seed_trace_request_is_valid_and_roundtrips() {
    trace_passes(|_| {});
    let seed: Value = serde_json::from_str(SEED_TRACE_REQUEST).unwrap();
    let req: TraceWaybillRequest = serde_json::from_value(seed.clone()).unwrap();
    assert_eq!(req.delivery_id.as_deref(), Some("KYSY"));
    assert_eq!(serde_json::to_value(&req).unwrap(), seed);
    assert_eq!(req.to_json(), Some(seed));
}

#[test]
fn seed_000_typo_goods_name_is_a_parse_error() {
    // Seed 000's example spells the key "goods_Name ": goods_name is then missing.
    let mut v: Value = serde_json::from_str(SEED_TRACE_REQUEST).unwrap();
    v["goods_info"]["detail_list"][0] = json!({"goods_Name ": "x", "goods_img_url": "www.qq.com"});
    assert!(serde_json::from_value::<TraceWaybillRequest>(v.clone()).is_err());
    assert!(TraceWaybillRequest::parse_from_json(Some(v)).is_err());
}

#[test]
fn trace_openid_is_required_and_at_most_128_bytes() {
    trace_fails(|v| v["openid"] = json!(""), "openid", 40003);
    trace_fails(|v| v["openid"] = json!(" "), "openid", 40003);
    trace_fails(|v| v["openid"] = json!("o".repeat(129)), "openid", 40003);
    trace_passes(|v| v["openid"] = json!("o".repeat(128)));
}

#[test]
fn sender_phone_is_optional_but_plausible() {
    trace_passes(|v| {
        v.as_object_mut().unwrap().remove("sender_phone");
    });
    trace_passes(|v| v["sender_phone"] = json!(""));
    trace_passes(|v| v["sender_phone"] = json!("+86 138-****-8000"));
    for bad in ["abc", "138 0013 800x", "***", "1".repeat(33).as_str()] {
        trace_fails(|v| v["sender_phone"] = json!(bad), "sender_phone", 40097);
    }
}

#[test]
fn receiver_phone_is_required_and_plausible() {
    trace_fails(|v| v["receiver_phone"] = json!(""), "receiver_phone", 40097);
    trace_fails(
        |v| v["receiver_phone"] = json!("  "),
        "receiver_phone",
        40097,
    );
    trace_fails(
        |v| v["receiver_phone"] = json!("call me"),
        "receiver_phone",
        40097,
    );
    trace_fails(
        |v| v["receiver_phone"] = json!("1".repeat(33)),
        "receiver_phone",
        40097,
    );
    trace_passes(|v| v["receiver_phone"] = json!("1".repeat(32)));
    trace_passes(|v| v["receiver_phone"] = json!("189****1234"));
}

#[test]
fn waybill_id_is_required() {
    trace_fails(|v| v["waybill_id"] = json!(""), "waybill_id", 40097);
}

#[test]
fn detail_list_needs_an_entry() {
    trace_fails(
        |v| v["goods_info"]["detail_list"] = json!([]),
        "goods_info.detail_list",
        40097,
    );
    // A missing list reaches the rule too (both parsers default it).
    trace_fails(
        |v| v["goods_info"] = json!({}),
        "goods_info.detail_list",
        40097,
    );
}

#[test]
fn goods_name_is_required() {
    trace_fails(
        |v| v["goods_info"]["detail_list"][1]["goods_name"] = json!(" "),
        "goods_info.detail_list[1].goods_name",
        40097,
    );
}

#[test]
fn goods_img_url_is_a_url_or_host_path() {
    trace_fails(
        |v| v["goods_info"]["detail_list"][0]["goods_img_url"] = json!(""),
        "goods_info.detail_list[0].goods_img_url",
        40097,
    );
    for bad in [
        "not a url",
        "javascript:alert(1)",
        "ftp://www.qq.com/a.png",
        "https://",
        "https:///a.png",
        "qq",
        ".qq.com/a.png",
        "www..qq.com",
        "https://www.qq.com:80x/a.png",
    ] {
        trace_fails(
            |v| v["goods_info"]["detail_list"][0]["goods_img_url"] = json!(bad),
            "goods_info.detail_list[0].goods_img_url",
            40097,
        );
    }
    trace_fails(
        |v| {
            v["goods_info"]["detail_list"][0]["goods_img_url"] =
                json!(format!("https://www.qq.com/{}", "a".repeat(2048)))
        },
        "goods_info.detail_list[0].goods_img_url",
        40097,
    );
    for ok in [
        "www.qq.com",
        "https://www.qq.com/a.png",
        "HTTP://IMG.EXAMPLE.COM/x.jpg?w=100#top",
        "//cdn.example.com/a.png",
        "http://localhost:8080/a.png",
        "http://127.0.0.1:9000/a.png",
        "img.example.com/商品.png",
    ] {
        trace_passes(|v| v["goods_info"]["detail_list"][0]["goods_img_url"] = json!(ok));
    }
}

#[test]
fn goods_desc_has_at_most_40_characters() {
    trace_passes(|v| v["goods_info"]["detail_list"][0]["goods_desc"] = json!("字".repeat(40)));
    trace_passes(|v| v["goods_info"]["detail_list"][0]["goods_desc"] = json!(""));
    trace_fails(
        |v| v["goods_info"]["detail_list"][0]["goods_desc"] = json!("字".repeat(41)),
        "goods_info.detail_list[0].goods_desc",
        40097,
    );
}

/// WeChat staff: trans_id is not required (orders paid with points have
/// none), so a body without it, or with it blank, goes to WeChat.
#[test]
fn trans_id_is_optional() {
    trace_passes(|v| v["trans_id"] = json!(""));
    trace_passes(|v| {
        v.as_object_mut().unwrap().remove("trans_id");
    });
    let mut v: Value = serde_json::from_str(SEED_TRACE_REQUEST).unwrap();
    v.as_object_mut().unwrap().remove("trans_id");
    let req = TraceWaybillRequest::parse_from_json(Some(v)).unwrap();
    assert_eq!(req.trans_id, None);
    assert!(req.validate().is_ok());
}

#[test]
fn order_detail_path_has_at_most_1024_bytes() {
    trace_passes(|v| v["order_detail_path"] = json!("pages/order/detail?id=1"));
    trace_fails(
        |v| v["order_detail_path"] = json!("p".repeat(1025)),
        "order_detail_path",
        40097,
    );
}

#[test]
fn trace_rules_are_checked_in_the_documented_order() {
    trace_fails(
        |v| {
            v["openid"] = json!("");
            v["receiver_phone"] = json!("");
        },
        "openid",
        40003,
    );
    trace_fails(
        |v| {
            v["sender_phone"] = json!("x");
            v["receiver_phone"] = json!("");
        },
        "sender_phone",
        40097,
    );
    trace_fails(
        |v| {
            v["goods_info"]["detail_list"] = json!([]);
            v["trans_id"] = json!("");
        },
        "goods_info.detail_list",
        40097,
    );
}

#[test]
fn trace_answer_parses() {
    let answer = json!({
        "errcode": 0,
        "errmsg": "ok",
        "waybill_token": "o_ARWHaxIxzWHmdui-AIw9KBr8qNnbmc08V0KhDyXE-IMLo6AcOqJkPsNLcLzfTb"
    });
    let r: TraceWaybillResponse = serde_json::from_value(answer.clone()).unwrap();
    assert!(r.waybill_token.starts_with("o_ARW"));
    assert_eq!(
        TraceWaybillResponse::parse_from_json(Some(answer)).unwrap(),
        r
    );
    let failed = json!({"errcode": 9300513, "errmsg": "reach max call times"});
    let r = TraceWaybillResponse::parse_from_json(Some(failed)).unwrap();
    assert_eq!((r.errcode, r.waybill_token.as_str()), (9300513, ""));
}

// --- query_trace ---

#[test]
fn seed_query_request_is_valid() {
    accepts::<QueryTraceRequest>(json!({
        "waybill_token": "o_ARWHaxIxzWHmdui-AIw8SuE1QtaUZK8aUnZguAn1nsZ72ZjWlq8btV8j-wAc94",
        "openid": "ovtZW4yB7DIj3CxOb6ii-nk4HhFo"
    }));
    accepts::<QueryTraceRequest>(json!({"waybill_token": "t"}));
}

#[test]
fn query_needs_a_waybill_token() {
    rejects::<QueryTraceRequest>(json!({"waybill_token": ""}), "waybill_token", 9300507);
    rejects::<QueryTraceRequest>(
        json!({"waybill_token": " ", "openid": ""}),
        "waybill_token",
        9300507,
    );
}

#[test]
fn query_openid_when_given_is_valid() {
    rejects::<QueryTraceRequest>(json!({"waybill_token": "t", "openid": ""}), "openid", 40003);
    rejects::<QueryTraceRequest>(
        json!({"waybill_token": "t", "openid": "o".repeat(129)}),
        "openid",
        40003,
    );
}

#[test]
fn query_answer_parses() {
    let r: QueryTraceResponse = serde_json::from_str(SEED_QUERY_ANSWER).unwrap();
    let info = r.waybill_info.as_ref().unwrap();
    assert_eq!(info.status, waybill_status::NOT_COLLECTED);
    let goods = r.shop_info.as_ref().unwrap().goods_info.as_ref().unwrap();
    assert_eq!(goods.detail_list.len(), 2);
    assert_eq!(
        r.delivery_info.as_ref().unwrap().delivery_name.as_deref(),
        Some("顺丰速运")
    );
    let answer: Value = serde_json::from_str(SEED_QUERY_ANSWER).unwrap();
    assert_eq!(
        QueryTraceResponse::parse_from_json(Some(answer.clone())).unwrap(),
        r
    );
    assert_eq!(serde_json::to_value(&r).unwrap(), answer);
}

#[test]
fn partial_query_answers_parse() {
    for answer in [
        json!({}),
        json!({"errcode": 9300507, "errmsg": "invalid waybill_token"}),
        json!({"waybill_info": {"status": 4}, "shop_info": {}, "delivery_info": {}}),
    ] {
        let via_serde: QueryTraceResponse = serde_json::from_value(answer.clone()).unwrap();
        let via_poem = QueryTraceResponse::parse_from_json(Some(answer)).unwrap();
        assert_eq!(via_poem, via_serde);
    }
    let failed: QueryTraceResponse =
        serde_json::from_value(json!({"errcode": 9300559, "errmsg": "not exist"})).unwrap();
    assert_eq!(
        serde_json::to_value(&failed).unwrap(),
        json!({"errcode": 9300559, "errmsg": "not exist"})
    );
}

// --- update_waybill_goods ---

fn update_body() -> Value {
    json!({
        "waybill_token": "o_ARWHaxIxzWHmdui-AIw8SuE1QtaUZK8aUnZguAn1nsZ72ZjWlq8btV8j-wAc94",
        "openid": "ovtZW4yB7DIj3CxOb6ii-nk4HhFo",
        "goods_info": {
            "detail_list": [{"goods_name": "测试更新商品", "goods_img_url": "www.qq.com"}]
        }
    })
}

#[test]
fn seed_update_request_is_valid() {
    accepts::<UpdateWaybillGoodsRequest>(update_body());
}

#[test]
fn update_rules() {
    let mut v = update_body();
    v["waybill_token"] = json!("");
    rejects::<UpdateWaybillGoodsRequest>(v, "waybill_token", 9300507);
    let mut v = update_body();
    v["openid"] = json!(" ");
    rejects::<UpdateWaybillGoodsRequest>(v, "openid", 40003);
    let mut v = update_body();
    v["goods_info"]["detail_list"] = json!([]);
    rejects::<UpdateWaybillGoodsRequest>(v, "goods_info.detail_list", 40097);
    let mut v = update_body();
    v["goods_info"]["detail_list"][0]["goods_img_url"] = json!("nope");
    rejects::<UpdateWaybillGoodsRequest>(v, "goods_info.detail_list[0].goods_img_url", 40097);
    let mut v = update_body();
    v["goods_info"]["detail_list"][0]["goods_desc"] = json!("x".repeat(41));
    rejects::<UpdateWaybillGoodsRequest>(v, "goods_info.detail_list[0].goods_desc", 40097);
    let mut v = update_body();
    v["goods_info"]["detail_list"][0]["goods_name"] = json!("");
    rejects::<UpdateWaybillGoodsRequest>(v, "goods_info.detail_list[0].goods_name", 40097);
}

// --- path/get ---

fn path_body() -> Value {
    serde_json::from_str(SEED_PATH_REQUEST).unwrap()
}

#[test]
fn seed_path_request_is_valid() {
    accepts::<GetPathRequest>(path_body());
    let mut v = path_body();
    v.as_object_mut().unwrap().remove("openid");
    accepts::<GetPathRequest>(v);
}

/// WeChat's current getPath page has no order_id: a body without it (or
/// with it blank) goes to WeChat.
#[test]
fn path_order_id_is_optional() {
    let mut v = path_body();
    v.as_object_mut().unwrap().remove("order_id");
    accepts::<GetPathRequest>(v.clone());
    assert_eq!(
        GetPathRequest::parse_from_json(Some(v)).unwrap().order_id,
        None
    );
    let mut v = path_body();
    v["order_id"] = json!("");
    accepts::<GetPathRequest>(v);
}

#[test]
fn path_rules() {
    for (field, errcode) in [
        ("openid", 40003),
        ("delivery_id", 40097),
        ("waybill_id", 40097),
    ] {
        let mut v = path_body();
        v[field] = json!(" ");
        rejects::<GetPathRequest>(v, field, errcode);
    }
    let mut v = path_body();
    v["openid"] = json!("o".repeat(129));
    rejects::<GetPathRequest>(v, "openid", 40003);
    // Checked in the documented order.
    let mut v = path_body();
    v["waybill_id"] = json!("");
    v["delivery_id"] = json!("");
    rejects::<GetPathRequest>(v, "delivery_id", 40097);
}

#[test]
fn seed_path_answer_parses() {
    let r: GetPathResponse = serde_json::from_str(SEED_PATH_ANSWER).unwrap();
    assert_eq!(r.path_item_num, 3);
    assert_eq!(r.path_item_list[0].action_type, action_type::COLLECTED);
    assert_eq!(r.path_item_list[1].action_type, action_type::IN_TRANSIT);
    assert_eq!(r.path_item_list[0].action_msg, "快递员已成功取件");
    let answer: Value = serde_json::from_str(SEED_PATH_ANSWER).unwrap();
    assert_eq!(GetPathResponse::parse_from_json(Some(answer)).unwrap(), r);
    let empty = GetPathResponse::parse_from_json(Some(json!({"errcode": -1}))).unwrap();
    assert_eq!((empty.errcode, empty.path_item_list.len()), (-1, 0));
}

// --- order/get ---

#[test]
fn seed_waybill_order_request_is_valid() {
    accepts::<GetWaybillOrderRequest>(path_body());
    // waybill_id is optional here.
    let mut v = path_body();
    v.as_object_mut().unwrap().remove("waybill_id");
    accepts::<GetWaybillOrderRequest>(v);
}

#[test]
fn waybill_order_rules() {
    for (field, errcode) in [
        ("order_id", 40097),
        ("openid", 40003),
        ("delivery_id", 40097),
    ] {
        let mut v = path_body();
        v[field] = json!("");
        rejects::<GetWaybillOrderRequest>(v, field, errcode);
    }
    // A missing required field is a parse error, by both parsers.
    let mut v = path_body();
    v.as_object_mut().unwrap().remove("delivery_id");
    assert!(serde_json::from_value::<GetWaybillOrderRequest>(v.clone()).is_err());
    assert!(GetWaybillOrderRequest::parse_from_json(Some(v)).is_err());
}

#[test]
fn seed_waybill_order_answer_parses() {
    let r: GetWaybillOrderResponse = serde_json::from_str(SEED_WAYBILL_ORDER_ANSWER).unwrap();
    assert_eq!(r.waybill_data.len(), 2);
    assert_eq!(r.waybill_data[0].value, "广州");
    assert_eq!((r.order_status, r.errcode), (0, 0));
    let answer: Value = serde_json::from_str(SEED_WAYBILL_ORDER_ANSWER).unwrap();
    assert_eq!(
        GetWaybillOrderResponse::parse_from_json(Some(answer)).unwrap(),
        r
    );
}

// --- Rules never panic ---

#[test]
fn odd_input_is_rejected_without_panicking() {
    for url in [
        "",
        ":",
        "//",
        "http://:80",
        "\u{0}",
        "é.",
        "a.b:",
        "[::1]/a.png",
    ] {
        let detail = GoodsDetail {
            goods_name: "n".into(),
            goods_img_url: url.into(),
            goods_desc: None,
        };
        assert!(validate_goods_detail(&detail, "d").is_err(), "{url:?}");
    }
    for phone in ["", "\u{202e}123", "١٢٣"] {
        assert!(validate_phone(Some(phone), true, "p").is_err(), "{phone:?}");
    }
}

// --- Schemas ---

#[test]
fn schemas_use_wechat_names_and_document_every_field() {
    let mut registry = Registry::new();
    TraceWaybillRequest::register(&mut registry);
    TraceWaybillResponse::register(&mut registry);
    QueryTraceRequest::register(&mut registry);
    QueryTraceResponse::register(&mut registry);
    UpdateWaybillGoodsRequest::register(&mut registry);
    GetPathRequest::register(&mut registry);
    GetPathResponse::register(&mut registry);
    GetWaybillOrderRequest::register(&mut registry);
    GetWaybillOrderResponse::register(&mut registry);
    let names: Vec<&str> = registry.schemas.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "DeliveryInfo",
            "GetPathRequest",
            "GetPathResponse",
            "GetWaybillOrderRequest",
            "GetWaybillOrderResponse",
            "GoodsDetail",
            "GoodsInfo",
            "PathItem",
            "QueryTraceRequest",
            "QueryTraceResponse",
            "ShopInfo",
            "TraceWaybillRequest",
            "TraceWaybillResponse",
            "UpdateWaybillGoodsRequest",
            "WaybillDataItem",
            "WaybillInfo",
        ]
    );
    crate::test_support::assert_documented(&registry);
    assert_eq!(
        registry.schemas["TraceWaybillRequest"].required,
        ["openid", "receiver_phone", "waybill_id", "goods_info"]
    );
    assert_eq!(
        registry.schemas["GetPathRequest"].required,
        ["delivery_id", "waybill_id"]
    );
    assert_eq!(
        registry.schemas["GoodsDetail"].required,
        ["goods_name", "goods_img_url"]
    );
    assert!(registry.schemas["GoodsInfo"].required.is_empty());
    // Answers parse leniently, but the proxy always writes every non-optional field.
    assert_eq!(
        registry.schemas["QueryTraceResponse"].required,
        ["errcode", "errmsg"]
    );
    assert_eq!(
        registry.schemas["PathItem"].required,
        ["action_time", "action_type", "action_msg"]
    );
}
