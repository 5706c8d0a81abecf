use serde_json::{Value, json};
use wechat_api::shipping::{GetOrderRequest, UploadShippingInfoRequest};

use super::{
    shipping::{ORDER_PENDING_SHIPMENT, ORDER_SHIPPED},
    *,
};

mod helper;
mod orders;
mod waybills;

const OTHER_APPID: &str = "wx00000000000000aa";

fn platform() -> State {
    State::new(SimConfig::sandbox())
}

fn token_request(s: &State, ticket: &str) -> ComponentTokenRequest {
    ComponentTokenRequest {
        component_appid: s.config.component_appid.clone(),
        component_appsecret: s.config.component_secret.clone(),
        component_verify_ticket: ticket.to_owned(),
    }
}

fn component_token(s: &mut State) -> String {
    let ticket = s.issue_ticket();
    let req = token_request(s, &ticket);
    s.component_token(&req).unwrap().component_access_token
}

fn query(s: &mut State, ct: &str, code: &str) -> WxResult<QueryAuthResponse> {
    let req = QueryAuthRequest {
        component_appid: s.config.component_appid.clone(),
        authorization_code: code.to_owned(),
    };
    s.query_auth(Some(ct), &req)
}

fn refresh(
    s: &mut State,
    ct: &str,
    appid: &str,
    refresh_token: &str,
) -> WxResult<AuthorizerTokenResponse> {
    let req = AuthorizerTokenRequest {
        component_appid: s.config.component_appid.clone(),
        authorizer_appid: appid.to_owned(),
        authorizer_refresh_token: refresh_token.to_owned(),
    };
    s.authorizer_token(Some(ct), &req)
}

/// Grants `appid` the sets and exchanges the code: (access, refresh) tokens.
fn authorize(s: &mut State, ct: &str, appid: &str, func_ids: Vec<i64>) -> (String, String) {
    let code = s.grant(appid, func_ids).code;
    let info = query(s, ct, &code).unwrap().authorization_info;
    (
        info.authorizer_access_token.unwrap(),
        info.authorizer_refresh_token.unwrap(),
    )
}

/// A platform with a component token, the default account authorized with
/// the default sets, and one paid order: (state, authorizer token, order).
fn shop() -> (State, String, SimOrder) {
    let mut s = platform();
    let ct = component_token(&mut s);
    let appid = s.config.default_authorizer_appid.clone();
    let funcs = s.config.default_func_ids.clone();
    let (access, _) = authorize(&mut s, &ct, &appid, funcs);
    let order = s.create_order(NewOrder::default());
    (s, access, order)
}

/// Moves the clock on by `secs` and returns a fresh authorizer token of the
/// default account (the old one may have expired meanwhile).
fn advance_and_renew(s: &mut State, secs: i64) -> String {
    s.advance(secs);
    let ct = component_token(s);
    let appid = s.config.default_authorizer_appid.clone();
    let funcs = s.config.default_func_ids.clone();
    authorize(s, &ct, &appid, funcs).0
}

fn upload_json(order: &SimOrder, tracking_no: &str) -> Value {
    json!({
        "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": tracking_no, "express_company": "STO", "item_desc": "微信气泡狗集线器*1"}],
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": order.openid}
    })
}

/// [`upload_json`] uploaded `minutes` after it: an update must carry a
/// later upload_time than the previous upload.
fn upload_json_later(order: &SimOrder, tracking_no: &str, minutes: u32) -> Value {
    let mut body = upload_json(order, tracking_no);
    body["upload_time"] = json!(format!(
        "2022-12-15T{:02}:{:02}:35.120+08:00",
        13 + (29 + minutes) / 60,
        (29 + minutes) % 60
    ));
    body
}

fn req(value: Value) -> UploadShippingInfoRequest {
    serde_json::from_value(value).unwrap()
}

