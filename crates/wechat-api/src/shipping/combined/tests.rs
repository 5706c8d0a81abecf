use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::{Value, json};

use super::*;

/// The seed's example request of upload_combined_shipping_info, verbatim.
const SEED_COMBINED_EXAMPLE: &str = r#"{
    "order_key": {
        "order_number_type": 1,
        "mchid": "fake-mchid-123",
        "out_trade_no": "fake-tradeno-20221214190427-0"
    },
    "sub_orders": [
        {
            "order_key": {
                "order_number_type": 1,
                "mchid": "fake-mchid-123",
                "out_trade_no": "fake-tradeno-20221214190427-01"
            },
            "delivery_mode": 2,
            "logistics_type": 1,
            "is_all_delivered": true,
            "shipping_list": [
                {
                    "tracking_no": "fake-trackingno-202212141904271",
                    "express_company": "YD",
                    "item_desc": "微信气泡狗零钱包*1",
                    "contact": {
                        "consignor_contact": "021-**34-12"
                    }
                },
                {
                    "tracking_no": "fake-trackingno-202212141904272",
                    "express_company": "DHL",
                    "item_desc": "微信黄脸布艺胸针*1;微信气泡狗零钱包*1",
                    "contact": {
                        "consignor_contact": "021-**34-12"
                    }
                }
            ]
        },
        {
            "order_key": {
                "order_number_type": 1,
                "mchid": "fake-mchid-321",
                "out_trade_no": "fake-tradeno-20221214190427-02"
            },
            "delivery_mode": 1,
            "logistics_type": 1,
            "shipping_list": [
                {
                    "tracking_no": "fake-trackingno-202212141904273",
                    "express_company": "YTO",
                    "item_desc": "微信气泡狗双面钥匙扣*1",
                    "contact": {
                        "receiver_contact": "+86-123****4321"
                    }
                }
            ]
        }
    ],
    "upload_time": "2022-12-15T13:29:35.120+08:00",
    "payer": {
        "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3"
    }
}"#;

fn seed_example() -> Value {
    serde_json::from_str(SEED_COMBINED_EXAMPLE).unwrap()
}

/// The seed example, changed by `mutate`, parsed and validated.
fn check(mutate: impl FnOnce(&mut Value)) -> Result<(), ValidationError> {
    let mut v = seed_example();
    mutate(&mut v);
    serde_json::from_value::<UploadCombinedShippingInfoRequest>(v)
        .expect("still parses")
        .validate()
}

#[track_caller]
fn fails(mutate: impl FnOnce(&mut Value), field: &str, errcode: i64) {
    let err = check(mutate).expect_err("should break a rule");
    assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
    assert!(!err.message.is_empty());
}

#[track_caller]
fn passes(mutate: impl FnOnce(&mut Value)) {
    if let Err(e) = check(mutate) {
        panic!("should pass: {e}");
    }
}

/// The seed's second sub-order (unified, one parcel).
fn sub1(v: &mut Value) -> &mut Value {
    &mut v["sub_orders"][1]
}

// --- Seed example ---

#[test]
fn seed_example_parses_and_is_valid() {
    let req: UploadCombinedShippingInfoRequest =
        serde_json::from_str(SEED_COMBINED_EXAMPLE).unwrap();
    let subs = req.sub_orders.as_deref().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].is_all_delivered, Some(true));
    assert_eq!(subs[1].shipping_list.len(), 1);
    req.validate().unwrap();
}

#[test]
fn seed_example_roundtrips_unchanged() {
    let req: UploadCombinedShippingInfoRequest =
        serde_json::from_str(SEED_COMBINED_EXAMPLE).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), seed_example());
}

#[test]
fn sub_orders_may_be_left_out() {
    passes(|v| {
        v.as_object_mut().unwrap().remove("sub_orders");
    });
    passes(|v| v["sub_orders"] = json!([]));
}

// --- Main order key ---

#[test]
fn main_order_key_rules() {
    fails(
        |v| v["order_key"]["order_number_type"] = json!(3),
        "order_key.order_number_type",
        268485194,
    );
    fails(
        |v| v["order_key"]["mchid"] = json!(""),
        "order_key.mchid",
        268485196,
    );
    fails(
        |v| v["order_key"]["out_trade_no"] = Value::Null,
        "order_key.out_trade_no",
        268485197,
    );
}

// --- Sub-order keys ---

