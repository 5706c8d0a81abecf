//! WeChat errcodes: protocol.md §4 and §9, and the error tables of seed 004
//! (shipping-information management).
//!
//! The names are ours; the numbers and meanings are WeChat's. [`describe`]
//! gives a short English description, [`is_token_error`] the codes after
//! which a caller refreshes its access token once and retries.

// --- Platform-wide (protocol.md §4, §9) ---

/// System busy; retry with backoff.
pub const SYSTEM_ERROR: i64 = -1;
/// Invalid credential, or the access token is not the latest. From
/// `api_component_token` it means a bad secret: do not loop.
pub const INVALID_CREDENTIAL: i64 = 40001;
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
/// appsecret missing.
pub const APPSECRET_MISSING: i64 = 41004;
/// access_token expired.
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
/// Maximum call frequency reached.
pub const FREQUENCY_LIMIT: i64 = 44990;
/// Daily API quota reached; stop until reset (clear_quota).
pub const DAILY_QUOTA_REACHED: i64 = 45009;
/// Minute quota reached ("调用太频繁"); back off.
pub const MINUTE_QUOTA_REACHED: i64 = 45011;
/// The request body could not be parsed.
pub const DATA_FORMAT_ERROR: i64 = 47001;
/// API unauthorized: permission set or capability missing.
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
/// The logistics information list is longer than 10.
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
/// `upload_time` is not RFC 3339.
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

/// Every errcode named in this module.
pub const ALL: &[i64] = &[
    SYSTEM_ERROR,
    INVALID_CREDENTIAL,
    INVALID_OPENID,
    INVALID_APPID,
    INVALID_ACCESS_TOKEN,
    INVALID_CODE,
    INVALID_PARAMETER,
    INVALID_APPSECRET,
    ACCESS_TOKEN_MISSING,
    APPSECRET_MISSING,
    ACCESS_TOKEN_EXPIRED,
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
];

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
    fn token_errors_are_exactly_the_refresh_set() {
        let refresh: Vec<i64> = ALL.iter().copied().filter(|c| is_token_error(*c)).collect();
        assert_eq!(refresh, [40001, 40014, 42001]);
    }
}