/// Runs an upload the way the route does: caller check, then the upload.
fn upload(s: &mut State, token: &str, body: Value) -> WxResult<()> {
    let appid = s.shipping_caller(Some(token))?;
    s.upload_shipping_info(&appid, &req(body))
}

fn code_of<T: std::fmt::Debug>(r: WxResult<T>) -> i64 {
    r.unwrap_err().errcode
}

// === shipping state machine ===

#[test]
fn ship_then_the_single_reshipment_then_10060003() {
    let (mut s, token, order) = shop();
    let appid = s.config.default_authorizer_appid.clone();
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(view.order_state, ORDER_PENDING_SHIPMENT);
    assert_eq!(order_json(&view)["shipping"], json!({}));

    upload(&mut s, &token, upload_json(&order, "SF001")).unwrap();
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(view.order_state, ORDER_SHIPPED);
    let shipping = view.shipping.unwrap();
    assert_eq!(shipping.finish_shipping_count, 1);
    assert!(shipping.finish_shipping);
    assert_eq!(shipping.goods_desc, "微信气泡狗集线器*1");
    assert_eq!(shipping.shipping_list[0].upload_time, 1671082175);

    upload(&mut s, &token, upload_json_later(&order, "SF002", 1)).unwrap();
    let view = s
        .get_order(
            &appid,
            &GetOrderRequest {
                transaction_id: Some(order.transaction_id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    let shipping = view.shipping.unwrap();
    assert_eq!(shipping.finish_shipping_count, 2);
    assert_eq!(shipping.shipping_list.len(), 1, "the re-shipment replaces");
    assert_eq!(shipping.shipping_list[0].tracking_no, "SF002");

    let err = upload(&mut s, &token, upload_json_later(&order, "SF003", 2)).unwrap_err();
    assert_eq!(err.errcode, ec::RESHIPMENT_USED);
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(
        view.shipping.unwrap().shipping_list[0].tracking_no,
        "SF002",
        "a refused upload changes nothing"
    );
}

/// Seed 004 note 4: an update's upload_time must be later than the
/// previous upload's; WeChat answers 268485216 otherwise (WeChat staff,
/// community doc 00000c8377c460473f12270a966400). Milliseconds count.
#[test]
fn an_update_needs_a_later_upload_time() {
    let (mut s, token, order) = shop();
    upload(&mut s, &token, upload_json(&order, "SF001")).unwrap();
    for stale in ["2022-12-15T13:29:35.120+08:00", "2022-12-15T05:29:35.119Z"] {
        let mut body = upload_json(&order, "SF002");
        body["upload_time"] = json!(stale);
        assert_eq!(
            code_of(upload(&mut s, &token, body)),
            ec::UPLOAD_TIME_INVALID,
            "{stale}"
        );
    }
    assert!(!s.order_extras(&order.transaction_id).unwrap().reshipped);
    let mut body = upload_json(&order, "SF002");
    body["upload_time"] = json!("2022-12-15T13:29:35.121+08:00");
    upload(&mut s, &token, body).unwrap();
    assert!(s.order_extras(&order.transaction_id).unwrap().reshipped);
}

/// WeChat's current documentation allows 15 parcels (the seed says 10).
#[test]
fn split_delivery_takes_up_to_15_parcels() {
    let (mut s, token, order) = shop();
    let parcels = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"tracking_no": format!("P{i}"), "express_company": "STO", "item_desc": "a*1"}))
            .collect()
    };
    let mut body = upload_json(&order, "P");
    body["delivery_mode"] = json!(2);
    body["is_all_delivered"] = json!(true);
    body["shipping_list"] = parcels(16);
    assert_eq!(
        code_of(upload(&mut s, &token, body.clone())),
        ec::SHIPPING_LIST_TOO_LONG
    );
    body["shipping_list"] = parcels(15);
    upload(&mut s, &token, body).unwrap();
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(view.shipping.unwrap().shipping_list.len(), 15);
}

