//! The proxied WeChat APIs as data: path, HTTP method, rate-limit group,
//! whether the call writes (never retried blindly) and where its user
//! (openid) is in the body.
use ratelimit::ApiGroup;
use serde_json::Value;
use wechat_api::paths;

/// Whether an API changes state at WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// Safe to retry after `-1`, a busy code or a timeout.
    Read,
    /// Never retried blindly (a payment order has one re-shipment chance);
    /// accepts `Idempotency-Key`.
    Write,
}

/// Where a body names the user it is about, for per-user limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    None,
    /// `openid` at the top level.
    Openid,
    /// `payer.openid`.
    PayerOpenid,
}

impl UserField {
    pub fn openid(self, body: &Value) -> Option<&str> {
        let value = match self {
            UserField::None => return None,
            UserField::Openid => body.get("openid"),
            UserField::PayerOpenid => body.get("payer").and_then(|p| p.get("openid")),
        };
        value.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

/// How WeChat's API is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatMethod {
    /// `POST` with a JSON body (almost every API).
    Post,
    /// `GET` without a body (e.g. the logistics helper's two lists).
    Get,
}

#[derive(Debug, Clone, Copy)]
pub struct WechatApi {
    /// Our operationId (what the call log names it by); the raw
    /// passthrough's unknown APIs have none.
    pub operation: &'static str,
    /// WeChat's path, also the suffix of ours under `/v1/apps/{appid}`.
    pub path: &'static str,
    pub group: ApiGroup,
    pub safety: Safety,
    pub user: UserField,
    pub method: WechatMethod,
}

/// A `POST` API.
const fn api(
    operation: &'static str,
    path: &'static str,
    group: ApiGroup,
    safety: Safety,
    user: UserField,
) -> WechatApi {
    WechatApi {
        operation,
        path,
        group,
        safety,
        user,
        method: WechatMethod::Post,
    }
}

/// A `GET` API: a read without a body, so without a user.
const fn get_api(operation: &'static str, path: &'static str, group: ApiGroup) -> WechatApi {
    WechatApi {
        method: WechatMethod::Get,
        ..api(operation, path, group, Read, UserField::None)
    }
}

use ApiGroup::{LogisticsHelper, LogisticsPlugin, Raw, Shipping};
use Safety::{Read, Write};

pub const UPLOAD_SHIPPING_INFO: WechatApi = api(
    "upload_shipping_info",
    paths::UPLOAD_SHIPPING_INFO,
    Shipping,
    Write,
    UserField::PayerOpenid,
);
pub const UPLOAD_COMBINED_SHIPPING_INFO: WechatApi = api(
    "upload_combined_shipping_info",
    paths::UPLOAD_COMBINED_SHIPPING_INFO,
    Shipping,
    Write,
    UserField::PayerOpenid,
);
pub const GET_ORDER: WechatApi = api(
    "get_order",
    paths::GET_ORDER,
    Shipping,
    Read,
    UserField::None,
);
pub const GET_ORDER_LIST: WechatApi = api(
    "get_order_list",
    paths::GET_ORDER_LIST,
    Shipping,
    Read,
    UserField::Openid,
);
pub const NOTIFY_CONFIRM_RECEIVE: WechatApi = api(
    "notify_confirm_receive",
    paths::NOTIFY_CONFIRM_RECEIVE,
    Shipping,
    Write,
    UserField::None,
);
pub const SET_MSG_JUMP_PATH: WechatApi = api(
    "set_msg_jump_path",
    paths::SET_MSG_JUMP_PATH,
    Shipping,
    Write,
    UserField::None,
);
pub const IS_TRADE_MANAGED: WechatApi = api(
    "is_trade_managed",
    paths::IS_TRADE_MANAGED,
    Shipping,
    Read,
    UserField::None,
);
pub const IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED: WechatApi = api(
    "is_trade_management_confirmation_completed",
    paths::IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    Shipping,
    Read,
    UserField::None,
);
pub const OPSPECIALORDER: WechatApi = api(
    "opspecialorder",
    paths::OP_SPECIAL_ORDER,
    Shipping,
    Write,
    UserField::None,
);
pub const TRACE_WAYBILL: WechatApi = api(
    "trace_waybill",
    paths::TRACE_WAYBILL,
    LogisticsPlugin,
    Write,
    UserField::Openid,
);
pub const QUERY_TRACE: WechatApi = api(
    "query_trace",
    paths::QUERY_TRACE,
    LogisticsPlugin,
    Read,
    UserField::Openid,
);
/// The couriers of the logistics query and the shipping information
/// (`express_company`): `POST {}`. Documented on the logistics-query page,
/// so it counts with the plugin's calls.
pub const GET_DELIVERY_LIST: WechatApi = api(
    "get_delivery_list",
    paths::GET_DELIVERY_LIST,
    LogisticsPlugin,
    Read,
    UserField::None,
);
pub const UPDATE_WAYBILL_GOODS: WechatApi = api(
    "update_waybill_goods",
    paths::UPDATE_WAYBILL_GOODS,
    LogisticsPlugin,
    Write,
    UserField::Openid,
);
pub const GET_PATH: WechatApi = api(
    "get_path",
    paths::GET_PATH,
    LogisticsHelper,
    Read,
    UserField::Openid,
);
pub const GET_WAYBILL_ORDER: WechatApi = api(
    "get_waybill_order",
    paths::GET_WAYBILL_ORDER,
    LogisticsHelper,
    Read,
    UserField::Openid,
);
/// Creates a waybill: a write (never retried blindly; `Idempotency-Key`).
pub const ADD_WAYBILL_ORDER: WechatApi = api(
    "add_waybill_order",
    paths::ADD_WAYBILL_ORDER,
    LogisticsHelper,
    Write,
    UserField::Openid,
);
pub const CANCEL_WAYBILL_ORDER: WechatApi = api(
    "cancel_waybill_order",
    paths::CANCEL_WAYBILL_ORDER,
    LogisticsHelper,
    Write,
    UserField::Openid,
);
pub const BATCHGET_WAYBILL_ORDER: WechatApi = api(
    "batch_get_waybill_orders",
    paths::BATCHGET_WAYBILL_ORDER,
    LogisticsHelper,
    Read,
    UserField::None,
);
pub const ACCOUNT_GETALL: WechatApi = get_api(
    "list_logistics_accounts",
    paths::ACCOUNT_GETALL,
    LogisticsHelper,
);
pub const DELIVERY_GETALL: WechatApi = get_api(
    "list_logistics_deliveries",
    paths::DELIVERY_GETALL,
    LogisticsHelper,
);
/// Plugin management (applying for the logistics-query plugin). WeChat
/// publishes no limits for it, so it shares the operator-set limits of the
/// `raw` group rather than spending the plugin's own quota.
pub const MANAGE_PLUGIN: WechatApi = api(
    "manage_plugin",
    paths::MANAGE_PLUGIN,
    Raw,
    Write,
    UserField::None,
);

/// Every typed API.
pub const ALL: &[WechatApi] = &[
    UPLOAD_SHIPPING_INFO,
    UPLOAD_COMBINED_SHIPPING_INFO,
    GET_ORDER,
    GET_ORDER_LIST,
    NOTIFY_CONFIRM_RECEIVE,
    SET_MSG_JUMP_PATH,
    IS_TRADE_MANAGED,
    IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    OPSPECIALORDER,
    TRACE_WAYBILL,
    QUERY_TRACE,
    GET_DELIVERY_LIST,
    UPDATE_WAYBILL_GOODS,
    GET_PATH,
    GET_WAYBILL_ORDER,
    ADD_WAYBILL_ORDER,
    CANCEL_WAYBILL_ORDER,
    BATCHGET_WAYBILL_ORDER,
    ACCOUNT_GETALL,
    DELIVERY_GETALL,
    MANAGE_PLUGIN,
];

/// The entry for a call through the raw passthrough to `path`: the typed
/// API's own when `path` is one (same group and limits, so the passthrough
/// cannot dodge them), else an unknown API in the `raw` group, treated as a
/// write (never retried blindly) whose user is the body's `openid`. Case is
/// ignored, as in the permission map.
pub fn for_raw_path(path: &str) -> WechatApi {
    ALL.iter()
        .find(|a| a.path.eq_ignore_ascii_case(path))
        .copied()
        .unwrap_or(api("", "", ApiGroup::Raw, Write, UserField::Openid))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operation each entry is logged under is the operationId its
    /// route has in the spec.
    #[test]
    fn operations_are_the_routes_operation_ids() {
        let spec: serde_json::Value = serde_json::from_str(
            &poem_openapi::OpenApiService::new(crate::proxy_api(), "t", "1").spec(),
        )
        .unwrap();
        for api in ALL {
            let route = &spec["paths"][format!("/v1/apps/{{appid}}{}", api.path)];
            let method = match api.method {
                WechatMethod::Get => "get",
                WechatMethod::Post => "post",
            };
            assert_eq!(
                route[method]["operationId"].as_str(),
                Some(api.operation),
                "{}",
                api.path
            );
        }
    }

    /// The logistics helper's APIs are one rate-limit group; its writes are
    /// never retried blindly; its two lists are WeChat GETs.
    #[test]
    fn the_helper_is_one_group_with_writes_and_gets() {
        for helper in [
            GET_PATH,
            GET_WAYBILL_ORDER,
            ADD_WAYBILL_ORDER,
            CANCEL_WAYBILL_ORDER,
            BATCHGET_WAYBILL_ORDER,
            ACCOUNT_GETALL,
            DELIVERY_GETALL,
        ] {
            assert_eq!(helper.group, LogisticsHelper, "{}", helper.path);
        }
        assert_eq!(ADD_WAYBILL_ORDER.safety, Write);
        assert_eq!(CANCEL_WAYBILL_ORDER.safety, Write);
        assert_eq!(BATCHGET_WAYBILL_ORDER.safety, Read);
        assert_eq!(DELIVERY_GETALL.method, WechatMethod::Get);
        assert_eq!(ACCOUNT_GETALL.method, WechatMethod::Get);
        assert_eq!(ACCOUNT_GETALL.safety, Read);
        assert_eq!(ADD_WAYBILL_ORDER.method, WechatMethod::Post);
        // The raw passthrough to a GET API calls WeChat with GET too.
        assert_eq!(
            for_raw_path("/cgi-bin/express/business/delivery/getall").method,
            WechatMethod::Get
        );
        assert_eq!(for_raw_path("/cgi-bin/x").method, WechatMethod::Post);
    }
}
