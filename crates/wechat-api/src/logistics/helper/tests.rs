use poem_openapi::{
    registry::Registry,
    types::{Example, ParseFromJSON, Type},
};
use serde_json::{Value, json};

use super::*;
use crate::logistics::{ManagePluginRequest, ManagePluginResponse};

fn add_body() -> Value {
    serde_json::to_value(AddWaybillOrderRequest::example()).unwrap()
}

/// `v`, parsed by both parsers, fails at `field` with `errcode`.
#[track_caller]
fn rejects<T>(v: Value, field: &str, errcode: i64)
where
    T: Validate + ParseFromJSON + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let via_serde: T = serde_json::from_value(v.clone()).unwrap();
    let via_poem = T::parse_from_json(Some(v)).unwrap();
    for err in [via_serde.validate(), via_poem.validate()] {
        let err = err.expect_err("should be refused");
        assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
    }
}

#[track_caller]
fn accepts<T>(v: Value)
where
    T: Validate + ParseFromJSON + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let req: T = serde_json::from_value(v.clone()).unwrap();
    req.validate().unwrap();
    T::parse_from_json(Some(v)).unwrap().validate().unwrap();
}

#[test]
fn add_example_and_minimal_bodies_pass() {
    accepts::<AddWaybillOrderRequest>(add_body());
    // What WeChat's pages and the SDKs disagree on is left to WeChat: no
    // shop, no names, a cargo without dimensions or items.
    let minimal = json!({
        "add_source": 0, "order_id": "o1", "openid": "oU", "delivery_id": "SF", "biz_id": "SF_CASH",
        "sender": {"mobile": "13800138000"}, "receiver": {"tel": "020-88888888"},
        "cargo": {}, "insured": {"use_insured": 0, "insured_value": 0},
        "service": {"service_type": 0, "service_name": "标准快递"}
    });
    accepts::<AddWaybillOrderRequest>(minimal.clone());
    // An App or H5 order needs no openid, but its wx_appid.
    let mut h5 = minimal;
    h5["add_source"] = json!(2);
    h5.as_object_mut().unwrap().remove("openid");
    rejects::<AddWaybillOrderRequest>(h5.clone(), "wx_appid", 40097);
    h5["wx_appid"] = json!("wx0123456789abcdef");
    accepts::<AddWaybillOrderRequest>(h5);
}

/// A change to the example body, the field it breaks, and the errcode.
type Case = (&'static str, Box<dyn Fn(&mut Value)>, i64);

#[test]
fn add_rules() {
    let cases: Vec<Case> = vec![
        (
            "add_source",
            Box::new(|v| v["add_source"] = json!(1)),
            40097,
        ),
        ("order_id", Box::new(|v| v["order_id"] = json!(" ")), 40097),
        (
            "order_id",
            Box::new(|v| v["order_id"] = json!("9".repeat(513))),
            40097,
        ),
        (
            "openid",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("openid");
            }),
            40003,
        ),
        ("openid", Box::new(|v| v["openid"] = json!("")), 40003),
        (
            "delivery_id",
            Box::new(|v| v["delivery_id"] = json!("")),
            40097,
        ),
        ("biz_id", Box::new(|v| v["biz_id"] = json!("")), 40097),
        (
            "custom_remark",
            Box::new(|v| v["custom_remark"] = json!("r".repeat(1025))),
            40097,
        ),
        (
            "sender.mobile",
            Box::new(|v| {
                v["sender"].as_object_mut().unwrap().remove("mobile");
            }),
            40097,
        ),
        (
            "receiver.post_code",
            Box::new(|v| v["receiver"]["post_code"] = json!("12345678901")),
            40097,
        ),
        (
            "receiver.address",
            Box::new(|v| v["receiver"]["address"] = json!("址".repeat(171))),
            40097,
        ),
        (
            "cargo.detail_list[0].name",
            Box::new(|v| v["cargo"]["detail_list"][0]["name"] = json!("n".repeat(129))),
            40097,
        ),
        (
            "insured.use_insured",
            Box::new(|v| v["insured"]["use_insured"] = json!(2)),
            40097,
        ),
        (
            "insured.insured_value",
            Box::new(|v| v["insured"]["insured_value"] = json!(-1)),
            40097,
        ),
    ];
    for (field, mutate, errcode) in cases {
        let mut v = add_body();
        mutate(&mut v);
        rejects::<AddWaybillOrderRequest>(v, field, errcode);
    }
    // Limits are in bytes: 512 bytes of order_id pass.
    let mut v = add_body();
    v["order_id"] = json!("9".repeat(512));
    accepts::<AddWaybillOrderRequest>(v);
}

