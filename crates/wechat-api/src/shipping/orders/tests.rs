use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, Type},
};
use serde_json::{Value, json};

use super::*;
use crate::shipping::{OrderShipping, order_state};

/// The seed's example request of get_order_list, verbatim.
const SEED_LIST_REQUEST: &str = r#"{
    "pay_time_range": {
        "begin_time": 1670563531,
        "end_time": 1670563531
    },
    "page_size": 2
}"#;

/// The seed's example answer of get_order_list, verbatim.
const SEED_LIST_ANSWER: &str = r#"{
    "errcode": 0,
    "errmsg": "ok",
    "order_list": [
        {
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
        },
        {
            "transaction_id": "fake-transid-20221209132531-1",
            "merchant_trade_no": "fake-tradeno-20221209132531-1",
            "merchant_id": "fake-mchid-123",
            "sub_merchant_id": "",
            "description": "",
            "paid_amount": 29767,
            "openid": "ogqztkPsejM9MQAFfwCQSCi4oNg3",
            "trade_create_time": 1670563531,
            "pay_time": 1670563531,
            "order_state": 1,
            "in_complaint": false,
            "shipping": {}
        }
    ],
    "last_index": "092dd3cecbc6926301",
    "has_more": true
}"#;

/// The seed's example request of notify_confirm_receive, verbatim.
const SEED_NOTIFY_REQUEST: &str = r#"{
    "transaction_id": "fake-transid-20221209132531-44",
    "merchant_id": "fake-mchid-123",
    "merchant_trade_no": "fake-tradeno-20221209132531-44",
    "received_time": 1670829139
}"#;

/// `body` parsed as `T` and validated.
fn check<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Result<(), ValidationError> {
    serde_json::from_value::<T>(body)
        .expect("parses")
        .validate()
}

#[track_caller]
fn list_fails(body: Value, field: &str, errcode: i64) {
    let err = check::<GetOrderListRequest>(body.clone()).expect_err(&body.to_string());
    assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
}

#[track_caller]
fn list_passes(body: Value) {
    if let Err(e) = check::<GetOrderListRequest>(body.clone()) {
        panic!("{body} should pass: {e}");
    }
}

// --- get_order_list ---

#[test]
fn seed_list_request_is_valid_and_roundtrips() {
    let req: GetOrderListRequest = serde_json::from_str(SEED_LIST_REQUEST).unwrap();
    assert_eq!(req.page_size, Some(2));
    req.validate().unwrap();
    let seed: Value = serde_json::from_str(SEED_LIST_REQUEST).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), seed);
}

#[test]
fn empty_list_request_is_valid() {
    list_passes(json!({}));
    list_passes(json!({"pay_time_range": {}}));
    list_passes(json!({"last_index": "", "openid": ""}));
}

#[test]
fn pay_times_are_32_bit_unsigned_timestamps() {
    list_fails(
        json!({"pay_time_range": {"begin_time": -1}}),
        "pay_time_range.begin_time",
        10060014,
    );
    list_fails(
        json!({"pay_time_range": {"end_time": 4294967296_i64}}),
        "pay_time_range.end_time",
        10060014,
    );
    list_passes(json!({"pay_time_range": {"begin_time": 0, "end_time": 4294967295_i64}}));
}

#[test]
fn begin_time_is_not_after_end_time() {
    list_fails(
        json!({"pay_time_range": {"begin_time": 1670563532, "end_time": 1670563531}}),
        "pay_time_range.begin_time",
        10060014,
    );
    list_passes(json!({"pay_time_range": {"begin_time": 1670563531, "end_time": 1670563531}}));
}

#[test]
fn order_state_is_1_to_6() {
    for bad in [0, 7, -1] {
        list_fails(json!({"order_state": bad}), "order_state", 10060014);
    }
    for ok in 1..=6 {
        list_passes(json!({"order_state": ok}));
    }
}

#[test]
fn list_openid_has_at_most_128_bytes() {
    list_fails(json!({"openid": "o".repeat(129)}), "openid", 10060014);
    list_passes(json!({"openid": "o".repeat(128)}));
}

/// WeChat documents no bounds for `page_size` (only its default, 100) and
/// sources disagree on a maximum: whatever the tenant asks for goes to
/// WeChat, which decides.
#[test]
fn page_size_is_left_to_wechat() {
    for size in [1, 50, 100, 101, 500] {
        list_passes(json!({"page_size": size}));
    }
}

