use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::{Value, json};

use super::*;

/// The seed's example request of upload_shipping_info, verbatim.
const SEED_UPLOAD_EXAMPLE: &str = r#"{
    "order_key": {
        "order_number_type": 2,
        "transaction_id": "fake-transid-20221214190427-1"
    },
    "delivery_mode": 1,
    "logistics_type": 1,
    "shipping_list": [
        {
            "tracking_no": "fake-trackingno-2022121419042711",
            "express_company": "STO",
            "item_desc": "微信气泡狗集线器*1",
            "contact": {
                "consignor_contact": "+86-177****1234"
            }
        }
    ],
    "upload_time": "2022-12-15T13:29:35.120+08:00",
    "payer": {
        "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3"
    }
}"#;

/// The seed's example answer of get_order, verbatim.
const SEED_GET_ORDER_ANSWER: &str = r#"{ 
    "errcode": 0,
    "errmsg": "ok",
    "order": {
        "transaction_id": "fake-transid-20221209132531-44",
        "merchant_trade_no": "fake-tradeno-20221209132531-44",
        "merchant_id": "fake-mchid-123",
        "sub_merchant_id": "",
        "description": "🍌*1",
        "paid_amount": 916,
        "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3",
        "trade_create_time": 1670563533,
        "pay_time": 1670563533,
        "in_complaint": false,
        "order_state": 2,
        "shipping": {
            "delivery_mode": 1,
            "logistics_type": 1,
            "finish_shipping": true,
            "finish_shipping_count": 1,
            "goods_desc": "🍌*1",
            "shipping_list": [
                {
                    "tracking_no": "JT1234567890",
                    "express_company": "JTSD",
                    "upload_time": 1670832735
                }
            ]
        }
    }
} "#;

/// The seed's example request of get_order, verbatim.
const SEED_GET_ORDER_REQUEST: &str = r#"{
    "transaction_id": "fake-transid-20221209132531-44",
    "merchant_id": "fake-mchid-123",
    "merchant_trade_no": "fake-tradeno-20221209132531-44"
}"#;

fn seed_example() -> Value {
    serde_json::from_str(SEED_UPLOAD_EXAMPLE).unwrap()
}

/// The seed example, changed by `mutate`, parsed and validated.
fn check(mutate: impl FnOnce(&mut Value)) -> Result<(), ValidationError> {
    let mut v = seed_example();
    mutate(&mut v);
    serde_json::from_value::<UploadShippingInfoRequest>(v)
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

/// Split delivery of `n` copies of the seed's parcel.
fn split_of(v: &mut Value, n: usize) {
    let item = v["shipping_list"][0].clone();
    v["delivery_mode"] = json!(2);
    v["is_all_delivered"] = json!(true);
    v["shipping_list"] = Value::Array(vec![item; n]);
}

// --- Seed examples ---

#[test]
fn seed_upload_example_parses_and_is_valid() {
    let req: UploadShippingInfoRequest = serde_json::from_str(SEED_UPLOAD_EXAMPLE).unwrap();
    assert_eq!(req.order_key.order_number_type, 2);
    assert_eq!(
        req.shipping_list[0]
            .contact
            .as_ref()
            .unwrap()
            .consignor_contact,
        Some("+86-177****1234".to_owned())
    );
    assert_eq!(req.is_all_delivered, None);
    req.validate().unwrap();
}

#[test]
fn seed_upload_example_roundtrips_unchanged() {
    let req: UploadShippingInfoRequest = serde_json::from_str(SEED_UPLOAD_EXAMPLE).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), seed_example());
}

#[test]
fn seed_get_order_answer_parses() {
    let r: GetOrderResponse = serde_json::from_str(SEED_GET_ORDER_ANSWER).unwrap();
    assert!(
        WechatAck {
            errcode: r.errcode,
            errmsg: r.errmsg.clone()
        }
        .is_ok()
    );
    let order = r.order.unwrap();
    assert_eq!(order.paid_amount, 916);
    assert_eq!(order.order_state, order_state::SHIPPED);
    assert_eq!(order.sub_merchant_id, "");
    let shipping = order.shipping.unwrap();
    assert!(shipping.finish_shipping);
    assert_eq!(shipping.finish_shipping_count, 1);
    assert_eq!(
        shipping.shipping_list,
        [OrderShippingItem {
            tracking_no: "JT1234567890".into(),
            express_company: "JTSD".into(),
            goods_desc: None,
            upload_time: 1670832735,
            contact: None,
        }]
    );
}