#[test]
fn split_delivery_stays_pending_until_all_delivered() {
    let (mut s, token, order) = shop();
    let mut body = upload_json(&order, "P1");
    body["delivery_mode"] = json!(2);
    body["is_all_delivered"] = json!(false);
    upload(&mut s, &token, body.clone()).unwrap();
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(view.order_state, ORDER_PENDING_SHIPMENT);
    assert_eq!(view.shipping.as_ref().unwrap().finish_shipping_count, 0);
    assert!(!view.shipping.unwrap().finish_shipping);

    body["is_all_delivered"] = json!(true);
    body["upload_time"] = json!("2022-12-15T13:30:35.120+08:00");
    body["shipping_list"]
        .as_array_mut()
        .unwrap()
        .push(json!({"tracking_no": "P2", "express_company": "YD", "item_desc": "b*1"}));
    upload(&mut s, &token, body).unwrap();
    let view = s.order(&order.transaction_id).unwrap();
    assert_eq!(view.order_state, ORDER_SHIPPED);
    let shipping = view.shipping.unwrap();
    assert_eq!(shipping.finish_shipping_count, 1);
    assert_eq!(shipping.shipping_list.len(), 2);
    assert_eq!(shipping.goods_desc, "微信气泡狗集线器*1;b*1");
}

