//! WeChat errcodes (protocol.md §9 and the seed documents' tables).

pub const SYSTEM_ERROR: i64 = -1;
pub const INVALID_CREDENTIAL: i64 = 40001;
pub const INVALID_OPENID: i64 = 40003;
pub const INVALID_APPID: i64 = 40013;
pub const INVALID_ACCESS_TOKEN: i64 = 40014;
pub const INVALID_CODE: i64 = 40029;
pub const INVALID_PARAMETER: i64 = 40097;
pub const INVALID_APPSECRET: i64 = 40125;
pub const ACCESS_TOKEN_MISSING: i64 = 41001;
pub const APPSECRET_MISSING: i64 = 41004;
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
pub const FREQUENCY_LIMIT: i64 = 44990;
pub const DAILY_QUOTA_REACHED: i64 = 45009;
pub const MINUTE_QUOTA_REACHED: i64 = 45011;
pub const DATA_FORMAT_ERROR: i64 = 47001;
pub const API_UNAUTHORIZED: i64 = 48001;
pub const COMPONENT_NOT_AUTHORIZED: i64 = 61003;
pub const IP_NOT_WHITELISTED: i64 = 61004;
pub const TICKET_EXPIRED: i64 = 61005;
pub const TICKET_INVALID: i64 = 61006;
pub const API_UNAUTHORIZED_TO_COMPONENT: i64 = 61007;
pub const AUTH_CODE_EXPIRED: i64 = 61010;
pub const INVALID_COMPONENT: i64 = 61011;
pub const REFRESH_TOKEN_INVALID: i64 = 61023;

// Shipping-information management (seed 004).
pub const PAYMENT_ORDER_NOT_FOUND: i64 = 10060001;
pub const ALREADY_SHIPPED: i64 = 10060002;
pub const RESHIPMENT_USED: i64 = 10060003;
pub const NOT_SHIPPABLE: i64 = 10060004;
pub const INVALID_LOGISTICS_TYPE: i64 = 10060005;
pub const SPLIT_NOT_EXPRESS: i64 = 10060006;
pub const IS_ALL_DELIVERED_REQUIRED: i64 = 10060007;
pub const ITEM_DESC_EMPTY: i64 = 10060008;
pub const ITEM_DESC_TOO_LONG: i64 = 10060009;
pub const LAST_INDEX_INVALID: i64 = 10060011;
pub const SHIPPING_SYSTEM_ERROR: i64 = 10060012;
pub const SUB_ORDER_DUPLICATE: i64 = 10060013;
pub const PARAMETER_ERROR: i64 = 10060014;
pub const SHIPPING_SYSTEM_ERROR_2: i64 = 10060019;
pub const ITEM_DESC_REQUIRED: i64 = 10060020;
pub const SHIPPING_UNCHANGED: i64 = 10060023;
pub const SHIPPING_LIST_TOO_LONG: i64 = 10060024;
pub const EXPRESS_COMPANY_TOO_LONG: i64 = 10060025;
pub const TRACKING_NO_TOO_LONG: i64 = 10060026;
pub const NOT_IN_SHIPPED_STATE: i64 = 10060028;
pub const RECEIVED_TIME_INVALID: i64 = 10060029;
pub const CONFIRM_REMINDER_USED: i64 = 10060030;
pub const PAYER_MISMATCH: i64 = 10060031;
pub const CONFIRM_ONLY_EXPRESS: i64 = 10060032;
pub const INVALID_ORDER_NUMBER_TYPE: i64 = 268485194;
pub const TRANSACTION_ID_REQUIRED: i64 = 268485195;
pub const MCHID_REQUIRED: i64 = 268485196;
pub const OUT_TRADE_NO_REQUIRED: i64 = 268485197;
pub const UPLOAD_TIME_INVALID: i64 = 268485216;
pub const INVALID_DELIVERY_MODE: i64 = 268485224;
pub const TRACKING_NO_REQUIRED: i64 = 268485226;
pub const EXPRESS_COMPANY_REQUIRED: i64 = 268485227;
pub const UNIFIED_NEEDS_ONE_ENTRY: i64 = 268485228;
pub const SUB_ORDER_TYPE_MISMATCH: i64 = 268485253;

/// A short English description of an errcode, when known.
pub fn describe(code: i64) -> Option<&'static str> {
    Some(match code {
        SYSTEM_ERROR => "system error; retry later",
        INVALID_CREDENTIAL => "invalid credential or access_token not the latest",
        INVALID_OPENID => "invalid openid",
        INVALID_APPID => "invalid appid",
        INVALID_ACCESS_TOKEN => "invalid access_token",
        INVALID_CODE => "invalid code",
        INVALID_PARAMETER => "invalid request parameter",
        INVALID_APPSECRET => "invalid appsecret",
        ACCESS_TOKEN_MISSING => "access_token missing",
        APPSECRET_MISSING => "appsecret missing",
        ACCESS_TOKEN_EXPIRED => "access_token expired",
        FREQUENCY_LIMIT => "frequency limit reached; retry later",
        DAILY_QUOTA_REACHED => "daily API quota reached",
        MINUTE_QUOTA_REACHED => "API called too often; back off",
        DATA_FORMAT_ERROR => "request body could not be parsed",
        API_UNAUTHORIZED => "API unauthorized (permission set or capability missing)",
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
        SHIPPING_LIST_TOO_LONG => "shipping_list has more than 10 entries",
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
        UPLOAD_TIME_INVALID => "upload_time must be RFC 3339",
        INVALID_DELIVERY_MODE => "invalid delivery_mode",
        TRACKING_NO_REQUIRED => "tracking_no is required for express shipping",
        EXPRESS_COMPANY_REQUIRED => "express_company is required for express shipping",
        UNIFIED_NEEDS_ONE_ENTRY => "unified delivery needs exactly one shipping_list entry",
        SUB_ORDER_TYPE_MISMATCH => "sub-order order_number_type differs from the main order",
        _ => return None,
    })
}

/// Errcodes meaning "this access token is not (or no longer) valid": refresh
/// once and retry (WxJava `ACCESS_TOKEN_ERROR_CODES`).
pub fn is_token_error(code: i64) -> bool {
    matches!(
        code,
        INVALID_CREDENTIAL | INVALID_ACCESS_TOKEN | ACCESS_TOKEN_EXPIRED
    )
}