#[test]
fn unshipped_order_with_empty_shipping_parses() {
    // An entry of the seed's get_order_list answer, as a get_order answer.
    let r: GetOrderResponse = serde_json::from_value(json!({
        "errcode": 0,
        "errmsg": "ok",
        "order": {
            "transaction_id": "fake-transid-20221209132531-0",
            "merchant_trade_no": "fake-tradeno-20221209132531-0",
            "merchant_id": "fake-mchid-123",
            "sub_merchant_id": "",
            "description": "",
            "paid_amount": 4353,
            "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3",
            "trade_create_time": 1670563531,
            "pay_time": 1670563531,
            "order_state": 1,
            "in_complaint": false,
            "shipping": {}
        }
    }))
    .unwrap();
    let order = r.order.unwrap();
    assert_eq!(order.order_state, order_state::PENDING_SHIPMENT);
    assert_eq!(order.shipping, Some(OrderShipping::default()));
}

#[test]
fn failed_get_order_answer_parses() {
    let r: GetOrderResponse =
        serde_json::from_str(r#"{"errcode":10060001,"errmsg":"payment order not exist"}"#).unwrap();
    assert_eq!(r.errcode, ec::PAYMENT_ORDER_NOT_FOUND);
    assert_eq!(r.order, None);
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"errcode": 10060001, "errmsg": "payment order not exist"})
    );
}

#[test]
fn seed_get_order_request_is_valid() {
    let req: GetOrderRequest = serde_json::from_str(SEED_GET_ORDER_REQUEST).unwrap();
    req.validate().unwrap();
}

// --- order_key ---

#[test]
fn order_number_type_must_be_1_or_2() {
    for bad in [0, 3, -1] {
        fails(
            |v| v["order_key"]["order_number_type"] = json!(bad),
            "order_key.order_number_type",
            268485194,
        );
    }
}

#[test]
fn type_2_needs_transaction_id() {
    fails(
        |v| v["order_key"] = json!({"order_number_type": 2, "mchid": "m", "out_trade_no": "o"}),
        "order_key.transaction_id",
        268485195,
    );
    fails(
        |v| v["order_key"]["transaction_id"] = json!(" "),
        "order_key.transaction_id",
        268485195,
    );
}

#[test]
fn type_1_needs_mchid() {
    fails(
        |v| v["order_key"] = json!({"order_number_type": 1, "out_trade_no": "o"}),
        "order_key.mchid",
        268485196,
    );
    fails(
        |v| v["order_key"] = json!({"order_number_type": 1, "mchid": "", "out_trade_no": "o"}),
        "order_key.mchid",
        268485196,
    );
}

#[test]
fn type_1_needs_out_trade_no() {
    fails(
        |v| v["order_key"] = json!({"order_number_type": 1, "mchid": "m"}),
        "order_key.out_trade_no",
        268485197,
    );
    passes(
        |v| v["order_key"] = json!({"order_number_type": 1, "mchid": "fake-mchid-123", "out_trade_no": "fake-tradeno-1"}),
    );
}

#[test]
fn order_key_rules_use_the_given_path() {
    let key = OrderKey {
        order_number_type: 1,
        transaction_id: None,
        mchid: None,
        out_trade_no: None,
    };
    let err = validate_order_key(&key, "sub_orders[1].order_key").unwrap_err();
    assert_eq!(err.field, "sub_orders[1].order_key.mchid");
}

// --- logistics_type and delivery_mode ---

#[test]
fn logistics_type_must_be_1_to_4() {
    for bad in [0, 5] {
        fails(
            |v| v["logistics_type"] = json!(bad),
            "logistics_type",
            10060005,
        );
    }
    for ok in 2..=4 {
        passes(|v| v["logistics_type"] = json!(ok));
    }
}

#[test]
fn delivery_mode_must_be_1_or_2() {
    for bad in [0, 3] {
        fails(
            |v| v["delivery_mode"] = json!(bad),
            "delivery_mode",
            268485224,
        );
    }
}

#[test]
fn unified_needs_exactly_one_entry() {
    fails(
        |v| {
            split_of(v, 2);
            v["delivery_mode"] = json!(1);
        },
        "shipping_list",
        268485228,
    );
}