#[test]
fn sub_order_key_rules_name_the_sub_order() {
    fails(
        |v| sub1(v)["order_key"]["out_trade_no"] = json!(" "),
        "sub_orders[1].order_key.out_trade_no",
        268485197,
    );
    fails(
        |v| sub1(v)["order_key"] = json!({"order_number_type": 1, "out_trade_no": "x"}),
        "sub_orders[1].order_key.mchid",
        268485196,
    );
    fails(
        |v| sub1(v)["order_key"]["order_number_type"] = json!(0),
        "sub_orders[1].order_key.order_number_type",
        268485194,
    );
    fails(
        |v| sub1(v)["order_key"] = json!({"order_number_type": 2}),
        "sub_orders[1].order_key.transaction_id",
        268485195,
    );
}

#[test]
fn sub_orders_use_the_main_order_number_type() {
    fails(
        |v| sub1(v)["order_key"] = json!({"order_number_type": 2, "transaction_id": "4200001"}),
        "sub_orders[1].order_key.order_number_type",
        268485253,
    );
    // All of type 2 is fine.
    passes(|v| {
        v["order_key"] = json!({"order_number_type": 2, "transaction_id": "4200000"});
        v["sub_orders"][0]["order_key"] =
            json!({"order_number_type": 2, "transaction_id": "4200001"});
        v["sub_orders"][1]["order_key"] =
            json!({"order_number_type": 2, "transaction_id": "4200002"});
    });
}

#[test]
fn sub_orders_have_no_duplicates() {
    fails(
        |v| {
            let first = v["sub_orders"][0]["order_key"].clone();
            sub1(v)["order_key"] = first;
        },
        "sub_orders[1].order_key",
        10060013,
    );
    // Surrounding whitespace does not make a different order.
    fails(
        |v| sub1(v)["order_key"] = json!({"order_number_type": 1, "mchid": " fake-mchid-123", "out_trade_no": "fake-tradeno-20221214190427-01 "}),
        "sub_orders[1].order_key",
        10060013,
    );
    fails(
        |v| {
            v["order_key"] = json!({"order_number_type": 2, "transaction_id": "4200000"});
            v["sub_orders"][0]["order_key"] =
                json!({"order_number_type": 2, "transaction_id": "42"});
            v["sub_orders"][1]["order_key"] =
                json!({"order_number_type": 2, "transaction_id": "42", "mchid": "ignored"});
        },
        "sub_orders[1].order_key",
        10060013,
    );
    // Same out_trade_no under another merchant is another order.
    passes(|v| {
        sub1(v)["order_key"]["out_trade_no"] = json!("fake-tradeno-20221214190427-01");
    });
}

#[test]
fn validate_sub_order_keys_checks_every_key() {
    let req: UploadCombinedShippingInfoRequest =
        serde_json::from_str(SEED_COMBINED_EXAMPLE).unwrap();
    let mut subs = req.sub_orders.unwrap();
    validate_sub_order_keys(&subs, 1).unwrap();
    let err = validate_sub_order_keys(&subs, 2).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.errcode),
        ("sub_orders[0].order_key.order_number_type", 268485253)
    );
    subs.push(subs[0].clone());
    let err = validate_sub_order_keys(&subs, 1).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.errcode),
        ("sub_orders[2].order_key", 10060013)
    );
}

// --- Sub-order shipments ---

#[test]
fn sub_order_logistics_type_and_delivery_mode() {
    fails(
        |v| sub1(v)["logistics_type"] = json!(5),
        "sub_orders[1].logistics_type",
        10060005,
    );
    fails(
        |v| sub1(v)["delivery_mode"] = json!(3),
        "sub_orders[1].delivery_mode",
        268485224,
    );
}

#[test]
fn sub_order_shipping_list_must_not_be_empty() {
    // Sub-order 1 is a unified delivery: no entry is 268485228, missing or
    // empty alike (WeChat's answer to a missing list).
    fails(
        |v| {
            sub1(v).as_object_mut().unwrap().remove("shipping_list");
        },
        "sub_orders[1].shipping_list",
        268485228,
    );
    fails(
        |v| sub1(v)["shipping_list"] = json!([]),
        "sub_orders[1].shipping_list",
        268485228,
    );
    // A split one without entries: 10060014.
    fails(
        |v| {
            sub1(v)["delivery_mode"] = json!(2);
            sub1(v)["is_all_delivered"] = json!(true);
            sub1(v)["shipping_list"] = json!([]);
        },
        "sub_orders[1].shipping_list",
        10060014,
    );
}

#[test]
fn sub_order_unified_needs_exactly_one_entry() {
    fails(
        |v| v["sub_orders"][0]["delivery_mode"] = json!(1),
        "sub_orders[0].shipping_list",
        268485228,
    );
}

