use poem_openapi::{
    registry::Registry,
    types::{ParseFromJSON, Type},
};
use serde_json::json;

use super::*;

#[test]
fn seed_jump_path_request_is_valid() {
    let req: SetMsgJumpPathRequest =
        serde_json::from_str(r#"{ "path": "pages/order/detail" }"#).unwrap();
    req.validate().unwrap();
}

#[test]
fn empty_jump_path_is_allowed() {
    // WeChat falls back to its default confirm-receipt page.
    SetMsgJumpPathRequest {
        path: String::new(),
    }
    .validate()
    .unwrap();
}

#[test]
fn jump_path_has_at_most_1024_bytes() {
    SetMsgJumpPathRequest {
        path: "p".repeat(1024),
    }
    .validate()
    .unwrap();
    // Bytes, not characters: 342 CJK characters are 1026 bytes.
    for path in ["p".repeat(1025), "页".repeat(342)] {
        let err = SetMsgJumpPathRequest { path }.validate().unwrap_err();
        assert_eq!((err.field.as_str(), err.errcode), ("path", 10060014));
    }
}

#[test]
fn seed_trade_managed_request_is_valid() {
    let req: TradeManagedRequest =
        serde_json::from_str(r#"{ "appid": "wx0123456789abcdef" }"#).unwrap();
    req.validate().unwrap();
}

#[test]
fn appid_is_required() {
    for appid in ["", "  "] {
        let err = TradeManagedRequest {
            appid: appid.into(),
        }
        .validate()
        .unwrap_err();
        assert_eq!((err.field.as_str(), err.errcode), ("appid", 40097));
    }
}

#[test]
fn seed_answers_parse() {
    let r: IsTradeManagedResponse =
        serde_json::from_str(r#"{"errcode": 0, "errmsg": "ok", "is_trade_managed": true}"#)
            .unwrap();
    assert!(r.is_trade_managed);
    let r: TradeManagementConfirmationResponse =
        serde_json::from_str(r#"{"errcode": 0, "errmsg": "ok", "completed": true}"#).unwrap();
    assert!(r.completed);
}

#[test]
fn failed_answers_parse_with_both_parsers() {
    let answer = json!({"errcode": 61003, "errmsg": "component is not authorized"});
    let via_serde: IsTradeManagedResponse = serde_json::from_value(answer.clone()).unwrap();
    let via_poem = IsTradeManagedResponse::parse_from_json(Some(answer.clone())).unwrap();
    assert_eq!(via_poem, via_serde);
    assert!(!via_poem.is_trade_managed);
    let via_serde: TradeManagementConfirmationResponse =
        serde_json::from_value(answer.clone()).unwrap();
    let via_poem = TradeManagementConfirmationResponse::parse_from_json(Some(answer)).unwrap();
    assert_eq!(via_poem, via_serde);
    assert_eq!(via_poem.errcode, 61003);
}

#[test]
fn schemas_document_every_field() {
    let mut registry = Registry::new();
    SetMsgJumpPathRequest::register(&mut registry);
    TradeManagedRequest::register(&mut registry);
    IsTradeManagedResponse::register(&mut registry);
    TradeManagementConfirmationResponse::register(&mut registry);
    crate::test_support::assert_documented(&registry);
    assert_eq!(registry.schemas["SetMsgJumpPathRequest"].required, ["path"]);
    assert_eq!(registry.schemas["TradeManagedRequest"].required, ["appid"]);
    // Answers parse leniently, but the proxy always writes every field.
    assert_eq!(
        registry.schemas["IsTradeManagedResponse"].required,
        ["errcode", "errmsg", "is_trade_managed"]
    );
}