#[test]
fn merchant_order_numbers_find_the_order() {
    let (mut s, token, order) = shop();
    let appid = s.config.default_authorizer_appid.clone();
    let mut body = upload_json(&order, "SF1");
    body["order_key"] = json!({
        "order_number_type": 1, "mchid": order.mchid, "out_trade_no": order.out_trade_no
    });
    upload(&mut s, &token, body.clone()).unwrap();
    let by_merchant = GetOrderRequest {
        merchant_id: Some(order.mchid.clone()),
        merchant_trade_no: Some(order.out_trade_no.clone()),
        ..Default::default()
    };
    let view = s.get_order(&appid, &by_merchant).unwrap();
    assert_eq!(view.transaction_id, order.transaction_id);
    assert_eq!(view.order_state, ORDER_SHIPPED);

    body["order_key"]["out_trade_no"] = json!("no-such-order");
    assert_eq!(
        code_of(upload(&mut s, &token, body)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );
    assert_eq!(
        code_of(s.get_order(&appid, &GetOrderRequest::default())),
        ec::PARAMETER_ERROR
    );
}

#[test]
fn orders_of_another_appid_and_other_payers_are_refused() {
    let (mut s, token, _) = shop();
    let foreign = s.create_order(NewOrder {
        appid: Some(OTHER_APPID.into()),
        ..Default::default()
    });
    assert_eq!(
        code_of(upload(&mut s, &token, upload_json(&foreign, "X"))),
        ec::PAYMENT_ORDER_NOT_FOUND
    );
    let appid = s.config.default_authorizer_appid.clone();
    let by_id = GetOrderRequest {
        transaction_id: Some(foreign.transaction_id.clone()),
        ..Default::default()
    };
    assert_eq!(
        code_of(s.get_order(&appid, &by_id)),
        ec::PAYMENT_ORDER_NOT_FOUND
    );

    let mine = s.create_order(NewOrder {
        openid: Some("oPayer".into()),
        ..Default::default()
    });
    let mut body = upload_json(&mine, "X");
    body["payer"]["openid"] = json!("oSomeoneElse");
    assert_eq!(code_of(upload(&mut s, &token, body)), ec::PAYER_MISMATCH);
}

#[test]
fn seed_rules_answer_their_errcodes() {
    let (mut s, token, order) = shop();
    let mut body = upload_json(&order, "X");
    body["shipping_list"][0]["item_desc"] = Value::Null;
    assert_eq!(code_of(upload(&mut s, &token, body)), ec::ITEM_DESC_EMPTY);
    let mut body = upload_json(&order, "X");
    body["upload_time"] = json!("yesterday");
    assert_eq!(
        code_of(upload(&mut s, &token, body)),
        ec::UPLOAD_TIME_INVALID
    );
    let mut body = upload_json(&order, "X");
    body["order_key"] = json!({"order_number_type": 2});
    assert_eq!(
        code_of(upload(&mut s, &token, body)),
        ec::TRANSACTION_ID_REQUIRED
    );
    assert_eq!(
        s.order(&order.transaction_id).unwrap().order_state,
        ORDER_PENDING_SHIPMENT
    );
}

#[test]
fn new_orders_have_wechat_like_ids_and_honour_overrides() {
    let mut s = platform();
    let a = s.create_order(NewOrder::default());
    let b = s.create_order(NewOrder {
        mchid: Some("123".into()),
        out_trade_no: Some("T-1".into()),
        paid_amount: Some(916),
        description: Some("🍌*1".into()),
        ..Default::default()
    });
    assert_eq!(a.transaction_id.len(), 28);
    assert!(a.transaction_id.chars().all(|c| c.is_ascii_digit()));
    assert_ne!(a.transaction_id, b.transaction_id);
    assert_eq!(a.appid, s.config.default_authorizer_appid);
    assert_eq!(
        (b.mchid.as_str(), b.out_trade_no.as_str(), b.paid_amount),
        ("123", "T-1", 916)
    );
    assert_eq!(s.order(&b.transaction_id).unwrap().description, "🍌*1");
}

// === tokens ===

#[test]
fn authorizer_tokens_expire_on_the_sim_clock() {
    let (mut s, token, order) = shop();
    assert_eq!(code_of(s.shipping_caller(None)), ec::ACCESS_TOKEN_MISSING);
    assert_eq!(
        code_of(s.shipping_caller(Some(""))),
        ec::ACCESS_TOKEN_MISSING
    );
    assert_eq!(
        code_of(s.shipping_caller(Some("nope"))),
        ec::INVALID_CREDENTIAL
    );
    s.advance(7199);
    upload(&mut s, &token, upload_json(&order, "X")).unwrap();
    s.advance(1);
    assert_eq!(
        code_of(s.shipping_caller(Some(&token))),
        ec::ACCESS_TOKEN_EXPIRED
    );
}

/// A new component token leaves the previous one valid 5 minutes only
/// (protocol.md §4), as the simulator already does for authorizer tokens.
#[test]
fn component_tokens_expire_and_the_previous_one_lives_five_minutes_more() {
    let mut s = platform();
    let first = component_token(&mut s);
    s.advance(3600);
    let second = component_token(&mut s);
    assert_ne!(first, second);
    s.check_component_token(Some(&first)).unwrap();
    s.advance(OLD_TOKEN_GRACE_SECS - 1);
    s.check_component_token(Some(&first)).unwrap();
    s.advance(1);
    assert_eq!(
        code_of(s.check_component_token(Some(&first))),
        ec::ACCESS_TOKEN_EXPIRED
    );
    s.check_component_token(Some(&second)).unwrap();
    assert_eq!(
        code_of(s.check_component_token(None)),
        ec::ACCESS_TOKEN_MISSING
    );
    assert_eq!(
        code_of(s.check_component_token(Some("x"))),
        ec::INVALID_CREDENTIAL
    );
    // The newest lives its full 7200 s.
    s.advance(7200 - OLD_TOKEN_GRACE_SECS - 1);
    s.check_component_token(Some(&second)).unwrap();
    s.advance(1);
    assert_eq!(
        code_of(s.check_component_token(Some(&second))),
        ec::ACCESS_TOKEN_EXPIRED
    );
    let req = PreAuthCodeRequest {
        component_appid: s.config.component_appid.clone(),
    };
    assert_eq!(
        code_of(s.create_pre_auth_code(Some(&first), &req)),
        ec::ACCESS_TOKEN_EXPIRED
    );
}

#[test]
fn tickets_must_be_pushed_and_fresh() {
    let mut s = platform();
    let ticket = s.issue_ticket();
    assert!(ticket.starts_with("ticket@@@"));
    let good = token_request(&s, &ticket);

    let forged = token_request(&s, "ticket@@@forged");
    assert_eq!(code_of(s.component_token(&forged)), ec::TICKET_INVALID);
    let mut wrong_appid = good.clone();
    wrong_appid.component_appid = OTHER_APPID.into();
    assert_eq!(
        code_of(s.component_token(&wrong_appid)),
        ec::INVALID_COMPONENT
    );
    let mut wrong_secret = good.clone();
    wrong_secret.component_appsecret = "wrong".into();
    assert_eq!(
        code_of(s.component_token(&wrong_secret)),
        ec::INVALID_APPSECRET
    );
    wrong_secret.component_appsecret.clear();
    assert_eq!(
        code_of(s.component_token(&wrong_secret)),
        ec::APPSECRET_MISSING
    );

    let newer = s.issue_ticket();
    let token = s.component_token(&good).unwrap();
    assert_eq!(token.expires_in, 7200);
    s.advance(TICKET_TTL_SECS);
    s.component_token(&good).unwrap();
    s.advance(1);
    assert_eq!(code_of(s.component_token(&good)), ec::TICKET_EXPIRED);
    let newer = token_request(&s, &newer);
    assert_eq!(code_of(s.component_token(&newer)), ec::TICKET_EXPIRED);
    assert!(
        s.start_push_ticket(&good.component_appid, &good.component_appsecret)
            .is_ok()
    );
}

// === authorization ===

#[test]
fn pre_auth_codes_are_single_use_and_expire() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let appid = s.config.component_appid.clone();
    let req = PreAuthCodeRequest {
        component_appid: appid.clone(),
    };
    let pre = s.create_pre_auth_code(Some(&ct), &req).unwrap();
    assert!(pre.pre_auth_code.starts_with("preauthcode@@@"));
    assert_eq!(pre.expires_in, 600);

    assert_eq!(
        s.authorize_page(OTHER_APPID, &pre.pre_auth_code, None),
        Err(PageError::InvalidComponent)
    );
    assert_eq!(
        s.authorize_page(&appid, "preauthcode@@@nope", None),
        Err(PageError::UnknownPreAuthCode)
    );
    let issued = s
        .authorize_page(&appid, &pre.pre_auth_code, None)
        .unwrap()
        .issued;
    assert!(issued.code.starts_with("queryauthcode@@@"));
    assert_eq!(issued.expires_at, s.now() + 600);
    assert_eq!(
        s.authorize_page(&appid, &pre.pre_auth_code, None),
        Err(PageError::UsedPreAuthCode)
    );

    let late = s.create_pre_auth_code(Some(&ct), &req).unwrap();
    s.advance(600);
    assert_eq!(
        s.authorize_page(&appid, &late.pre_auth_code, None),
        Err(PageError::ExpiredPreAuthCode)
    );
}