#[test]
fn sub_order_split_rules() {
    fails(
        |v| v["sub_orders"][0]["logistics_type"] = json!(2),
        "sub_orders[0].delivery_mode",
        10060006,
    );
    fails(
        |v| {
            v["sub_orders"][0]
                .as_object_mut()
                .unwrap()
                .remove("is_all_delivered");
        },
        "sub_orders[0].is_all_delivered",
        10060007,
    );
    fails(
        |v| {
            let item = v["sub_orders"][0]["shipping_list"][0].clone();
            v["sub_orders"][0]["shipping_list"] = Value::Array(vec![item; 16]);
        },
        "sub_orders[0].shipping_list",
        10060024,
    );
    // 15 parcels, as WeChat's current documentation allows (the seed says 10).
    passes(|v| {
        let item = v["sub_orders"][0]["shipping_list"][0].clone();
        v["sub_orders"][0]["shipping_list"] = Value::Array(vec![item; 15]);
    });
}

#[test]
fn sub_order_item_rules() {
    fails(
        |v| v["sub_orders"][0]["shipping_list"][1]["item_desc"] = json!(""),
        "sub_orders[0].shipping_list[1].item_desc",
        10060008,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["item_desc"] = json!("字".repeat(121)),
        "sub_orders[1].shipping_list[0].item_desc",
        10060009,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["tracking_no"] = Value::Null,
        "sub_orders[1].shipping_list[0].tracking_no",
        268485226,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["express_company"] = json!(""),
        "sub_orders[1].shipping_list[0].express_company",
        268485227,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["tracking_no"] = json!("x".repeat(129)),
        "sub_orders[1].shipping_list[0].tracking_no",
        10060026,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["express_company"] = json!("x".repeat(129)),
        "sub_orders[1].shipping_list[0].express_company",
        10060025,
    );
    fails(
        |v| {
            sub1(v)["shipping_list"][0]["express_company"] = json!("SF");
            sub1(v)["shipping_list"][0]["contact"] = json!({});
        },
        "sub_orders[1].shipping_list[0].contact",
        10060014,
    );
    fails(
        |v| sub1(v)["shipping_list"][0]["contact"]["receiver_contact"] = json!("*".repeat(1025)),
        "sub_orders[1].shipping_list[0].contact.receiver_contact",
        10060014,
    );
    passes(|v| {
        sub1(v)["logistics_type"] = json!(3);
        sub1(v)["shipping_list"] = json!([{"item_desc": "会员卡*1"}]);
    });
}

// --- upload_time and payer ---

#[test]
fn upload_time_and_payer() {
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
    fails(
        |v| v["payer"]["openid"] = json!("o".repeat(129)),
        "payer.openid",
        10060014,
    );
}

#[test]
fn rules_are_checked_in_the_documented_order() {
    // Sub-order 0's shipment before sub-order 1's key.
    fails(
        |v| {
            v["sub_orders"][0]["logistics_type"] = json!(9);
            sub1(v)["order_key"]["order_number_type"] = json!(2);
        },
        "sub_orders[0].logistics_type",
        10060005,
    );
    // Main key before everything.
    fails(
        |v| {
            v["order_key"]["order_number_type"] = json!(9);
            v["sub_orders"][0]["logistics_type"] = json!(9);
        },
        "order_key.order_number_type",
        268485194,
    );
    // Sub-orders before upload_time and payer.
    fails(
        |v| {
            sub1(v)["shipping_list"][0]["item_desc"] = Value::Null;
            v["upload_time"] = json!("now");
            v["payer"]["openid"] = json!("");
        },
        "sub_orders[1].shipping_list[0].item_desc",
        10060008,
    );
}

// --- poem-openapi ---

#[test]
fn poem_parses_like_serde_and_lets_missing_lists_reach_the_rules() {
    let via_poem =
        UploadCombinedShippingInfoRequest::parse_from_json(Some(seed_example())).unwrap();
    let via_serde: UploadCombinedShippingInfoRequest =
        serde_json::from_value(seed_example()).unwrap();
    assert_eq!(via_poem, via_serde);
    assert_eq!(via_poem.to_json(), Some(seed_example()));

    let mut v = seed_example();
    v["sub_orders"][1]
        .as_object_mut()
        .unwrap()
        .remove("shipping_list");
    let req = UploadCombinedShippingInfoRequest::parse_from_json(Some(v)).unwrap();
    let err = req.validate().unwrap_err();
    // A unified sub-order without its list: WeChat's 268485228.
    assert_eq!(
        (err.field.as_str(), err.errcode),
        ("sub_orders[1].shipping_list", 268485228)
    );
}

#[test]
fn schema_documents_every_field() {
    let mut registry = Registry::new();
    UploadCombinedShippingInfoRequest::register(&mut registry);
    crate::test_support::assert_documented(&registry);
    assert_eq!(
        registry.schemas["UploadCombinedShippingInfoRequest"].required,
        ["order_key", "upload_time", "payer"]
    );
    assert_eq!(
        registry.schemas["SubOrder"].required,
        ["order_key", "logistics_type", "delivery_mode"]
    );
}