#[test]
fn cancel_and_batchget_rules() {
    let cancel = serde_json::to_value(CancelWaybillOrderRequest::example()).unwrap();
    accepts::<CancelWaybillOrderRequest>(cancel.clone());
    for (field, errcode) in [
        ("order_id", 40097),
        ("openid", 40003),
        ("delivery_id", 40097),
        ("waybill_id", 40097),
    ] {
        let mut v = cancel.clone();
        v[field] = json!("");
        rejects::<CancelWaybillOrderRequest>(v, field, errcode);
    }

    let batch = serde_json::to_value(BatchGetWaybillOrderRequest::example()).unwrap();
    accepts::<BatchGetWaybillOrderRequest>(batch.clone());
    rejects::<BatchGetWaybillOrderRequest>(json!({}), "order_list", 40097);
    let one = batch["order_list"][0].clone();
    rejects::<BatchGetWaybillOrderRequest>(
        json!({ "order_list": vec![one.clone(); 101] }),
        "order_list",
        40097,
    );
    accepts::<BatchGetWaybillOrderRequest>(json!({ "order_list": vec![one; 100] }));
    rejects::<BatchGetWaybillOrderRequest>(
        json!({"order_list": [{"order_id": "o1", "delivery_id": " "}]}),
        "order_list[0].delivery_id",
        40097,
    );
}

#[test]
fn plugin_rules() {
    let apply = serde_json::to_value(ManagePluginRequest::example()).unwrap();
    assert_eq!(apply["plugin_appid"], "wx9ad912bf20548d92");
    accepts::<ManagePluginRequest>(apply);
    accepts::<ManagePluginRequest>(json!({"action": "list"}));
    accepts::<ManagePluginRequest>(
        json!({"action": "apply", "plugin_appid": "wx9ad912bf20548d92"}),
    );
    rejects::<ManagePluginRequest>(json!({"action": "apply"}), "plugin_appid", 40097);
    rejects::<ManagePluginRequest>(
        json!({"action": "delete", "plugin_appid": "wx1"}),
        "action",
        40097,
    );
}

#[test]
fn wechat_answers_parse() {
    let add: AddWaybillOrderResponse = serde_json::from_value(json!({
        "errcode": 0, "errmsg": "ok", "order_id": "01234567890123456789",
        "waybill_id": "123456789", "delivery_resultcode": 0, "delivery_resultmsg": "",
        "waybill_data": [{"key": "SF_bagAddr", "value": "广州"}]
    }))
    .unwrap();
    assert_eq!(add.waybill_data[0].value, "广州");
    let refused: AddWaybillOrderResponse = serde_json::from_value(json!({
        "errcode": 9300501, "errmsg": "delivery logic fail", "delivery_resultcode": 30001,
        "delivery_resultmsg": "cargo.detailList is empty", "waybill_data": []
    }))
    .unwrap();
    assert_eq!(refused.delivery_resultcode, 30001);
    let accounts = GetAllAccountResponse::parse_from_json(Some(json!({
        "count": 1,
        "list": [{"biz_id": "123456789", "delivery_id": "YUNDA", "create_time": 1555482786,
                  "update_time": 1556594799, "status_code": 0, "alias": "", "remark_wrong_msg": "",
                  "remark_content": "", "quota_num": 55, "quota_update_time": 1556594799}]
    })))
    .unwrap();
    assert_eq!(accounts.list[0].quota_num, 55);
    let deliveries = GetAllDeliveryResponse::parse_from_json(Some(json!({
        "count": 2,
        "data": [{"delivery_id": "SF", "delivery_name": "顺丰速运"},
                 {"delivery_id": "JDL", "delivery_name": "京东物流", "service_type": [{"service_type": 0, "service_name": "特惠送"}]}]
    })))
    .unwrap();
    assert_eq!(deliveries.data[1].service_type[0].service_name, "特惠送");
    let batch: BatchGetWaybillOrderResponse = serde_json::from_value(json!({
        "order_list": [{"errcode": 0, "errmsg": "ok", "order_id": "o1", "delivery_id": "SF",
                        "waybill_id": "w1", "print_html": "aGk=", "waybill_data": [], "order_status": 0}]
    }))
    .unwrap();
    assert_eq!(batch.order_list[0].waybill_id, "w1");
    let listed: ManagePluginResponse = serde_json::from_value(json!({
        "errcode": 0, "errmsg": "ok",
        "plugin_list": [{"appid": "wx9ad912bf20548d92", "status": 2, "nickname": "物流查询", "headimgurl": ""}]
    }))
    .unwrap();
    assert_eq!(listed.plugin_list.unwrap()[0].status, 2);
}

#[test]
fn schemas_document_every_field() {
    let mut registry = Registry::new();
    AddWaybillOrderRequest::register(&mut registry);
    AddWaybillOrderResponse::register(&mut registry);
    CancelWaybillOrderRequest::register(&mut registry);
    CancelWaybillOrderResponse::register(&mut registry);
    BatchGetWaybillOrderRequest::register(&mut registry);
    BatchGetWaybillOrderResponse::register(&mut registry);
    GetAllAccountResponse::register(&mut registry);
    GetAllDeliveryResponse::register(&mut registry);
    ManagePluginRequest::register(&mut registry);
    ManagePluginResponse::register(&mut registry);
    crate::test_support::assert_documented(&registry);
    assert_eq!(
        registry.schemas["AddWaybillOrderRequest"].required,
        [
            "add_source",
            "order_id",
            "delivery_id",
            "biz_id",
            "sender",
            "receiver",
            "cargo",
            "insured",
            "service"
        ]
    );
    assert_eq!(registry.schemas["ManagePluginRequest"].required, ["action"]);
}