#[test]
fn split_only_with_express() {
    fails(
        |v| {
            split_of(v, 2);
            v["logistics_type"] = json!(2);
        },
        "delivery_mode",
        10060006,
    );
}

#[test]
fn split_needs_is_all_delivered() {
    fails(
        |v| {
            split_of(v, 2);
            v.as_object_mut().unwrap().remove("is_all_delivered");
        },
        "is_all_delivered",
        10060007,
    );
    passes(|v| {
        split_of(v, 2);
        v["is_all_delivered"] = json!(false);
    });
}

// --- shipping_list ---

#[test]
fn shipping_list_must_not_be_empty() {
    // Unified delivery needs exactly one entry: none is 268485228, as WeChat
    // answers a body without shipping_list.
    fails(
        |v| v["shipping_list"] = json!([]),
        "shipping_list",
        268485228,
    );
    fails(
        |v| {
            split_of(v, 0);
        },
        "shipping_list",
        10060014,
    );
}

/// WeChat answers a missing `shipping_list` with 268485228, not a parse
/// error (47001): the body parses, and the rules name WeChat's errcode.
#[test]
fn a_missing_shipping_list_gets_wechats_errcode() {
    fails(
        |v| {
            v.as_object_mut().unwrap().remove("shipping_list");
        },
        "shipping_list",
        268485228,
    );
    let mut v = seed_example();
    v.as_object_mut().unwrap().remove("shipping_list");
    let req = UploadShippingInfoRequest::parse_from_json(Some(v)).unwrap();
    assert_eq!(req.validate().unwrap_err().errcode, 268485228);
}

/// WeChat's current documentation allows 15 parcels per payment order
/// (the seed says 10): 11 to 15 must pass, 16 is 10060024.
#[test]
fn shipping_list_has_at_most_15_entries() {
    assert_eq!(MAX_SHIPPING_ENTRIES, 15);
    for n in [10, 11, 15] {
        passes(|v| split_of(v, n));
    }
    fails(|v| split_of(v, 16), "shipping_list", 10060024);
}

#[test]
fn item_desc_is_required() {
    fails(
        |v| {
            v["shipping_list"][0]
                .as_object_mut()
                .unwrap()
                .remove("item_desc");
        },
        "shipping_list[0].item_desc",
        10060008,
    );
    fails(
        |v| v["shipping_list"][0]["item_desc"] = json!(" \t"),
        "shipping_list[0].item_desc",
        10060008,
    );
    // The path names the offending entry.
    fails(
        |v| {
            split_of(v, 3);
            v["shipping_list"][2]["item_desc"] = Value::Null;
        },
        "shipping_list[2].item_desc",
        10060008,
    );
}

#[test]
fn item_desc_has_at_most_120_characters() {
    // 120 CJK characters are 360 bytes: the limit counts characters.
    passes(|v| v["shipping_list"][0]["item_desc"] = json!("字".repeat(120)));
    fails(
        |v| v["shipping_list"][0]["item_desc"] = json!("字".repeat(121)),
        "shipping_list[0].item_desc",
        10060009,
    );
}

#[test]
fn express_needs_tracking_no() {
    fails(
        |v| {
            v["shipping_list"][0]
                .as_object_mut()
                .unwrap()
                .remove("tracking_no");
        },
        "shipping_list[0].tracking_no",
        268485226,
    );
    fails(
        |v| v["shipping_list"][0]["tracking_no"] = json!(""),
        "shipping_list[0].tracking_no",
        268485226,
    );
}

#[test]
fn express_needs_express_company() {
    fails(
        |v| v["shipping_list"][0]["express_company"] = Value::Null,
        "shipping_list[0].express_company",
        268485227,
    );
}

#[test]
fn other_logistics_types_need_no_tracking() {
    for logistics_type in 2..=4 {
        passes(|v| {
            v["logistics_type"] = json!(logistics_type);
            v["shipping_list"] = json!([{ "item_desc": "会员卡*1" }]);
        });
    }
}

