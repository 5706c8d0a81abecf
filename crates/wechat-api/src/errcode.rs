//! WeChat errcodes: protocol.md §4 and §9, the error tables of seed 004
//! (shipping-information management) and seed 000 (logistics-query plugin),
//! and those of the logistics helper (物流助手) and plugin management
//! (`/wxa/plugin`) from WeChat's documentation and staff answers (cited at
//! each).
//!
//! The names are ours; the numbers and meanings are WeChat's. [`describe`]
//! gives a short English description, [`advice`] what the caller should do
//! (the seed's "Solutions" column), [`is_token_error`] the codes after which
//! a caller refreshes its access token once and retries.

// --- Platform-wide (protocol.md §4, §9) ---

/// System busy; retry with backoff.
pub const SYSTEM_ERROR: i64 = -1;
/// Invalid credential, or the access token is not the latest. From
/// `api_component_token` it means a bad secret: do not loop.
pub const INVALID_CREDENTIAL: i64 = 40001;
/// `grant_type` is not `client_credential` (`/cgi-bin/token`,
/// `/cgi-bin/stable_token`): "invalid grant_type" in WeChat's global return codes (全局返回码, developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html; also WxJava's `WxMpErrorMsgEnum`).
pub const INVALID_GRANT_TYPE: i64 = 40002;
/// Invalid openid.
pub const INVALID_OPENID: i64 = 40003;
/// Invalid AppID.
pub const INVALID_APPID: i64 = 40013;
/// Invalid access_token.
pub const INVALID_ACCESS_TOKEN: i64 = 40014;
/// Invalid code.
pub const INVALID_CODE: i64 = 40029;
/// Invalid request parameter (e.g. AppID missing).
pub const INVALID_PARAMETER: i64 = 40097;
/// Invalid appsecret.
pub const INVALID_APPSECRET: i64 = 40125;
/// access_token missing.
pub const ACCESS_TOKEN_MISSING: i64 = 41001;
/// appid missing ("缺少appid参数", the global return codes above; "41002 |
/// appid missing | 缺少 appid 参数" in developers.weixin.qq.com/doc/oplatform/developers/errCode).
pub const APPID_MISSING: i64 = 41002;
/// appsecret missing.
pub const APPSECRET_MISSING: i64 = 41004;
/// access_token expired.
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
/// A POST without a body ("empty post data", the global return codes
/// above; WxJava's `WxMaErrorMsgEnum` too; "44002 | empty post data | POST
/// 的数据包为空" in developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html).
pub const EMPTY_POST_DATA: i64 = 44002;
/// Maximum call frequency reached.
pub const FREQUENCY_LIMIT: i64 = 44990;
/// The API needs `GET` ("require GET method", the global return codes above;
/// "43001 | require GET method | 需要 GET 请求" in developers.weixin.qq.com/doc/oplatform/developers/errCode).
pub const REQUIRE_GET_METHOD: i64 = 43001;
/// The API needs `POST` ("require POST method", the global return codes
/// above; WxJava's `WxMaErrorMsgEnum.CODE_43002`; "43002 | require POST
/// method | 需要 POST 请求" in developers.weixin.qq.com/doc/oplatform/developers/errCode).
pub const REQUIRE_POST_METHOD: i64 = 43002;
/// Daily API quota reached; stop until reset (clear_quota).
pub const DAILY_QUOTA_REACHED: i64 = 45009;
/// Minute quota reached ("调用太频繁"); back off.
pub const MINUTE_QUOTA_REACHED: i64 = 45011;
/// The request body could not be parsed.
pub const DATA_FORMAT_ERROR: i64 = 47001;
/// API unauthorized: the Mini Program itself lacks the capability (e.g. the
/// shipping-information service or the logistics-query plugin is not
/// opened for it). A permission set the account has not granted to the
/// platform is 61007 instead.
pub const API_UNAUTHORIZED: i64 = 48001;
/// The account has not authorized this platform, or revoked it.
pub const COMPONENT_NOT_AUTHORIZED: i64 = 61003;
/// The caller's IP is not on the platform's whitelist.
pub const IP_NOT_WHITELISTED: i64 = 61004;
/// component_verify_ticket expired.
pub const TICKET_EXPIRED: i64 = 61005;
/// component_verify_ticket invalid.
pub const TICKET_INVALID: i64 = 61006;
/// The API is not authorized to the platform: the account must grant the
/// permission set.
pub const API_UNAUTHORIZED_TO_COMPONENT: i64 = 61007;
/// Authorization code expired.
pub const AUTH_CODE_EXPIRED: i64 = 61010;
/// Invalid component (wrong component appid or secret).
pub const INVALID_COMPONENT: i64 = 61011;
/// The authorizer refresh_token is invalid (protocol.md §7 recovery).
pub const REFRESH_TOKEN_INVALID: i64 = 61023;
/// `/cgi-bin/token` was called with the component appid: use
/// `api_component_token`.
pub const MUST_USE_COMPONENT_TOKEN: i64 = 61024;