#[test]
fn list_rules_are_checked_in_the_documented_order() {
    list_fails(
        json!({"pay_time_range": {"begin_time": -1}, "order_state": 0, "page_size": 0}),
        "pay_time_range.begin_time",
        10060014,
    );
    list_fails(
        json!({"order_state": 0, "page_size": 0}),
        "order_state",
        10060014,
    );
}

#[test]
fn seed_list_answer_parses() {
    let r: GetOrderListResponse = serde_json::from_str(SEED_LIST_ANSWER).unwrap();
    assert!(r.has_more);
    assert_eq!(r.last_index, "092dd3cecbc6926301");
    assert_eq!(r.order_list.len(), 2);
    assert_eq!(r.order_list[1].paid_amount, 29767);
    assert_eq!(r.order_list[0].order_state, order_state::PENDING_SHIPMENT);
    assert_eq!(r.order_list[0].shipping, Some(OrderShipping::default()));

    let via_poem = GetOrderListResponse::parse_from_json(Some(
        serde_json::from_str(SEED_LIST_ANSWER).unwrap(),
    ))
    .unwrap();
    assert_eq!(via_poem, r);
}

#[test]
fn partial_list_answers_parse() {
    for answer in [
        json!({}),
        json!({"errcode": 10060011, "errmsg": "invalid last_index"}),
        json!({"order_list": [{"transaction_id": "t"}]}),
    ] {
        let via_serde: GetOrderListResponse = serde_json::from_value(answer.clone()).unwrap();
        let via_poem = GetOrderListResponse::parse_from_json(Some(answer)).unwrap();
        assert_eq!(via_poem, via_serde);
    }
}

// --- notify_confirm_receive ---

#[test]
fn seed_notify_request_is_valid() {
    let req: NotifyConfirmReceiveRequest = serde_json::from_str(SEED_NOTIFY_REQUEST).unwrap();
    assert_eq!(req.received_time, 1670829139);
    req.validate().unwrap();
}

#[test]
fn notify_needs_the_order() {
    for (body, field) in [
        (json!({"received_time": 1670829139}), "transaction_id"),
        (
            json!({"merchant_id": "m", "received_time": 1670829139}),
            "merchant_trade_no",
        ),
        (
            json!({"merchant_trade_no": "n", "sub_merchant_id": "s", "received_time": 1670829139}),
            "merchant_id",
        ),
    ] {
        let err = check::<NotifyConfirmReceiveRequest>(body.clone()).expect_err(&body.to_string());
        assert_eq!(
            (err.field.as_str(), err.errcode),
            (field, 10060014),
            "{body}"
        );
    }
    check::<NotifyConfirmReceiveRequest>(
        json!({"merchant_id": "m", "merchant_trade_no": "n", "received_time": 1}),
    )
    .unwrap();
}

#[test]
fn received_time_is_positive() {
    for bad in [0, -1670829139] {
        let err = check::<NotifyConfirmReceiveRequest>(
            json!({"transaction_id": "t", "received_time": bad}),
        )
        .unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.errcode),
            ("received_time", 10060029)
        );
    }
    // The order comes first.
    let err = check::<NotifyConfirmReceiveRequest>(json!({"received_time": 0})).unwrap_err();
    assert_eq!(err.field, "transaction_id");
}

#[test]
fn notify_received_time_is_required_by_both_parsers() {
    let body = json!({"transaction_id": "t"});
    assert!(serde_json::from_value::<NotifyConfirmReceiveRequest>(body.clone()).is_err());
    assert!(NotifyConfirmReceiveRequest::parse_from_json(Some(body)).is_err());
}

#[test]
fn schemas_document_every_field() {
    let mut registry = Registry::new();
    GetOrderListRequest::register(&mut registry);
    GetOrderListResponse::register(&mut registry);
    NotifyConfirmReceiveRequest::register(&mut registry);
    crate::test_support::assert_documented(&registry);
    assert!(registry.schemas["GetOrderListRequest"].required.is_empty());
    // Answers parse leniently, but the proxy always writes every field.
    assert_eq!(
        registry.schemas["GetOrderListResponse"].required,
        ["errcode", "errmsg", "last_index", "has_more", "order_list"]
    );
    assert_eq!(
        registry.schemas["NotifyConfirmReceiveRequest"].required,
        ["received_time"]
    );
}