#[test]
fn tracking_no_has_at_most_128_bytes() {
    passes(|v| v["shipping_list"][0]["tracking_no"] = json!("x".repeat(128)));
    fails(
        |v| v["shipping_list"][0]["tracking_no"] = json!("x".repeat(129)),
        "shipping_list[0].tracking_no",
        10060026,
    );
    // Bytes, not characters: 43 CJK characters are 129 bytes.
    fails(
        |v| v["shipping_list"][0]["tracking_no"] = json!("号".repeat(43)),
        "shipping_list[0].tracking_no",
        10060026,
    );
    // Also when present but not required.
    fails(
        |v| {
            v["logistics_type"] = json!(2);
            v["shipping_list"][0]["tracking_no"] = json!("x".repeat(129));
        },
        "shipping_list[0].tracking_no",
        10060026,
    );
}

#[test]
fn express_company_has_at_most_128_bytes() {
    fails(
        |v| v["shipping_list"][0]["express_company"] = json!("x".repeat(129)),
        "shipping_list[0].express_company",
        10060025,
    );
    fails(
        |v| {
            v["logistics_type"] = json!(2);
            v["shipping_list"][0]["express_company"] = json!("x".repeat(129));
        },
        "shipping_list[0].express_company",
        10060025,
    );
}

#[test]
fn sf_express_needs_a_contact() {
    for contact in [
        Value::Null,
        json!({}),
        json!({"consignor_contact": "", "receiver_contact": " "}),
    ] {
        fails(
            |v| {
                v["shipping_list"][0]["express_company"] = json!(SF_EXPRESS_COMPANY);
                v["shipping_list"][0]["contact"] = contact;
            },
            "shipping_list[0].contact",
            10060014,
        );
    }
    for contact in [
        json!({"consignor_contact": "+86-177****1234"}),
        json!({"receiver_contact": "189****1234"}),
    ] {
        passes(|v| {
            v["shipping_list"][0]["express_company"] = json!("SF");
            v["shipping_list"][0]["contact"] = contact;
        });
    }
    // Other companies need none.
    passes(|v| {
        v["shipping_list"][0]
            .as_object_mut()
            .unwrap()
            .remove("contact");
    });
}

#[test]
fn contacts_have_at_most_1024_bytes() {
    passes(|v| v["shipping_list"][0]["contact"]["consignor_contact"] = json!("*".repeat(1024)));
    fails(
        |v| v["shipping_list"][0]["contact"]["consignor_contact"] = json!("*".repeat(1025)),
        "shipping_list[0].contact.consignor_contact",
        10060014,
    );
    fails(
        |v| v["shipping_list"][0]["contact"]["receiver_contact"] = json!("*".repeat(1025)),
        "shipping_list[0].contact.receiver_contact",
        10060014,
    );
}

// --- upload_time and payer ---

#[test]
fn upload_time_must_be_rfc3339() {
    for bad in [
        "2022-12-15 13:29:35",
        "2022-12-15T13:29:35",
        "2022-12-15T13: 29: 35.120 + 08: 00",
        "yesterday",
        "",
        " 2022-12-15T13:29:35.120+08:00",
    ] {
        fails(|v| v["upload_time"] = json!(bad), "upload_time", 268485216);
    }
    for ok in ["2022-12-15T13:29:35Z", "2022-12-15T05:29:35.120+00:00"] {
        passes(|v| v["upload_time"] = json!(ok));
    }
}

#[test]
fn payer_openid_has_1_to_128_bytes() {
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
    passes(|v| v["payer"]["openid"] = json!("o".repeat(128)));
}

#[test]
fn rules_are_checked_in_the_documented_order() {
    // Several violations at once: the order_key one is reported first,
    // then the shipment ones, then upload_time, then payer.
    fails(
        |v| {
            v["order_key"]["order_number_type"] = json!(9);
            v["logistics_type"] = json!(9);
            v["upload_time"] = json!("now");
        },
        "order_key.order_number_type",
        268485194,
    );
    fails(
        |v| {
            v["shipping_list"][0]["item_desc"] = Value::Null;
            v["upload_time"] = json!("now");
            v["payer"]["openid"] = json!("");
        },
        "shipping_list[0].item_desc",
        10060008,
    );
    fails(
        |v| {
            v["upload_time"] = json!("now");
            v["payer"]["openid"] = json!("");
        },
        "upload_time",
        268485216,
    );
}

// --- get_order ---

fn lookup(body: Value) -> Result<(), ValidationError> {
    serde_json::from_value::<GetOrderRequest>(body)
        .unwrap()
        .validate()
}