// --- Shipping-information management (seed 004) ---

/// The payment order does not exist.
pub const PAYMENT_ORDER_NOT_FOUND: i64 = 10060001;
/// The payment order has been shipped and cannot be shipped again.
pub const ALREADY_SHIPPED: i64 = 10060002;
/// The payment order has used its single re-shipment opportunity.
pub const RESHIPMENT_USED: i64 = 10060003;
/// The payment order cannot be shipped in its current state.
pub const NOT_SHIPPABLE: i64 = 10060004;
/// `logistics_type` is not one of the documented values.
pub const INVALID_LOGISTICS_TYPE: i64 = 10060005;
/// Split delivery is only allowed with express delivery.
pub const SPLIT_NOT_EXPRESS: i64 = 10060006;
/// `is_all_delivered` is required in split delivery mode.
pub const IS_ALL_DELIVERED_REQUIRED: i64 = 10060007;
/// `item_desc` cannot be empty.
pub const ITEM_DESC_EMPTY: i64 = 10060008;
/// `item_desc` is too long.
pub const ITEM_DESC_TOO_LONG: i64 = 10060009;
/// `last_index` is invalid (get_order_list).
pub const LAST_INDEX_INVALID: i64 = 10060011;
/// System error; retry later.
pub const SHIPPING_SYSTEM_ERROR: i64 = 10060012;
/// `sub_orders` contains duplicates (upload_combined_shipping_info).
pub const SUB_ORDER_DUPLICATE: i64 = 10060013;
/// Parameter error (the errmsg says which).
pub const PARAMETER_ERROR: i64 = 10060014;
/// System error; retry later.
pub const SHIPPING_SYSTEM_ERROR_2: i64 = 10060019;
/// This payment order cannot complete shipping without a goods description.
pub const ITEM_DESC_REQUIRED: i64 = 10060020;
/// The shipping information was not changed.
pub const SHIPPING_UNCHANGED: i64 = 10060023;
/// The logistics information list is too long: more than 15 entries
/// (WeChat's current documentation; seed 004 still says 10).
pub const SHIPPING_LIST_TOO_LONG: i64 = 10060024;
/// The logistics company code is too long.
pub const EXPRESS_COMPANY_TOO_LONG: i64 = 10060025;
/// The tracking number is too long.
pub const TRACKING_NO_TOO_LONG: i64 = 10060026;
/// The payment order is not in the shipped state (notify_confirm_receive).
pub const NOT_IN_SHIPPED_STATE: i64 = 10060028;
/// The received time is invalid: it must be after the shipping time.
pub const RECEIVED_TIME_INVALID: i64 = 10060029;
/// The confirm-receipt reminder was already used for this payment order.
pub const CONFIRM_REMINDER_USED: i64 = 10060030;
/// The payment order does not belong to the user given by openid.
pub const PAYER_MISMATCH: i64 = 10060031;
/// Confirm-receipt reminders are only allowed for express delivery.
pub const CONFIRM_ONLY_EXPRESS: i64 = 10060032;
/// `order_number_type` is not one of the documented values.
pub const INVALID_ORDER_NUMBER_TYPE: i64 = 268485194;
/// `transaction_id` cannot be empty with order_number_type 2.
pub const TRANSACTION_ID_REQUIRED: i64 = 268485195;
/// `mchid` cannot be empty with order_number_type 1.
pub const MCHID_REQUIRED: i64 = 268485196;
/// `out_trade_no` cannot be empty with order_number_type 1.
pub const OUT_TRADE_NO_REQUIRED: i64 = 268485197;
/// `upload_time` is illegal: not RFC 3339, or (for an update) not later
/// than the previous upload's (seed 004 note 4; WeChat staff, community doc
/// 00000c8377c460473f12270a966400).
pub const UPLOAD_TIME_INVALID: i64 = 268485216;
/// `delivery_mode` is not one of the documented values.
pub const INVALID_DELIVERY_MODE: i64 = 268485224;
/// `tracking_no` cannot be empty for express delivery.
pub const TRACKING_NO_REQUIRED: i64 = 268485226;
/// `express_company` cannot be empty for express delivery.
pub const EXPRESS_COMPANY_REQUIRED: i64 = 268485227;
/// Unified delivery needs exactly one logistics information entry.
pub const UNIFIED_NEEDS_ONE_ENTRY: i64 = 268485228;
/// A sub-order's order_number_type differs from the main order's
/// (upload_combined_shipping_info).
pub const SUB_ORDER_TYPE_MISMATCH: i64 = 268485253;
/// opspecialorder: `type` is not 1 (pre-sale order) or 2 (test order).
pub const SPECIAL_ORDER_TYPE_INVALID: i64 = 268546000;
/// opspecialorder: `delay_to` is missing for a pre-sale order, or not 15 to
/// 330 days after the payment.
pub const SPECIAL_ORDER_DELAY_TO_INVALID: i64 = 268546001;
/// opspecialorder: the account has no order with this `order_id`.
pub const SPECIAL_ORDER_NOT_FOUND: i64 = 268546002;