#[test]
fn the_page_grants_next_authorization_then_biz_appid_then_the_default() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let appid = s.config.component_appid.clone();
    let req = PreAuthCodeRequest {
        component_appid: appid.clone(),
    };
    let visit = |s: &mut State, biz: Option<&str>| {
        let pre = s
            .create_pre_auth_code(Some(&ct), &req)
            .unwrap()
            .pre_auth_code;
        let code = s.authorize_page(&appid, &pre, biz).unwrap().issued.code;
        query(s, &ct, &code).unwrap().authorization_info
    };
    s.set_next_authorization(OTHER_APPID, vec![17, 45]);
    let info = visit(&mut s, Some("wx00000000000000bb"));
    assert_eq!(info.authorizer_appid, OTHER_APPID);
    let ids: Vec<i64> = info
        .func_info
        .iter()
        .map(|f| f.funcscope_category.id)
        .collect();
    assert_eq!(ids, [17, 45]);

    let info = visit(&mut s, Some("wx00000000000000bb"));
    assert_eq!(info.authorizer_appid, "wx00000000000000bb");
    let info = visit(&mut s, None);
    assert_eq!(info.authorizer_appid, s.config.default_authorizer_appid);
    let ids: Vec<i64> = info
        .func_info
        .iter()
        .map(|f| f.funcscope_category.id)
        .collect();
    assert_eq!(ids, [18, 45, 142]);
    assert!(info.func_info[2].confirm_info.is_some());
    assert!(info.func_info[0].confirm_info.is_none());
}