#[test]
fn get_order_needs_transaction_id_or_merchant_pair() {
    lookup(json!({"transaction_id": "t"})).unwrap();
    lookup(json!({"merchant_id": "m", "merchant_trade_no": "n"})).unwrap();
    lookup(json!({"transaction_id": "t", "sub_merchant_id": "s"})).unwrap();
    for (body, field) in [
        (json!({}), "transaction_id"),
        (
            json!({"transaction_id": " ", "sub_merchant_id": "s"}),
            "transaction_id",
        ),
        (json!({"merchant_id": "m"}), "merchant_trade_no"),
        (json!({"merchant_trade_no": "n"}), "merchant_id"),
    ] {
        let err = lookup(body.clone()).expect_err(&body.to_string());
        assert_eq!(
            (err.field.as_str(), err.errcode),
            (field, 10060014),
            "{body}"
        );
    }
}

// --- poem-openapi (the proxy's parser and spec) agrees with serde ---

#[test]
fn poem_parses_the_seed_example_like_serde() {
    let via_poem = UploadShippingInfoRequest::parse_from_json(Some(seed_example())).unwrap();
    let via_serde: UploadShippingInfoRequest = serde_json::from_value(seed_example()).unwrap();
    assert_eq!(via_poem, via_serde);
    // ...and writes the same JSON, None fields left out.
    assert_eq!(via_poem.to_json(), Some(seed_example()));
}

#[test]
fn poem_lets_missing_or_null_conditional_fields_reach_the_rules() {
    let mut v = seed_example();
    v["shipping_list"][0]["item_desc"] = Value::Null;
    v["order_key"]
        .as_object_mut()
        .unwrap()
        .remove("transaction_id");
    let req = UploadShippingInfoRequest::parse_from_json(Some(v)).unwrap();
    assert_eq!(req.validate().unwrap_err().errcode, 268485195);
    // Wrong enumeration values parse too, and get the seed's errcode.
    let mut v = seed_example();
    v["delivery_mode"] = json!(7);
    let req = UploadShippingInfoRequest::parse_from_json(Some(v)).unwrap();
    assert_eq!(req.validate().unwrap_err().errcode, 268485224);
}

#[test]
fn poem_parses_lenient_answers_like_serde() {
    let answer: Value = serde_json::from_str(SEED_GET_ORDER_ANSWER).unwrap();
    let via_poem = GetOrderResponse::parse_from_json(Some(answer.clone())).unwrap();
    let via_serde: GetOrderResponse = serde_json::from_value(answer).unwrap();
    assert_eq!(via_poem, via_serde);

    let unshipped = json!({"order": {"transaction_id": "t", "shipping": {}}});
    let via_poem = GetOrderResponse::parse_from_json(Some(unshipped.clone())).unwrap();
    let via_serde: GetOrderResponse = serde_json::from_value(unshipped).unwrap();
    assert_eq!(via_poem, via_serde);
    assert_eq!(
        via_poem.order.unwrap().shipping,
        Some(OrderShipping::default())
    );

    let ack = WechatAck::parse_from_json(Some(json!({}))).unwrap();
    assert!(ack.is_ok());
    assert_eq!(
        WechatAck::ok().to_json(),
        Some(json!({"errcode": 0, "errmsg": "ok"}))
    );
}

/// Schemas of every shipping model, as the proxy's spec registers them.
fn registered_schemas() -> Registry {
    let mut registry = Registry::new();
    UploadShippingInfoRequest::register(&mut registry);
    GetOrderRequest::register(&mut registry);
    GetOrderResponse::register(&mut registry);
    WechatAck::register(&mut registry);
    registry
}

#[test]
fn schema_uses_wechat_field_names_and_documents_every_field() {
    let registry = registered_schemas();
    let names: Vec<&str> = registry.schemas.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Contact",
            "GetOrderRequest",
            "GetOrderResponse",
            "OrderKey",
            "OrderShipping",
            "OrderShippingItem",
            "Payer",
            "ShippingItem",
            "ShippingOrder",
            "UploadShippingInfoRequest",
            "WechatAck",
        ]
    );
    crate::test_support::assert_documented(&registry);
    // upload_time is WeChat's requirement, but tpgate fills it in when absent.
    let upload = &registry.schemas["UploadShippingInfoRequest"];
    assert_eq!(
        upload.required,
        ["order_key", "logistics_type", "delivery_mode", "payer"]
    );
    assert!(registry.schemas["ShippingItem"].required.is_empty());
    assert!(registry.schemas["OrderShipping"].required.is_empty());
}