// --- Logistics-query plugin (seed 000) ---

/// `waybill_token` parameter error: not a token `trace_waybill` issued.
pub const WAYBILL_TOKEN_INVALID: i64 = 9300507;
/// Call limit reached: 100 000 calls a day per appid, 100 a day per user.
pub const LOGISTICS_QUOTA_REACHED: i64 = 9300513;
/// The access token and the openid do not match (the openid belongs to
/// another Mini Program).
pub const TOKEN_OPENID_MISMATCH: i64 = 9300534;
/// The waybill does not exist.
pub const WAYBILL_NOT_FOUND: i64 = 9300559;
/// The waybill's goods were modified the maximum number of times.
pub const WAYBILL_MODIFICATIONS_EXCEEDED: i64 = 9300560;

// --- Logistics helper (物流助手, `/cgi-bin/express/business/*`) ---

/// `waybill_id not found`: `path/get`, `order/get` or `order/cancel` for a
/// waybill the helper's `order/add` did not create (legacy cancelOrder
/// table "40199 运单 ID 不存在"; staff answers on getPath, community docs
/// 000a08ccaf41706688ddf338e58400, 00086ed4c60cc031a1de7566c5b000).
pub const WAYBILL_ID_NOT_FOUND: i64 = 40199;
/// `delivery logic fail`: the courier refused the order; its own code and
/// reason are in `delivery_resultcode` / `delivery_resultmsg`.
pub const DELIVERY_LOGIC_FAIL: i64 = 9300501;
/// The `delivery_id` is not a courier of the helper's list
/// (getAllDelivery) (legacy cancelOrder table "9300503 delivery_id不存在").
pub const DELIVERY_ID_NOT_FOUND: i64 = 9300503;
/// The waybill already has a track and can no longer be cancelled (legacy
/// cancelOrder table "9300506").
pub const WAYBILL_HAS_TRACE: i64 = 9300506;
/// `this orderid is repeated`: `order/add` with an `order_id` already used
/// for this courier (community doc 00000c29f24070553bbe4afac56c00).
pub const ORDER_ID_REPEATED: i64 = 9300522;
/// Cancelling failed, usually because the waybill is already cancelled
/// (legacy cancelOrder table "9300524 取消订单失败(一般为重复取消订单)").
pub const CANCEL_FAILED: i64 = 9300524;

// --- Plugin management (`/wxa/plugin`, permission set 40) ---

/// The plugin cannot be applied for.
pub const PLUGIN_CANNOT_APPLY: i64 = 89236;
/// The plugin has already been added.
pub const PLUGIN_ALREADY_ADDED: i64 = 89237;
/// The plugins applied for or in use have reached the limit.
pub const PLUGIN_LIMIT_REACHED: i64 = 89238;
/// The plugin does not exist.
pub const PLUGIN_NOT_FOUND: i64 = 89239;
/// No plugin has this appid.
pub const PLUGIN_APPID_NOT_FOUND: i64 = 89044;