#[test]
fn auth_codes_can_be_exchanged_again_until_they_expire() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let code = s.grant(OTHER_APPID, vec![142]).code;
    let first = query(&mut s, &ct, &code).unwrap().authorization_info;
    let second = query(&mut s, &ct, &code).unwrap().authorization_info;
    assert_eq!(
        first.authorizer_refresh_token,
        second.authorizer_refresh_token
    );
    assert_ne!(
        first.authorizer_access_token,
        second.authorizer_access_token
    );
    assert_eq!(first.expires_in, Some(7200));
    assert!(
        first
            .authorizer_refresh_token
            .unwrap()
            .starts_with("refreshtoken@@@")
    );
    assert_eq!(
        code_of(query(&mut s, &ct, "queryauthcode@@@nope")),
        ec::INVALID_CODE
    );
    s.advance(AUTH_CODE_TTL_SECS);
    assert_eq!(code_of(query(&mut s, &ct, &code)), ec::AUTH_CODE_EXPIRED);
}

#[test]
fn refresh_tokens_are_stable_until_reauthorization_or_revocation() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let (access, old_refresh) = authorize(&mut s, &ct, OTHER_APPID, vec![142]);
    let refreshed = refresh(&mut s, &ct, OTHER_APPID, &old_refresh).unwrap();
    assert_eq!(refreshed.authorizer_refresh_token, old_refresh);
    assert_ne!(refreshed.authorizer_access_token, access);
    assert_eq!(
        code_of(refresh(&mut s, &ct, "wx00000000000000bb", &old_refresh)),
        ec::COMPONENT_NOT_AUTHORIZED
    );

    // Re-authorization: a new refresh token; the old one is refused.
    let (_, new_refresh) = authorize(&mut s, &ct, OTHER_APPID, vec![142]);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(
        code_of(refresh(&mut s, &ct, OTHER_APPID, &old_refresh)),
        ec::REFRESH_TOKEN_INVALID
    );
    refresh(&mut s, &ct, OTHER_APPID, &new_refresh).unwrap();

    // Revocation: 61003 for the refresh token, 40001 for access tokens.
    s.revoke(OTHER_APPID);
    assert_eq!(
        code_of(refresh(&mut s, &ct, OTHER_APPID, &new_refresh)),
        ec::COMPONENT_NOT_AUTHORIZED
    );
    assert_eq!(
        code_of(s.shipping_caller(Some(&access))),
        ec::INVALID_CREDENTIAL
    );
}

/// A set not granted to the platform is 61007 (`api is unauthorized to
/// component`), not 48001.
#[test]
fn shipping_needs_permission_set_142_or_18() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let (without, _) = authorize(&mut s, &ct, OTHER_APPID, vec![17, 45]);
    assert_eq!(
        code_of(s.shipping_caller(Some(&without))),
        ec::API_UNAUTHORIZED_TO_COMPONENT
    );
    let (with_18, _) = authorize(&mut s, &ct, "wx00000000000000bb", vec![18]);
    assert_eq!(
        s.shipping_caller(Some(&with_18)).unwrap(),
        "wx00000000000000bb"
    );
}

/// 48001 is for a capability the Mini Program lacks: the shipping service
/// not opened. The two queries about it still answer.
#[test]
fn shipping_needs_the_service_opened() {
    let (mut s, token, order) = shop();
    let appid = s.config.default_authorizer_appid.clone();
    s.set_trade_management(&appid, Some(false), None);
    assert_eq!(
        code_of(s.shipping_service_caller(Some(&token))),
        ec::API_UNAUTHORIZED
    );
    assert_eq!(s.shipping_caller(Some(&token)).unwrap(), appid);
    s.set_trade_management(&appid, Some(true), None);
    upload(&mut s, &token, upload_json(&order, "X")).unwrap();
}

