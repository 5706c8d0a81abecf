use serde_json::{Value, json};

use super::*;

/// The seed's own example request.
fn seed_example() -> Value {
    json!({
        "order_key": { "order_number_type": 2, "transaction_id": "fake-transid-20221214190427-1" },
        "delivery_mode": 1,
        "logistics_type": 1,
        "shipping_list": [{
            "tracking_no": "fake-trackingno-2022121419042711",
            "express_company": "STO",
            "item_desc": "微信气泡狗集线器*1",
            "contact": { "consignor_contact": "+86-177****1234" }
        }],
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": { "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3" }
    })
}

fn check(mutate: impl FnOnce(&mut Value)) -> Result<(), ValidationError> {
    let mut v = seed_example();
    mutate(&mut v);
    serde_json::from_value::<UploadShippingInfoRequest>(v)
        .unwrap()
        .validate()
}

fn fails(mutate: impl FnOnce(&mut Value), field: &str, errcode: i64) {
    let err = check(mutate).expect_err("should fail");
    assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
}

#[test]
fn seed_example_is_valid() {
    check(|_| {}).unwrap();
}

#[test]
fn order_key_rules() {
    fails(
        |v| v["order_key"]["order_number_type"] = json!(3),
        "order_key.order_number_type",
        268485194,
    );
    fails(
        |v| v["order_key"] = json!({"order_number_type": 2}),
        "order_key.transaction_id",
        268485195,
    );
    fails(
        |v| v["order_key"] = json!({"order_number_type": 1, "out_trade_no": "x"}),
        "order_key.mchid",
        268485196,
    );
    fails(
        |v| v["order_key"] = json!({"order_number_type": 1, "mchid": "m"}),
        "order_key.out_trade_no",
        268485197,
    );
    check(|v| v["order_key"] = json!({"order_number_type": 1, "mchid": "m", "out_trade_no": "o"}))
        .unwrap();
}

#[test]
fn mode_and_type_rules() {
    fails(
        |v| v["logistics_type"] = json!(5),
        "logistics_type",
        10060005,
    );
    fails(
        |v| v["delivery_mode"] = json!(3),
        "delivery_mode",
        268485224,
    );
    fails(
        |v| {
            let item = v["shipping_list"][0].clone();
            v["shipping_list"] = json!([item.clone(), item]);
        },
        "shipping_list",
        268485228,
    );
    fails(
        |v| {
            v["delivery_mode"] = json!(2);
            v["logistics_type"] = json!(2);
            v["is_all_delivered"] = json!(true);
        },
        "delivery_mode",
        10060006,
    );
    fails(
        |v| v["delivery_mode"] = json!(2),
        "is_all_delivered",
        10060007,
    );
    fails(
        |v| {
            let item = v["shipping_list"][0].clone();
            v["delivery_mode"] = json!(2);
            v["is_all_delivered"] = json!(false);
            v["shipping_list"] = Value::Array(vec![item; 11]);
        },
        "shipping_list",
        10060024,
    );
    check(|v| {
        let item = v["shipping_list"][0].clone();
        v["delivery_mode"] = json!(2);
        v["is_all_delivered"] = json!(false);
        v["shipping_list"] = Value::Array(vec![item; 10]);
    })
    .unwrap();
    fails(
        |v| v["shipping_list"] = json!([]),
        "shipping_list",
        268485228,
    );
}

#[test]
fn item_rules() {
    fails(
        |v| v["shipping_list"][0]["item_desc"] = Value::Null,
        "shipping_list[0].item_desc",
        10060008,
    );
    fails(
        |v| v["shipping_list"][0]["item_desc"] = json!("  "),
        "shipping_list[0].item_desc",
        10060008,
    );
    fails(
        |v| v["shipping_list"][0]["item_desc"] = json!("字".repeat(121)),
        "shipping_list[0].item_desc",
        10060009,
    );
    check(|v| v["shipping_list"][0]["item_desc"] = json!("字".repeat(120))).unwrap();
    fails(
        |v| v["shipping_list"][0]["tracking_no"] = Value::Null,
        "shipping_list[0].tracking_no",
        268485226,
    );
    fails(
        |v| v["shipping_list"][0]["express_company"] = Value::Null,
        "shipping_list[0].express_company",
        268485227,
    );
    fails(
        |v| v["shipping_list"][0]["tracking_no"] = json!("x".repeat(129)),
        "shipping_list[0].tracking_no",
        10060026,
    );
    fails(
        |v| v["shipping_list"][0]["express_company"] = json!("x".repeat(129)),
        "shipping_list[0].express_company",
        10060025,
    );
    fails(
        |v| {
            v["shipping_list"][0]["express_company"] = json!("SF");
            v["shipping_list"][0]["contact"] = json!({});
        },
        "shipping_list[0].contact",
        10060014,
    );
    // Virtual goods need no tracking number.
    check(|v| {
        v["logistics_type"] = json!(3);
        v["shipping_list"] = json!([{ "item_desc": "会员卡*1" }]);
    })
    .unwrap();
}

#[test]
fn time_and_payer_rules() {
    fails(
        |v| v["upload_time"] = json!("2022-12-15 13:29:35"),
        "upload_time",
        268485216,
    );
    fails(
        |v| v["payer"]["openid"] = json!(""),
        "payer.openid",
        10060014,
    );
}

#[test]
fn get_order_rules() {
    let ok: GetOrderRequest = serde_json::from_value(json!({"transaction_id": "t"})).unwrap();
    ok.validate().unwrap();
    let ok: GetOrderRequest =
        serde_json::from_value(json!({"merchant_id": "m", "merchant_trade_no": "n"})).unwrap();
    ok.validate().unwrap();
    let bad: GetOrderRequest = serde_json::from_value(json!({"merchant_id": "m"})).unwrap();
    assert_eq!(bad.validate().unwrap_err().field, "merchant_trade_no");
    assert_eq!(
        GetOrderRequest::default().validate().unwrap_err().errcode,
        10060014
    );
}

#[test]
fn seed_get_order_answers_parse() {
    let shipped = json!({
        "errcode": 0, "errmsg": "ok",
        "order": {
            "transaction_id": "fake-transid-20221209132531-44", "merchant_trade_no": "fake-tradeno-20221209132531-44",
            "merchant_id": "fake-mchid-123", "sub_merchant_id": "", "description": "🍌*1", "paid_amount": 916,
            "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3", "trade_create_time": 1670563533, "pay_time": 1670563533,
            "in_complaint": false, "order_state": 2,
            "shipping": { "delivery_mode": 1, "logistics_type": 1, "finish_shipping": true, "finish_shipping_count": 1,
                "goods_desc": "🍌*1", "shipping_list": [{ "tracking_no": "JT1234567890", "express_company": "JTSD", "upload_time": 1670832735 }] }
        }
    });
    let r: GetOrderResponse = serde_json::from_value(shipped).unwrap();
    assert_eq!(
        r.order.unwrap().shipping.unwrap().shipping_list[0].tracking_no,
        "JT1234567890"
    );
    let unshipped: GetOrderResponse = serde_json::from_value(json!({"errcode":0,"errmsg":"ok","order":{"transaction_id":"t","order_state":1,"shipping":{}}})).unwrap();
    assert_eq!(
        unshipped
            .order
            .unwrap()
            .shipping
            .unwrap()
            .finish_shipping_count,
        0
    );
}