/// Every errcode named in this module.
pub const ALL: &[i64] = &[
    SYSTEM_ERROR,
    INVALID_CREDENTIAL,
    INVALID_GRANT_TYPE,
    INVALID_OPENID,
    INVALID_APPID,
    INVALID_ACCESS_TOKEN,
    INVALID_CODE,
    INVALID_PARAMETER,
    INVALID_APPSECRET,
    ACCESS_TOKEN_MISSING,
    APPID_MISSING,
    APPSECRET_MISSING,
    ACCESS_TOKEN_EXPIRED,
    EMPTY_POST_DATA,
    REQUIRE_GET_METHOD,
    REQUIRE_POST_METHOD,
    FREQUENCY_LIMIT,
    DAILY_QUOTA_REACHED,
    MINUTE_QUOTA_REACHED,
    DATA_FORMAT_ERROR,
    API_UNAUTHORIZED,
    COMPONENT_NOT_AUTHORIZED,
    IP_NOT_WHITELISTED,
    TICKET_EXPIRED,
    TICKET_INVALID,
    API_UNAUTHORIZED_TO_COMPONENT,
    AUTH_CODE_EXPIRED,
    INVALID_COMPONENT,
    REFRESH_TOKEN_INVALID,
    MUST_USE_COMPONENT_TOKEN,
    PAYMENT_ORDER_NOT_FOUND,
    ALREADY_SHIPPED,
    RESHIPMENT_USED,
    NOT_SHIPPABLE,
    INVALID_LOGISTICS_TYPE,
    SPLIT_NOT_EXPRESS,
    IS_ALL_DELIVERED_REQUIRED,
    ITEM_DESC_EMPTY,
    ITEM_DESC_TOO_LONG,
    LAST_INDEX_INVALID,
    SHIPPING_SYSTEM_ERROR,
    SUB_ORDER_DUPLICATE,
    PARAMETER_ERROR,
    SHIPPING_SYSTEM_ERROR_2,
    ITEM_DESC_REQUIRED,
    SHIPPING_UNCHANGED,
    SHIPPING_LIST_TOO_LONG,
    EXPRESS_COMPANY_TOO_LONG,
    TRACKING_NO_TOO_LONG,
    NOT_IN_SHIPPED_STATE,
    RECEIVED_TIME_INVALID,
    CONFIRM_REMINDER_USED,
    PAYER_MISMATCH,
    CONFIRM_ONLY_EXPRESS,
    INVALID_ORDER_NUMBER_TYPE,
    TRANSACTION_ID_REQUIRED,
    MCHID_REQUIRED,
    OUT_TRADE_NO_REQUIRED,
    UPLOAD_TIME_INVALID,
    INVALID_DELIVERY_MODE,
    TRACKING_NO_REQUIRED,
    EXPRESS_COMPANY_REQUIRED,
    UNIFIED_NEEDS_ONE_ENTRY,
    SUB_ORDER_TYPE_MISMATCH,
    SPECIAL_ORDER_TYPE_INVALID,
    SPECIAL_ORDER_DELAY_TO_INVALID,
    SPECIAL_ORDER_NOT_FOUND,
    WAYBILL_TOKEN_INVALID,
    LOGISTICS_QUOTA_REACHED,
    TOKEN_OPENID_MISMATCH,
    WAYBILL_NOT_FOUND,
    WAYBILL_MODIFICATIONS_EXCEEDED,
    WAYBILL_ID_NOT_FOUND,
    DELIVERY_LOGIC_FAIL,
    DELIVERY_ID_NOT_FOUND,
    WAYBILL_HAS_TRACE,
    ORDER_ID_REPEATED,
    CANCEL_FAILED,
    PLUGIN_CANNOT_APPLY,
    PLUGIN_ALREADY_ADDED,
    PLUGIN_LIMIT_REACHED,
    PLUGIN_NOT_FOUND,
    PLUGIN_APPID_NOT_FOUND,
];