/// api_get_authorizer_info carries the current refresh token (WeChat's
/// getAuthorizerInfo page), unless the account shows it empty.
#[test]
fn authorizer_info_carries_the_refresh_token() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let (_, refresh_token) = authorize(&mut s, &ct, OTHER_APPID, vec![142]);
    let req = AuthorizerInfoRequest {
        component_appid: s.config.component_appid.clone(),
        authorizer_appid: OTHER_APPID.to_owned(),
    };
    let shown = |s: &State| {
        s.authorizer_info(Some(&ct), &req)
            .unwrap()
            .authorization_info
            .unwrap()
            .authorizer_refresh_token
    };
    assert_eq!(shown(&s), Some(refresh_token.clone()));
    assert!(s.rotate_refresh_token(OTHER_APPID, false, true));
    let rotated = shown(&s).unwrap();
    assert_ne!(rotated, refresh_token);
    refresh(&mut s, &ct, OTHER_APPID, &rotated).unwrap();
    assert!(s.rotate_refresh_token(OTHER_APPID, false, false));
    assert_eq!(shown(&s), Some(String::new()));
}

#[test]
fn pushes_issue_codes_like_the_page() {
    let mut s = platform();
    let ct = component_token(&mut s);
    let req = PreAuthCodeRequest {
        component_appid: s.config.component_appid.clone(),
    };
    let pre = s
        .create_pre_auth_code(Some(&ct), &req)
        .unwrap()
        .pre_auth_code;
    s.set_next_authorization(OTHER_APPID, vec![142]);
    let code = s
        .authorize_for_push("authorized", OTHER_APPID, Some(&pre))
        .code;
    let info = query(&mut s, &ct, &code).unwrap().authorization_info;
    assert_eq!(info.func_info.len(), 1);
    let component_appid = s.config.component_appid.clone();
    assert_eq!(
        s.authorize_page(&component_appid, &pre, None),
        Err(PageError::UsedPreAuthCode),
        "the push follows the page visit"
    );
    // Repeated pushes, even with a used code, still issue codes.
    let again = s
        .authorize_for_push("updateauthorized", OTHER_APPID, Some(&pre))
        .code;
    let info = query(&mut s, &ct, &again).unwrap().authorization_info;
    assert_eq!(info.func_info.len(), 1, "updateauthorized keeps the sets");
}

// === calls and faults ===

#[test]
fn calls_are_counted_and_faults_answer_after_counting() {
    let mut s = platform();
    s.inject_fault("/p", -1, 2);
    assert_eq!(code_of(s.enter("/p")), -1);
    assert_eq!(code_of(s.enter("/p")), -1);
    s.enter("/p").unwrap();
    s.enter("/q").unwrap();
    assert_eq!(s.call_count("/p"), 3);
    assert_eq!(s.call_count("/never"), 0);
    assert_eq!(s.call_counts().len(), 2);
    s.inject_fault("/q", 45009, 5);
    s.inject_fault("/q", 45009, 0);
    s.enter("/q").unwrap();
}

#[test]
fn delays_are_used_up_per_call_and_can_be_cleared() {
    let mut s = platform();
    let d = std::time::Duration::from_millis(250);
    s.inject_delay("/p", d, 2);
    assert_eq!(s.take_delay("/q"), None);
    assert_eq!(s.take_delay("/p"), Some(d));
    assert_eq!(s.take_delay("/p"), Some(d));
    assert_eq!(s.take_delay("/p"), None);
    s.inject_delay("/p", d, 5);
    s.inject_delay("/p", d, 0);
    assert_eq!(s.take_delay("/p"), None);
}
