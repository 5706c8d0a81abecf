use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::{Value, json};

use super::*;

/// The seed's example request of opspecialorder, verbatim.
const SEED_SPECIAL_REQUEST: &str = r#"{
    "order_id": "123456",
    "type": 1,
    "delay_to": 1752035828
}"#;

/// A fixed "now" for the tests: 2025-06-01T00:00:00Z.
const NOW: i64 = 1_748_736_000;
const DAY: i64 = 86_400;

fn request(body: Value) -> OpSpecialOrderRequest {
    serde_json::from_value(body).expect("parses")
}

#[track_caller]
fn fails_at(body: Value, now: i64, field: &str, errcode: i64) {
    let err = request(body.clone())
        .validate_at(now)
        .expect_err(&body.to_string());
    assert_eq!((err.field.as_str(), err.errcode), (field, errcode), "{err}");
    assert!(!err.message.is_empty());
}

#[track_caller]
fn passes_at(body: Value, now: i64) {
    if let Err(e) = request(body.clone()).validate_at(now) {
        panic!("{body} should pass: {e}");
    }
}

#[test]
fn seed_request_parses_with_type_field_and_roundtrips() {
    let req: OpSpecialOrderRequest = serde_json::from_str(SEED_SPECIAL_REQUEST).unwrap();
    assert_eq!(req.r#type, special_order_type::PRE_SALE);
    assert_eq!(req.delay_to, Some(1752035828));
    let seed: Value = serde_json::from_str(SEED_SPECIAL_REQUEST).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), seed);
    // poem-openapi uses the same JSON name.
    let via_poem = OpSpecialOrderRequest::parse_from_json(Some(seed.clone())).unwrap();
    assert_eq!(via_poem, req);
    assert_eq!(via_poem.to_json(), Some(seed));
}

#[test]
fn seed_request_is_valid_when_it_was_written() {
    // delay_to 1752035828 is 2025-07-09; the request was valid in June 2025.
    passes_at(serde_json::from_str(SEED_SPECIAL_REQUEST).unwrap(), NOW);
}

#[test]
fn order_id_is_required() {
    for order_id in ["", " "] {
        fails_at(
            json!({"order_id": order_id, "type": 2}),
            NOW,
            "order_id",
            268546002,
        );
    }
}

#[test]
fn type_is_1_or_2() {
    for bad in [0, 3, -1] {
        fails_at(
            json!({"order_id": "1", "type": bad}),
            NOW,
            "type",
            268546000,
        );
    }
    passes_at(json!({"order_id": "1", "type": 2}), NOW);
}

#[test]
fn pre_sale_needs_delay_to() {
    fails_at(
        json!({"order_id": "1", "type": 1}),
        NOW,
        "delay_to",
        268546001,
    );
    fails_at(
        json!({"order_id": "1", "type": 1, "delay_to": null}),
        NOW,
        "delay_to",
        268546001,
    );
}

#[test]
fn delay_to_is_not_in_the_past() {
    fails_at(
        json!({"order_id": "1", "type": 1, "delay_to": NOW - 1}),
        NOW,
        "delay_to",
        268546001,
    );
    fails_at(
        json!({"order_id": "1", "type": 1, "delay_to": i64::MIN}),
        NOW,
        "delay_to",
        268546001,
    );
    passes_at(json!({"order_id": "1", "type": 1, "delay_to": NOW}), NOW);
}

#[test]
fn delay_to_is_at_most_330_days_ahead() {
    passes_at(
        json!({"order_id": "1", "type": 1, "delay_to": NOW + 330 * DAY}),
        NOW,
    );
    fails_at(
        json!({"order_id": "1", "type": 1, "delay_to": NOW + 330 * DAY + 1}),
        NOW,
        "delay_to",
        268546001,
    );
    // No overflow near the ends of i64.
    fails_at(
        json!({"order_id": "1", "type": 1, "delay_to": i64::MAX}),
        i64::MIN,
        "delay_to",
        268546001,
    );
    passes_at(
        json!({"order_id": "1", "type": 1, "delay_to": i64::MAX}),
        i64::MAX - 1,
    );
}

#[test]
fn test_orders_ignore_delay_to() {
    passes_at(
        json!({"order_id": "1", "type": 2, "delay_to": NOW - 100 * DAY}),
        NOW,
    );
}

#[test]
fn rules_are_checked_in_the_documented_order() {
    fails_at(
        json!({"order_id": "", "type": 9}),
        NOW,
        "order_id",
        268546002,
    );
    fails_at(
        json!({"order_id": "1", "type": 9, "delay_to": 0}),
        NOW,
        "type",
        268546000,
    );
}

#[test]
fn validate_uses_the_current_time() {
    let now = chrono::Utc::now().timestamp();
    let ok = request(json!({"order_id": "1", "type": 1, "delay_to": now + 20 * DAY}));
    ok.validate().unwrap();
    let past = request(json!({"order_id": "1", "type": 1, "delay_to": now - DAY}));
    assert_eq!(past.validate().unwrap_err().errcode, 268546001);
}

#[test]
fn delay_after_payment_is_15_to_330_days() {
    let paid = NOW;
    validate_delay_after_payment(paid + 15 * DAY, paid).unwrap();
    validate_delay_after_payment(paid + 330 * DAY, paid).unwrap();
    for bad in [
        paid + 15 * DAY - 1,
        paid + 330 * DAY + 1,
        paid,
        paid - DAY,
        i64::MIN,
        i64::MAX,
    ] {
        let err = validate_delay_after_payment(bad, paid).unwrap_err();
        assert_eq!((err.field.as_str(), err.errcode), ("delay_to", 268546001));
    }
    assert_eq!(SPECIAL_ORDER_MIN_DELAY_SECS, 15 * DAY);
    assert_eq!(SPECIAL_ORDER_MAX_DELAY_SECS, 330 * DAY);
}

#[test]
fn schema_names_the_field_type() {
    let mut registry = Registry::new();
    OpSpecialOrderRequest::register(&mut registry);
    crate::test_support::assert_documented(&registry);
    let schema = &registry.schemas["OpSpecialOrderRequest"];
    assert_eq!(schema.required, ["order_id", "type"]);
    assert!(schema.properties.iter().any(|(name, _)| *name == "type"));
}