/// A short English description of an errcode, when known.
pub fn describe(code: i64) -> Option<&'static str> {
    Some(match code {
        SYSTEM_ERROR => "system error; retry later",
        INVALID_CREDENTIAL => "invalid credential or access_token not the latest",
        INVALID_GRANT_TYPE => "invalid grant_type",
        INVALID_OPENID => "invalid openid",
        INVALID_APPID => "invalid appid",
        INVALID_ACCESS_TOKEN => "invalid access_token",
        INVALID_CODE => "invalid code",
        INVALID_PARAMETER => "invalid request parameter",
        INVALID_APPSECRET => "invalid appsecret",
        ACCESS_TOKEN_MISSING => "access_token missing",
        APPID_MISSING => "appid missing",
        APPSECRET_MISSING => "appsecret missing",
        ACCESS_TOKEN_EXPIRED => "access_token expired",
        EMPTY_POST_DATA => "empty post data",
        REQUIRE_GET_METHOD => "require GET method",
        REQUIRE_POST_METHOD => "require POST method",
        FREQUENCY_LIMIT => "frequency limit reached; retry later",
        DAILY_QUOTA_REACHED => "daily API quota reached",
        MINUTE_QUOTA_REACHED => "API called too often; back off",
        DATA_FORMAT_ERROR => "request body could not be parsed",
        API_UNAUTHORIZED => {
            "API unauthorized: the Mini Program has not opened this capability (service or plugin)"
        }
        COMPONENT_NOT_AUTHORIZED => "the account has not authorized this platform (or revoked it)",
        IP_NOT_WHITELISTED => "caller IP is not on the platform's whitelist",
        TICKET_EXPIRED => "component_verify_ticket expired",
        TICKET_INVALID => "component_verify_ticket invalid",
        API_UNAUTHORIZED_TO_COMPONENT => {
            "API not authorized to the platform; the account must grant the permission set"
        }
        AUTH_CODE_EXPIRED => "authorization code expired",
        INVALID_COMPONENT => "invalid component (appid or secret)",
        REFRESH_TOKEN_INVALID => "authorizer refresh_token invalid",
        MUST_USE_COMPONENT_TOKEN => "a component appid must use api_component_token",
        PAYMENT_ORDER_NOT_FOUND => "payment order does not exist",
        ALREADY_SHIPPED => "payment order already shipped",
        RESHIPMENT_USED => "payment order has used its single re-shipment",
        NOT_SHIPPABLE => "payment order cannot be shipped in its current state",
        INVALID_LOGISTICS_TYPE => "invalid logistics_type",
        SPLIT_NOT_EXPRESS => "split delivery is only allowed with express (logistics_type 1)",
        IS_ALL_DELIVERED_REQUIRED => "is_all_delivered is required for split delivery",
        ITEM_DESC_EMPTY => "item_desc must not be empty",
        ITEM_DESC_TOO_LONG => "item_desc is too long (at most 120 characters)",
        LAST_INDEX_INVALID => "last_index is invalid",
        SHIPPING_SYSTEM_ERROR | SHIPPING_SYSTEM_ERROR_2 => "system error; retry later",
        SUB_ORDER_DUPLICATE => "sub_orders contain duplicates",
        PARAMETER_ERROR => "parameter error",
        ITEM_DESC_REQUIRED => "this payment order needs an item description",
        SHIPPING_UNCHANGED => "shipping information unchanged",
        SHIPPING_LIST_TOO_LONG => "shipping_list has more than 15 entries",
        EXPRESS_COMPANY_TOO_LONG => "express_company is too long",
        TRACKING_NO_TOO_LONG => "tracking_no is too long",
        NOT_IN_SHIPPED_STATE => "payment order is not in shipped state",
        RECEIVED_TIME_INVALID => "received_time is invalid (must be after shipping)",
        CONFIRM_REMINDER_USED => "the confirm-receipt reminder was already used",
        PAYER_MISMATCH => "payment order does not belong to this openid",
        CONFIRM_ONLY_EXPRESS => "confirm-receipt reminders need express shipping",
        INVALID_ORDER_NUMBER_TYPE => "invalid order_number_type",
        TRANSACTION_ID_REQUIRED => "transaction_id is required for order_number_type 2",
        MCHID_REQUIRED => "mchid is required for order_number_type 1",
        OUT_TRADE_NO_REQUIRED => "out_trade_no is required for order_number_type 1",
        UPLOAD_TIME_INVALID => {
            "upload_time is illegal: not RFC 3339, or not later than the previous upload's"
        }
        INVALID_DELIVERY_MODE => "invalid delivery_mode",
        TRACKING_NO_REQUIRED => "tracking_no is required for express shipping",
        EXPRESS_COMPANY_REQUIRED => "express_company is required for express shipping",
        UNIFIED_NEEDS_ONE_ENTRY => "unified delivery needs exactly one shipping_list entry",
        SUB_ORDER_TYPE_MISMATCH => "sub-order order_number_type differs from the main order",
        SPECIAL_ORDER_TYPE_INVALID => "invalid special-order type (1 pre-sale, 2 test order)",
        SPECIAL_ORDER_DELAY_TO_INVALID => {
            "invalid delay_to (pre-sale orders ship 15 to 330 days after payment)"
        }
        SPECIAL_ORDER_NOT_FOUND => "the account has no order with this order_id",
        WAYBILL_TOKEN_INVALID => "invalid waybill_token",
        LOGISTICS_QUOTA_REACHED => "logistics-query call limit reached",
        TOKEN_OPENID_MISMATCH => "access_token and openid do not match",
        WAYBILL_NOT_FOUND => "the waybill does not exist",
        WAYBILL_MODIFICATIONS_EXCEEDED => "the waybill was modified the maximum number of times",
        WAYBILL_ID_NOT_FOUND => "waybill_id not found",
        DELIVERY_LOGIC_FAIL => "the courier refused the order (see delivery_resultcode)",
        DELIVERY_ID_NOT_FOUND => "delivery_id is not a courier of the logistics helper",
        WAYBILL_HAS_TRACE => "the waybill already has a track and cannot be cancelled",
        ORDER_ID_REPEATED => "this order_id was already used",
        CANCEL_FAILED => "cancelling failed (usually the waybill was already cancelled)",
        PLUGIN_CANNOT_APPLY => "this plugin cannot be applied for",
        PLUGIN_ALREADY_ADDED => "the plugin has already been added",
        PLUGIN_LIMIT_REACHED => "the plugins applied for or in use have reached the limit",
        PLUGIN_NOT_FOUND | PLUGIN_APPID_NOT_FOUND => "the plugin does not exist",
        _ => return None,
    })
}

/// What the caller should do about an errcode, in plain English: the
/// "Solutions" column of seed 004's error tables (where one API's table words
/// it differently, the advice covers both), and for the logistics-query
/// plugin, whose table in seed 000 has no such column, the evident remedy.
/// `None` for codes no seed gives a remedy for.
pub fn advice(code: i64) -> Option<&'static str> {
    Some(match code {
        SYSTEM_ERROR | SHIPPING_SYSTEM_ERROR | SHIPPING_SYSTEM_ERROR_2 | FREQUENCY_LIMIT => {
            "WeChat is busy: try again in a few minutes."
        }
        COMPONENT_NOT_AUTHORIZED => {
            "Check that the Mini Program has authorized permission set 18 or 142 to the platform."
        }
        IP_NOT_WHITELISTED => "Check that the caller's IP is on the platform's IP whitelist.",
        API_UNAUTHORIZED_TO_COMPONENT => {
            "The Mini Program has not granted the platform the permission set this API needs: its administrator must authorize the platform again and tick that set (e.g. 142 for shipping, 45 for logistics)."
        }
        API_UNAUTHORIZED => {
            "The Mini Program itself has not opened this capability: its administrator must open it in the Mini Program's admin console (e.g. the shipping-information management service) or apply for the plugin (e.g. the logistics-query plugin via /wxa/plugin); re-authorizing the platform does not help."
        }
        INVALID_COMPONENT => "Check the access_token for errors.",
        INVALID_APPID => "Check the AppID for errors.",
        INVALID_PARAMETER => {
            "Check that the request is complete: the AppID (or the field named in errmsg) must be filled in."
        }
        PAYMENT_ORDER_NOT_FOUND => {
            "Check the order's identity: transaction_id for WeChat Pay order numbers, or mchid and out_trade_no (merchant_id and merchant_trade_no) for merchant order numbers."
        }
        ALREADY_SHIPPED => "Check the shipping status of the payment order.",
        RESHIPMENT_USED => {
            "Uploading again for a shipped order counts as a re-shipment and only one is allowed: check the order's shipping status before uploading."
        }
        NOT_SHIPPABLE => "Check the status of the payment order.",
        INVALID_LOGISTICS_TYPE => {
            "Set logistics_type to one of the documented values: 1 express, 2 same-city delivery, 3 virtual goods, 4 self-pickup."
        }
        SPLIT_NOT_EXPRESS => {
            "Split delivery is only allowed for express delivery (logistics_type 1): check the request."
        }
        IS_ALL_DELIVERED_REQUIRED => "Set is_all_delivered (true or false) for split delivery.",
        ITEM_DESC_EMPTY => "Fill in item_desc: the goods description cannot be empty.",
        ITEM_DESC_TOO_LONG => "Shorten item_desc to at most 120 characters.",
        LAST_INDEX_INVALID => {
            "Check last_index: pass back exactly the value the previous page returned."
        }
        SUB_ORDER_DUPLICATE => "Remove the duplicate orders from sub_orders.",
        PARAMETER_ERROR => {
            "Fix the parameter errmsg names; order lookups need transaction_id, or both merchant_id and merchant_trade_no."
        }
        ITEM_DESC_REQUIRED => "Add a goods description (item_desc).",
        SHIPPING_UNCHANGED => {
            "Nothing to do: the order's shipping information is already what was sent."
        }
        SHIPPING_LIST_TOO_LONG => "Send at most 15 shipping_list entries.",
        EXPRESS_COMPANY_TOO_LONG => {
            "Check express_company: use a courier id from get_delivery_list (at most 128 bytes)."
        }
        TRACKING_NO_TOO_LONG => "Check the tracking number (at most 128 bytes).",
        NOT_IN_SHIPPED_STATE => "Check the status of the payment order: it must have shipped.",
        RECEIVED_TIME_INVALID => "Set received_time to a time after the shipping time.",
        CONFIRM_REMINDER_USED => {
            "Do not remind again: each order gets one confirm-receipt reminder."
        }
        PAYER_MISMATCH => "Check whether the payment order number or the openid is wrong.",
        CONFIRM_ONLY_EXPRESS => {
            "Check the order's logistics_type: only express shipments (1) can be reminded."
        }
        INVALID_ORDER_NUMBER_TYPE => {
            "Set order_number_type to 1 (merchant order number) or 2 (WeChat Pay order number)."
        }
        TRANSACTION_ID_REQUIRED => "Set transaction_id when order_number_type is 2.",
        MCHID_REQUIRED => "Set mchid when order_number_type is 1.",
        OUT_TRADE_NO_REQUIRED => "Set out_trade_no when order_number_type is 1.",
        UPLOAD_TIME_INVALID => {
            "Send upload_time in RFC 3339 format, e.g. 2022-12-15T13:29:35.120+08:00, and for an update a time later than the previous upload's (use the current time)."
        }
        INVALID_DELIVERY_MODE => "Set delivery_mode to 1 (unified delivery) or 2 (split delivery).",
        TRACKING_NO_REQUIRED => "Fill in tracking_no for express shipments.",
        EXPRESS_COMPANY_REQUIRED => "Fill in express_company for express shipments.",
        UNIFIED_NEEDS_ONE_ENTRY => {
            "Send exactly one shipping_list entry for unified delivery, or use split delivery (2)."
        }
        SUB_ORDER_TYPE_MISMATCH => {
            "Give every sub-order the same order_number_type as the main order."
        }
        SPECIAL_ORDER_TYPE_INVALID => "Check type: 1 for a pre-sale order, 2 for a test order.",
        SPECIAL_ORDER_DELAY_TO_INVALID => {
            "Check delay_to: required for pre-sale orders, 15 to 330 days after the payment time."
        }
        SPECIAL_ORDER_NOT_FOUND => "Check the order number for errors.",
        WAYBILL_TOKEN_INVALID => "Use a waybill_token that trace_waybill returned.",
        LOGISTICS_QUOTA_REACHED => {
            "Wait until the next day (Asia/Shanghai): at most 100 000 calls a day per appid and 100 per user."
        }
        TOKEN_OPENID_MISMATCH => "Use the openid the user has under this Mini Program.",
        WAYBILL_NOT_FOUND => "Check the waybill: call trace_waybill for it first.",
        WAYBILL_MODIFICATIONS_EXCEEDED => {
            "Stop updating this waybill's goods: it has reached the modification limit."
        }
        INVALID_OPENID => "Check the openid: it must be the user's openid under this Mini Program.",
        WAYBILL_ID_NOT_FOUND => {
            "Check order_id, delivery_id and waybill_id: they must name a waybill the logistics helper's order/add created (waybills registered with trace_waybill are the query plugin's, read them with query_trace)."
        }
        DELIVERY_LOGIC_FAIL => {
            "Read delivery_resultcode and delivery_resultmsg: the courier says what to fix."
        }
        DELIVERY_ID_NOT_FOUND => "Use a delivery_id from the logistics helper's delivery/getall.",
        WAYBILL_HAS_TRACE => {
            "The courier has already collected the parcel: it can no longer be cancelled."
        }
        ORDER_ID_REPEATED => {
            "Use a new order_id, or read the existing waybill with order/get instead of creating it again."
        }
        CANCEL_FAILED => "Check the waybill with order/get: it is probably already cancelled.",
        _ => return None,
    })
}

/// Errcodes meaning "this access token is not (or no longer) valid": refresh
/// once and retry (protocol.md §9; WxJava `ACCESS_TOKEN_ERROR_CODES`).
pub fn is_token_error(code: i64) -> bool {
    matches!(
        code,
        INVALID_CREDENTIAL | INVALID_ACCESS_TOKEN | ACCESS_TOKEN_EXPIRED
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_is_described_once() {
        for code in ALL {
            assert!(describe(*code).is_some(), "{code} has no description");
        }
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len(), "a code is listed twice");
        assert_eq!(describe(12345), None);
    }

    #[test]
    fn seed_numbers() {
        assert_eq!(PAYMENT_ORDER_NOT_FOUND, 10060001);
        assert_eq!(ALREADY_SHIPPED, 10060002);
        assert_eq!(RESHIPMENT_USED, 10060003);
        assert_eq!(PARAMETER_ERROR, 10060014);
        assert_eq!(INVALID_ORDER_NUMBER_TYPE, 268485194);
        assert_eq!(UNIFIED_NEEDS_ONE_ENTRY, 268485228);
    }

    #[test]
    fn every_seed_code_has_advice() {
        // Every code in the error tables of seeds 000 and 004.
        let seed_codes = [
            -1, 10060001, 10060002, 10060003, 10060004, 10060005, 10060006, 10060007, 10060008,
            10060009, 10060011, 10060012, 10060013, 10060014, 10060019, 10060020, 10060023,
            10060024, 10060025, 10060026, 10060028, 10060029, 10060030, 10060031, 10060032,
            268485216, 268485224, 268485253, 268485195, 268485196, 268485197, 268485194, 268485228,
            268485226, 268485227, 61003, 61004, 61011, 40013, 40097, 44990, 268546000, 268546001,
            268546002, 9300560, 40003, 9300534, 9300513, 9300507, 9300559,
        ];
        for code in seed_codes {
            assert!(ALL.contains(&code), "{code} is not named");
            let advice = advice(code).unwrap_or_else(|| panic!("{code} has no advice"));
            assert!(advice.ends_with('.'), "{code}: {advice}");
        }
        assert_eq!(advice(INVALID_ACCESS_TOKEN), None);
        assert_eq!(advice(12345), None);
    }

    /// A set the account did not grant (61007) and a capability the Mini
    /// Program has not opened (48001) need different people to act:
    /// re-authorizing fixes the first only.
    #[test]
    fn missing_set_and_missing_capability_get_different_advice() {
        assert_eq!(API_UNAUTHORIZED_TO_COMPONENT, 61007);
        let set = advice(API_UNAUTHORIZED_TO_COMPONENT).expect("61007 has advice");
        let capability = advice(API_UNAUTHORIZED).expect("48001 has advice");
        assert!(set.contains("authorize"), "{set}");
        assert!(set.contains("permission set"), "{set}");
        assert!(capability.contains("open"), "{capability}");
        assert!(capability.contains("does not help"), "{capability}");
        assert_ne!(
            describe(API_UNAUTHORIZED),
            describe(API_UNAUTHORIZED_TO_COMPONENT)
        );
    }

    #[test]
    fn new_seed_numbers() {
        assert_eq!(WAYBILL_MODIFICATIONS_EXCEEDED, 9300560);
        assert_eq!(TOKEN_OPENID_MISMATCH, 9300534);
        assert_eq!(LOGISTICS_QUOTA_REACHED, 9300513);
        assert_eq!(WAYBILL_TOKEN_INVALID, 9300507);
        assert_eq!(WAYBILL_NOT_FOUND, 9300559);
        assert_eq!(SPECIAL_ORDER_TYPE_INVALID, 268546000);
        assert_eq!(SPECIAL_ORDER_DELAY_TO_INVALID, 268546001);
        assert_eq!(SPECIAL_ORDER_NOT_FOUND, 268546002);
    }

    #[test]
    fn token_errors_are_exactly_the_refresh_set() {
        let refresh: Vec<i64> = ALL.iter().copied().filter(|c| is_token_error(*c)).collect();
        assert_eq!(refresh, [40001, 40014, 42001]);
    }
}
